//! The tables of `elfmaps system`: a first line that says what was read and what was
//! skipped, then rows per (object, kind), per kind, per process, or (`--object`) one
//! line per process for each matching object, as librank prints; the machine's total
//! last. With `--verbose`, the processes skipped and why.

use std::io::{self, Write};

use owo_colors::Style;

use super::{kind_style, object_name, paint};
use crate::views::system::{ProcessRow, Reason, Row, System, Use, uss};
use crate::vocab::escape::escape;
use crate::vocab::human::Human;
use crate::vocab::{Figures, Kind};

/// The first line: how many processes were read, from where, and what was skipped.
pub fn title(s: &System) -> String {
    let k = &s.skipped;
    format!(
        "{} processes ({}); skipped: {} exited, {} denied, {} kernel threads, {} zombies{}",
        s.processes.len(),
        s.source,
        k.exited,
        k.denied,
        k.kernel_threads,
        k.zombies,
        if k.failed > 0 {
            format!(", {} failed", k.failed)
        } else {
            String::new()
        }
    )
}

/// The figure columns: size, rss, pss, uss, swap.
fn figures(f: &Figures) -> String {
    format!(
        "{:>8} {:>8} {:>8} {:>8} {:>8}",
        Human(Some(f.size)),
        Human(f.rss),
        Human(f.pss),
        Human(uss(f)),
        Human(f.swap)
    )
}

const FIGURES_HEAD: &str = "    SIZE      RSS      PSS      USS     SWAP";

/// What rows a table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowsOf {
    /// Per (object, kind): object and kind columns.
    ObjectKind,
    /// Per kind across objects: a kind column.
    Kind,
}

/// Writes rows (already sorted and cut), then a line for what `--top` left out
/// (`dropped`), then the machine's total.
pub fn rows<W: Write>(
    s: &System,
    rows: &[Row],
    of: RowsOf,
    dropped: usize,
    out: &mut W,
    color: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", title(s))?;
    let names: Vec<String> = rows
        .iter()
        .map(|r| object_name(r.object.as_deref()))
        .collect();
    // As wide as the longest name shown, within reason (longer ones overflow).
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(24, 48);
    let first = |object: &str| match of {
        RowsOf::ObjectKind => format!("{object:<width$} "),
        RowsOf::Kind => String::new(),
    };
    let head = format!(
        "{}{:<12} {:>6} {FIGURES_HEAD}",
        first("OBJECT"),
        "KIND",
        "PROCS"
    );
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    for (r, name) in rows.iter().zip(&names) {
        let kind = r.kind.map_or("-", Kind::as_str);
        let styled = match r.kind {
            Some(k) => paint(kind, kind_style(k)),
            None => kind.to_string(),
        };
        // Pad by the kind's own width: colour codes take none on screen.
        let pad = " ".repeat(12usize.saturating_sub(kind.len()));
        writeln!(
            out,
            "{}{styled}{pad} {:>6} {}",
            first(name),
            r.processes,
            figures(&r.figures)
        )?;
    }
    if dropped > 0 {
        writeln!(out, "({dropped} more rows; --top cut them)")?;
    }
    let total = format!(
        "{}{:<12} {:>6} {}",
        first("machine"),
        "(total)",
        s.processes.len(),
        figures(&s.totals)
    );
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    skipped_list(s, out)
}

/// Writes one line per process (already sorted and cut), then the machine's total.
pub fn processes<W: Write>(
    s: &System,
    procs: &[ProcessRow],
    dropped: usize,
    out: &mut W,
    color: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", title(s))?;
    let head = format!("{:>7} {:<16} {FIGURES_HEAD}  COMMAND", "PID", "COMM");
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    for p in procs {
        writeln!(
            out,
            "{:>7} {:<16} {}  {}",
            p.pid,
            escape(p.comm.as_bytes()),
            figures(&p.figures),
            escape(p.command.as_deref().unwrap_or("").as_bytes())
        )?;
    }
    if dropped > 0 {
        writeln!(out, "({dropped} more processes; --top cut them)")?;
    }
    let total = format!("{:>7} {:<16} {}", "", "machine (total)", figures(&s.totals));
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    skipped_list(s, out)
}

/// Writes, for each object matched by `--object`, a line with its totals and then one
/// line per process that maps it (as librank prints).
pub fn users<W: Write>(
    s: &System,
    groups: &[(&Row, Vec<&Use>)],
    out: &mut W,
    color: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", title(s))?;
    let head = format!("{:>7} {:<16} {FIGURES_HEAD}", "PID", "COMM");
    for (object, users) in groups {
        writeln!(out)?;
        let name = object
            .object
            .as_deref()
            .map_or_else(String::new, crate::render::display_name);
        let id = match &object.build_id {
            Some(b) => format!("build ID {b}"),
            None => format!(
                "{} inode {}",
                object.dev.as_deref().unwrap_or("?"),
                object.inode.unwrap_or(0)
            ),
        };
        writeln!(
            out,
            "{}",
            paint(&format!("{name} ({id})"), Style::new().bold())
        )?;
        writeln!(out, "{}", paint(&head, Style::new().bold()))?;
        for u in users {
            writeln!(
                out,
                "{:>7} {:<16} {}",
                u.pid,
                escape(u.comm.as_bytes()),
                figures(&u.figures)
            )?;
        }
        writeln!(
            out,
            "{:>7} {:<16} {}",
            object.processes,
            "(total)",
            figures(&object.figures)
        )?;
    }
    if groups.is_empty() {
        writeln!(out, "no object matches")?;
    }
    skipped_list(s, out)
}

/// With `--verbose` (the list is kept): each process skipped and why.
fn skipped_list<W: Write>(s: &System, out: &mut W) -> io::Result<()> {
    if s.skipped.processes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "skipped:")?;
    for p in &s.skipped.processes {
        let why = match p.reason {
            Reason::Exited => "exited",
            Reason::Denied => "denied",
            Reason::KernelThread => "kernel thread",
            Reason::Zombie => "zombie",
            _ => "failed",
        };
        writeln!(
            out,
            "{:>7} {:<16} {why}: {}",
            p.pid,
            escape(p.comm.as_deref().unwrap_or("?").as_bytes()),
            escape(p.message.as_bytes())
        )?;
    }
    Ok(())
}

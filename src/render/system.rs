//! The tables of `elfmaps system`: a first line that says what was read and what was
//! skipped, then rows per (object, kind), per kind, per process, or (`--object`) one
//! line per process for each matching object, as librank prints; the machine's total
//! last. With `--verbose`, the processes skipped and why.

use std::borrow::Cow;
use std::io::{self, Write};

use owo_colors::Style;

use super::cells::{Line, is_plain};
use super::columns::Column;
use super::{distinct_names, fit_title, kind_style, middle, name_width, paint, top_note};
use crate::views::system::{ProcessRow, Reason, Row, System, Use};
use crate::vocab::escape::escape;
use crate::vocab::human::Human;
use crate::vocab::{Figures, Kind};

/// The first line: how many processes were read, from where, and what was skipped.
pub fn title(s: &System) -> String {
    let k = &s.skipped;
    format!(
        "{} ({}); skipped: {} exited, {} denied, {} kernel threads, {} zombies{}",
        crate::report::scan::processes(s.processes.len()),
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

/// The figure columns (`--columns`; by default size, rss, pss, uss, swap), each a
/// size for people right-aligned in 8 columns, one space between.
fn figures(cols: &[Column], f: &Figures) -> String {
    let cells: Vec<String> = cols
        .iter()
        .map(|c| format!("{:>8}", Human(c.of(f))))
        .collect();
    cells.join(" ")
}

/// [`figures`] appended to `line`, without the `fmt` machinery (tables of thousands
/// of rows).
fn figures_into(line: &mut Line, cols: &[Column], f: &Figures) {
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            line.text(" ");
        }
        line.human(c.of(f), 8);
    }
}

/// The headers of the figure columns, as [`figures`] aligns them.
fn figures_head(cols: &[Column]) -> String {
    let cells: Vec<String> = cols.iter().map(|c| format!("{:>8}", c.header())).collect();
    cells.join(" ")
}

/// [`escape`] of `text`, borrowed when it is plain ([`is_plain`]).
fn escaped(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(escape(text.as_bytes()))
    }
}

/// How a table looks: its figure columns (`--columns`), colour, and the terminal's
/// width when stdout is one (docs/cli.md).
#[derive(Debug, Clone, Copy)]
pub struct Look<'a> {
    /// The figure columns.
    pub columns: &'a [Column],
    /// Colour on.
    pub color: bool,
    /// The terminal's width; `None` in a pipe (nothing cut).
    pub terminal: Option<usize>,
    /// Objects by their whole path (`-p`).
    pub full_path: bool,
}

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
    look: Look<'_>,
    out: &mut W,
) -> io::Result<()> {
    let Look {
        columns: cols,
        color,
        terminal,
        full_path,
    } = look;
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", fit_title(&title(s), terminal))?;
    let distinct = distinct_names(rows.iter().map(|r| r.object.as_deref()), full_path);
    // Two objects of one file name get the directories that tell them apart.
    let names: Vec<&str> = rows
        .iter()
        .map(|r| distinct[&r.object.as_deref()].as_str())
        .collect();
    // As wide as the longest name shown (nothing is cut in a pipe), within the
    // terminal's width (docs/cli.md, "Width").
    let rest = 21 + 9 * cols.len();
    let width = name_width(names.iter().copied(), 24, rest, terminal);
    let first = |object: &str| match of {
        RowsOf::ObjectKind => format!("{object:<width$} "),
        RowsOf::Kind => String::new(),
    };
    let head = format!(
        "{}{:<12} {:>6} {}",
        first("OBJECT"),
        "KIND",
        "PROCS",
        figures_head(cols)
    );
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    // One line buffer for every row: no allocation, no formatting machinery per row.
    let mut line = Line::new(color);
    for (r, name) in rows.iter().zip(&names) {
        if of == RowsOf::ObjectKind {
            line.left(&middle(name, width), width);
            line.text(" ");
        }
        let kind = r.kind.map_or("-", Kind::as_str);
        match r.kind {
            Some(k) => {
                line.paint(kind_style(k));
                line.text(kind);
                line.unpaint(kind_style(k));
            }
            None => line.text(kind),
        }
        // Pad by the kind's own width: colour codes take none on screen.
        line.spaces(12usize.saturating_sub(kind.len()));
        line.text(" ");
        line.dec(r.processes as u64, 6);
        line.text(" ");
        figures_into(&mut line, cols, &r.figures);
        line.finish(out)?;
    }
    if dropped > 0 {
        writeln!(out, "{}", top_note(dropped, "rows"))?;
    }
    let (object, kind) = match of {
        RowsOf::ObjectKind => ("(total)", ""),
        RowsOf::Kind => ("", "(total)"),
    };
    let total = format!(
        "{}{:<12} {:>6} {}",
        first(object),
        kind,
        s.processes.len(),
        figures(cols, &s.totals)
    );
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    skipped_list(s, out)
}

/// Writes one line per process (already sorted and cut), then the machine's total.
pub fn processes<W: Write>(
    s: &System,
    procs: &[ProcessRow],
    dropped: usize,
    look: Look<'_>,
    out: &mut W,
) -> io::Result<()> {
    // (Objects are named whole here: no name column.)
    let Look {
        columns: cols,
        color,
        terminal,
        full_path: _,
    } = look;
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", fit_title(&title(s), terminal))?;
    let head = format!(
        "{:>7} {:<16} {}  COMMAND",
        "PID",
        "COMM",
        figures_head(cols)
    );
    let rest = 7 + 1 + 16 + 1 + 9 * cols.len() + 1;
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    let mut line = Line::new(color);
    for p in procs {
        line.dec(u64::from(p.pid), 7);
        line.text(" ");
        line.left(&escaped(&p.comm), 16);
        line.text(" ");
        figures_into(&mut line, cols, &p.figures);
        line.text("  ");
        // The command line takes what is left of a terminal's width (a line of
        // thousands of characters otherwise); whole in a pipe.
        let command = escaped(p.command.as_deref().unwrap_or(""));
        match terminal {
            Some(w) => line.text(&fit_title(&command, Some(w.saturating_sub(rest).max(8)))),
            None => line.text(&command),
        }
        line.finish(out)?;
    }
    if dropped > 0 {
        writeln!(out, "{}", top_note(dropped, "processes"))?;
    }
    let total = format!("{:>7} {:<16} {}", "", "(total)", figures(cols, &s.totals));
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    skipped_list(s, out)
}

/// Writes, for each object matched by `--object`, a line with its totals and then one
/// line per process that maps it (as librank prints).
pub fn users<W: Write>(
    s: &System,
    groups: &[(&Row, Vec<&Use>)],
    look: Look<'_>,
    out: &mut W,
) -> io::Result<()> {
    // (Objects are named whole here: no name column.)
    let Look {
        columns: cols,
        color,
        terminal,
        full_path: _,
    } = look;
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", fit_title(&title(s), terminal))?;
    let head = format!("{:>7} {:<16} {}", "PID", "COMM", figures_head(cols));
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
            paint(
                &fit_title(&format!("{name} ({id})"), terminal),
                Style::new().bold()
            )
        )?;
        writeln!(out, "{}", paint(&head, Style::new().bold()))?;
        let mut line = Line::new(color);
        for u in users {
            line.dec(u64::from(u.pid), 7);
            line.text(" ");
            line.left(&escaped(&u.comm), 16);
            line.text(" ");
            figures_into(&mut line, cols, &u.figures);
            line.finish(out)?;
        }
        writeln!(
            out,
            "{:>7} {:<16} {}",
            object.processes,
            "(total)",
            figures(cols, &object.figures)
        )?;
    }
    if groups.is_empty() {
        writeln!(out, "no object matches")?;
    }
    skipped_list(s, out)
}

/// Writes `s` as JSON (`system --json`) through serde ([`crate::render::json()`]).
pub fn json<W: Write>(s: &System, out: &mut W) -> io::Result<()> {
    super::json(s, out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::figures::uss;

    #[test]
    fn json_as_serde_writes_it() {
        let row = |object: Option<&str>, kind: Option<Kind>| Row {
            object: object.map(Into::into),
            build_id: object.map(|_| "ab01".into()),
            dev: object.map(|_| "fe:00".into()),
            inode: object.map(|_| 12),
            kind,
            processes: 3,
            regions: 7,
            figures: Figures {
                size: u64::MAX,
                pss: None,
                ..Figures::zero()
            },
        };
        let mut rows = vec![
            row(None, None),
            row(Some("/a \"b\"\n\u{1}é\\"), Some(Kind::Text)),
        ];
        rows.extend(Kind::ALL.iter().map(|&k| row(Some("/lib/x.so"), Some(k))));
        let processes = vec![ProcessRow {
            pid: 7,
            comm: "a\tb".into(),
            command: None,
            uid: Some(0),
            regions: 1,
            objects: 2,
            figures: Figures::zero(),
        }];
        let mut skipped = crate::views::system::Skipped::default();
        skipped.add(crate::report::scan::SkippedProcess {
            pid: 9,
            comm: Some("x".into()),
            reason: Reason::Denied,
            message: "no".into(),
        });
        for split in [None, Some("exact".to_string())] {
            let s = System {
                schema_version: 1,
                kind: "system".into(),
                page_size: 4096,
                source: "live".into(),
                split_pss: split,
                rows: rows.clone(),
                objects: rows[1..3].to_vec(),
                kinds: Vec::new(),
                processes: processes.clone(),
                skipped: skipped.clone(),
                warnings: vec![crate::vocab::Warning::new(
                    crate::vocab::Code::ProcessSkipped,
                    Some("/o".into()),
                    "m \"q\"",
                )],
                totals: Figures::zero(),
                cut: None,
                uses: Vec::new(),
            };
            let mut want = serde_json::to_vec(&s).unwrap();
            want.push(b'\n');
            let mut got = Vec::new();
            json(&s, &mut got).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn columns_as_format_pads_them() {
        let f = Figures {
            size: 1 << 40,
            rss: Some(4096),
            pss: None,
            private_clean: Some(12),
            private_dirty: Some(1000),
            swap: Some(0),
            ..Figures::zero()
        };
        let want = format!(
            "{:>8} {:>8} {:>8} {:>8} {:>8}",
            Human(Some(f.size)),
            Human(f.rss),
            Human(f.pss),
            Human(uss(&f)),
            Human(f.swap)
        );
        let cols = crate::render::columns::SYSTEM;
        assert_eq!(figures(cols, &f), want);
        let mut line = Line::new(false);
        figures_into(&mut line, cols, &f);
        line.dec(0, 6);
        line.dec(1234567, 3);
        line.left("é", 3);
        line.left("abcd", 2);
        let mut got = Vec::new();
        line.finish(&mut got).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            want + "     01234567é  abcd\n"
        );
    }
}

//! The printers of `elfmaps layout`: one block per file (readelf's program header
//! table with a KIND column, the section-to-segment mapping, memory per kind, findings),
//! and the lines that name files not reported.

use std::io::{self, Write};

use owo_colors::Style;

use super::paint;
use crate::input::elf;
use crate::views::layout::{FileError, FileLayout, FindingKind, Layouts};
use crate::vocab::Warning;
use crate::vocab::escape::escape;
use crate::vocab::human::human;

/// A file not reported, as printed on stderr after `elfmaps: error: ` (or `warning: `
/// for a skipped file): `PATH: why`, both escaped.
pub fn file_error_text(e: &FileError) -> String {
    format!(
        "{}: {}",
        escape(e.path_bytes.as_deref().unwrap_or(e.path.as_bytes())),
        escape(e.message.as_bytes())
    )
}

/// A warning about one file, as printed on stderr after `elfmaps: warning: `:
/// `PATH: message`, both escaped (the path from its exact bytes).
pub fn file_warning_text(o: &FileLayout, warning: &Warning) -> String {
    format!(
        "{}: {}",
        escape(o.path_bytes.as_deref().unwrap_or(o.path.as_bytes())),
        escape(warning.message.as_bytes())
    )
}

/// Writes the layouts as JSON (`layout --json`): the bytes [`super::json()`] writes,
/// by a hand-written writer about twice as fast as serde on hundreds of files
/// (docs/design.md, "JSON").
pub fn json<W: Write>(layouts: &Layouts, out: &mut W) -> io::Result<()> {
    super::json::layouts(layouts, out)
}

fn finding_style(kind: FindingKind) -> Style {
    match kind {
        FindingKind::WxSegment | FindingKind::ExecStack | FindingKind::Textrel => {
            Style::new().bright_red().bold()
        }
        FindingKind::NoRelro | FindingKind::PartialRelro => Style::new().yellow().bold(),
        FindingKind::AlignmentWaste | FindingKind::SharedPage => Style::new().cyan(),
    }
}

/// Writes one block per object: readelf's program header table with a KIND column,
/// the section-to-segment mapping, memory per kind and the findings. Files that
/// could not be read are not in it (the CLI names them on stderr).
pub fn table<W: Write>(report: &Layouts, out: &mut W, color: bool) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    let bold = Style::new().bold();
    for (n, o) in report.files.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let title = format!(
            "{}: {} {} {}-bit {}-endian, {} program headers, {} sections",
            escape(o.path_bytes.as_deref().unwrap_or(o.path.as_bytes())),
            o.e_type,
            o.machine,
            o.class,
            o.endian,
            o.segments.len(),
            o.sections.len()
        );
        writeln!(out, "{}", paint(&title, bold))?;
        for w in &o.warnings {
            writeln!(
                out,
                "  {}",
                paint(
                    &format!("warning: {}", escape(w.message.as_bytes())),
                    Style::new().yellow()
                )
            )?;
        }

        if o.segments.is_empty() {
            writeln!(out, "  No program headers.")?;
        }
        // Program headers, column widths as readelf -lW.
        let wide = o.class == 64;
        let (aw, sw) = if wide { (16, 6) } else { (8, 5) };
        let hdr = format!(
            "  {:<3} {:<14} {:<8} {:<aw2$} {:<aw2$} {:<sw2$} {:<sw2$} Flg {:<8} KIND",
            "IDX",
            "Type",
            "Offset",
            "VirtAddr",
            "PhysAddr",
            "FileSiz",
            "MemSiz",
            "Align",
            aw2 = aw + 2,
            sw2 = sw + 2,
        );
        if !o.segments.is_empty() {
            writeln!(out, "{}", paint(&hdr, bold))?;
        }
        for s in &o.segments {
            let f = |bit, c| if s.flags & bit != 0 { c } else { ' ' };
            let flg: String = [f(elf::PF_R, 'R'), f(elf::PF_W, 'W'), f(elf::PF_X, 'E')]
                .iter()
                .collect();
            let kind = s.kind.as_deref().unwrap_or("");
            let kind = match s.kind.as_deref().and_then(|k| k.split('+').next()) {
                Some("text") => paint(kind, Style::new().green()),
                Some("rodata") => paint(kind, Style::new().cyan()),
                Some("data" | "relro" | "bss") => paint(kind, Style::new().yellow()),
                _ => kind.to_string(),
            };
            let ty: String = s.type_name.chars().take(14).collect();
            let line = format!(
                "  {:02}  {:<14} 0x{:06x} 0x{:0aw$x} 0x{:0aw$x} 0x{:0sw$x} 0x{:0sw$x} {} {:<8} {}",
                s.index,
                ty,
                s.offset,
                s.vaddr,
                s.paddr,
                s.filesz,
                s.memsz,
                flg,
                format!("0x{:x}", s.align),
                kind,
            );
            writeln!(out, "{}", line.trim_end())?;
        }

        if !o.sections.is_empty() && !o.segments.is_empty() {
            writeln!(out, "{}", paint("  Section to Segment mapping:", bold))?;
            for s in &o.segments {
                let names: Vec<String> = s.sections.iter().map(|&i| section_label(o, i)).collect();
                let line = format!("   {:02}     {}", s.index, names.join(" "));
                writeln!(out, "{}", line.trim_end())?;
            }
        }

        if let Some(m) = &o.memory {
            let title = format!("  Memory once loaded ({}-byte pages):", report.page_size);
            writeln!(out, "{}", paint(&title, bold))?;
            writeln!(out, "   {:<7} {:>7} {:>8}", "KIND", "PAGES", "BYTES")?;
            let rows = m.rows().into_iter().filter(|&(_, b)| b > 0);
            for (k, b) in rows
                .map(|(k, b)| (k.as_str(), b))
                .chain([("total", m.total)])
            {
                writeln!(
                    out,
                    "   {k:<7} {:>7} {:>8}",
                    b / report.page_size.get(),
                    human(Some(b))
                )?;
            }
        }

        if o.findings.is_empty() {
            writeln!(out, "  Findings: none")?;
        } else {
            writeln!(out, "{}", paint("  Findings:", bold))?;
            for f in &o.findings {
                let kind = paint(&format!("{:<15}", f.kind.as_str()), finding_style(f.kind));
                let seg = f.segment.map_or("-".into(), |s| s.to_string());
                writeln!(out, "   {kind} {seg:>3}  {}", escape(f.message.as_bytes()))?;
            }
        }
    }
    Ok(())
}

/// A section's printable name: escaped, or `[N]` when unknown.
fn section_label(o: &FileLayout, index: usize) -> String {
    match o
        .sections
        .get(index.wrapping_sub(1))
        .filter(|s| s.index == index)
        .and_then(|s| s.name.as_ref())
    {
        Some(n) if !n.is_empty() => escape(n.as_bytes()),
        _ => format!("[{index}]"),
    }
}

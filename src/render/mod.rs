//! Printers: every table and JSON document elfmaps writes, one file per output:
//! [`map`] (the table of `map`), [`summary`], [`diff`], [`check`] (budget violations),
//! [`layout`], [`system`] (the machine's tables), [`json()`] for every JSON document,
//! and [`html`], the self-contained HTML report of `elfmaps report`. They only render:
//! every figure
//! comes from the report or view they are given. Colour is a plain `bool` decided once
//! by the CLI (`--color`, `NO_COLOR`, whether stdout is a terminal) and passed down;
//! names chosen by whoever created a file are escaped ([`crate::vocab::escape`]).
//! Printers write to any `W: Write` (the CLI gives them one buffered writer).

mod cells;
pub mod check;
pub mod columns;
pub mod diff;
pub mod html;
mod json;
pub mod layout;
pub mod map;
pub mod metrics;
pub mod sections;
pub mod summary;
pub mod system;
pub mod warnings;

pub use json::json;

use owo_colors::{OwoColorize, Style};

use crate::input::maps::decode_newlines;
use crate::vocab::escape::escape;
use crate::vocab::names::file_name;
use crate::vocab::{Kind, Warning};

/// The note line after a table that `--top` cut (docs/cli.md): how many `what` (rows,
/// processes) were left out.
pub fn top_note(dropped: usize, what: &str) -> String {
    format!("({dropped} more {what} not shown: --top)")
}

/// `text` in `style` when `color` is on (the one place colour is applied).
pub(crate) fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        text.style(style).to_string()
    } else {
        text.to_string()
    }
}

/// A colour of the terminal's palette: what a kind is painted in, in the tables and in
/// the HTML report (whose style sheet gives each a light and a dark variant), so both
/// use one palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hue {
    Green,
    Cyan,
    Yellow,
    Magenta,
    Blue,
    Red,
    /// Bright red, bold in the terminal: `unknown`.
    BrightRed,
    /// Dimmed text.
    Dim,
    /// The terminal's own colour: no style.
    Plain,
}

impl Hue {
    /// Every hue.
    pub(crate) const ALL: [Hue; 9] = [
        Hue::Green,
        Hue::Cyan,
        Hue::Yellow,
        Hue::Magenta,
        Hue::Blue,
        Hue::Red,
        Hue::BrightRed,
        Hue::Dim,
        Hue::Plain,
    ];

    /// Its name in the HTML report's style sheet (`--green`, ...).
    pub(crate) fn css_name(self) -> &'static str {
        match self {
            Hue::Green => "green",
            Hue::Cyan => "cyan",
            Hue::Yellow => "yellow",
            Hue::Magenta => "magenta",
            Hue::Blue => "blue",
            Hue::Red => "red",
            Hue::BrightRed => "bright-red",
            Hue::Dim => "dim",
            Hue::Plain => "plain",
        }
    }

    /// Its style in the terminal.
    fn style(self) -> Style {
        let s = Style::new();
        match self {
            Hue::Green => s.green(),
            Hue::Cyan => s.cyan(),
            Hue::Yellow => s.yellow(),
            Hue::Magenta => s.magenta(),
            Hue::Blue => s.blue(),
            Hue::Red => s.red(),
            Hue::BrightRed => s.bright_red().bold(),
            Hue::Dim => s.dimmed(),
            Hue::Plain => s,
        }
    }
}

/// The colour of a kind, in tables and in the HTML report.
pub(crate) fn kind_hue(kind: Kind) -> Hue {
    match kind {
        Kind::Text => Hue::Green,
        Kind::Rodata => Hue::Cyan,
        Kind::Data => Hue::Yellow,
        Kind::Relro => Hue::Magenta,
        Kind::Bss => Hue::Blue,
        Kind::Gap | Kind::Guard => Hue::Dim,
        Kind::Heap | Kind::Stack | Kind::ThreadStack | Kind::SignalStack => Hue::Red,
        Kind::Unknown => Hue::BrightRed,
        _ => Hue::Plain,
    }
}

/// The style of a kind in tables.
pub(crate) fn kind_style(kind: Kind) -> Style {
    kind_hue(kind).style()
}

/// A name from maps for the terminal: the kernel's one escape (a newline printed as
/// `\012`) decoded first, then escaped once, so a newline shows as `\n`, not `\\012`.
pub(crate) fn display_name(name: &str) -> String {
    escape(&decode_newlines(name.as_bytes()))
}

/// The short name of an object or mapping for the table: the file name of a path,
/// the whole name otherwise (and for `/dev/...`, `/SYSV...` and `/anon_hugepage`, whose
/// file name alone says little); always escaped ([`display_name`]).
pub(crate) fn short_name(name: &str) -> String {
    let whole = ["/dev/", "/SYSV", "/anon_hugepage"]
        .iter()
        .any(|p| name.starts_with(p));
    let base = if name.starts_with('/') && !whole {
        let file = file_name(name);
        if name.ends_with(" (deleted)") {
            format!("{file} (deleted)")
        } else {
            file.to_string()
        }
    } else {
        name.to_string()
    };
    display_name(&base)
}

/// An object's short name, or `-` for memory of no object.
pub(crate) fn object_name(o: Option<&str>) -> String {
    o.map_or_else(|| "-".to_string(), short_name)
}

/// One warning as printed on stderr after `elfmaps: warning: ` (or `error: `):
/// `OBJECT: MESSAGE`, both escaped (they may hold names chosen by whoever created a
/// file; a maps name's `\012` shows as `\n`).
pub fn warning_text(w: &Warning) -> String {
    let message = display_name(&w.message);
    match &w.object {
        Some(o) => format!("{}: {message}", display_name(o)),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_escaped() {
        assert_eq!(short_name("/usr/lib/libc.so.6"), "libc.so.6");
        assert_eq!(
            short_name("/tmp/x\u{1b}[2J.so (deleted)"),
            "x\\e[2J.so (deleted)"
        );
        assert_eq!(
            short_name("[anon: glibc: malloc arena]"),
            "[anon: glibc: malloc arena]"
        );
    }

    /// Issue 9 §4: a newline in a name, which maps prints as `\012`, showed as
    /// `\\012` (escaped twice).
    #[test]
    fn a_newline_in_a_maps_name_shows_as_backslash_n() {
        assert_eq!(short_name("/tmp/a\\012b.so"), "a\\nb.so");
        assert_eq!(display_name("/tmp/a\\012b"), "/tmp/a\\nb");
        let w = Warning::new(
            crate::vocab::Code::FileUnreadable,
            Some("/x\\012y".into()),
            "gone",
        );
        assert_eq!(warning_text(&w), "/x\\ny: gone");
    }
}

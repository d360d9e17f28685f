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
pub mod symbols;
pub mod system;
pub mod warnings;

pub use json::json;

use owo_colors::{OwoColorize, Style};

use crate::input::maps::decode_newlines;
use crate::vocab::escape::escape;
use crate::vocab::matching::file_name;
use crate::vocab::{Kind, Warning};

/// `s` shortened in the middle to at most `max` characters, with `…` where the
/// middle was (docs/cli.md, "Width": names are shortened, numbers never); `s`
/// itself when it fits. At least the first and last character stay.
pub(crate) fn middle(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let n = s.chars().count();
    if n <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let keep = max.max(3) - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    std::borrow::Cow::Owned(out)
}

/// The names of objects in a table: each path's [`short_name`], except where two
/// paths share one (`libc.so.6` of x86_64 and of lib32): those keep as many of
/// their last path components as tell them apart (`lib32/libc.so.6`), as pmap's
/// automatic suffix does. Memory of no object (`None`) is `-`.
/// With `full` (`-p`), every path whole.
pub(crate) fn distinct_names<'a>(
    paths: impl Iterator<Item = Option<&'a str>>,
    full: bool,
) -> std::collections::HashMap<Option<&'a str>, String> {
    use std::collections::{BTreeSet, HashMap};
    let all: BTreeSet<Option<&str>> = paths.collect();
    let mut by_short: HashMap<String, Vec<&str>> = HashMap::new();
    let mut out = HashMap::new();
    if full {
        return all
            .into_iter()
            .map(|p| (p, p.map_or_else(|| "-".to_string(), display_name)))
            .collect();
    }
    for p in &all {
        match p {
            None => {
                out.insert(None, "-".to_string());
            }
            Some(p) => by_short.entry(short_name(p)).or_default().push(p),
        }
    }
    for (short, group) in by_short {
        if group.len() == 1 {
            out.insert(Some(group[0]), short);
            continue;
        }
        // The last k components, for the smallest k that tells the group apart.
        let tail = |p: &str, k: usize| -> String {
            let parts: Vec<&str> = p.rsplitn(k + 1, '/').collect();
            let n = parts.len().min(k);
            let mut kept: Vec<&str> = parts[..n].to_vec();
            kept.reverse();
            kept.join("/")
        };
        let most = group
            .iter()
            .map(|p| p.matches('/').count())
            .max()
            .unwrap_or(1);
        let k = (2..=most.max(2))
            .find(|&k| {
                let names: BTreeSet<String> = group.iter().map(|p| tail(p, k)).collect();
                names.len() == group.len()
            })
            .unwrap_or(most.max(2));
        for p in group {
            out.insert(Some(p), display_name(&tail(p, k)));
        }
    }
    out
}

/// A table's first line on a terminal of `width` columns: cut at the end with `…`
/// (a command line can be thousands of characters); whole in a pipe.
pub(crate) fn fit_title(title: &str, width: Option<usize>) -> std::borrow::Cow<'_, str> {
    match width {
        Some(w) if title.chars().count() > w => {
            let mut t: String = title.chars().take(w.saturating_sub(1)).collect();
            t.push('…');
            std::borrow::Cow::Owned(t)
        }
        _ => std::borrow::Cow::Borrowed(title),
    }
}

/// The width a column of `names` takes: as wide as the longest (at least `min`), so
/// that nothing is cut in a pipe; on a terminal of `width` columns (`Some`), at most
/// what is left of it after `rest` columns (at least 8; names are then shortened
/// with [`middle`]).
pub(crate) fn name_width<'a>(
    names: impl Iterator<Item = &'a str>,
    min: usize,
    rest: usize,
    width: Option<usize>,
) -> usize {
    let longest = names.map(|n| n.chars().count()).max().unwrap_or(0).max(min);
    match width {
        Some(w) => longest.min(w.saturating_sub(rest).max(8)),
        None => longest,
    }
}

/// The note line after a table that `--top` cut (docs/cli.md): how many `what` (rows,
/// processes) were left out.
pub(crate) fn top_note(dropped: usize, what: &str) -> String {
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

/// A colour of the terminal's palette: what a kind is painted in, in the tables (the
/// HTML report has a palette of its own, one colour per kind: `html/palette.rs`).
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
        Kind::Gap | Kind::Guard | Kind::Reserved => Hue::Dim,
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
    fn names_are_shortened_in_the_middle() {
        assert_eq!(middle("libc.so.6", 20), "libc.so.6");
        let long = "_multiarray_umath.cpython-311-x86_64-linux-gnu.so";
        assert_eq!(middle(long, 20), "_multiarra…ux-gnu.so");
        assert_eq!(middle(long, 20).chars().count(), 20);
        assert_eq!(middle("abcdef", 1), "a…f");
        let names = ["a", "abcdefghijabcdefghij"];
        assert_eq!(name_width(names.into_iter(), 8, 60, None), 20);
        assert_eq!(name_width(names.into_iter(), 8, 70, Some(80)), 10);
        assert_eq!(name_width(names.into_iter(), 8, 78, Some(80)), 8);
    }

    /// Issue 20: two `libc.so.6 text` rows (x86_64 and lib32) could not be told apart.
    #[test]
    fn colliding_basenames_get_their_directories() {
        let paths = [
            Some("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            Some("/usr/lib32/libc.so.6"),
            Some("/usr/lib/libm.so.6"),
            None,
        ];
        let n = distinct_names(paths.into_iter(), false);
        assert_eq!(n[&paths[0]], "x86_64-linux-gnu/libc.so.6");
        assert_eq!(n[&paths[1]], "lib32/libc.so.6");
        assert_eq!(n[&paths[2]], "libm.so.6");
        assert_eq!(n[&None], "-");
        let deep = [Some("/a/x/lib/libz.so"), Some("/b/x/lib/libz.so")];
        let n = distinct_names(deep.into_iter(), false);
        assert_eq!(
            distinct_names(deep.into_iter(), true)[&deep[0]],
            "/a/x/lib/libz.so"
        );
        assert_eq!(n[&deep[0]], "a/x/lib/libz.so");
    }

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

//! The one escaping rule for names in every output (issue 19 §9).
//!
//! A mapped file's name, a process's comm and command line are chosen by whoever
//! created them: they may hold escape sequences that would repaint the user's
//! terminal, newlines or Unicode line separators that fake extra rows or log lines,
//! bidirectional controls that reorder what is shown, or bytes that are not UTF-8.
//!
//! There are two forms of a name, and every output uses one of them:
//!
//! - [`text`], the *text form*: the name itself when it is UTF-8; otherwise each byte
//!   of it that is not part of valid UTF-8 is written `\xNN` (two lowercase hex
//!   digits) and the rest is kept. This is what a `String` of the library holds for a
//!   name (report paths and objects, comms, command lines, section names) and what
//!   JSON strings carry, so JSON stays valid and two names that differ only in invalid
//!   bytes never print alike (U+FFFD, the lossy replacement, made them one). Where a
//!   name's exact bytes matter, the JSON carries them too (`path_bytes`), and
//!   identities are compared by bytes, never by this text.
//! - [`escape`], the *printed form*, for a terminal, an error or warning line, a
//!   Prometheus label value (before the format's own escaping of `\` and `"`) and HTML
//!   text (before its entity references): the text form with control characters as
//!   `\n`, `\t`, `\e` or `\xNN` (each UTF-8 byte of the character), and characters that
//!   end a line or move or hide text (U+2028, U+2029, bidirectional controls,
//!   zero-width and other invisible format characters) as `\u{XXXX}`.
//!
//! A backslash is printed as it is. Both forms are therefore idempotent and compose:
//! `escape(text(b)) == escape(b)` and `escape(escape(b)) == escape(b)`, so a message
//! that already holds an escaped name can be escaped again by its printer without a
//! `\\x00` (escaping twice is harmless by construction). The price is that a name
//! holding a literal `\x41` prints as one holding the byte it spells; that is why
//! identity is by bytes, and JSON has `path_bytes`.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is printed as an escape: control characters, and characters that end
/// a line or move or hide text.
#[inline]
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Characters that are not control characters but end a line (U+2028 LINE
/// SEPARATOR, U+2029 PARAGRAPH SEPARATOR), reorder text (bidirectional marks,
/// embeddings, overrides and isolates) or print as nothing (zero-width characters,
/// invisible operators, the byte order mark, the soft hyphen, interlinear
/// annotations).
#[inline]
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

/// Appends the printed form of `c` (which [`is_unsafe`]).
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\x1b' => out.push_str("\\e"),
        c if c.is_control() => {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        c => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
}

/// The printed form of `bytes` (module docs): the [`text`] form with control
/// characters, line separators, bidirectional and invisible characters escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_unsafe(c) {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// [`escape`] of a string, borrowed when nothing in it needs escaping (the common
/// case: no allocation).
pub fn escape_str(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_unsafe) {
        Cow::Owned(escape(s.as_bytes()))
    } else {
        Cow::Borrowed(s)
    }
}

/// The text form of `bytes` (module docs): the bytes when they are UTF-8 (borrowed),
/// else each invalid byte as `\xNN` and the rest as it is. Control characters are
/// kept: a JSON writer escapes them itself, a printer through [`escape`].
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// The text form of a path, for messages: what `Path::display` would print, but with
/// invalid bytes as `\xNN` rather than U+FFFD.
pub fn path_text(path: &std::path::Path) -> Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    text(path.as_os_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_str, text};

    #[test]
    fn escapes_controls_and_invalid_bytes() {
        assert_eq!(escape(b"/lib/libc.so.6"), "/lib/libc.so.6");
        assert_eq!(escape(b"a\x1b[31mb"), "a\\e[31mb");
        assert_eq!(escape(b"a\nb\tc\\"), "a\\nb\\tc\\");
        assert_eq!(escape(b"\x07\x00"), "\\x07\\x00");
        assert_eq!(escape(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(escape("\u{9b}x".as_bytes()), "\\xc2\\x9bx");
        assert_eq!(escape("é\u{202e}".as_bytes()), "é\\u{202e}");
        // Issue 19 §9: line and paragraph separators, bidirectional marks and
        // invisible characters.
        assert_eq!(
            escape("a\u{2028}b\u{2029}c\u{200f}d\u{2067}e\u{200b}f\u{feff}".as_bytes()),
            "a\\u{2028}b\\u{2029}c\\u{200f}d\\u{2067}e\\u{200b}f\\u{feff}"
        );
        assert_eq!(escape("\u{85}".as_bytes()), "\\xc2\\x85");
    }

    #[test]
    fn text_keeps_valid_names_and_writes_invalid_bytes_as_hex() {
        assert!(matches!(
            text(b"/lib/x\x1b.so"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(text(b"/lib/x\x1b.so"), "/lib/x\x1b.so");
        assert_eq!(text(b"/tmp/a\xffb\xc3"), "/tmp/a\\xffb\\xc3");
        // Two names that U+FFFD made one stay two.
        assert_ne!(text(b"/tmp/\xfe.so"), text(b"/tmp/\xff.so"));
    }

    #[test]
    fn the_forms_compose_and_escaping_twice_changes_nothing() {
        let names: [&[u8]; 8] = [
            b"/lib/libc.so.6",
            b"a\x1b[2J\x07b",
            b"\xff\xfe\\x00",
            b"bad\xc3(\n",
            "x\u{2028}y\u{202e}z".as_bytes(),
            b"\\\\",
            b"",
            "\u{9b}\u{85}\t".as_bytes(),
        ];
        for b in names {
            let e = escape(b);
            assert_eq!(escape(text(b).as_bytes()), e, "{b:?}");
            assert_eq!(escape(e.as_bytes()), e, "{b:?}");
            assert_eq!(escape_str(&e), e.as_str(), "{b:?}");
            assert!(!e.chars().any(|c| c.is_control()), "{e:?}");
        }
    }

    /// The HTML page shows names in the browser, from the JSON it embeds, so its
    /// script (src/render/html/report.js, `display`) has the printed form in
    /// JavaScript: its character class must be exactly the characters this rule
    /// escapes, and each must print as here.
    #[test]
    fn the_html_script_escapes_what_this_rule_escapes() {
        let js = include_str!("../render/html/report.js");
        let at = js
            .find("function display(")
            .expect("display() in report.js");
        let class = &js[at..];
        let class = &class[class.find(".replace(/[").expect("the class") + 11..];
        let class = &class[..class.find("]/g").expect("the end of the class")];
        // `\uXXXX` or `\uXXXX-\uXXXX`, one after the other.
        let mut ranges = Vec::new();
        let mut rest = class;
        fn unit(rest: &mut &str) -> u32 {
            let hex = rest.strip_prefix("\\u").expect(rest);
            *rest = &hex[4..];
            u32::from_str_radix(&hex[..4], 16).expect(hex)
        }
        while !rest.is_empty() {
            let lo = unit(&mut rest);
            let hi = match rest.strip_prefix('-') {
                Some(r) => {
                    rest = r;
                    unit(&mut rest)
                }
                None => lo,
            };
            ranges.push((lo, hi));
        }
        assert!(ranges.len() > 5, "{ranges:x?}");
        for n in 0..=0xffffu32 {
            let Some(c) = char::from_u32(n) else { continue };
            let in_js = ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&n));
            assert_eq!(in_js, super::is_unsafe(c), "U+{n:04X}");
        }
    }
}

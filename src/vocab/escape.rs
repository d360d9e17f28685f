//! Escaping of names for the terminal.
//!
//! A mapped file's name is chosen by whoever created the file: it may hold escape
//! sequences that would repaint the user's terminal, newlines that fake extra rows, or
//! bytes that are not UTF-8. Everything printed for a human goes through [`escape`].

/// Returns `bytes` as printable text: valid UTF-8 is kept except control characters,
/// which become `\n`, `\t`, `\e` or `\xNN`; invalid bytes become `\xNN`; a backslash
/// is doubled so the result is unambiguous.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\x1b' => out.push_str("\\e"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                // Bidirectional overrides can reorder what the user sees.
                '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                    out.push_str(&format!("\\u{{{:04x}}}", c as u32));
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_controls_and_invalid_bytes() {
        assert_eq!(escape(b"/lib/libc.so.6"), "/lib/libc.so.6");
        assert_eq!(escape(b"a\x1b[31mb"), "a\\e[31mb");
        assert_eq!(escape(b"a\nb\tc\\"), "a\\nb\\tc\\\\");
        assert_eq!(escape(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(escape("\u{9b}x".as_bytes()), "\\xc2\\x9bx");
        assert_eq!(escape("é\u{202e}".as_bytes()), "é\\u{202e}");
    }
}

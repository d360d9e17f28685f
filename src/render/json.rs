//! JSON: every document elfmaps prints, one per run, newline-terminated.

use std::io::{self, Write};

use serde::Serialize;

/// Writes `value` as one JSON document and a newline. Generic over the writer, so
/// serde's many small writes go to a concrete buffered writer, not through a `dyn`.
pub fn json<T: Serialize + ?Sized, W: Write>(value: &T, out: &mut W) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

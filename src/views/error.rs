//! The views' error: why a saved JSON report cannot be read back
//! ([`crate::views::diff::Saved::from_json`], [`crate::views::system::System::from_json`]).

use std::fmt;

use crate::vocab::Code;

/// Why a saved JSON report cannot be read back (for `diff`, `check --baseline`).
#[derive(Debug)]
#[non_exhaustive]
pub enum SavedError {
    /// The bytes are not JSON.
    NotJson(serde_json::Error),
    /// JSON with no `schema_version`: not a report of elfmaps.
    NoSchemaVersion,
    /// A report of elfmaps that is none of map, summary, layout or system.
    UnknownReport,
    /// A report of another `schema_version` than this elfmaps writes for it.
    SchemaVersion {
        /// `map`, `summary`, `layout` or `system`.
        format: &'static str,
        /// The version it states (a number or whatever JSON it holds).
        version: String,
        /// The version this elfmaps reads.
        known: u32,
    },
    /// A report of a known format and version whose fields do not read.
    Invalid {
        /// `map`, `summary`, `layout` or `system`.
        format: &'static str,
        /// What serde said.
        err: serde_json::Error,
    },
    /// A `system` reader given another `kind`.
    NotSystem {
        /// The `kind` it states.
        kind: String,
    },
    /// A `summary --by kind` report, which names no object to compare.
    SummaryByKind,
    /// A summary that is not the whole process (`--top`): what it left out would show
    /// as vanished.
    Cut {
        /// How it is cut.
        why: String,
    },
}

impl SavedError {
    /// The stable code of this error: `report-cut` for a cut summary,
    /// `input-unreadable` otherwise.
    #[cfg(test)]
    pub fn code(&self) -> Code {
        match self {
            SavedError::Cut { .. } => Code::ReportCut,
            _ => Code::InputUnreadable,
        }
    }
}

impl fmt::Display for SavedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SavedError::NotJson(e) => write!(f, "not JSON: {e}"),
            SavedError::NoSchemaVersion => {
                f.write_str("not an elfmaps JSON report (no schema_version)")
            }
            SavedError::UnknownReport => f.write_str("not a map, summary, layout or system report"),
            SavedError::SchemaVersion {
                format,
                version,
                known,
            } => write!(
                f,
                "a {format} report of schema_version {version}: this elfmaps reads {format} reports of schema_version {known} only (saved by another version of elfmaps? save it again with this one)"
            ),
            SavedError::Invalid { format, err } => write!(f, "not a valid {format} report: {err}"),
            SavedError::NotSystem { kind } => write!(f, "not a system report (kind {kind:?})"),
            SavedError::SummaryByKind => f.write_str(
                "a summary --by kind report has no objects to compare; save `summary --json` without --by kind",
            ),
            SavedError::Cut { why } => write!(
                f,
                "{}: {why}: it is not the whole process, and what it left out would show as vanished; save `summary --json` without --top",
                Code::ReportCut
            ),
        }
    }
}

impl std::error::Error for SavedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SavedError::NotJson(e) | SavedError::Invalid { err: e, .. } => Some(e),
            _ => None,
        }
    }
}

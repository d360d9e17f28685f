//! Where a report's maps lines and figures came from: `smaps`, `maps` or
//! `maps+pagemap` ([`MapsSource`]), as the report's JSON and a snapshot's header
//! name it, and how each mapped file was reached ([`Via`], an object's `opened`).
//! The one table of each set's names is its `as_str`; serde's names are the same,
//! and reading back accepts exactly them.

use std::fmt;

/// Where the maps lines (and their figures) of a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum MapsSource {
    /// `/proc/PID/smaps` (or a saved smaps): every figure smaps has.
    #[serde(rename = "smaps")]
    Smaps,
    /// `/proc/PID/maps` (or a saved maps, or smaps without its figures): sizes only,
    /// the other figures unknown.
    #[serde(rename = "maps")]
    Maps,
    /// `--rss-only`: the lines of `/proc/PID/maps`, the rss and swap of every region
    /// from pagemap; the other figures unknown.
    #[serde(rename = "maps+pagemap")]
    MapsPagemap,
}

impl MapsSource {
    /// Every source, in declaration order.
    pub(crate) const ALL: [MapsSource; 3] =
        [MapsSource::Smaps, MapsSource::Maps, MapsSource::MapsPagemap];

    /// Its name in JSON and in a snapshot's header: `smaps`, `maps`, `maps+pagemap`.
    pub fn as_str(self) -> &'static str {
        match self {
            MapsSource::Smaps => "smaps",
            MapsSource::Maps => "maps",
            MapsSource::MapsPagemap => "maps+pagemap",
        }
    }

    /// The source named `name` ([`MapsSource::as_str`]); `None` for any other text.
    pub(crate) fn from_name(name: &str) -> Option<MapsSource> {
        MapsSource::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for MapsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a mapped file was reached: [`crate::report::Object::opened`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Via {
    /// `/proc/PID/map_files/START-END`: the mapped inode itself.
    #[serde(rename = "map_files")]
    MapFiles,
    /// The path itself, when the process sees the same root and mounts as elfmaps:
    /// the file now at that path, with the mapped device and inode.
    #[serde(rename = "path")]
    Path,
    /// `/proc/PID/root/PATH`: the file now at that path.
    #[serde(rename = "root")]
    Root,
    /// A file under `--sysroot`.
    #[serde(rename = "sysroot")]
    Sysroot,
}

impl Via {
    /// Every way, in declaration order.
    #[cfg(test)]
    pub(crate) const ALL: [Via; 4] = [Via::MapFiles, Via::Path, Via::Root, Via::Sysroot];

    /// The name JSON gives it (`opened` of an object).
    pub fn as_str(self) -> &'static str {
        match self {
            Via::MapFiles => "map_files",
            Via::Path => "path",
            Via::Root => "root",
            Via::Sysroot => "sysroot",
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every source: its name is what serde writes, and both read back to it.
    #[test]
    fn every_source_round_trips() {
        for s in MapsSource::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(serde_json::from_str::<MapsSource>(&json).unwrap(), s);
            assert_eq!(MapsSource::from_name(s.as_str()), Some(s));
        }
        // The names written before the enum, kept byte for byte.
        let names: Vec<_> = MapsSource::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["smaps", "maps", "maps+pagemap"]);
    }

    /// Every way of opening: its name is what serde writes, and reads back to it; the
    /// names are those written before the enum; any other name is refused.
    #[test]
    fn every_via_round_trips() {
        for v in Via::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(v.to_string(), v.as_str());
            assert_eq!(serde_json::from_str::<Via>(&json).unwrap(), v);
        }
        let names: Vec<_> = Via::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(names, ["map_files", "path", "root", "sysroot"]);
        for bad in ["", "MapFiles", "map-files", "Path", "proc"] {
            let err = serde_json::from_str::<Via>(&serde_json::to_string(bad).unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    /// Any other text is an error naming it, never a source: not another case, not
    /// with spaces, not the empty string.
    #[test]
    fn unknown_names_are_refused() {
        for bad in [
            "", "SMAPS", " smaps", "smaps ", "maps+", "pagemap", "live", "smemcap",
        ] {
            assert_eq!(MapsSource::from_name(bad), None, "{bad:?}");
            let err = serde_json::from_str::<MapsSource>(&serde_json::to_string(bad).unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("unknown variant `{bad}`")), "{err}");
            assert!(err.contains("`smaps`, `maps`, `maps+pagemap`"), "{err}");
        }
        assert!(serde_json::from_str::<MapsSource>("1").is_err());
        assert!(serde_json::from_str::<MapsSource>("null").is_err());
    }
}

//! `elfmaps map --json` read into typed regions and objects, with the keys every
//! document must have checked on the way.

use serde::Deserialize;
use serde_json::Value;

use super::cli;

/// One region of `regions[]`.
#[derive(Debug, Deserialize)]
pub struct JRegion {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub dev: String,
    pub inode: u64,
    pub path: Option<String>,
    pub object: Option<String>,
    pub instance: Option<usize>,
    pub kind: String,
    pub segment: Option<usize>,
    pub size: u64,
    pub rss: Option<u64>,
    pub shared_clean: Option<u64>,
    pub shared_dirty: Option<u64>,
    pub private_clean: Option<u64>,
    pub private_dirty: Option<u64>,
    pub split: bool,
}

/// One object of `objects[]`.
#[derive(Debug, Deserialize)]
pub struct JObject {
    pub index: usize,
    pub path: String,
    pub bias: u64,
    #[serde(rename = "type")]
    pub e_type: String,
    pub machine: Option<String>,
    pub class: u64,
    pub endian: Option<String>,
    pub dev: String,
    pub inode: u64,
    pub span_start: u64,
    pub span_end: u64,
    pub problem: Option<String>,
}

/// The regions and objects of one report.
pub struct Elfmaps {
    /// `regions[]`.
    pub regions: Vec<JRegion>,
    /// `objects[]`.
    pub objects: Vec<JObject>,
}

const REGION_KEYS: &[&str] = &[
    "start",
    "end",
    "perms",
    "offset",
    "dev",
    "inode",
    "path",
    "object",
    "instance",
    "kind",
    "segment",
    "size",
    "rss",
    "pss",
    "swap",
    "shared_clean",
    "shared_dirty",
    "private_clean",
    "private_dirty",
    "split",
];
const OBJECT_KEYS: &[&str] = &[
    "index",
    "path",
    "build_id",
    "bias",
    "type",
    "machine",
    "class",
    "endian",
    "dev",
    "inode",
    "span_start",
    "span_end",
];

/// Checks the keys every `elfmaps map --json` document has (each warning with a code),
/// and reads its regions and objects.
pub fn parse_elfmaps(v: &Value) -> Elfmaps {
    assert!(v["totals"].is_object(), "no totals");
    for w in cli::warnings(v) {
        assert!(
            !w.code.is_empty() && w.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "warning code is not kebab-case: {w:?}"
        );
    }
    let has_keys = |kind: &str, keys: &[&str], list: &Value| {
        for item in list.as_array().unwrap_or_else(|| panic!("no {kind} array")) {
            for k in keys {
                assert!(item.get(k).is_some(), "{kind} without {k:?}: {item}");
            }
        }
    };
    has_keys("regions", REGION_KEYS, &v["regions"]);
    has_keys("objects", OBJECT_KEYS, &v["objects"]);
    Elfmaps {
        regions: serde_json::from_value(v["regions"].clone()).unwrap(),
        objects: serde_json::from_value(v["objects"].clone()).unwrap(),
    }
}

/// `elfmaps map --json PID`, checked as a live report with this page size.
pub fn map_live(pid: u32, page: u64) -> Elfmaps {
    let v = cli::json_ok(["map", "--json", &pid.to_string()]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["pid"], pid);
    assert_eq!(v["page_size"], page);
    assert_eq!(v["source"], "smaps");
    parse_elfmaps(&v)
}

/// `elfmaps map --rss-only --json PID`, checked as a live RSS-only report with this
/// page size: pss and the clean/dirty figures null everywhere.
pub fn map_live_rss_only(pid: u32, page: u64) -> Elfmaps {
    let v = cli::json_ok(["map", "--rss-only", "--json", &pid.to_string()]);
    assert_eq!(v["pid"], pid);
    assert_eq!(v["page_size"], page);
    assert_eq!(v["source"], "maps+pagemap");
    for r in v["regions"].as_array().unwrap() {
        for k in [
            "pss",
            "shared_clean",
            "private_dirty",
            "swap_pss",
            "anonymous",
        ] {
            assert!(r[k].is_null(), "--rss-only: {k} of {r} is not null");
        }
        assert!(r["rss"].is_u64() && r["swap"].is_u64(), "--rss-only: {r}");
    }
    parse_elfmaps(&v)
}

/// `elfmaps map --json ARGS` of a saved input (no pid).
pub fn map_offline(args: &[&str]) -> Elfmaps {
    let mut all = vec!["map", "--json"];
    all.extend_from_slice(args);
    let v = cli::json_ok(all);
    // A snapshot recorded its process (issue 20: the report says which); saved
    // smaps and maps do not know it.
    if !args.contains(&"--snapshot") {
        assert!(v["pid"].is_null(), "offline output has a pid");
    }
    parse_elfmaps(&v)
}

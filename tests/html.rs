//! `elfmaps report`: the HTML page, checked in a real browser (issue 13).
//!
//! Each page is loaded once in headless Chromium with the network closed (a host
//! resolver that resolves nothing and a proxy that does not exist, besides the page's
//! own Content-Security-Policy). The page's script checks itself and writes the result
//! as JSON into `<pre id="elfmaps-selfcheck">`, which `--dump-dom` prints once the
//! page has loaded. From it and from the DOM these tests check:
//! - the embedded data is the `--json` output, byte for byte once the two escapes of
//!   `embed_json` are undone (and parses to the same value);
//! - the treemap's leaves have areas proportional to their figure: exactly as laid out,
//!   and within 1% as the browser drew them (leaves at least 4 px on each side);
//! - every region appears once in the strip, in address order, and the page shows them
//!   in that order (rows top to bottom, each left to right);
//! - the table's rows, per object and kind, per object and per kind, are the CLI's
//!   `summary` rows, figure for figure;
//! - nothing went wrong: no exception, no `console.error`, no policy violation caught
//!   by the page, and no console message at all in Chromium's log.
//!
//! Without Chromium the tests skip with a note; under `CI=true` that is a failure
//! (.ci/run installs Debian's `chromium`). `ELFMAPS_CHROMIUM` names another binary.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::build;
use common::child::Running;
use common::cli::{checked, elfmaps, stderr};
use common::skip;
use serde_json::Value;

/// The Chromium binary, if it runs here (else a note, or a failure under CI).
fn chromium() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("ELFMAPS_CHROMIUM") {
        Some(p) => vec![p.into()],
        None => ["chromium", "chromium-browser"]
            .iter()
            .map(PathBuf::from)
            .collect(),
    };
    for c in &candidates {
        if Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Some(c.clone());
        }
    }
    skip::missing_tool(
        "chromium",
        "no chromium to load the HTML report in (apt-get install chromium)",
    );
    None
}

/// What Chromium made of a page: the DOM after the page's script ran, and the console
/// messages of its log.
struct Loaded {
    dom: String,
    console: Vec<String>,
}

/// Held while a browser of this file runs, and while the live test takes its report
/// and `map --json` pair: a browser starting or exiting maps or unmaps the same libc
/// as the live program, which moves the program's PSS between the two runs.
static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Loads `page` in headless Chromium and returns its DOM once loaded.
fn load(browser: &Path, page: &Path) -> Loaded {
    load_at(browser, page, "")
}

/// [`load`], with `fragment` (`#...`) after the page's address.
fn load_at(browser: &Path, page: &Path, fragment: &str) -> Loaded {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            // No network: no name resolves and every connection goes to a closed port.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1400,1000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}{fragment}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Read both pipes on threads so that neither fills; give up after a minute.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {} in 60 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let dom = out_thread.join().unwrap();
    let log = err_thread.join().unwrap();
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    Loaded { dom, console }
}

/// The text of the element that starts with `open` (up to `close`) in `html`.
fn element<'a>(html: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let at = html.find(open)?;
    let body = at + html[at..].find('>')? + 1;
    let end = body + html[body..].find(close)?;
    Some(&html[body..end])
}

/// The embedded data of a page (its file or its DOM), with `embed_json`'s two
/// escapes undone.
fn embedded(html: &str) -> String {
    element(
        html,
        "<script type=\"application/json\" id=\"elfmaps-data\"",
        "</script>",
    )
    .expect("no elfmaps-data element")
    .replace("<\\/", "</")
    .replace("<\\u0021", "<!")
}

/// The page's self-check, and that nothing went wrong while it loaded.
fn self_check(loaded: &Loaded, page: &Path) -> Value {
    let text = element(&loaded.dom, "<pre id=\"elfmaps-selfcheck\"", "</pre>")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{}: the page wrote no self-check (its script did not run?); console: {:?}",
                page.display(),
                loaded.console
            )
        });
    let check: Value = serde_json::from_str(text).expect("self-check is JSON");
    assert_eq!(
        check["errors"],
        serde_json::json!([]),
        "{}: errors in the page",
        page.display()
    );
    assert!(
        loaded.console.is_empty(),
        "{}: console messages: {:#?}",
        page.display(),
        loaded.console
    );
    check
}

/// The embedded data, as in the file and as the browser holds it, is `json`.
fn assert_data_is(html_file: &str, loaded: &Loaded, json: &[u8]) {
    let json = std::str::from_utf8(json).unwrap();
    assert!(
        embedded(html_file) == json,
        "the page's data is not the --json output"
    );
    assert!(
        embedded(&loaded.dom) == json,
        "the data in the browser's DOM is not the --json output"
    );
    let a: Value = serde_json::from_str(&embedded(&loaded.dom)).unwrap();
    let b: Value = serde_json::from_str(json).unwrap();
    assert_eq!(a, b);
}

/// The treemap's leaves are one per region with a figure above 0, with areas
/// proportional to it.
fn assert_treemap(check: &Value, regions: &[Value]) {
    let tm = &check["treemap"];
    let metric = tm["metric"].as_str().unwrap();
    let positive = regions
        .iter()
        .filter(|r| r[metric].as_u64().is_some_and(|v| v > 0))
        .count();
    assert_eq!(tm["leaves"].as_u64(), Some(positive as u64), "{tm}");
    assert!(tm["measured"].as_u64().unwrap() > 0, "{tm}");
    assert!(tm["max_rel_err_layout"].as_f64().unwrap() < 1e-9, "{tm}");
    assert!(tm["area_rel_err"].as_f64().unwrap() < 1e-9, "{tm}");
    assert!(tm["max_rel_err_drawn"].as_f64().unwrap() < 0.01, "{tm}");
    assert_eq!(tm["inside"], true, "{tm}");
}

/// Every region once in the strip, in address order.
fn assert_strip(check: &Value, regions: &[Value]) {
    let strip = &check["strip"];
    let want: Vec<String> = regions
        .iter()
        .map(|r| format!("{:x}", r["start"].as_u64().unwrap()))
        .collect();
    let got: Vec<&str> = strip["starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(got, want, "the strip's cells are not the regions in order");
    let starts: Vec<u64> = regions
        .iter()
        .map(|r| r["start"].as_u64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(strip["in_order"], true);
    assert_eq!(
        strip["visual_order"], true,
        "cells not shown in address order"
    );
}

/// The table's rows are the rows of `summary` (per object and kind, per object, per
/// kind), figure for figure but the figures named in `moving`.
fn assert_table(check: &Value, input: &[&str], moving: &[&str]) {
    let summary = |extra: &[&str]| -> Value {
        let mut args = vec!["summary", "--json"];
        args.extend_from_slice(extra);
        args.extend_from_slice(input);
        let o = elfmaps(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let by_object = summary(&[]);
    let by_kind = summary(&["--by", "kind"]);
    // A page row as the CLI prints it: the keys of a summary row.
    let compare = |page: &Value, cli: &Value, what: &str| {
        let page = page.as_array().unwrap();
        let cli = cli.as_array().unwrap();
        for row in cli {
            let found = page
                .iter()
                .find(|p| p["object"] == row["object"] && p["kind"] == row["kind"])
                .unwrap_or_else(|| panic!("{what}: no row in the page for {row}"));
            for (k, v) in row.as_object().unwrap() {
                if moving.contains(&k.as_str()) {
                    continue;
                }
                assert_eq!(&found[k], v, "{what}: {k} of {row}");
            }
        }
    };
    let table = &check["table"];
    compare(
        &table["both"],
        &by_object["rows"],
        "rows by object and kind",
    );
    assert_eq!(
        table["both"].as_array().unwrap().len(),
        by_object["rows"].as_array().unwrap().len()
    );
    compare(&table["object"], &by_object["objects"], "rows by object");
    compare(&table["kind"], &by_kind["rows"], "rows by kind");
    assert_eq!(check["totals_match"], true);
}

/// Writes the page of `input` with `report` into `dir/NAME.html`, then runs `map
/// --json` on the same input; returns the page and the JSON.
fn report_and_json(dir: &Path, name: &str, input: &[&str]) -> (PathBuf, String, Vec<u8>) {
    let page = dir.join(format!("{name}.html"));
    let mut args = vec!["report", "-o", page.to_str().unwrap()];
    args.extend_from_slice(input);
    let o = elfmaps(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let mut args = vec!["map", "--json"];
    args.extend_from_slice(input);
    let json = elfmaps(&args);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let html = std::fs::read_to_string(&page).unwrap();
    (page, html, json.stdout)
}

/// Loads a map page and checks its data, treemap and strip; returns its self-check.
fn check_map_page(browser: &Path, page: &Path, html: &str, json: &[u8]) -> Value {
    let loaded = load(browser, page);
    let check = self_check(&loaded, page);
    assert_eq!(check["page"], "map");
    assert_data_is(html, &loaded, json);
    let report: Value = serde_json::from_slice(json).unwrap();
    let regions = report["regions"].as_array().unwrap();
    assert_eq!(check["regions"].as_u64(), Some(regions.len() as u64));
    assert_treemap(&check, regions);
    assert_strip(&check, regions);
    assert_zoom_and_toggle(&check, regions);
    assert_colours(&check);
    check
}

/// Issue 20: the page zooms into a tile's object and back, and "objects only"
/// leaves out memory of no object, each drawn to scale (checked by the page's own
/// script in Chromium, which clicks through both).
fn assert_zoom_and_toggle(check: &Value, regions: &[Value]) {
    let ex = &check["exercise"];
    let z = &ex["zoom"];
    if !z.is_null() {
        assert_eq!(z["only_that_group"], true, "zoom shows one group: {z}");
        assert_eq!(z["button_shown"], true, "{z}");
        assert!(z["max_rel_err_layout"].as_f64().unwrap() < 1e-6, "{z}");
        assert!(z["area_rel_err"].as_f64().unwrap() < 1e-6, "{z}");
        assert_eq!(z["inside"], true, "{z}");
        assert_eq!(z["back_leaves"], z["whole_leaves"], "zooming back: {z}");
        assert_eq!(z["button_hidden_after"], true, "{z}");
    }
    let o = &ex["objects_only"];
    assert!(!o.is_null(), "no objects-only toggle: {ex}");
    assert_eq!(o["non_object_leaves"], 0, "{o}");
    assert_eq!(o["back_leaves"], o["whole_leaves"], "toggling back: {o}");
    let of_objects = regions.iter().any(|r| !r["object"].is_null());
    if of_objects && o["leaves"].as_u64().unwrap() > 0 {
        assert!(o["max_rel_err_layout"].as_f64().unwrap() < 1e-6, "{o}");
    }
}

/// Issue 20: every pair of kind colours, as Chromium computes them, at least ΔE 10
/// apart (CIEDE2000) for normal vision and the common colour-vision deficiencies
/// (protanopia, deuteranopia, tritanopia, as Machado 2009 simulates them).
fn assert_colours(check: &Value) {
    let colours: Vec<(String, [u8; 3])> = check["colours"]
        .as_array()
        .unwrap_or_else(|| panic!("no colours in the self-check"))
        .iter()
        .map(|c| {
            let name = c[0].as_str().unwrap().to_string();
            let css = c[1].as_str().unwrap();
            let nums: Vec<u8> = css
                .trim_start_matches("rgba(")
                .trim_start_matches("rgb(")
                .trim_end_matches(')')
                .split(',')
                .take(3)
                .map(|n| n.trim().parse().unwrap_or_else(|_| panic!("{name}: {css}")))
                .collect();
            (name, [nums[0], nums[1], nums[2]])
        })
        .collect();
    let kinds: Vec<&(String, [u8; 3])> = colours
        .iter()
        .filter(|(n, _)| n != "grew" && n != "shrank")
        .collect();
    assert!(kinds.len() >= 23, "{colours:?}");
    for cvd in [
        None,
        Some(&cie::PROTAN),
        Some(&cie::DEUTAN),
        Some(&cie::TRITAN),
    ] {
        for (i, (a, ca)) in kinds.iter().enumerate() {
            for (b, cb) in &kinds[i + 1..] {
                let d = cie::de2000(cie::lab(*ca, cvd), cie::lab(*cb, cvd));
                assert!(d >= 10.0, "{a} {ca:?} and {b} {cb:?}: ΔE {d:.2} ({cvd:?})");
            }
        }
        let find = |n: &str| colours.iter().find(|c| c.0 == n).unwrap().1;
        let d = cie::de2000(cie::lab(find("grew"), cvd), cie::lab(find("shrank"), cvd));
        assert!(d >= 30.0, "grew and shrank ΔE {d:.2}");
    }
}

/// CIELAB and CIEDE2000 (Sharma, Wu and Dalal 2005), and colour-vision deficiencies
/// as Machado, Oliveira and Fernandes (2009) simulate them at full severity: the
/// test's own, from the papers, not the crate's.
mod cie {
    pub const PROTAN: [[f64; 3]; 3] = [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ];
    pub const DEUTAN: [[f64; 3]; 3] = [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ];
    pub const TRITAN: [[f64; 3]; 3] = [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ];

    pub fn lab(rgb: [u8; 3], cvd: Option<&[[f64; 3]; 3]>) -> [f64; 3] {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let mut v = rgb.map(lin);
        if let Some(m) = cvd {
            v = [0, 1, 2]
                .map(|i| (m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2]).clamp(0.0, 1.0));
        }
        let x = (0.4124564 * v[0] + 0.3575761 * v[1] + 0.1804375 * v[2]) / 0.95047;
        let y = 0.2126729 * v[0] + 0.7151522 * v[1] + 0.0721750 * v[2];
        let z = (0.0193339 * v[0] + 0.1191920 * v[1] + 0.9503041 * v[2]) / 1.08883;
        let f = |t: f64| {
            if t > 216.0 / 24389.0 {
                t.cbrt()
            } else {
                (24389.0 / 27.0 * t + 16.0) / 116.0
            }
        };
        let (fx, fy, fz) = (f(x), f(y), f(z));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    pub fn de2000(p: [f64; 3], q: [f64; 3]) -> f64 {
        let ([l1, a1, b1], [l2, a2, b2]) = (p, q);
        let cb = (a1.hypot(b1) + a2.hypot(b2)) / 2.0;
        let g = 0.5 * (1.0 - (cb.powi(7) / (cb.powi(7) + 25f64.powi(7))).sqrt());
        let (a1, a2) = ((1.0 + g) * a1, (1.0 + g) * a2);
        let (c1, c2) = (a1.hypot(b1), a2.hypot(b2));
        let h = |b: f64, a: f64| {
            if a == 0.0 && b == 0.0 {
                0.0
            } else {
                b.atan2(a).to_degrees().rem_euclid(360.0)
            }
        };
        let (h1, h2) = (h(b1, a1), h(b2, a2));
        let dh = if c1 * c2 == 0.0 {
            0.0
        } else if (h2 - h1).abs() <= 180.0 {
            h2 - h1
        } else if h2 > h1 {
            h2 - h1 - 360.0
        } else {
            h2 - h1 + 360.0
        };
        let big_dh = 2.0 * (c1 * c2).sqrt() * (dh.to_radians() / 2.0).sin();
        let (lb, cbp) = ((l1 + l2) / 2.0, (c1 + c2) / 2.0);
        let hb = if c1 * c2 == 0.0 {
            h1 + h2
        } else if (h1 - h2).abs() <= 180.0 {
            (h1 + h2) / 2.0
        } else if h1 + h2 < 360.0 {
            (h1 + h2 + 360.0) / 2.0
        } else {
            (h1 + h2 - 360.0) / 2.0
        };
        let t = 1.0 - 0.17 * (hb - 30.0).to_radians().cos()
            + 0.24 * (2.0 * hb).to_radians().cos()
            + 0.32 * (3.0 * hb + 6.0).to_radians().cos()
            - 0.20 * (4.0 * hb - 63.0).to_radians().cos();
        let dt = 30.0 * (-((hb - 275.0) / 25.0).powi(2)).exp();
        let rc = 2.0 * (cbp.powi(7) / (cbp.powi(7) + 25f64.powi(7))).sqrt();
        let sl = 1.0 + 0.015 * (lb - 50.0).powi(2) / (20.0 + (lb - 50.0).powi(2)).sqrt();
        let (sc, sh) = (1.0 + 0.045 * cbp, 1.0 + 0.015 * cbp * t);
        let rt = -(2.0 * dt).to_radians().sin() * rc;
        let (x, y, z) = ((l2 - l1) / sl, (c2 - c1) / sc, big_dh / sh);
        (x * x + y * y + z * z + rt * y * z).sqrt()
    }

    /// Sharma's published pairs.
    #[test]
    fn de2000_is_sharmas() {
        let d = de2000([50.0, 2.5, 0.0], [73.0, 25.0, -18.0]);
        assert!((d - 27.1492).abs() < 1e-4, "{d}");
        let d = de2000([50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485]);
        assert!((d - 2.0425).abs() < 1e-4, "{d}");
    }
}

#[test]
fn a_saved_maps_page_checks_out_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let maps = build::testdata("cross/aarch64/maps");
    let root = build::testdata("cross/aarch64/root");
    let input = [
        "--maps",
        maps.to_str().unwrap(),
        "--sysroot",
        root.to_str().unwrap(),
        "--page-size",
        "4096",
    ];
    let (page, html, json) = report_and_json(dir.path(), "aarch64", &input);
    let check = check_map_page(&browser, &page, &html, &json);
    assert_eq!(
        check["treemap"]["metric"], "size",
        "a saved maps has only sizes"
    );
    assert_table(&check, &input, &[]);
}

/// A small C program with a heap, a thread and an anonymous mapping, waiting on its
/// standard input.
const LIVE_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static void *idle(void *arg) { (void)arg; pause(); return NULL; }
int main(void) {
    char *heap = malloc(3 << 20);
    memset(heap, 1, 3 << 20);
    char *anon = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(anon, 2, 1 << 19);
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
    printf("READY\n");
    fflush(stdout);
    return getchar() == EOF ? 0 : 1;
}
"#;

#[test]
fn a_live_process_page_checks_out_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_source(dir.path(), "live", LIVE_C, &["-O0", "-pthread"]) else {
        return;
    };
    let mut child = Running::start(
        Command::new(&exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    child.lines_until("READY");
    child.settle();
    let pid = child.pid_arg();
    let input = [pid.as_str()];
    // PSS moves when another process maps the same pages between the two runs: no
    // browser of this file runs meanwhile ([`BROWSER`]), and against other processes of
    // the machine the pair is taken again until both runs saw the same figures.
    let (page, html, json) = {
        let _quiet = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let mut pair = report_and_json(dir.path(), "live", &input);
        for _ in 0..20 {
            if embedded(&pair.1).as_bytes() == pair.2.as_slice() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            pair = report_and_json(dir.path(), "live", &input);
        }
        pair
    };
    let check = check_map_page(&browser, &page, &html, &json);
    assert_eq!(
        check["treemap"]["metric"], "pss",
        "a live page is sized by PSS"
    );
    // `summary` is a third run, whose resident figures may have moved: compared here
    // by object, kind, regions and size, and in full on a snapshot below.
    assert_table(
        &check,
        &input,
        &[
            "rss",
            "pss",
            "shared_clean",
            "shared_dirty",
            "private_clean",
            "private_dirty",
            "anonymous",
            "swap",
            "swap_pss",
            "locked",
            "hugetlb",
        ],
    );

    let snap = dir.path().join("live.snap");
    let o = elfmaps(["snapshot", &pid, "-o", snap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    child.finish();
    let input = ["--snapshot", snap.to_str().unwrap()];
    let (page, html, json) = report_and_json(dir.path(), "snap", &input);
    let check = check_map_page(&browser, &page, &html, &json);
    assert_eq!(check["treemap"]["metric"], "pss");
    assert_table(&check, &input, &[]);
}

/// Issue 24: `report --symbols` of the program of testdata/symbols (hot functions
/// touched, cold ones dropped from its page tables) embeds its symbols, and the page
/// drills from the library's treemap tile to its sections, then to `.text`'s
/// symbols, where `hot_one` is named with its three resident pages, and back up.
/// The sections' rows are those of `symbols --json`; a page made without --symbols
/// has no symbol data at all.
#[test]
fn a_symbols_page_drills_from_an_object_to_its_symbols_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let libdir = dir.path().join("lib");
    std::fs::create_dir_all(&libdir).unwrap();
    let Some(_lib) = build::build(
        "cc",
        &["-O1", "-g", "-shared", "-fPIC", "-Wl,--build-id"],
        &libdir.join("libsymbols.so"),
        &[build::testdata("symbols/libsymbols.c")],
    ) else {
        return;
    };
    let rpath = format!("-Wl,-rpath,{}", libdir.display());
    let libflag = format!("-L{}", libdir.display());
    let Some(exe) = build::build_linked(
        "cc",
        &["-O1", &rpath, &libflag],
        &dir.path().join("symbols"),
        &[build::testdata("symbols/symbols.c")],
        &["-lsymbols"],
    ) else {
        return;
    };
    let mut child = Running::spawn(
        Command::new(&exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    child.lines_until("READY");
    let pid = child.pid_arg();
    let page = dir.path().join("symbols.html");
    let (html, truth, plain) = {
        let _quiet = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let o = elfmaps(["report", "--symbols", "-o", page.to_str().unwrap(), &pid]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let truth = checked(elfmaps([
            "symbols",
            "--json",
            "--object",
            "libsymbols.so",
            &pid,
        ]));
        let plain = checked(elfmaps(["report", "-o", "-", &pid]));
        (std::fs::read_to_string(&page).unwrap(), truth, plain)
    };
    let truth: Value = serde_json::from_slice(&truth.stdout).unwrap();
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert!(
        !plain.contains("id=\"elfmaps-symbols\"") && !plain.contains("hot_one"),
        "a page without --symbols holds symbol data"
    );
    assert!(
        html.len() < 2 << 20,
        "{} bytes: over the page-size bound",
        html.len()
    );

    // The embedded document: the library's rows as `symbols --json` gives them (it
    // has fewer than the rows kept per section, so none is cut).
    let doc = element(
        &html,
        "<script type=\"application/json\" id=\"elfmaps-symbols\"",
        "</script>",
    )
    .expect("no elfmaps-symbols element")
    .replace("<\\/", "</")
    .replace("<\\u0021", "<!");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let lib_of = |v: &Value| {
        v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["object"] == "libsymbols.so")
            .cloned()
            .expect("libsymbols.so in the symbols")
    };
    let rows = |o: &Value| {
        let mut r: Vec<(String, u64, String)> = o["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["size"].as_u64().unwrap(),
                    r["section"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        r.sort();
        r
    };
    let (embedded_lib, truth_lib) = (lib_of(&doc), lib_of(&truth));
    assert_eq!(rows(&embedded_lib), rows(&truth_lib));
    assert!(doc["top_per_section"].as_u64().unwrap() > 0);
    assert_eq!(doc["objects_left_out"], 0, "a small process fits whole");

    let loaded = load_at(&browser, &page, "#drill=libsymbols.so");
    let check = self_check(&loaded, &page);
    let s = &check["symbols"];
    assert_eq!(s["object"], "libsymbols.so", "{s}");
    assert_eq!(s["from_tile"], true, "opened from the treemap's tile: {s}");
    assert!(
        s["level_after_tile"]["object"]
            .as_str()
            .unwrap()
            .ends_with("/libsymbols.so")
    );
    assert!(s["level_after_tile"]["section"].is_null());
    assert_eq!(
        s["sections_sum"]["size"], s["sections_sum"]["object_size"],
        "the sections sum to the object: {s}"
    );
    // The sections: those of `symbols --json`, each with its size.
    let mut want: Vec<(String, u64)> = Vec::new();
    for (name, size, section) in rows(&truth_lib) {
        let _ = name;
        match want.iter_mut().find(|(n, _)| *n == section) {
            Some(w) => w.1 += size,
            None => want.push((section, size)),
        }
    }
    let mut got: Vec<(String, u64)> = s["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_string(),
                x["size"].as_u64().unwrap(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "the page's sections");
    // .text's symbols, reached by clicking its tile: hot_one named on its tile and in
    // the list, three resident pages; cold_one listed with nothing resident.
    let text = &s["symbols"][".text"];
    assert_eq!(text["clicked"], true, "{text}");
    assert!(text["where"].as_str().unwrap().contains(".text"), "{text}");
    let listed: Vec<&str> = text["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&"hot_one") && listed.contains(&"cold_one"),
        "{listed:?}"
    );
    assert!(
        text["labels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with("hot_one ")),
        "hot_one's tile is not labelled: {text}"
    );
    let row = |name: &str| {
        text["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("hot_one")["resident"].as_u64(), Some(3 * 4096));
    assert_eq!(row("cold_one")["resident"].as_u64(), Some(0));
    // Back up: the objects again, no "up" button.
    assert!(
        s["back"]["object"].is_null() && s["back"]["section"].is_null(),
        "{s}"
    );
    assert_eq!(s["back"]["up_hidden"], true);
    assert_eq!(s["back"]["items"], s["objects"]);
    child.finish();
}

#[test]
fn a_diff_page_checks_out_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let golden = |n: &str| format!("{}/tests/golden/{n}", build::ROOT);
    let (old, new) = (golden("aarch64.map.json"), golden("riscv64.map.json"));
    let page = dir.path().join("diff.html");
    let o = elfmaps(["report", "--diff", &old, &new, "-o", page.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json = elfmaps(["diff", "--json", &old, &new]);
    let loaded = load(&browser, &page);
    let check = self_check(&loaded, &page);
    assert_eq!(check["page"], "diff");
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_data_is(&html, &loaded, &json.stdout);
    let d: Value = serde_json::from_slice(&json.stdout).unwrap();
    let changes = d["changes"].as_array().unwrap();
    assert_eq!(check["changes"].as_u64(), Some(changes.len() as u64));
    let tm = &check["treemap"];
    let metric = tm["metric"].as_str().unwrap();
    let nonzero = changes
        .iter()
        .filter(|c| c[metric].as_i64().is_some_and(|v| v != 0))
        .count();
    assert!(nonzero > 0);
    assert_eq!(tm["leaves"].as_u64(), Some(nonzero as u64), "{tm}");
    assert!(tm["max_rel_err_drawn"].as_f64().unwrap() < 0.01, "{tm}");
    assert!(tm["max_rel_err_layout"].as_f64().unwrap() < 1e-9, "{tm}");
}

/// The page of a system-wide scan: of a system snapshot of three `sleep` processes
/// (a fixed input, so that `system --json` prints the same figures for the page and
/// for the comparison), and of the saved `system --json` itself.
#[test]
fn a_system_page_checks_out_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sleeps: Vec<Running> = (0..3).map(|_| Running::sleep()).collect();
    let pids: Vec<String> = sleeps.iter().map(|s| s.pid().to_string()).collect();
    let snap = dir.path().join("machine.snap");
    let snap_arg = snap.to_str().unwrap();
    let o = elfmaps([
        "snapshot",
        "--system",
        "--pid",
        &pids.join(","),
        "-o",
        snap_arg,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    drop(sleeps);
    let page = dir.path().join("system.html");
    let o = elfmaps([
        "report",
        "--system",
        "--snapshot",
        snap_arg,
        "--sysroot",
        "/",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json = elfmaps(["system", "--json", "--snapshot", snap_arg, "--sysroot", "/"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("data-page=\"system\""));
    let loaded = load(&browser, &page);
    let check = self_check(&loaded, &page);
    assert_eq!(check["page"], "system");
    assert_data_is(&html, &loaded, &json.stdout);
    assert!(
        loaded.dom.contains("No address-space strip"),
        "the page does not say why it has no strip"
    );
    assert!(!loaded.dom.contains("class=\"strip\""));

    let sys: Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = sys["rows"].as_array().unwrap();
    assert_eq!(check["processes"].as_u64(), Some(3));
    assert_eq!(sys["processes"].as_array().unwrap().len(), 3);
    // One leaf per row (object and kind, across processes) with a figure above 0.
    assert_treemap(&check, rows);
    // The tables: every row, object (and one row "-" for memory of no object) and kind
    // of the CLI, and their sums equal the machine's total as the CLI prints it.
    let table = &check["table"];
    assert_eq!(table["both"].as_u64(), Some(rows.len() as u64));
    let none = rows.iter().any(|r| r["object"].is_null());
    assert_eq!(
        table["object"].as_u64(),
        Some(sys["objects"].as_array().unwrap().len() as u64 + u64::from(none))
    );
    assert_eq!(
        table["kind"].as_u64(),
        Some(sys["kinds"].as_array().unwrap().len() as u64)
    );
    for what in ["rows", "objects", "kinds", "processes"] {
        assert_eq!(check["totals_match"][what], true, "{what}: {check}");
    }

    // The same page from the saved `system --json`: its data is that file, byte for byte.
    let saved = dir.path().join("system.json");
    std::fs::write(&saved, &json.stdout).unwrap();
    let again = dir.path().join("again.html");
    let o = elfmaps([
        "report",
        "--system-json",
        saved.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = std::fs::read_to_string(&again).unwrap();
    assert_eq!(embedded(&html).as_bytes(), &json.stdout[..]);
    assert!(html.contains("data-page=\"system\""));
}

// ---------------------------------------------------------- without a browser

/// The page is one file that fetches nothing, and it says so in its policy.
#[test]
fn the_page_is_self_contained() {
    let maps = build::testdata("cross/aarch64/maps");
    let root = build::testdata("cross/aarch64/root");
    let o = elfmaps([
        "report",
        "-o",
        "-",
        "--maps",
        maps.to_str().unwrap(),
        "--sysroot",
        root.to_str().unwrap(),
        "--page-size",
        "4096",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = String::from_utf8(o.stdout).unwrap();
    let key = "http-equiv=\"Content-Security-Policy\" content=\"";
    let at = html
        .find(key)
        .expect("a Content-Security-Policy meta element")
        + key.len();
    let csp = &html[at..at + html[at..].find('"').unwrap()];
    assert!(
        csp.starts_with("default-src 'none'; script-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    for bad in [
        "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "http:", "https:",
    ] {
        assert!(!html.contains(bad), "the page contains {bad}");
    }
    // The assets are small next to the data: the page of the bench process (about
    // 1.2 MB of JSON) stays under 2 MiB as long as they do.
    let data = embedded(&html);
    assert!(
        html.len() - data.len() < 96 * 1024,
        "{} bytes of page around the data",
        html.len() - data.len()
    );
}

#[test]
fn report_errors_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.html");
    let out = out.to_str().unwrap();
    // No target.
    let o = elfmaps(["report", "-o", out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no target"), "{}", stderr(&o));
    // A diff of something that is not a report: nothing is written.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    let o = elfmaps([
        "report",
        "--diff",
        bad.to_str().unwrap(),
        bad.to_str().unwrap(),
        "-o",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.json"), "{}", stderr(&o));
    assert!(!Path::new(out).exists());
    // A target and --diff together.
    let o = checked(
        common::cli::command(["report", "1", "--diff", "a", "b", "-o", out])
            .output()
            .unwrap(),
    );
    assert_eq!(o.status.code(), Some(2));
    // A saved report that is not a system report, and selection flags without --system.
    let map_json = format!("{}/tests/golden/aarch64.map.json", build::ROOT);
    let o = elfmaps(["report", "--system-json", &map_json, "-o", out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a report of `elfmaps system --json`"),
        "{}",
        stderr(&o)
    );
    assert!(!Path::new(out).exists());
    let o = elfmaps(["report", "--pid", "1", "-o", out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("for --system"), "{}", stderr(&o));
    // An output that cannot be written.
    let maps = build::testdata("cross/aarch64/maps");
    let o = elfmaps([
        "report",
        "--maps",
        maps.to_str().unwrap(),
        "-o",
        "/nonexistent/dir/x.html",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("writing /nonexistent/dir/x.html"),
        "{}",
        stderr(&o)
    );
}

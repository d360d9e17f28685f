//! The exposition of [`Metrics`]: the Prometheus text format (version 0.0.4) and
//! OpenMetrics 1.0 (`# UNIT` lines, an `info` family for build IDs, `# EOF`). Label
//! values are process names and paths, chosen by whoever started the process or wrote
//! the file: each is written in the printed form of the one escaping rule
//! ([`crate::vocab::escape`]), then escaped as both formats say (backslash, double
//! quote).

use std::fmt::Write as _;

use crate::views::metrics::Metrics;

/// Which exposition format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0.0 text.
    OpenMetrics,
}

impl Format {
    /// The HTTP `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an HTTP `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text` (version 1.0.0 or none) with a weight above 0,
    /// else the Prometheus text format.
    pub fn negotiate(accept: &str) -> Format {
        let wants = accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            if !parts
                .next()
                .is_some_and(|t| t.eq_ignore_ascii_case("application/openmetrics-text"))
            {
                return false;
            }
            parts.all(|p| match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("version") => v.trim() == "1.0.0",
                Some((k, v)) if k.trim().eq_ignore_ascii_case("q") => {
                    v.trim().parse::<f64>().is_ok_and(|q| q > 0.0)
                }
                _ => true,
            })
        });
        if wants {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}

/// `value` as a label value: its printed form ([`crate::vocab::escape::escape_str`]:
/// no control character, ESC or BEL, line separator or bidirectional control reaches
/// a scraper or its dashboards), then the format's own escapes: `\` as `\\`, `"` as
/// `\"` (newlines are `\n` already).
pub fn escape_label(value: &str) -> String {
    let printed = crate::vocab::escape::escape_str(value);
    let mut out = String::with_capacity(printed.len());
    for c in printed.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// The header lines of a family: `# HELP`, `# TYPE` and, in OpenMetrics, `# UNIT`.
fn header(out: &mut String, format: Format, name: &str, kind: &str, unit: &str, help: &str) {
    // Help texts are ours and hold no backslash, double quote or newline (which
    // OpenMetrics would need escaped).
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    if format == Format::OpenMetrics && !unit.is_empty() {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
}

/// `text`, an exposition in `format`, with the family of a server that serves a scan
/// it made earlier: `elfmaps_last_scan_timestamp_seconds`, when that scan ended (Unix
/// time; its age is `time() - elfmaps_last_scan_timestamp_seconds`), before `# EOF` in
/// OpenMetrics.
pub fn with_scan_time(mut text: String, format: Format, unix_seconds: f64) -> String {
    let eof = format == Format::OpenMetrics && text.ends_with("# EOF\n");
    if eof {
        text.truncate(text.len() - "# EOF\n".len());
    }
    header(
        &mut text,
        format,
        "elfmaps_last_scan_timestamp_seconds",
        "gauge",
        "seconds",
        "When the scan served ended (Unix time): scrapes between scans are answered from the last one.",
    );
    let _ = writeln!(
        text,
        "elfmaps_last_scan_timestamp_seconds {unix_seconds:.3}"
    );
    if eof {
        text.push_str("# EOF\n");
    }
    text
}

/// The exposition of `metrics` in `format`, as one string. Families that `--rss-only`
/// leaves out have no `# HELP` or `# TYPE` line either.
pub fn exposition(metrics: &Metrics, format: Format) -> String {
    let mut out = String::new();
    for family in metrics.families() {
        header(&mut out, format, family.name, "gauge", "bytes", family.help);
        for s in &metrics.series {
            if let Some(v) = (family.value)(s) {
                let _ = writeln!(
                    out,
                    "{}{{group=\"{}\",object=\"{}\",kind=\"{}\"}} {v}",
                    family.name,
                    escape_label(&s.group),
                    escape_label(&s.object),
                    s.kind.as_str()
                );
            }
        }
    }
    header(
        &mut out,
        format,
        "elfmaps_incomplete",
        "gauge",
        "",
        "1 when the family leaves out series of the group that elfmaps does not know (its sum over the group is then a lower bound), else 0.",
    );
    for g in &metrics.groups {
        for family in metrics.families() {
            let _ = writeln!(
                out,
                "elfmaps_incomplete{{group=\"{}\",family=\"{}\"}} {}",
                escape_label(&g.group),
                family.name,
                u8::from(g.incomplete.contains(&family.name))
            );
        }
    }
    header(
        &mut out,
        format,
        "elfmaps_group_processes",
        "gauge",
        "",
        "Processes read in each group.",
    );
    for g in &metrics.groups {
        let _ = writeln!(
            out,
            "elfmaps_group_processes{{group=\"{}\"}} {}",
            escape_label(&g.group),
            g.processes
        );
    }
    header(
        &mut out,
        format,
        "elfmaps_scan_seconds",
        "gauge",
        "seconds",
        "Time the scan spent reading and labelling the processes of each group (the exporter's cost to them).",
    );
    for g in &metrics.groups {
        let _ = writeln!(
            out,
            "elfmaps_scan_seconds{{group=\"{}\"}} {:.6}",
            escape_label(&g.group),
            g.scan_seconds
        );
    }
    let group_info = "Labels of each group: its systemd unit, or its container's ID, runtime and Kubernetes pod UID.";
    match format {
        Format::Prometheus => header(
            &mut out,
            format,
            "elfmaps_group_info",
            "gauge",
            "",
            group_info,
        ),
        Format::OpenMetrics => header(&mut out, format, "elfmaps_group", "info", "", group_info),
    }
    for g in metrics.groups.iter().filter(|g| !g.info.is_empty()) {
        let _ = write!(
            out,
            "elfmaps_group_info{{group=\"{}\"",
            escape_label(&g.group)
        );
        for (name, value) in &g.info {
            let _ = write!(out, ",{name}=\"{}\"", escape_label(value));
        }
        out.push_str("} 1\n");
    }
    let info_help = "The GNU build ID of each object named in the memory families.";
    match format {
        Format::Prometheus => header(
            &mut out,
            format,
            "elfmaps_object_info",
            "gauge",
            "",
            info_help,
        ),
        Format::OpenMetrics => header(&mut out, format, "elfmaps_object", "info", "", info_help),
    }
    for (object, build_id) in &metrics.objects {
        let _ = writeln!(
            out,
            "elfmaps_object_info{{object=\"{}\",build_id=\"{}\"}} 1",
            escape_label(object),
            escape_label(build_id)
        );
    }
    let build_help = "The version of elfmaps and how it scans: mode smaps or rss-only.";
    match format {
        Format::Prometheus => header(
            &mut out,
            format,
            "elfmaps_build_info",
            "gauge",
            "",
            build_help,
        ),
        Format::OpenMetrics => header(&mut out, format, "elfmaps_build", "info", "", build_help),
    }
    let _ = writeln!(
        out,
        "elfmaps_build_info{{version=\"{}\",mode=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        if metrics.rss_only {
            "rss-only"
        } else {
            "smaps"
        }
    );
    header(
        &mut out,
        format,
        "elfmaps_processes",
        "gauge",
        "",
        "Processes of the scan by state: scanned, or why they were not read.",
    );
    for (state, n) in metrics.processes.states() {
        let _ = writeln!(out, "elfmaps_processes{{state=\"{state}\"}} {n}");
    }
    header(
        &mut out,
        format,
        "elfmaps_series_dropped",
        "gauge",
        "",
        "Series (group, object, kind) summed into the object [other] by --top.",
    );
    let _ = writeln!(out, "elfmaps_series_dropped {}", metrics.dropped);
    header(
        &mut out,
        format,
        "elfmaps_groups_folded",
        "gauge",
        "",
        "Groups summed into the group [other]: smaller than --min-group-size, or beyond --max-groups in a day.",
    );
    let _ = writeln!(out, "elfmaps_groups_folded {}", metrics.groups_folded);
    header(
        &mut out,
        format,
        "elfmaps_scrape_duration_seconds",
        "gauge",
        "seconds",
        "How long the scan of the machine took.",
    );
    let _ = writeln!(
        out,
        "elfmaps_scrape_duration_seconds {:.6}",
        metrics.scrape_seconds
    );
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_negotiates() {
        assert_eq!(escape_label("a\\b\"c\nd\x1b"), "a\\\\b\\\"c\\\\nd\\\\e");
        let om = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(om), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate("text/plain;version=0.0.4;q=1,*/*;q=0.1"),
            Format::Prometheus
        );
        assert_eq!(
            Format::negotiate("application/openmetrics-text; version=1.0.0; q=0"),
            Format::Prometheus
        );
        assert_eq!(Format::negotiate(""), Format::Prometheus);
    }

    #[test]
    fn openmetrics_of_an_empty_scrape() {
        use crate::views::metrics::Builder;
        let m = Builder::new(1).finish(Default::default(), 0.25);
        let t = exposition(&m, Format::OpenMetrics);
        assert!(
            t.ends_with("elfmaps_scrape_duration_seconds 0.250000\n# EOF\n"),
            "{t}"
        );
        for help in t.lines().filter(|l| l.starts_with("# HELP")) {
            assert!(!help.contains(['"', '\\']), "{help}");
        }
        assert_eq!(t.matches("# UNIT").count(), 7);
        let p = exposition(&m, Format::Prometheus);
        assert!(!p.contains("# UNIT") && !p.contains("# EOF"));
        // A server's scan time goes before # EOF, with its unit in OpenMetrics.
        let served = with_scan_time(t, Format::OpenMetrics, 1.5);
        assert!(
            served.ends_with(
                "# UNIT elfmaps_last_scan_timestamp_seconds seconds\n\
                 elfmaps_last_scan_timestamp_seconds 1.500\n# EOF\n"
            ),
            "{served}"
        );
        let served = with_scan_time(p, Format::Prometheus, 2.0);
        assert!(served.ends_with("gauge\nelfmaps_last_scan_timestamp_seconds 2.000\n"));
    }
}

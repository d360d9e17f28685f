//! `elfmaps metrics`: its flags, printing or writing one scrape (`-o FILE` atomically,
//! for node_exporter's textfile collector), and the HTTP server of `--listen` (tiny_http:
//! docs/metrics.md says why). Part of the command line only: the library never pulls an
//! HTTP server.
//!
//! The server scans at most once per `--min-interval`: a scrape within that time of
//! the last scan is answered from it, and concurrent scrapes wait for the one scan
//! under way instead of starting their own.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use elfmaps::pipeline::metrics::scrape;
use elfmaps::pipeline::system::{Mode, Selection};
use elfmaps::render::metrics::{Format, exposition};
use elfmaps::views::metrics::{DEFAULT_TOP, GroupBy, Metrics};

use crate::{Exit, SelectArgs, error, say};

/// The flags of `elfmaps metrics`.
#[derive(Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// The exposition format (`--listen` negotiates it from each scrape's Accept
    /// header instead).
    #[arg(long, value_enum, default_value_t = FormatArg::Prometheus)]
    format: FormatArg,
    /// Write to FILE (for node_exporter's textfile collector: a temporary file in the
    /// same directory, then renamed over FILE, so a reader never sees half of it).
    #[arg(short, long, value_name = "FILE", conflicts_with = "listen")]
    output: Option<PathBuf>,
    /// Serve /metrics over HTTP on this address (e.g. 127.0.0.1:9464) until killed.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// With --listen: reuse a scan for this many seconds before scanning again.
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0, value_parser = parse_seconds)]
    min_interval: f64,
    /// What the `group` label is.
    #[arg(long, value_enum, default_value_t = GroupByArg::Comm)]
    group_by: GroupByArg,
    /// Objects per group that keep their own series (the rest are summed into
    /// object="[other]").
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    top: usize,
}

/// `--format`.
#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// The Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0.0.
    Openmetrics,
}

/// `--group-by`.
#[derive(Clone, Copy, ValueEnum)]
enum GroupByArg {
    /// The process name (comm).
    Comm,
    /// The cgroup path (a container, a systemd unit).
    Cgroup,
    /// The user name (or UID).
    User,
}

/// A number of seconds, 0 or more.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds")),
    }
}

/// How each scrape scans.
struct Scraper {
    selection: Selection,
    group_by: GroupBy,
    top: usize,
}

impl Scraper {
    fn scrape(&self) -> io::Result<Metrics> {
        scrape(&self.selection, Mode::Smaps, self.group_by, self.top)
    }
}

/// Runs `elfmaps metrics`.
pub fn run(a: MetricsArgs) -> io::Result<Exit> {
    let selection = match a.select.selection() {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let scraper = Scraper {
        selection,
        group_by: match a.group_by {
            GroupByArg::Comm => GroupBy::Comm,
            GroupByArg::Cgroup => GroupBy::Cgroup,
            GroupByArg::User => GroupBy::User,
        },
        top: a.top,
    };
    if let Some(addr) = a.listen {
        return serve(scraper, addr, Duration::from_secs_f64(a.min_interval));
    }
    let format = match a.format {
        FormatArg::Prometheus => Format::Prometheus,
        FormatArg::Openmetrics => Format::OpenMetrics,
    };
    let metrics = match scraper.scrape() {
        Ok(m) => m,
        Err(e) => return Ok(error(&format!("listing /proc: {e}"))),
    };
    if metrics.processes.scanned == 0 {
        return Ok(error("no process could be read"));
    }
    let text = exposition(&metrics, format);
    match a.output {
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        Some(path) => {
            if let Err(e) = write_atomically(&path, text.as_bytes()) {
                return Ok(error(&format!("writing {}: {e}", path.display())));
            }
        }
    }
    Ok(Exit::Ok)
}

/// Writes `bytes` to `path` through a temporary file in the same directory (not
/// ending in `.prom`, so the textfile collector ignores it), synced, then renamed over
/// `path`: a reader sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The last scan and when it was made.
struct Cache {
    last: Option<(Instant, Arc<Metrics>)>,
}

/// How many threads answer requests (tiny_http reads each request's head in its own
/// threads; these render and write the answers).
const WORKERS: usize = 4;

/// Serves `/metrics` on `addr` until the process is killed.
fn serve(scraper: Scraper, addr: SocketAddr, min_interval: Duration) -> io::Result<Exit> {
    let server = match tiny_http::Server::http(addr) {
        Ok(s) => Arc::new(s),
        Err(e) => return Ok(error(&format!("listening on {addr}: {e}"))),
    };
    say(&format!(
        "elfmaps: serving http://{}/metrics",
        server.server_addr()
    ));
    let shared = Arc::new((scraper, Mutex::new(Cache { last: None })));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let server = Arc::clone(&server);
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    answer(request, &shared.0, &shared.1, min_interval);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(Exit::Ok)
}

/// The metrics to serve: the last scan if younger than `min_interval`, else a new
/// one (made while holding the lock, so that concurrent scrapes share it).
fn current(
    scraper: &Scraper,
    cache: &Mutex<Cache>,
    min_interval: Duration,
) -> io::Result<Arc<Metrics>> {
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, m)) = &cache.last
        && at.elapsed() < min_interval
    {
        return Ok(Arc::clone(m));
    }
    let m = Arc::new(scraper.scrape()?);
    cache.last = Some((Instant::now(), Arc::clone(&m)));
    Ok(m)
}

/// Answers one HTTP request.
fn answer(request: tiny_http::Request, scraper: &Scraper, cache: &Mutex<Cache>, min: Duration) {
    use tiny_http::{Header, Method, Response};
    let header = |k: &str, v: &str| Header::from_bytes(k.as_bytes(), v.as_bytes()).ok();
    let path = request.url().split('?').next().unwrap_or("");
    let head = *request.method() == Method::Head;
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ = request.respond(Response::from_string("only GET\n").with_status_code(405));
        return;
    }
    match path {
        "/metrics" => {}
        "/" => {
            let body = "elfmaps metrics: see /metrics\n";
            let _ = request.respond(Response::from_string(body));
            return;
        }
        _ => {
            let _ = request.respond(Response::from_string("not found\n").with_status_code(404));
            return;
        }
    }
    let accept = request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Accept"))
        .map(|h| h.value.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let format = Format::negotiate(&accept);
    let response = match current(scraper, cache, min) {
        Ok(m) => {
            let body = if head {
                String::new()
            } else {
                exposition(&m, format)
            };
            let mut r = Response::from_string(body);
            if let Some(h) = header("Content-Type", format.content_type()) {
                r.add_header(h);
            }
            r
        }
        Err(e) => Response::from_string(format!("scan failed: {e}\n")).with_status_code(500),
    };
    let _ = request.respond(response);
}

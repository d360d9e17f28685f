//! `elfmaps metrics`: its flags, printing or writing one scrape (`-o FILE` atomically,
//! for node_exporter's textfile collector), and the HTTP server of `--listen`. Part of
//! the command line only: the library never pulls an HTTP server.
//!
//! The server is hyper's HTTP/1 server on a single-threaded tokio runtime
//! (docs/metrics.md says why), everything bounded: at most [`MAX_CONNECTIONS`]
//! connections at once (more are answered 503 and closed), a request head of at most
//! [`MAX_HEAD`] bytes that must arrive within [`HEAD_DEADLINE`], one request per
//! connection, each connection cut after [`CONNECTION_DEADLINE`]. It scans at most once per
//! `--min-interval`: a scrape within that time of the last scan is answered from it,
//! and concurrent scrapes wait for the one scan under way instead of starting their own.

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use elfmaps::pipeline::metrics::scrape;
use elfmaps::pipeline::system::{Mode, Selection};
use elfmaps::render::metrics::{Format, exposition};
use elfmaps::views::metrics::{DEFAULT_TOP, GroupBy, Metrics};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use tokio::sync::Semaphore;

use super::{Exit, SelectArgs, error, say};

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
    /// same directory, then renamed over FILE, so a reader never sees half of it; FILE
    /// must be a regular file if it exists, never a link).
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
    /// Scan /proc/PID/maps and pagemap instead of smaps: resident and swap bytes exact,
    /// no proportional or private series; spares the targets' mmap locks (no PSS walk).
    #[arg(long)]
    rss_only: bool,
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
    mode: Mode,
    group_by: GroupBy,
    top: usize,
}

impl Scraper {
    fn scrape(&self) -> io::Result<Metrics> {
        scrape(&self.selection, self.mode, self.group_by, self.top)
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
        mode: if a.rss_only {
            Mode::RssOnly
        } else {
            Mode::Smaps
        },
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
            if let Err(e) =
                super::write::write_bytes(&path, super::write::Mode::Shared, text.as_bytes())
            {
                return Ok(error(&format!("writing {}: {e}", path.display())));
            }
        }
    }
    Ok(Exit::Ok)
}

/// The last scan and when it was made.
struct Cache {
    last: Option<(Instant, Arc<Metrics>)>,
}

/// At most this many connections are served at once; more are answered 503 at once.
const MAX_CONNECTIONS: usize = 16;
/// The longest request head (request line and headers) read; longer is answered 431.
/// (hyper's smallest read buffer: `max_buf_size` refuses less.)
const MAX_HEAD: usize = 8 * 1024;
/// How long a whole request head may take to arrive.
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long a connection may last in all (a slow reader of the answer is cut).
const CONNECTION_DEADLINE: Duration = Duration::from_secs(120);
/// The answer to a connection beyond [`MAX_CONNECTIONS`].
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n";
/// The content type of every answer but the metrics.
const TEXT: &str = "text/plain; charset=utf-8";

/// What the connections share.
struct Shared {
    scraper: Scraper,
    /// An async lock: scrapes that arrive during a scan wait here without a thread.
    cache: tokio::sync::Mutex<Cache>,
    min_interval: Duration,
}

/// Serves `/metrics` on `addr` until the process is killed: hyper's HTTP/1 server on
/// a single-threaded tokio runtime, at most [`MAX_CONNECTIONS`] connections at once,
/// each bounded in size and time, one request per connection; scans run on a
/// blocking thread, one at a time.
fn serve(scraper: Scraper, addr: SocketAddr, min_interval: Duration) -> io::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        // Scans are serialized by the cache lock: one blocking thread does, two
        // leave room for one whose connection was cut while its scan finishes.
        .max_blocking_threads(2)
        .build()?;
    let shared = Arc::new(Shared {
        scraper,
        cache: tokio::sync::Mutex::new(Cache { last: None }),
        min_interval,
    });
    runtime.block_on(listen(shared, addr))
}

/// Accepts connections on `addr` and serves each on its own task.
async fn listen(shared: Arc<Shared>, addr: SocketAddr) -> io::Result<Exit> {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => return Ok(error(&format!("listening on {addr}: {e}"))),
    };
    say(&format!(
        "elfmaps: serving http://{}/metrics",
        listener.local_addr()?
    ));
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of descriptors or the like: let connections finish, then go on.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Over the limit: a fixed answer if the socket takes it now, then closed.
            let _ = stream.try_write(BUSY);
            continue;
        };
        let sh = Arc::clone(&shared);
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| answer(req, Arc::clone(&sh)));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_DEADLINE)
                .max_buf_size(MAX_HEAD)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_DEADLINE, connection).await;
        });
    }
}

/// An answer with `status`, `content_type` and `body` (hyper leaves the body out for
/// HEAD).
fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// The metrics to serve: the last scan if younger than `min_interval`, else a new
/// one (made while holding the lock, so that concurrent scrapes share it).
async fn current(shared: &Arc<Shared>) -> io::Result<Arc<Metrics>> {
    let mut cache = shared.cache.lock().await;
    if let Some((at, m)) = &cache.last
        && at.elapsed() < shared.min_interval
    {
        return Ok(Arc::clone(m));
    }
    let sh = Arc::clone(shared);
    let m = tokio::task::spawn_blocking(move || sh.scraper.scrape())
        .await
        .map_err(io::Error::other)??;
    let m = Arc::new(m);
    cache.last = Some((Instant::now(), Arc::clone(&m)));
    Ok(m)
}

/// Answers one request.
async fn answer(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "GET only\n"));
    }
    match req.uri().path() {
        "/metrics" => {}
        "/" => {
            let body = "elfmaps metrics: see /metrics\n";
            return Ok(reply(StatusCode::OK, TEXT, body));
        }
        _ => return Ok(reply(StatusCode::NOT_FOUND, TEXT, "not found\n")),
    }
    let accept: Vec<String> = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let format = Format::negotiate(&accept.join(","));
    Ok(match current(&shared).await {
        Ok(m) => reply(
            StatusCode::OK,
            format.content_type(),
            exposition(&m, format),
        ),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            TEXT,
            format!("scan failed: {e}\n"),
        ),
    })
}

//! `elfmaps metrics`: its flags, printing or writing one scrape (`-o FILE` atomically,
//! for node_exporter's textfile collector), and the HTTP server of `--listen`. Part of
//! the command line only: the library never pulls an HTTP server.
//!
//! The server is hyper's HTTP/1 server on a single-threaded tokio runtime
//! (docs/metrics.md says why). It bounds scans, not clients: scans run on a thread of
//! their own, one at a time and at most one per `--min-interval`, and an answer never
//! waits for one longer than [`SCAN_WAIT`] (or the scrape timeout Prometheus sends):
//! past it the last good scan is served, with its age (`Age`, and the
//! `elfmaps_last_scan_timestamp_seconds` family), or, before any scan ended, 503 with
//! `Retry-After`. Connections are cheap tasks, served concurrently up to
//! [`MAX_CONNECTIONS`] (more are answered 503 with `Retry-After`); each is bounded: a
//! request head of at most [`MAX_HEAD`] bytes that must arrive within
//! [`HEAD_DEADLINE`] (also the keep-alive idle time), one request at a time, and a
//! life of [`CONNECTION_DEADLINE`] (then it is closed after the answer in progress,
//! or [`GRACE`] later).

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pipeline::metrics::{
    Budget, Config, DEFAULT_MAX_LINES, DEFAULT_MAX_RSS, DEFAULT_MAX_SECONDS, Scraper, scrape_once,
};
use crate::pipeline::system::Mode;
use crate::render::metrics::{Format, exposition, with_scan_time};
use crate::views::metrics::{
    DEFAULT_MAX_GROUPS, DEFAULT_MIN_AGE, DEFAULT_MIN_GROUP_BYTES, DEFAULT_TOP, GroupBy, Limits,
    Metrics,
};
use clap::{Args, ValueEnum};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use tokio::sync::{Semaphore, watch};

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
    /// Serve /metrics over HTTP on this address until killed: HOST:PORT
    /// (127.0.0.1:9464, [::1]:9464, localhost:9464) or :PORT (every address).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// With --listen: reuse a scan for this many seconds before scanning again.
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0, value_parser = parse_seconds)]
    min_interval: f64,
    /// What the `group` label is.
    #[arg(long, value_enum, default_value_t = GroupByArg::Comm)]
    group_by: GroupByArg,
    /// Objects per group that keep their own series (the rest are summed into
    /// object="[other]"); with --listen, at most twice as many in a day.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    top: usize,
    /// Groups that keep their own series (the largest; the rest are summed into
    /// group="[other]"); with --listen, distinct groups in a day.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_GROUPS)]
    max_groups: usize,
    /// Groups with less resident memory than this many bytes (suffixes K, M, G) are
    /// summed into group="[other]" [default: 4M; 0 with --pid or --name].
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    min_group_size: Option<u64>,
    /// Processes younger than this are in group="[short-lived]" (set it to your
    /// scrape interval) [default: 30; 0 with --pid or --name].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    min_age: Option<f64>,
    /// A target with more resident memory than this many bytes is read from maps and
    /// pagemap, not smaps (its PSS and private bytes are then marked incomplete).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_RSS, value_parser = parse_bytes)]
    target_max_rss: u64,
    /// With --listen: a target whose last reading had more maps lines than this is
    /// read from maps and pagemap from then on.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LINES)]
    target_max_lines: usize,
    /// With --listen: a target whose last smaps reading took longer than this is read
    /// from maps and pagemap from then on.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_MAX_SECONDS, value_parser = parse_seconds)]
    target_max_seconds: f64,
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
    /// The systemd unit (from the cgroup path).
    Unit,
    /// The container ID (Docker, containerd, CRI-O, Podman, Kubernetes; from the
    /// cgroup path), else the systemd unit.
    Container,
}

/// `--listen`: HOST:PORT, with a name resolved (`localhost:9464`: its first
/// address), or `:PORT` for every address (IPv6 and IPv4 where the system allows).
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{s:?}: {port:?} is not a port"))?;
        return Ok(SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 0], port)));
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let mut addrs = s
        .to_socket_addrs()
        .map_err(|e| format!("{s:?} is not HOST:PORT or :PORT ({e})"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{s:?} names no address"))
}

/// A number of bytes, with an optional suffix K, M, G or T (powers of 1024).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{s:?}: the suffix is one of K, M, G, T")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| format!("{s:?} is not a number of bytes"))
}

/// A number of seconds, 0 or more.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds")),
    }
}

/// Runs `elfmaps metrics`.
pub fn run(a: MetricsArgs) -> io::Result<Exit> {
    let selection = match a.select.selection() {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    // Processes chosen by PID or name are shown whatever their size and age.
    let chosen = selection.pids.is_some() || !selection.names.is_empty();
    let limits = Limits {
        top: a.top,
        max_groups: a.max_groups,
        min_group_bytes: a.min_group_size.unwrap_or(if chosen {
            0
        } else {
            DEFAULT_MIN_GROUP_BYTES
        }),
        min_age: a
            .min_age
            .unwrap_or(if chosen { 0.0 } else { DEFAULT_MIN_AGE }),
    };
    let budget = Budget {
        max_rss: a.target_max_rss,
        max_lines: a.target_max_lines,
        max_seconds: a.target_max_seconds,
        ..Budget::default()
    };
    let mode = if a.rss_only {
        Mode::RssOnly
    } else {
        Mode::Smaps
    };
    let group_by = match a.group_by {
        GroupByArg::Comm => GroupBy::Comm,
        GroupByArg::Cgroup => GroupBy::Cgroup,
        GroupByArg::User => GroupBy::User,
        GroupByArg::Unit => GroupBy::Unit,
        GroupByArg::Container => GroupBy::Container,
    };
    let config = Config::new(selection, mode, group_by, limits).with_budget(budget);
    if let Some(addr) = a.listen {
        let scraper = Scraper::new(config);
        return serve(scraper, addr, Duration::from_secs_f64(a.min_interval));
    }
    let format = match a.format {
        FormatArg::Prometheus => Format::Prometheus,
        FormatArg::Openmetrics => Format::OpenMetrics,
    };
    let metrics = match scrape_once(&config) {
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

/// A scan as served: when it ended, and its exposition in each format, made once (so
/// that any number of answers, slow readers included, share the same bytes).
struct Served {
    /// When the scan ended.
    at: Instant,
    /// The same, as Unix time.
    unix: f64,
    metrics: Metrics,
    /// By format, then plain or gzip.
    texts: [std::sync::OnceLock<Bytes>; 4],
}

impl Served {
    /// The exposition in `format`, compressed with gzip when `gzip`.
    fn text(&self, format: Format, gzip: bool) -> Bytes {
        let i = usize::from(format == Format::OpenMetrics);
        let plain = || {
            self.texts[i]
                .get_or_init(|| {
                    Bytes::from(with_scan_time(
                        exposition(&self.metrics, format),
                        format,
                        self.unix,
                    ))
                })
                .clone()
        };
        if !gzip {
            return plain();
        }
        self.texts[2 + i]
            .get_or_init(|| {
                use flate2::write::GzEncoder;
                let text = plain();
                let mut z = GzEncoder::new(
                    Vec::with_capacity(text.len() / 8),
                    flate2::Compression::fast(),
                );
                // Writing to a Vec does not fail.
                let _ = z.write_all(&text);
                Bytes::from(z.finish().unwrap_or_default())
            })
            .clone()
    }
}

/// Whether an `Accept-Encoding` header accepts gzip: `gzip` (or `x-gzip`, or `*`)
/// with a weight above 0.
fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut star = false;
    for coding in accept_encoding.split(',') {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f64>().ok());
        let ok = q.is_some_and(|q| q > 0.0);
        match name.as_str() {
            "gzip" | "x-gzip" => return ok,
            "*" => star = ok,
            _ => {}
        }
    }
    star
}

/// The state the scanning thread publishes: the last good scan, and the error of the
/// last scan if it failed.
#[derive(Clone, Default)]
struct Published {
    good: Option<Arc<Served>>,
    failed: Option<Arc<str>>,
}

/// At most this many connections are served at once (fewer if the limit on open
/// files is lower); more are answered 503 with `Retry-After`. Idle connections cost a
/// small task each, not a thread.
const MAX_CONNECTIONS: usize = 1024;
/// At most this many connections beyond [`MAX_CONNECTIONS`] are answered 503 at once;
/// beyond those, a connection is closed unanswered.
const MAX_REFUSING: usize = 64;
/// The longest request head (request line and headers) read; longer is answered 431.
/// (hyper's smallest read buffer: `max_buf_size` refuses less.)
const MAX_HEAD: usize = 8 * 1024;
/// How long a whole request head may take to arrive, from the connection or the end
/// of the previous answer (so also how long a kept-alive connection may stay idle).
const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// How long a connection may last; then it is closed after the answer in progress.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(120);
/// How long the answer in progress may still take after [`CONNECTION_DEADLINE`] (a
/// client that does not read its answer is cut).
const GRACE: Duration = Duration::from_secs(10);
/// How long an answer waits for a scan under way, at most (less when Prometheus's
/// `X-Prometheus-Scrape-Timeout-Seconds` says so); then the last good scan is served.
const SCAN_WAIT: Duration = Duration::from_secs(10);
/// The `Retry-After` of a 503, in seconds.
const RETRY_AFTER: &str = "5";
/// The answer to a connection beyond [`MAX_CONNECTIONS`].
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Retry-After: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n";
/// The content type of every answer but the metrics.
const TEXT: &str = "text/plain; charset=utf-8";

/// What the connections share.
struct Shared {
    /// The last scan, as the scanning thread publishes it.
    state: watch::Receiver<Published>,
    /// Asks the scanning thread for a scan (a full channel: one is asked for already).
    wanted: std::sync::mpsc::SyncSender<()>,
    min_interval: Duration,
}

/// Serves `/metrics` on `addr` until the process is killed: hyper's HTTP/1 server on
/// a single-threaded tokio runtime, connections bounded in number, size and time;
/// scans on a thread of their own, one at a time.
fn serve(scraper: Scraper, addr: SocketAddr, min_interval: Duration) -> io::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(1)
        .build()?;
    let (publish, state) = watch::channel(Published::default());
    let (wanted, asked) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("elfmaps-scan".into())
        .spawn(move || scan_when_asked(scraper, &asked, &publish, min_interval))?;
    let shared = Arc::new(Shared {
        state,
        wanted,
        min_interval,
    });
    runtime.block_on(listen(shared, addr))
}

/// The scanning thread: a scan each time one is asked for, unless the last one is
/// younger than `min_interval`; each published when it ends.
fn scan_when_asked(
    mut scraper: Scraper,
    asked: &std::sync::mpsc::Receiver<()>,
    publish: &watch::Sender<Published>,
    min_interval: Duration,
) {
    for () in asked {
        let fresh = publish
            .borrow()
            .good
            .as_ref()
            .is_some_and(|s| s.at.elapsed() < min_interval);
        if fresh {
            continue;
        }
        // A scan that panics is a failed scan: this thread goes on serving asks.
        let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scraper.scrape()))
            .unwrap_or_else(|_| Err(io::Error::other("the scan panicked")));
        publish.send_modify(|p| match scanned {
            Ok(metrics) => {
                let unix = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                p.good = Some(Arc::new(Served {
                    at: Instant::now(),
                    unix,
                    metrics,
                    texts: Default::default(),
                }));
                p.failed = None;
            }
            Err(e) => p.failed = Some(Arc::from(format!("scan failed: {e}\n"))),
        });
    }
}

/// How many connections can be served at once: [`MAX_CONNECTIONS`], or fewer when
/// the limit on open files is lower (after raising its soft limit toward the hard
/// one), keeping room for the scan's own files.
fn connection_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid rlimit for getrlimit/setrlimit to read and write.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 64;
        }
        let want = (MAX_CONNECTIONS + MAX_REFUSING + 256) as libc::rlim_t;
        if lim.rlim_cur < want {
            let raised = libc::rlimit {
                rlim_cur: want.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    let files = usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX);
    files
        .saturating_sub(MAX_REFUSING + 256)
        .clamp(16, MAX_CONNECTIONS)
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
    let permits = Arc::new(Semaphore::new(connection_limit()));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
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
            if let Ok(permit) = Arc::clone(&refusing).try_acquire_owned() {
                tokio::spawn(refuse(stream, permit));
            }
            continue;
        };
        let sh = Arc::clone(&shared);
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| answer(req, Arc::clone(&sh)));
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_DEADLINE)
                .max_buf_size(MAX_HEAD)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            if tokio::time::timeout(CONNECTION_DEADLINE, connection.as_mut())
                .await
                .is_err()
            {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(GRACE, connection).await;
            }
        });
    }
}

/// Answers a connection beyond the limit 503 with `Retry-After`, then reads what it
/// sent until it closes (at most a second and a few KiB): closing a socket with unread
/// data would reset the connection, and the client would not see the answer.
async fn refuse(stream: tokio::net::TcpStream, _permit: tokio::sync::OwnedSemaphorePermit) {
    use std::os::fd::AsRawFd;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut sent = 0;
        while sent < BUSY.len() {
            stream.writable().await?;
            match stream.try_write(&BUSY[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        // SAFETY: the descriptor is the stream's, open until it is dropped below.
        unsafe { libc::shutdown(stream.as_raw_fd(), libc::SHUT_WR) };
        let mut buf = [0u8; 1024];
        for _ in 0..64 {
            stream.readable().await?;
            match stream.try_read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        io::Result::Ok(())
    })
    .await;
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

/// How long this scrape may wait for a scan: [`SCAN_WAIT`], or less when Prometheus
/// says its scrape times out sooner (half a second is kept to send the answer).
fn wait_for(req: &Request<Incoming>) -> Duration {
    req.headers()
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok()?.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(SCAN_WAIT, |s| {
            Duration::from_secs_f64((s - 0.5).max(0.0)).min(SCAN_WAIT)
        })
}

/// The scan to serve: the last one if younger than `min_interval`; else a new one is
/// asked for and waited for at most `wait`, and the last good one served if it is
/// not done by then.
async fn current(shared: &Shared, wait: Duration) -> Published {
    let mut state = shared.state.clone();
    let now = state.borrow_and_update().clone();
    let fresh = now
        .good
        .as_ref()
        .is_some_and(|s| s.at.elapsed() < shared.min_interval);
    if fresh {
        return now;
    }
    // A full channel means a scan is asked for already: this scrape waits for it too.
    let _ = shared.wanted.try_send(());
    if tokio::time::timeout(wait, state.changed()).await.is_ok() {
        return state.borrow().clone();
    }
    now
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
    let encodings: Vec<String> = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let gzip = accepts_gzip(&encodings.join(","));
    let published = current(&shared, wait_for(&req)).await;
    Ok(match (published.good, published.failed) {
        (Some(served), _) => {
            let mut r = reply(
                StatusCode::OK,
                format.content_type(),
                served.text(format, gzip),
            );
            r.headers_mut().insert(
                header::VARY,
                HeaderValue::from_static("Accept, Accept-Encoding"),
            );
            if gzip {
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            // How old the scan served is (RFC 9111's Age, in seconds).
            r.headers_mut().insert(
                header::AGE,
                HeaderValue::from(served.at.elapsed().as_secs()),
            );
            r
        }
        (None, Some(failed)) => {
            let mut r = reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                TEXT,
                failed.as_bytes().to_vec(),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
            r
        }
        (None, None) => {
            let mut r = reply(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "the first scan is not done yet\n",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
            r
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_and_sizes() {
        assert_eq!(
            parse_listen(":9464").unwrap(),
            "[::]:9464".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_listen("localhost:9464").unwrap().ip().is_loopback());
        assert_eq!(parse_listen("127.0.0.1:1").unwrap().port(), 1);
        assert!(parse_listen(":x").is_err() && parse_listen("nohost").is_err());
        assert_eq!(parse_bytes("4M"), Ok(4 << 20));
        assert_eq!(parse_bytes("12"), Ok(12));
        assert!(parse_bytes("1Q").is_err() && parse_bytes("99999999999T").is_err());
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("identity, gzip;q=0.5"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip(""));
    }
}

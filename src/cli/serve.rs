//! `elfmaps metrics`: its flags, printing or writing one scrape (`-o FILE` atomically,
//! for node_exporter's textfile collector), and the HTTP server of `--listen`. Part of
//! the command line only: the library never pulls an HTTP server.
//!
//! The server is small on purpose (docs/metrics.md says why no server crate): std
//! threads, requests parsed by `httparse`, everything bounded: at most
//! [`MAX_CONNECTIONS`] connections at once (more are answered 503 and closed), a
//! request head of at most [`MAX_HEAD`] bytes that must arrive within
//! [`HEAD_DEADLINE`], one request per connection. It scans at most once per
//! `--min-interval`: a scrape within that time of the last scan is answered from it,
//! and concurrent scrapes wait for the one scan under way instead of starting their own.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use elfmaps::pipeline::metrics::scrape;
use elfmaps::pipeline::system::{Mode, Selection};
use elfmaps::render::metrics::{Format, exposition};
use elfmaps::views::metrics::{DEFAULT_TOP, GroupBy, Metrics};

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

/// At most this many connections are served at once; more are answered 503 at once.
const MAX_CONNECTIONS: usize = 16;
/// The longest request head (request line and headers) read; longer is answered 431.
const MAX_HEAD: usize = 8 * 1024;
/// How long one read of a request may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request head may take to arrive.
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long a write of an answer may wait for the client.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the connections share.
struct Shared {
    scraper: Scraper,
    cache: Mutex<Cache>,
    min_interval: Duration,
    /// Connections being served.
    open: AtomicUsize,
}

/// Counts a connection as open until dropped (also when its thread panics).
struct Open<'a>(&'a AtomicUsize);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `/metrics` on `addr` until the process is killed: one thread per connection,
/// at most [`MAX_CONNECTIONS`] at once, each bounded in size and time, one request per
/// connection.
fn serve(scraper: Scraper, addr: SocketAddr, min_interval: Duration) -> io::Result<Exit> {
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => return Ok(error(&format!("listening on {addr}: {e}"))),
    };
    say(&format!(
        "elfmaps: serving http://{}/metrics",
        listener.local_addr()?
    ));
    let shared = Arc::new(Shared {
        scraper,
        cache: Mutex::new(Cache { last: None }),
        min_interval,
        open: AtomicUsize::new(0),
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of descriptors or the like: let connections finish, then go on.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if shared.open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            shared.open.fetch_sub(1, Ordering::AcqRel);
            let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = respond(
                &stream,
                "503 Service Unavailable",
                "text/plain",
                b"busy\n",
                false,
            );
            continue;
        }
        let sh = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("scrape".into())
            .spawn(move || {
                let _open = Open(&sh.open);
                connection(stream, &sh);
            });
        if spawned.is_err() {
            shared.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
    Ok(Exit::Ok)
}

/// The request head of a connection: (method, path, the Accept headers joined).
type Head = (String, String, String);

/// Reads a request head from `stream`, bounded by [`MAX_HEAD`], [`READ_TIMEOUT`] and
/// [`HEAD_DEADLINE`]; `Err` is the status to answer (or none: the client is gone).
fn read_head(stream: &mut TcpStream) -> Result<Head, Option<&'static str>> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if Instant::now() > deadline {
            return Err(Some("408 Request Timeout"));
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(None),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Some("408 Request Timeout"));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(None),
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                let accept: Vec<String> = req
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("accept"))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
                    .collect();
                return Ok((
                    req.method.unwrap_or("").to_string(),
                    req.path.unwrap_or("").to_string(),
                    accept.join(","),
                ));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Err(Some("431 Request Header Fields Too Large"));
            }
            Err(_) => return Err(Some("400 Bad Request")),
        }
    }
}

/// Writes an answer and closes the connection.
fn respond(
    mut stream: &TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}

/// The metrics to serve: the last scan if younger than `min_interval`, else a new
/// one (made while holding the lock, so that concurrent scrapes share it).
fn current(shared: &Shared) -> io::Result<Arc<Metrics>> {
    let mut cache = shared.cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, m)) = &cache.last
        && at.elapsed() < shared.min_interval
    {
        return Ok(Arc::clone(m));
    }
    let m = Arc::new(shared.scraper.scrape()?);
    cache.last = Some((Instant::now(), Arc::clone(&m)));
    Ok(m)
}

/// Serves one connection: one request, one answer.
fn connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let text = "text/plain; charset=utf-8";
    let (method, path, accept) = match read_head(&mut stream) {
        Ok(h) => h,
        Err(Some(status)) => {
            let _ = respond(&stream, status, text, b"", false);
            return;
        }
        Err(None) => return,
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        let _ = respond(
            &stream,
            "405 Method Not Allowed",
            text,
            b"GET only\n",
            false,
        );
        return;
    }
    match path.split('?').next().unwrap_or("") {
        "/metrics" => {}
        "/" => {
            let body = b"elfmaps metrics: see /metrics\n";
            let _ = respond(&stream, "200 OK", text, body, head_only);
            return;
        }
        _ => {
            let _ = respond(&stream, "404 Not Found", text, b"not found\n", head_only);
            return;
        }
    }
    let format = Format::negotiate(&accept);
    let _ = match current(shared) {
        Ok(m) => respond(
            &stream,
            "200 OK",
            format.content_type(),
            exposition(&m, format).as_bytes(),
            head_only,
        ),
        Err(e) => respond(
            &stream,
            "500 Internal Server Error",
            text,
            format!("scan failed: {e}\n").as_bytes(),
            head_only,
        ),
    };
}

//! A live process: smaps read on a second thread while this one parses it and opens
//! the mapped files; residency from pagemap.

use std::sync::{Mutex, mpsc};

use super::memo::Memo;
use super::{
    Error, Files, Learnt, Opener, finish, finish_keeping, finish_with_labels, learn, open_files,
};
use crate::input::maps::{self, Mapping};
use crate::report::{Report, Warning};
use crate::source::cache::FileCache;
use crate::source::proc::{self, ProcError, Process};
use crate::source::{LiveSource, Source};
use crate::vocab::Code;

/// Analyses the live process `pid`.
///
/// The kernel's printing of smaps is most of the time `map` takes, so smaps is read on
/// a second thread while this one parses what has arrived and opens the files it names
/// (see `read_and_open`).
pub fn live(pid: u32) -> Result<Report, Error> {
    report_of(Process::new(pid)?, Mode::Smaps, None)
}

/// How the figures of each process are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `/proc/PID/smaps`: every figure (rss, pss, clean and dirty, swap).
    #[default]
    Smaps,
    /// `/proc/PID/maps` and one PAGEMAP_SCAN (`--rss-only`, `pipeline::rss`): the
    /// same regions and labels, `rss` and `swap` exact, `pss` and the clean/dirty
    /// figures null; smaps is never read.
    RssOnly,
}

/// The report of the live process `process`, as `map` (or `map --rss-only`) makes it,
/// with its mapped files read through `cache` when there is one (shared by the
/// processes of one `system` scan). A process that is gone by the end of the reading
/// is [`ProcError::Exited`]: what was read of it may be partial. The one per-process
/// pipeline of every live command.
pub(crate) fn report_of(
    process: Process,
    mode: Mode,
    cache: Option<&FileCache>,
) -> Result<Report, Error> {
    report_with_memo(process, mode, cache, None)
}

/// [`report_of`], made from the labels `memo` kept of the same process when its maps
/// lines have not changed ([`super::memo`]), and kept there for the next scan.
pub(crate) fn report_with_memo(
    process: Process,
    mode: Mode,
    cache: Option<&FileCache>,
    memo: Option<&Memo>,
) -> Result<Report, Error> {
    let pid = process.pid;
    let page = proc::page_size();
    // One read of the mount table per namespace for the whole run; with a memo, only
    // when files are opened (a process whose labels are kept opens none, and knowing
    // its namespace costs a stat).
    let share = |process: &Process| {
        if let Some(cache) = cache {
            process.share_mounts(cache.mounts());
        }
    };
    if memo.is_none() {
        share(&process);
    }
    let mut target = LiveSource(process);
    let (mut report, empty) = match (mode, memo) {
        (Mode::Smaps, Some(memo)) => {
            // Read whole first: its digest says whether the kept labels hold.
            let started = target.0.start_ticks();
            let (mappings, source, _) = read_mappings(&target.0, false)?;
            let empty = mappings.is_empty();
            let digest = memo.digest(&mappings);
            let report = match memo.get(pid, started, digest, mode) {
                Some(labels) => {
                    finish_with_labels(mappings, &labels, source, page, Some(pid), &mut target)
                }
                None => {
                    share(&target.0);
                    let files = open_files(&mappings, &target, cache);
                    let (report, labels) =
                        finish_keeping(mappings, files, source, page, Some(pid), &mut target);
                    memo.put(pid, started, digest, mode, labels);
                    report
                }
            };
            (report, empty)
        }
        (Mode::RssOnly, Some(memo)) => {
            let started = target.0.start_ticks();
            let (mappings, scan, _) = super::rss::read(&mut target.0, page)?;
            let empty = mappings.is_empty();
            let digest = memo.digest(&mappings);
            let kept = memo.get(pid, started, digest, mode);
            if kept.is_none() {
                share(&target.0);
            }
            let mut src = super::rss::Scanned {
                inner: &mut target,
                runs: scan.runs,
            };
            let source = super::rss::SOURCE;
            let mut report = match kept {
                Some(labels) => {
                    finish_with_labels(mappings, &labels, source, page, Some(pid), &mut src)
                }
                None => {
                    let files = open_files(&mappings, &src, cache);
                    let (report, labels) =
                        finish_keeping(mappings, files, source, page, Some(pid), &mut src);
                    memo.put(pid, started, digest, mode, labels);
                    report
                }
            };
            report.warnings.extend(scan.warnings);
            (report, empty)
        }
        (Mode::Smaps, None) => {
            let (mappings, source, files) = read_and_open(&target, false, cache, 0)?;
            let empty = mappings.is_empty();
            let report = finish(mappings, files, source, page, Some(pid), &mut target);
            (report, empty)
        }
        (Mode::RssOnly, None) => super::rss::report(&mut target, page, cache)?,
    };
    // The exporter (with a memo) has no use for the command line.
    if memo.is_none() {
        report.command = target.0.command();
    }
    if !target.0.alive() {
        return Err(Error::Proc(ProcError::Exited(pid)));
    }
    if empty && target.0.is_kernel_thread() {
        report.warnings.push(Warning {
            code: Code::KernelThread,
            object: None,
            message: format!(
                "PID {pid} is a kernel thread: it has no user address space to describe"
            ),
        });
    }
    Ok(report)
}

/// Bytes of smaps handed from the reading thread to the parsing one at a time: large
/// enough that the hand-offs cost nothing next to the reads (the kernel gives about a
/// page per read), small enough that parsing starts early.
const BATCH: usize = 32 * 1024;

/// Reads smaps (or maps; only maps with `plain`) of a live process on a second
/// thread, and here parses each batch as it arrives and opens the files of the lines
/// completed so far (phase 1, in maps order, as [`super::open_files`] would). The
/// kernel spends most of `map`'s time printing smaps; parsing and opening the mapped
/// files overlap with it instead of following it. With `helpers`, that many more
/// threads open files beside this one (maps is printed faster than 400 files are
/// opened one by one). A read that came out overlapping (the process changed its maps
/// between two reads) is read again, as in [`read_mappings`].
pub(super) fn read_and_open(
    target: &LiveSource,
    plain: bool,
    cache: Option<&FileCache>,
    helpers: usize,
) -> Result<(Vec<Mapping>, &'static str, Files), Error> {
    let process = &target.0;
    let source: &dyn Source = target;
    let mut attempt = 1;
    loop {
        let mut parser = maps::Parser::default();
        let mut opener = Opener::default();
        let mut parse_error = None;
        // Files to open, by number, taken by whichever thread is free; what they gave
        // comes back by number, so the order of the threads does not matter.
        let (job_tx, job_rx) = mpsc::channel::<(usize, Mapping)>();
        let job_rx = Mutex::new(job_rx);
        let (done_tx, done_rx) = mpsc::channel::<(usize, Learnt)>();
        let read = std::thread::scope(|s| {
            let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(16);
            let reader = std::thread::Builder::new().spawn_scoped(s, move || {
                let mut batch = Vec::with_capacity(2 * BATCH);
                let read = process.read_maps_with(plain, |chunk| {
                    batch.extend_from_slice(chunk);
                    if batch.len() >= BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(2 * BATCH));
                        tx.send(full).map_err(|_| ())?;
                    }
                    Ok(())
                });
                if let Ok(Ok(_)) = read
                    && !batch.is_empty()
                {
                    // A closed channel means the parser stopped: its error is the one.
                    let _ = tx.send(batch);
                }
                read
            });
            // No second thread (a limit on threads or memory): read here, as before.
            let Ok(reader) = reader else {
                return process.read_maps_with(plain, |chunk| {
                    if let Err(e) = parser.feed(chunk) {
                        parse_error = Some(e);
                        return Err(());
                    }
                    let done = parser.mappings().len().saturating_sub(1);
                    opener.advance(parser.mappings(), done, source, cache);
                    Ok(())
                });
            };
            // A helper that cannot be started is not needed: this thread opens all.
            let workers: Vec<_> = (0..helpers)
                .filter_map(|_| {
                    let (job_rx, done_tx) = (&job_rx, done_tx.clone());
                    std::thread::Builder::new()
                        .spawn_scoped(s, move || {
                            loop {
                                let job = lock(job_rx).recv();
                                let Ok((n, m)) = job else { return };
                                let learnt = learn(&m, target, cache);
                                if done_tx.send((n, learnt)).is_err() {
                                    return;
                                }
                            }
                        })
                        .ok()
                })
                .collect();
            drop(done_tx);
            // One job here, when no other thread is waiting for it (a thread waiting
            // holds the lock until a job comes).
            let help = |opener: &mut Opener, wait: bool| {
                let guard = if wait {
                    lock(&job_rx)
                } else {
                    match job_rx.try_lock() {
                        Ok(g) => g,
                        Err(_) => return false,
                    }
                };
                let job = if wait {
                    guard.recv().ok()
                } else {
                    guard.try_recv().ok()
                };
                drop(guard);
                match job {
                    Some((n, m)) => {
                        opener.fill(n, learn(&m, source, cache));
                        true
                    }
                    None => false,
                }
            };
            for batch in rx.iter() {
                if let Err(e) = parser.feed(&batch) {
                    parse_error = Some(e);
                    break;
                }
                // The last line may still get smaps fields: its VmFlags decide how
                // its file is opened.
                let done = parser.mappings().len().saturating_sub(1);
                let mappings = parser.mappings();
                if helpers == 0 {
                    opener.advance(mappings, done, source, cache);
                    continue;
                }
                for n in opener.discover(mappings, done) {
                    if let Some(m) = opener.line_of(n).and_then(|l| mappings.get(l)) {
                        let _ = job_tx.send((n, m.clone()));
                    }
                }
                while help(&mut opener, false) {}
            }
            drop(rx);
            drop(job_tx);
            while helpers > 0 && help(&mut opener, true) {}
            for w in workers {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
            for (n, learnt) in done_rx.try_iter() {
                opener.fill(n, learnt);
            }
            reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        let parsed = match (read?, parse_error) {
            (_, Some(e)) => Err(e),
            (Err(()), None) => unreachable!("the reader stops early only when the parser did"),
            (Ok(source), None) => parser.finish().map(|m| (m, source)),
        };
        match parsed {
            Ok((mappings, source_name)) => {
                opener.advance(&mappings, mappings.len(), source, cache);
                let files = opener.finish(&mappings, source, cache);
                return Ok((mappings, source_name, files));
            }
            Err(err) => again(
                err,
                &mut attempt,
                process,
                if plain { "maps" } else { "smaps" },
            )?,
        }
    }
}

/// Reads of smaps (or maps) made before a live process is given up as changing its
/// maps all the time.
const ATTEMPTS: usize = 8;

/// The one rule for a read that did not parse: a read that came out overlapping (the
/// process changed its maps between two reads of the file) is read again, up to
/// [`ATTEMPTS`] times in all (`Ok`: read again); anything else, or the last attempt,
/// is the error, naming `/proc/PID/<file>`.
fn again(
    mut err: maps::ParseError,
    attempt: &mut usize,
    process: &Process,
    file: &str,
) -> Result<(), Error> {
    if err.what == maps::OUT_OF_ORDER && *attempt < ATTEMPTS {
        *attempt += 1;
        return Ok(());
    }
    if err.what == maps::OUT_OF_ORDER {
        err.what = maps::UNSTABLE;
    }
    Err(Error::Parse {
        source: format!("/proc/{}/{file}", process.pid),
        err,
    })
}

/// A lock whose holder cannot have left anything half done (a receiver).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads and parses smaps (or maps) of a live process; with `keep_text`, also returns
/// the text. smaps takes several reads; when the process maps or unmaps memory between
/// two of them, lines can come out overlapping: such a read is not used, it is read
/// again (up to 8 times).
pub(super) fn read_mappings(
    process: &Process,
    keep_text: bool,
) -> Result<(Vec<Mapping>, &'static str, Vec<u8>), Error> {
    let mut attempt = 1;
    loop {
        let mut parser = maps::Parser::default();
        let mut text = Vec::new();
        let read = process.read_maps_with(false, |chunk| {
            if keep_text {
                text.extend_from_slice(chunk);
            }
            parser.feed(chunk)
        })?;
        match read.and_then(|source| Ok((parser.finish()?, source))) {
            Ok((mappings, source)) => return Ok((mappings, source, text)),
            Err(err) => again(err, &mut attempt, process, "smaps")?,
        }
    }
}

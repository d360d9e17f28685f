//! Reading a live process's smaps (or maps): on a second thread while this one
//! parses what has arrived and opens the files it names (`read_and_open`, for `map`
//! and `map --rss-only`), or whole (`read_mappings`, for snapshots and sections), with
//! the one rule for a read that came out overlapping (`again`). Both live pipelines
//! (`live.rs`, `rss.rs`) use it; it uses neither.

use std::sync::{Mutex, mpsc};

use super::{Error, Files, Learnt, Opener, learn};
use crate::input::maps::{self, Mapping};
use crate::source::cache::FileCache;
use crate::source::proc::Process;
use crate::source::{LiveSource, Source};
use crate::vocab::MapsSource;

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
) -> Result<(Vec<Mapping>, MapsSource, Files), Error> {
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
                process.pid,
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
    pid: u32,
    file: &str,
) -> Result<(), Error> {
    if err.kind == maps::ParseErrorKind::OutOfOrder {
        if *attempt < ATTEMPTS {
            *attempt += 1;
            return Ok(());
        }
        err.kind = maps::ParseErrorKind::Unstable;
    }
    Err(Error::Parse {
        input: format!("/proc/{pid}/{file}"),
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
) -> Result<(Vec<Mapping>, MapsSource, Vec<u8>), Error> {
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
            Err(err) => again(err, &mut attempt, process.pid, "smaps")?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Code;

    /// The decision is made on the error's kind: an overlapping read is read again
    /// up to 8 times in all, then it is `maps-unstable`; any other error at once.
    #[test]
    fn an_overlapping_read_is_read_again_then_unstable() {
        let overlap = maps::parse(b"10-20 r--p 0 00:00 0\n18-30 r--p 0 00:00 0\n").unwrap_err();
        assert_eq!(overlap.kind, maps::ParseErrorKind::OutOfOrder);
        let mut attempt = 1;
        let mut reads = 1;
        let err = loop {
            match again(overlap.clone(), &mut attempt, 7, "smaps") {
                Ok(()) => reads += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(reads, ATTEMPTS);
        assert_eq!(err.code(), Code::MapsUnstable);
        assert_eq!(
            err.to_string(),
            "/proc/7/smaps: line 2: the process changed its maps during each of 8 reads: \"18-30 r--p 0 00:00 0\""
        );
        let malformed = maps::parse(b"zz\n").unwrap_err();
        let mut attempt = 1;
        let err = again(malformed, &mut attempt, 7, "maps").unwrap_err();
        assert_eq!((attempt, err.code()), (1, Code::MapsMalformed));
        assert!(
            err.to_string().starts_with("/proc/7/maps: line 1: "),
            "{err}"
        );
    }
}

//! A live process: the one per-process pipeline of `map`, `map --rss-only` and the
//! system scan (`report_of`): smaps read on a second thread while this one parses it
//! and opens the mapped files (`read.rs`), or maps and one PAGEMAP_SCAN (`rss.rs`).

use super::memo::Memo;
use super::read::{read_and_open, read_mappings};
use super::{Error, finish, finish_keeping, finish_with_labels, open_files};
use crate::report::{Report, Warning};
use crate::source::LiveSource;
use crate::source::cache::FileCache;
use crate::source::proc::{self, ProcError, Process};
use crate::vocab::Code;

/// Analyses the live process `pid`.
///
/// The kernel's printing of smaps is most of the time `map` takes, so smaps is read on
/// a second thread while this one parses what has arrived and opens the files it names
/// (see `read_and_open`).
pub fn live(pid: u32) -> Result<Report, Error> {
    report_of(Process::new(pid)?, Mode::Smaps, None)
}

/// Analyses the live process `pid` without reading smaps (`--rss-only`): labels from
/// `/proc/PID/maps`, residency from one PAGEMAP_SCAN over the whole address space;
/// `rss` and `swap` exact, `pss` and the clean/dirty figures unknown (null).
#[cfg(feature = "cli")]
pub fn live_rss_only(pid: u32) -> Result<Report, Error> {
    report_of(Process::new(pid)?, Mode::RssOnly, None)
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
    ///
    /// Only the command line asks for it (`--rss-only`, the scans of `system` and
    /// `metrics`).
    #[cfg(feature = "cli")]
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
        #[cfg(feature = "cli")]
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
            let source = crate::vocab::MapsSource::MapsPagemap;
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
        #[cfg(feature = "cli")]
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

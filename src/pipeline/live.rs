//! A live process: smaps read as it is parsed, files through `/proc`, residency from
//! pagemap.

use super::{Error, analyze};
use crate::input::maps::{self, Mapping};
use crate::report::{Report, Warning};
use crate::source::LiveSource;
use crate::source::proc::{self, ProcError, Process};
use crate::vocab::Code;

/// Analyses the live process `pid`.
///
/// smaps is parsed as it is read. (Opening the mapped files on a second thread while
/// smaps is still being read was tried: with 420 libraries it cost 6 ms more CPU and
/// saved no wall time, the two contending for the target's mm; see bench/README.md.)
pub fn live(pid: u32) -> Result<Report, Error> {
    let mut target = LiveSource(Process::new(pid)?);
    let (mappings, source, _) = read_mappings(&target.0, false)?;
    let empty = mappings.is_empty();
    let mut report = analyze(mappings, source, proc::page_size(), Some(pid), &mut target);
    report.command = target.0.command();
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

/// Reads and parses smaps (or maps) of a live process; with `keep_text`, also returns
/// the text. smaps takes several reads; when the process maps or unmaps memory between
/// two of them, lines can come out overlapping: such a read is not used, it is read
/// again (up to 8 times).
pub(super) fn read_mappings(
    process: &Process,
    keep_text: bool,
) -> Result<(Vec<Mapping>, &'static str, Vec<u8>), Error> {
    const ATTEMPTS: usize = 8;
    let mut attempt = 1;
    loop {
        let mut parser = maps::Parser::default();
        let mut text = Vec::new();
        let read = process.read_maps_with(|chunk| {
            if keep_text {
                text.extend_from_slice(chunk);
            }
            parser.feed(chunk)
        })?;
        match read.and_then(|source| Ok((parser.finish()?, source))) {
            Ok((mappings, source)) => return Ok((mappings, source, text)),
            Err(err) if err.what == maps::OUT_OF_ORDER && attempt < ATTEMPTS => attempt += 1,
            Err(mut err) => {
                if err.what == maps::OUT_OF_ORDER {
                    err.what = maps::UNSTABLE;
                }
                return Err(Error::Parse {
                    source: format!("/proc/{}/smaps", process.pid),
                    err,
                });
            }
        }
    }
}

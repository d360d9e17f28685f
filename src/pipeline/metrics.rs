//! One scrape of `elfmaps metrics`: a system scan ([`super::system::scan`]) whose
//! reports are folded into [`Metrics`] as they are made, each process put in its group
//! (its comm, cgroup or user name: learnt here, where the live process is at hand).

use std::collections::HashMap;
use std::io;
use std::time::Instant;

use super::system::{self, Mode, Scanned, Selection};
use crate::source::proc::Process;
use crate::views::metrics::{Builder, GroupBy, Metrics};

/// Scans the selected processes once and folds them into metrics grouped by
/// `group_by`, `top` objects per group. `Err` only when `/proc` cannot be listed.
pub fn scrape(
    selection: &Selection,
    mode: Mode,
    group_by: GroupBy,
    top: usize,
) -> io::Result<Metrics> {
    let start = Instant::now();
    let mut builder = Builder::new(top);
    let mut users: HashMap<u32, String> = HashMap::new();
    let mut sink = |s: Scanned| {
        let group = match group_by {
            GroupBy::Comm => s.process.comm.clone(),
            GroupBy::User => match s.process.uid {
                Some(uid) => users
                    .entry(uid)
                    .or_insert_with(|| user_name(uid).unwrap_or_else(|| uid.to_string()))
                    .clone(),
                None => "[unknown]".to_string(),
            },
            GroupBy::Cgroup => cgroup_of(s.process.pid).unwrap_or_else(|| "[unknown]".into()),
        };
        builder.add(&group, &s.report);
    };
    let outcome = system::scan(selection, mode, &mut sink)?;
    Ok(builder.finish(outcome.skipped, start.elapsed().as_secs_f64()))
}

/// The cgroup of process `pid`: the path of its last line in `/proc/PID/cgroup` (the
/// unified hierarchy's, `0::PATH`, which the kernel lists last).
fn cgroup_of(pid: u32) -> Option<String> {
    let process = Process::new(pid).ok()?;
    let paths = process.cgroups();
    let last = paths.iter().rev().find(|p| !p.is_empty())?;
    Some(crate::vocab::escape::text(last).into_owned())
}

/// The name of user `uid` in the password database (through the C library, so that
/// NSS sources count).
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data; getpwuid_r fills it with pointers into buf, which
    // outlives every use below, and sets result to null or to &pwd.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(pwd.pw_name);
        Some(crate::vocab::escape::text(name.to_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrapes_this_process_by_user() {
        let me = crate::source::proc::own_pid();
        let m = scrape(&Selection::pids(vec![me]), Mode::Smaps, GroupBy::User, 5).unwrap();
        assert_eq!(m.processes.scanned, 1);
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert!(!m.series.is_empty());
        let c = scrape(&Selection::pids(vec![me]), Mode::Smaps, GroupBy::Cgroup, 5).unwrap();
        assert!(
            c.series.iter().all(|s| s.group.starts_with('/')),
            "{:?}",
            c.series[0].group
        );
    }
}

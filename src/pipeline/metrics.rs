//! Scrapes of `elfmaps metrics`: a system scan ([`super::system::scan_with`]) whose
//! reports are folded into [`Metrics`] as they are made, each process put in its group
//! (its comm, cgroup, user, systemd unit or container: learnt here, where the live
//! process is at hand) or, younger than [`Limits::min_age`], in `[short-lived]`.
//!
//! A [`Scraper`] is what a server keeps from one scrape to the next: the file cache
//! (each distinct mapped file's headers read once, not once per scrape), each
//! process's labels while its maps do not change ([`Memo`]: a steady-state scrape
//! reads each process's figures, smaps or maps and one PAGEMAP_SCAN, and opens and
//! labels nothing), the series
//! exposed in the last day ([`Memory`]: a day of scrapes creates a bounded number of
//! series), and what each target cost the last time it was read, for its budget
//! ([`Budget`]: a target too large, with too many maps lines, or whose smaps took too
//! long to read, is read from maps and one PAGEMAP_SCAN instead, and its group's
//! proportional and private families say they are incomplete).

use std::collections::HashMap;
use std::io;
use std::time::Instant;

use super::memo::Memo;
use super::system::{self, Cost, Mode, Scanned, Selection};
use crate::source::cache::FileCache;
use crate::source::proc::{Facts, Process};
use crate::views::metrics::{
    Builder, Group, GroupBy, Limits, Memory, Metrics, container_of, unit_of,
};

/// The budget of each target in smaps mode: past any of these, it is read from maps
/// and one PAGEMAP_SCAN instead of smaps (which holds its mmap lock while the kernel
/// walks its pages for PSS).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Budget {
    /// Resident bytes (its stat's rss).
    pub max_rss: u64,
    /// Maps lines, as of its last reading.
    pub max_lines: usize,
    /// Seconds its last smaps reading took (the whole of its reading and labelling,
    /// of which smaps is most).
    pub max_seconds: f64,
}

/// The default [`Budget::max_rss`]: 32 GiB.
pub const DEFAULT_MAX_RSS: u64 = 32 << 30;
/// The default [`Budget::max_lines`].
pub const DEFAULT_MAX_LINES: usize = 20_000;
/// The default [`Budget::max_seconds`].
pub const DEFAULT_MAX_SECONDS: f64 = 1.0;

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_rss: DEFAULT_MAX_RSS,
            max_lines: DEFAULT_MAX_LINES,
            max_seconds: DEFAULT_MAX_SECONDS,
        }
    }
}

impl Budget {
    /// No limit: every target read from smaps.
    #[cfg(test)]
    pub fn unlimited() -> Budget {
        Budget {
            max_rss: u64::MAX,
            max_lines: usize::MAX,
            max_seconds: f64::INFINITY,
        }
    }
}

/// What a scrape scans and how it groups.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The processes.
    pub selection: Selection,
    /// smaps, or maps and pagemap for all (`--rss-only`).
    pub mode: Mode,
    /// What the group label is.
    pub group_by: GroupBy,
    /// The series limits.
    pub limits: Limits,
    /// Each target's budget (smaps mode).
    pub budget: Budget,
}

impl Config {
    /// Scrapes of `selection` in `mode`, grouped by `group_by`, within `limits`, with
    /// the default [`Budget`].
    pub fn new(selection: Selection, mode: Mode, group_by: GroupBy, limits: Limits) -> Config {
        Config {
            selection,
            mode,
            group_by,
            limits,
            budget: Budget::default(),
        }
    }

    /// The same, with `budget`.
    pub fn with_budget(mut self, budget: Budget) -> Config {
        self.budget = budget;
        self
    }
}

/// What a target cost when it was last read.
#[derive(Debug, Clone)]
struct Target {
    comm: String,
    /// When it started (Unix seconds), if known.
    born: Option<f64>,
    /// Over budget: read from maps from now on (until its PID is another process).
    spared: bool,
}

/// A file cache is kept across this many scrapes, then started afresh (so files no
/// longer mapped are forgotten).
const CACHE_SCRAPES: usize = 100;

/// Scrapes again and again, keeping what spares work and series from one to the next.
#[derive(Debug)]
pub struct Scraper {
    config: Config,
    memory: Memory,
    cache: FileCache,
    cache_age: usize,
    memo: Memo,
    targets: HashMap<u32, Target>,
}

impl Scraper {
    /// A scraper that remembers nothing yet.
    pub fn new(config: Config) -> Scraper {
        Scraper {
            config,
            memory: Memory::new(),
            cache: FileCache::new(),
            cache_age: 0,
            memo: Memo::new(),
            targets: HashMap::new(),
        }
    }

    /// Reports made from kept labels, and in full, so far ([`Memo`]).
    #[cfg(test)]
    pub fn memo_hits_and_misses(&self) -> (u64, u64) {
        self.memo.hits_and_misses()
    }

    /// One scrape. `Err` only when `/proc` cannot be listed.
    pub fn scrape(&mut self) -> io::Result<Metrics> {
        self.cache_age += 1;
        if self.cache_age > CACHE_SCRAPES {
            self.cache = FileCache::new();
            self.cache_age = 1;
        }
        let now = unix_now();
        let mut seen = HashMap::new();
        self.memo.begin();
        // With --remote-fs, files on network and FUSE filesystems are read again by
        // every scan: they may change without notice, and a scan that waits for one
        // must not be hidden behind kept labels.
        let keep = matches!(
            crate::source::remote::policy(),
            crate::source::remote::RemoteFs::Skip
        )
        .then_some(&self.memo);
        let metrics = scrape_into(
            &self.config,
            &self.cache,
            keep,
            &self.targets,
            Some(&mut self.memory),
            now,
            &mut seen,
        )?;
        self.targets = seen;
        Ok(metrics)
    }
}

/// The time now in Unix seconds.
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Scans the selected processes once and folds them into metrics grouped by
/// `group_by`, `top` objects per group, no group folded. `Err` only when `/proc`
/// cannot be listed.
#[cfg(test)]
pub fn scrape(
    selection: &Selection,
    mode: Mode,
    group_by: GroupBy,
    top: usize,
) -> io::Result<Metrics> {
    let config = Config::new(selection.clone(), mode, group_by, Limits::top(top))
        .with_budget(Budget::unlimited());
    scrape_once(&config)
}

/// One scrape of `config`, remembering nothing (the command line's `metrics` without
/// `--listen`).
pub fn scrape_once(config: &Config) -> io::Result<Metrics> {
    let cache = FileCache::new();
    scrape_into(
        config,
        &cache,
        None,
        &HashMap::new(),
        None,
        unix_now(),
        &mut HashMap::new(),
    )
}

/// One scrape: `last` is what each target cost last time (for its budget); `seen`
/// gets what each cost this time.
fn scrape_into(
    config: &Config,
    cache: &FileCache,
    keep: Option<&Memo>,
    last: &HashMap<u32, Target>,
    memory: Option<&mut Memory>,
    now: f64,
    seen: &mut HashMap<u32, Target>,
) -> io::Result<Metrics> {
    let start = Instant::now();
    let rss_only = config.mode == Mode::RssOnly;
    let mut builder = Builder::with_limits(config.limits).rss_only(rss_only);
    let mut users: HashMap<u32, String> = HashMap::new();
    let page = crate::source::proc::page_size().get();
    let budget = config.budget;
    let choose = |facts: &Facts| -> Mode {
        if rss_only {
            return Mode::RssOnly;
        }
        let over_rss = facts.rss_pages.saturating_mul(page) > budget.max_rss;
        let over_before = last
            .get(&facts.pid)
            .is_some_and(|t| t.comm == facts.comm && t.spared);
        if over_rss || over_before {
            Mode::RssOnly
        } else {
            Mode::Smaps
        }
    };
    let mut sink = |s: Scanned, cost: Cost| {
        let pid = s.process.pid;
        let before = last.get(&pid).filter(|t| t.comm == s.process.comm);
        let grouped_by_comm = matches!(config.group_by, GroupBy::Comm | GroupBy::User);
        // Seen before by a scan, with its start time, and grouped by what the scan
        // knows: nothing more to read about it.
        let known = before.is_some_and(|t| t.born.is_some()) && grouped_by_comm;
        let process = if known { None } else { Process::new(pid).ok() };
        let cgroup = || {
            let p = process.as_ref()?;
            let paths = p.cgroups();
            let last = paths.iter().rev().find(|p| !p.is_empty())?;
            Some(crate::vocab::escape::text(last).into_owned())
        };
        let group = match config.group_by {
            GroupBy::Comm => Group::named(s.process.comm.clone()),
            GroupBy::User => Group::named(match s.process.uid {
                Some(uid) => users
                    .entry(uid)
                    .or_insert_with(|| user_name(uid).unwrap_or_else(|| uid.to_string()))
                    .clone(),
                None => "[unknown]".to_string(),
            }),
            GroupBy::Cgroup => Group::named(cgroup().unwrap_or_else(|| "[unknown]".into())),
            GroupBy::Unit => match cgroup() {
                Some(c) => Group::named(unit_of(&c)),
                None => Group::named("[unknown]"),
            },
            GroupBy::Container => container_group(cgroup().as_deref()),
        };
        let born = match before.and_then(|t| t.born) {
            Some(b) => Some(b),
            None => process
                .as_ref()
                .and_then(Process::start_time_ns)
                .map(|start| start as f64 / 1e9),
        };
        let age = born.map(|b| (now - b).max(0.0));
        let lines = s.report.regions.last().map_or(0, |r| r.line);
        let smaps_seconds = (cost.mode == Mode::Smaps).then_some(cost.seconds);
        let spared = !rss_only
            && (cost.mode == Mode::RssOnly
                || lines > budget.max_lines
                || smaps_seconds.is_some_and(|t| t > budget.max_seconds));
        seen.insert(
            pid,
            Target {
                comm: s.process.comm.clone(),
                born,
                spared,
            },
        );
        builder.add_process(&group, &s.report, age, cost.seconds);
    };
    let selection = if config.group_by == GroupBy::User {
        config.selection.clone()
    } else {
        config.selection.clone().without_uids()
    };
    let outcome = system::scan_with(&selection, &choose, cache, keep, &mut sink)?;
    Ok(builder.finish_with(outcome.skipped, start.elapsed().as_secs_f64(), memory, now))
}

/// The group of a process in `cgroup` by container: the container's ID (its first 12
/// hex digits, as `docker ps` shows it) with labels `container_id`, `runtime` and
/// `pod_uid`; a process in no container by its systemd unit.
fn container_group(cgroup: Option<&str>) -> Group {
    let Some(cgroup) = cgroup else {
        return Group::named("[unknown]");
    };
    match container_of(cgroup) {
        Some(c) => {
            let mut info = vec![
                ("container_id", c.id.clone()),
                ("runtime", c.runtime.to_string()),
            ];
            if let Some(pod) = &c.pod_uid {
                info.push(("pod_uid", pod.clone()));
            }
            Group {
                key: c.id[..12].to_string(),
                info,
            }
        }
        None => {
            let unit = unit_of(cgroup);
            Group {
                key: unit.clone(),
                info: vec![("unit", unit)],
            }
        }
    }
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
        let u = scrape(&Selection::pids(vec![me]), Mode::Smaps, GroupBy::Unit, 5).unwrap();
        assert!(!u.series[0].group.contains('/'), "{:?}", u.series[0].group);
    }

    #[test]
    fn a_target_over_budget_is_read_from_maps() {
        let me = crate::source::proc::own_pid();
        let config = Config::new(
            Selection::pids(vec![me]),
            Mode::Smaps,
            GroupBy::Comm,
            Limits::top(5),
        )
        .with_budget(Budget {
            max_rss: 1,
            ..Budget::default()
        });
        let m = Scraper::new(config).scrape().unwrap();
        let g = &m.groups[0].group;
        assert!(m.incomplete(g, "elfmaps_proportional_resident_bytes"));
        assert!(m.incomplete(g, "elfmaps_private_bytes"));
        assert!(!m.incomplete(g, "elfmaps_resident_bytes"));
        assert!(m.series.iter().all(|s| s.figures.pss.is_none()));
    }

    /// Issue 21: a steady-state scrape of a process whose maps did not change is made
    /// from its kept labels and new figures, and says what a scrape in full says.
    #[test]
    fn a_steady_state_scrape_reuses_labels() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        // Let it finish starting: its maps the same twice, 200 ms apart.
        let maps = || std::fs::read(format!("/proc/{pid}/maps")).unwrap_or_default();
        let mut last = maps();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let now = maps();
            if now == last && now.windows(4).any(|w| w == b"libc") {
                break;
            }
            last = now;
        }
        for mode in [Mode::Smaps, Mode::RssOnly] {
            let config = Config::new(
                Selection::pids(vec![pid]),
                mode,
                GroupBy::Comm,
                Limits::top(50),
            );
            let mut scraper = Scraper::new(config.clone());
            let first = scraper.scrape().unwrap();
            let second = scraper.scrape().unwrap();
            assert_eq!(scraper.memo_hits_and_misses(), (1, 1), "{mode:?}");
            let cold = scrape_once(&config).unwrap();

            // The labels and the figures of the process alone: its pss and the split
            // of its pages into shared and private move as other processes of the
            // machine map and unmap libc's pages.
            let own = |s: &[crate::views::metrics::Series]| -> Vec<_> {
                s.iter()
                    .map(|s| {
                        (
                            s.group.clone(),
                            s.object.clone(),
                            s.kind,
                            s.figures.size,
                            s.figures.rss,
                        )
                    })
                    .collect()
            };
            assert_eq!(own(&second.series), own(&cold.series), "{mode:?}");
            assert_eq!(own(&first.series), own(&second.series), "{mode:?}");
            assert_eq!(second.objects, cold.objects);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

//! Child processes that tests look at: [`Running`] starts one, waits until its exec is
//! complete, reads its report lines, and kills and reaps it when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running child process; killed and reaped when dropped.
pub struct Running {
    child: Child,
    lines: Option<mpsc::Receiver<String>>,
}

impl Running {
    /// Spawns `cmd` and waits until it has settled (see [`Running::settle`]).
    pub fn start(cmd: &mut Command) -> Running {
        let mut r = Running::spawn(cmd);
        r.settle();
        r
    }

    /// `sleep 60`, settled: its libraries are loaded and it waits in the kernel.
    pub fn sleep() -> Running {
        Running::start(Command::new("sleep").arg("60"))
    }

    /// Spawns `cmd` with its standard input and output piped (a test program of
    /// testdata/ waits until its input closes) and waits for its `READY` line.
    pub fn ready(cmd: &mut Command) -> Running {
        Running::ready_lines(cmd).0
    }

    /// [`Running::ready`], with the lines it printed before `READY` (its report).
    pub fn ready_lines(cmd: &mut Command) -> (Running, Vec<String>) {
        let mut r = Running::spawn(cmd.stdin(Stdio::piped()).stdout(Stdio::piped()));
        let lines = r.lines_until("READY");
        (r, lines)
    }

    /// Spawns `cmd` without waiting for anything: for tests of races with exec and exit.
    pub fn spawn(cmd: &mut Command) -> Running {
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        Running { child, lines: None }
    }

    /// Waits until the exec is complete and every thread of the program sleeps.
    ///
    /// `spawn` returns while the child may still be inside execve, with an address space
    /// that holds only the new stack; then the dynamic loader maps the libraries. So:
    /// wait until `/proc/PID/exe` is no longer this test's program, the maps show it, and
    /// every thread sleeps (state `S`: the loader never blocks; a program blocks once it
    /// waits for input, a timer, or a reader of its output). Not for programs with a
    /// thread that never sleeps.
    pub fn settle(&mut self) {
        let pid = self.pid();
        let ours = std::fs::read_link("/proc/self/exe").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("process {pid} exited with {status} before it settled");
            }
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
            let states = thread_states(pid);
            if let Some(exe) = exe.filter(|e| *e != ours)
                && maps.contains(exe.to_str().unwrap_or("\0"))
                && !states.is_empty()
                && states.iter().all(|&s| s == 'S')
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "process {pid} did not settle in 10 s (thread states {states:?}); maps:\n{maps}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process ID as an argument of elfmaps.
    pub fn pid_arg(&self) -> String {
        self.pid().to_string()
    }

    /// Lines of its standard output (which must be piped) up to the line `marker`,
    /// which is not returned; fails after 30 s or at the end of the output.
    pub fn lines_until(&mut self, marker: &str) -> Vec<String> {
        let rx = self.lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l == marker => return lines,
                Ok(l) => lines.push(l),
                Err(e) => panic!(
                    "process {}: no {marker} ({e:?}); output so far:\n{}",
                    self.child.id(),
                    lines.join("\n")
                ),
            }
        }
    }

    /// The next line of its standard output (which must be piped); fails after 30 s.
    pub fn next_line(&mut self) -> String {
        let pid = self.child.id();
        self.lines()
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("process {pid}: no line of output ({e:?})"))
    }

    fn lines(&mut self) -> &mpsc::Receiver<String> {
        if self.lines.is_none() {
            let stdout = self.child.stdout.take().expect("stdout is not piped");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            self.lines = Some(rx);
        }
        self.lines.as_ref().unwrap()
    }

    /// Its standard input, if piped and not yet closed.
    pub fn stdin(&mut self) -> Option<&mut ChildStdin> {
        self.child.stdin.as_mut()
    }

    /// Closes its standard input and expects a clean exit within 10 s.
    pub fn finish(mut self) {
        drop(self.child.stdin.take());
        let status = self.wait_for(Duration::from_secs(10));
        assert!(
            status.is_some_and(|s| s.success()),
            "process {} did not exit cleanly after EOF on stdin: {status:?}",
            self.child.id()
        );
    }

    /// Its exit status, waiting at most `limit`.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills and reaps it now.
    pub fn kill(&mut self) {
        drop(self.child.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The state letter (`R`, `S`, `D`, ...) of every thread of `pid`.
fn thread_states(pid: u32) -> Vec<char> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.ok()?.path().join("stat")).ok()?;
            stat.rsplit_once(") ")?.1.chars().next()
        })
        .collect()
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

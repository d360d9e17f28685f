//! Building the C test programs: compilers and flags (a toolchain), the programs of
//! testdata, and the variants of the shapes program (testdata/shapes/README.md).
//!
//! A build that fails is told apart from a toolchain that is missing: when it fails,
//! a trivial program is built with the same compiler and flags. If that fails too, the
//! toolchain is missing ([`skip::missing_tool`]: a note, or a failure under CI);
//! otherwise the test program is at fault and the test fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::skip;

/// The crate's directory.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A path under testdata/.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(ROOT).join("testdata").join(rel)
}

/// `CC FLAGS -o OUT INPUTS`.
pub fn command(cc: &str, flags: &[&str], out: &Path, inputs: &[PathBuf]) -> Command {
    let mut c = Command::new(cc);
    c.args(flags).arg("-o").arg(out).args(inputs);
    c
}

/// Whether `cc FLAGS` builds a trivial program (remembered per compiler and flags).
pub fn toolchain(cc: &str, flags: &[&str]) -> Result<(), String> {
    static SEEN: Mutex<Option<HashMap<String, Result<(), String>>>> = Mutex::new(None);
    let key = format!("{cc} {flags:?}");
    if let Some(r) = SEEN.lock().unwrap().get_or_insert_default().get(&key) {
        return r.clone();
    }
    let r = probe(cc, flags);
    SEEN.lock()
        .unwrap()
        .get_or_insert_default()
        .insert(key, r.clone());
    r
}

fn probe(cc: &str, flags: &[&str]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("probe.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let out = command(cc, flags, &dir.path().join("probe"), &[src])
        .output()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{cc} {}` cannot build a trivial program: {}",
            flags.join(" "),
            one_line(&String::from_utf8_lossy(&out.stderr), 300)
        ))
    }
}

/// The lines of `text` joined with "; ", cut to about `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let mut s = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if s.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push_str(" ...");
    }
    s
}

/// Builds `out` from `inputs` with `cc FLAGS`. `None` when the toolchain is missing
/// (after a note; a failure under CI); a failure of the program itself panics.
pub fn build(cc: &str, flags: &[&str], out: &Path, inputs: &[PathBuf]) -> Option<PathBuf> {
    build_linked(cc, flags, out, inputs, &[])
}

/// Like [`build`], with `libs` (`-ldl`, ...) after the inputs, where the linker wants them.
pub fn build_linked(
    cc: &str,
    flags: &[&str],
    out: &Path,
    inputs: &[PathBuf],
    libs: &[&str],
) -> Option<PathBuf> {
    let mut c = command(cc, flags, out, inputs);
    c.args(libs);
    let o = c.output().ok();
    if o.as_ref().is_some_and(|o| o.status.success()) {
        return Some(out.to_path_buf());
    }
    if let Err(why) = toolchain(cc, flags) {
        skip::missing_tool(cc, &why);
        return None;
    }
    panic!(
        "{c:?} failed, although the toolchain builds a trivial program:\n{}",
        o.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default()
    );
}

/// Builds the C file `src` (relative to testdata/) with `cc FLAGS` into `dir/NAME`,
/// NAME being the file's stem; see [`build`].
pub fn build_testdata(dir: &Path, src: &str, flags: &[&str]) -> Option<PathBuf> {
    let src = testdata(src);
    let out = dir.join(src.file_stem().unwrap());
    build("cc", flags, &out, &[src])
}

/// Writes `text` to `dir/NAME.c` and builds it with `cc FLAGS` into `dir/NAME`; see
/// [`build`].
pub fn build_source(dir: &Path, name: &str, text: &str, flags: &[&str]) -> Option<PathBuf> {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, text).unwrap();
    build("cc", flags, &dir.join(name), &[src])
}

// ---------------------------------------------------------------- shapes

/// How one variant of the shapes program is built.
pub struct Variant {
    /// Name in notes and failures.
    pub name: &'static str,
    /// Compiler command.
    pub cc: &'static str,
    /// Flags for every compile (libraries and executable), e.g. `-m32`.
    pub flags: &'static [&'static str],
    /// Flags for the executable only.
    pub exe_flags: &'static [&'static str],
    /// Static executable: built with -DSHAPES_STATIC and libbigbss.c linked in, no libraries.
    pub static_exe: bool,
    /// The executable is ET_EXEC (not PIE).
    pub exe_is_exec: bool,
}

/// Shape libraries and their extra link flags (testdata/shapes/README.md).
const LIBS: &[(&str, &[&str])] = &[
    ("bigbss", &[]),
    ("gap", &["-Wl,-z,max-page-size=0x200000"]),
    ("nosep", &["-Wl,-z,noseparate-code"]),
    ("deleted", &[]),
    ("memfd", &[]),
    ("merge", &[]),
];
const COMMON_FLAGS: &[&str] = &["-O0", "-g0", "-Wall", "-Wextra"];
const LIB_FLAGS: &[&str] = &["-fPIC", "-shared", "-Wl,-z,relro,-z,now"];

impl Variant {
    fn flags<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut f = self.flags.to_vec();
        f.extend_from_slice(COMMON_FLAGS);
        f.extend_from_slice(extra);
        f
    }

    /// Whether the variant's toolchain builds and runs a trivial program. A missing
    /// toolchain is [`skip::missing_tool`]; one that builds programs the kernel cannot
    /// run (no 32-bit support) is a note everywhere.
    pub fn usable(&self) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("probe.c");
        std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
        let flags = self.flags(self.exe_flags);
        let Some(exe) = build(self.cc, &flags, &dir.path().join("probe"), &[src]) else {
            return false;
        };
        match Command::new(exe).status() {
            Ok(s) if s.success() => true,
            r => {
                skip::skip(&format!(
                    "variant {}: a trivial {:?} program does not run here: {r:?}",
                    self.name, self.flags
                ));
                false
            }
        }
    }

    /// Builds the variant in `dir` (see [`Variant::usable`] first); returns the program
    /// and its argument (the library directory).
    pub fn build(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let src = |f: &str| testdata("shapes").join(f);
        let libdir = dir.join("libs");
        std::fs::create_dir_all(&libdir).unwrap();
        let exe = dir.join("shapes");
        let mut cmds = Vec::new();
        if self.static_exe {
            let mut extra = self.exe_flags.to_vec();
            extra.push("-DSHAPES_STATIC");
            cmds.push(command(
                self.cc,
                &self.flags(&extra),
                &exe,
                &[src("shapes.c"), src("libbigbss.c")],
            ));
        } else {
            for (name, extra) in LIBS {
                let extra: Vec<&str> = LIB_FLAGS.iter().chain(extra.iter()).copied().collect();
                let out = libdir.join(format!("lib{name}.so"));
                cmds.push(command(
                    self.cc,
                    &self.flags(&extra),
                    &out,
                    &[src(&format!("lib{name}.c"))],
                ));
            }
            let mut c = command(
                self.cc,
                &self.flags(self.exe_flags),
                &exe,
                &[src("shapes.c")],
            );
            c.arg("-ldl");
            cmds.push(c);
        }
        run_all(cmds);
        (exe, libdir)
    }
}

/// Runs the commands in parallel; each must succeed.
fn run_all(cmds: Vec<Command>) {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            let child = c
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{c:?}: {e}"));
            (c, child)
        })
        .collect();
    for (c, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{c:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// testdata/system: `libshared.so` and `mapper`, a program that maps it (built in
/// `dir`), for the tests of many processes (`system`, `metrics`): `(mapper, lib)`.
pub fn shared_library_and_mapper(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let lib = dir.join("libshared.so");
    build(
        "cc",
        &["-O0", "-g0", "-fPIC", "-shared"],
        &lib,
        &[testdata("system/libshared.c")],
    )?;
    let mapper = build_linked(
        "cc",
        &["-O0", "-g0"],
        &dir.join("mapper"),
        &[testdata("system/mapper.c")],
        &["-ldl"],
    )?;
    Some((mapper, lib))
}

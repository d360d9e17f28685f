//! The `elfmaps` command line: all of it is the library's `cli` module (built only
//! with the `cli` feature, the default); this file only calls it.

fn main() -> std::process::ExitCode {
    elfmaps::cli::main()
}

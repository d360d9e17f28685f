//! Compares `elfmaps map --json` with ground truth from the shapes program
//! (testdata/shapes), built in several variants. See tests/common/mod.rs.

mod common;

use common::{Variant, run_variant};

#[test]
fn glibc_pie() {
    run_variant(&Variant {
        name: "glibc-pie",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fPIE", "-pie"],
        static_exe: false,
        exe_is_exec: false,
    });
}

#[test]
fn glibc_no_pie() {
    run_variant(&Variant {
        name: "glibc-no-pie",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fno-pie", "-no-pie"],
        static_exe: false,
        exe_is_exec: true,
    });
}

#[test]
fn glibc_static() {
    run_variant(&Variant {
        name: "glibc-static",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fno-pie", "-no-pie", "-static"],
        static_exe: true,
        exe_is_exec: true,
    });
}

#[test]
fn glibc_static_pie() {
    run_variant(&Variant {
        name: "glibc-static-pie",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fPIE", "-static-pie"],
        static_exe: true,
        exe_is_exec: false,
    });
}

#[test]
fn musl_pie() {
    run_variant(&Variant {
        name: "musl-pie",
        cc: "musl-gcc",
        flags: &[],
        exe_flags: &["-fPIE", "-pie"],
        static_exe: false,
        exe_is_exec: false,
    });
}

#[test]
fn glibc_m32_pie() {
    run_variant(&Variant {
        name: "glibc-m32-pie",
        cc: "cc",
        flags: &["-m32"],
        exe_flags: &["-fPIE", "-pie"],
        static_exe: false,
        exe_is_exec: false,
    });
}

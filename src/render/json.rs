//! JSON: every document elfmaps prints, one per run, newline-terminated.
//!
//! [`json()`] writes every document through serde (the report of `map` and of
//! `system` included: a region's `Serialize` is written by hand in `report/mod.rs`,
//! flat, since `serde(flatten)` goes through a map serializer). One document is written
//! by hand with [`Out`]: the layouts of `layout` ([`layouts`]: hundreds of files, tens
//! of thousands of sections), where serde measured 11% slower end to end
//! (docs/design.md, "JSON"): the keys are literals, numbers and plain strings (almost
//! every path) are copied straight into one buffer, and only strings that need
//! escaping go through serde_json. The bytes are the same as serde's (the tests below
//! compare both on the golden inputs and on hostile names); the writer takes its
//! structs apart without `..`, so a new field does not compile until it is written
//! here too.

use std::io::{self, Write};

use serde::Serialize;

use crate::views::layout::{FileError, FileLayout, Finding, Layouts, Memory, Section, Segment};
use crate::vocab::Warning;

/// Writes `value` as one JSON document and a newline. Generic over the writer, so
/// serde's many small writes go to a concrete buffered writer, not through a `dyn`.
pub fn json<T: Serialize + ?Sized, W: Write>(value: &T, out: &mut W) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

/// Writes the layouts of `layout` as [`json()`] would, byte for byte, several times
/// faster.
pub fn layouts<W: Write>(layouts: &Layouts, out: &mut W) -> io::Result<()> {
    let Layouts {
        schema_version,
        page_size,
        files,
        errors,
        skipped,
    } = layouts;
    let mut j = Out::new(out);
    j.raw(b"{\"schema_version\":");
    j.u64(u64::from(*schema_version));
    j.raw(b",\"page_size\":");
    j.u64(page_size.get());
    j.raw(b",\"objects\":");
    j.try_list(files, |j, f| {
        j.file_layout(f);
        j.spill()
    })?;
    j.raw(b",\"errors\":");
    j.file_errors(errors);
    if !skipped.is_empty() {
        j.raw(b",\"skipped\":");
        j.file_errors(skipped);
    }
    j.raw(b"}");
    j.finish()
}

/// Above this many bytes the buffer goes to the writer (a buffered writer passes a
/// write as large as its own buffer straight through, without copying it).
const SPILL: usize = 64 * 1024;

/// A JSON document being written: a buffer that goes to the writer in large pieces.
struct Out<'w, W: Write> {
    buf: Vec<u8>,
    out: &'w mut W,
}

impl<'w, W: Write> Out<'w, W> {
    fn new(out: &'w mut W) -> Self {
        Out {
            buf: Vec::with_capacity(SPILL + 8 * 1024),
            out,
        }
    }

    /// Writes the buffer out when it is large.
    fn spill(&mut self) -> io::Result<()> {
        if self.buf.len() >= SPILL {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Ends the document with a newline and writes the rest.
    fn finish(mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.out.write_all(&self.buf)
    }

    #[inline]
    fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// A number in decimal, four digits per division (serde_json's way, by `itoa`).
    #[inline]
    fn u64(&mut self, v: u64) {
        // Most numbers of a layout are below 10 (types, flags, indices, zeros).
        if v < 10 {
            self.buf.push(b'0' + v as u8);
        } else {
            self.long_u64(v);
        }
    }

    #[inline(never)]
    fn long_u64(&mut self, v: u64) {
        let mut tmp = [0u8; 20];
        let i = decimal(&mut tmp, v);
        self.buf.extend_from_slice(&tmp[i..]);
    }

    #[inline]
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => self.u64(v),
            None => self.raw(b"null"),
        }
    }

    #[inline]
    fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }

    #[inline]
    fn opt_usize(&mut self, v: Option<usize>) {
        self.opt_u64(v.map(|v| v as u64));
    }

    /// A string: copied between quotes when nothing in it needs escaping (the usual
    /// path), else escaped by serde_json.
    #[inline]
    fn str(&mut self, s: &str) {
        if needs_no_escape(s.as_bytes()) {
            self.buf.reserve(s.len() + 2);
            self.buf.push(b'"');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.push(b'"');
        } else {
            self.serde(s);
        }
    }

    #[inline]
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw(b"null"),
        }
    }

    /// Anything else, through serde_json (rare values: bytes of names, warnings).
    #[cold]
    fn serde<T: Serialize + ?Sized>(&mut self, v: &T) {
        // Writing to a Vec cannot fail, and these values always serialise.
        let _ = serde_json::to_writer(&mut self.buf, v);
    }

    fn usizes(&mut self, v: &[usize]) {
        self.list(v, |j, &x| j.usize(x));
    }

    /// Writes `items` as a JSON array, each by `item`.
    fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        // Writing into the buffer cannot fail.
        let _ = self.try_list(items, |j, x| {
            item(j, x);
            Ok(())
        });
    }

    /// [`Self::list`] with an item writer that can fail (one that spills the buffer).
    fn try_list<T>(
        &mut self,
        items: &[T],
        mut item: impl FnMut(&mut Self, &T) -> io::Result<()>,
    ) -> io::Result<()> {
        self.raw(b"[");
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                self.raw(b",");
            }
            item(self, x)?;
        }
        self.raw(b"]");
        Ok(())
    }

    fn warnings(&mut self, ws: &[Warning]) {
        self.list(ws, |j, w| {
            let Warning {
                code,
                object,
                message,
            } = w;
            // Few: the code through serde, which names it.
            j.raw(b"{\"code\":");
            j.serde(code);
            j.raw(b",\"object\":");
            j.opt_str(object.as_deref());
            j.raw(b",\"message\":");
            j.str(message);
            j.raw(b"}");
        });
    }

    fn file_errors(&mut self, es: &[FileError]) {
        self.list(es, |j, e| {
            let FileError {
                path,
                path_bytes,
                message,
            } = e;
            j.raw(b"{\"path\":");
            j.str(path);
            if let Some(b) = path_bytes {
                j.raw(b",\"path_bytes\":");
                j.serde(b);
            }
            j.raw(b",\"message\":");
            j.str(message);
            j.raw(b"}");
        });
    }

    fn file_layout(&mut self, f: &FileLayout) {
        let FileLayout {
            path,
            path_bytes,
            e_type,
            machine,
            class,
            endian,
            segments,
            sections,
            memory,
            findings,
            warnings,
        } = f;
        self.raw(b"{\"path\":");
        self.str(path);
        if let Some(b) = path_bytes {
            self.raw(b",\"path_bytes\":");
            self.serde(b);
        }
        self.raw(b",\"type\":");
        self.str(&e_type.name());
        self.raw(b",\"machine\":");
        self.str(machine);
        self.raw(b",\"class\":");
        self.u64(u64::from(*class));
        self.raw(b",\"endian\":");
        self.str(endian.as_str());
        self.raw(b",\"segments\":");
        self.list(segments, Self::segment);
        self.raw(b",\"sections\":");
        self.list(sections, Self::section);
        self.raw(b",\"memory\":");
        match memory {
            Some(m) => self.memory(m),
            None => self.raw(b"null"),
        }
        self.raw(b",\"findings\":");
        self.list(findings, Self::finding);
        self.raw(b",\"warnings\":");
        self.warnings(warnings);
        self.raw(b"}");
    }

    fn segment(&mut self, s: &Segment) {
        let Segment {
            index,
            type_name,
            p_type,
            offset,
            vaddr,
            paddr,
            filesz,
            memsz,
            flags,
            align,
            kind,
            sections,
        } = s;
        self.raw(b"{\"index\":");
        self.usize(*index);
        self.raw(b",\"type\":");
        self.str(type_name);
        self.raw(b",\"p_type\":");
        self.u64(u64::from(*p_type));
        self.raw(b",\"offset\":");
        self.u64(*offset);
        self.raw(b",\"vaddr\":");
        self.u64(*vaddr);
        self.raw(b",\"paddr\":");
        self.u64(*paddr);
        self.raw(b",\"filesz\":");
        self.u64(*filesz);
        self.raw(b",\"memsz\":");
        self.u64(*memsz);
        self.raw(b",\"flags\":");
        self.u64(u64::from(*flags));
        self.raw(b",\"align\":");
        self.u64(*align);
        self.raw(b",\"kind\":");
        self.opt_str(kind.as_deref());
        self.raw(b",\"sections\":");
        self.usizes(sections);
        self.raw(b"}");
    }

    fn section(&mut self, s: &Section) {
        let Section {
            index,
            name,
            sh_type,
            sh_flags,
            addr,
            offset,
            size,
            segments,
        } = s;
        self.raw(b"{\"index\":");
        self.usize(*index);
        self.raw(b",\"name\":");
        self.opt_str(name.as_deref());
        self.raw(b",\"sh_type\":");
        self.u64(u64::from(*sh_type));
        self.raw(b",\"sh_flags\":");
        self.u64(*sh_flags);
        self.raw(b",\"addr\":");
        self.u64(*addr);
        self.raw(b",\"offset\":");
        self.u64(*offset);
        self.raw(b",\"size\":");
        self.u64(*size);
        self.raw(b",\"segments\":");
        self.usizes(segments);
        self.raw(b"}");
    }

    fn memory(&mut self, m: &Memory) {
        let Memory {
            text,
            rodata,
            data,
            relro,
            bss,
            gap,
            total,
        } = m;
        self.raw(b"{\"text\":");
        self.u64(*text);
        self.raw(b",\"rodata\":");
        self.u64(*rodata);
        self.raw(b",\"data\":");
        self.u64(*data);
        self.raw(b",\"relro\":");
        self.u64(*relro);
        self.raw(b",\"bss\":");
        self.u64(*bss);
        self.raw(b",\"gap\":");
        self.u64(*gap);
        self.raw(b",\"total\":");
        self.u64(*total);
        self.raw(b"}");
    }

    fn finding(&mut self, f: &Finding) {
        let Finding {
            kind,
            segment,
            message,
            bytes,
        } = f;
        self.raw(b"{\"kind\":\"");
        self.raw(kind.as_str().as_bytes());
        self.raw(b"\",\"segment\":");
        self.opt_usize(*segment);
        self.raw(b",\"message\":");
        self.str(message);
        self.raw(b",\"bytes\":");
        self.opt_u64(*bytes);
        self.raw(b"}");
    }
}

/// "00" to "99".
const PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Writes `v` in decimal at the end of `b`; returns where the digits start.
#[inline]
fn decimal(b: &mut [u8; 20], mut v: u64) -> usize {
    let mut i = b.len();
    let pair = |b: &mut [u8; 20], at: usize, d: usize| {
        b[at..at + 2].copy_from_slice(&PAIRS[2 * d..2 * d + 2]);
    };
    while v >= 10_000 {
        let rem = (v % 10_000) as usize;
        v /= 10_000;
        i -= 4;
        pair(b, i, rem / 100);
        pair(b, i + 2, rem % 100);
    }
    let mut v = v as usize;
    if v >= 100 {
        i -= 2;
        pair(b, i, v % 100);
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        pair(b, i, v);
    } else {
        i -= 1;
        b[i] = b'0' + v as u8;
    }
    i
}

/// Whether serde_json writes `s` as it is between quotes: no control character
/// (below 0x20), no `"` and no `\`. Bytes of 0x7f and above are written as they are.
/// Eight bytes at a time (paths are tens of bytes).
#[inline]
fn needs_no_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether a byte of `x` is below `n` (n <= 128; exact as a whole: a borrow only
    // follows a byte that is already below).
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        // A byte equal to c is a zero byte of x ^ c.
        if below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1) != 0 {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Code, Kind};

    fn golden(suffixes: &[&str]) -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if suffixes.iter().any(|s| name.ends_with(s)) && !name.starts_with("diff.") {
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
        out
    }

    fn by_serde<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        json(v, &mut out).unwrap();
        out
    }

    /// Names that need escaping, bytes that are not UTF-8, every kind and code.
    const NAMES: [&str; 8] = [
        "/tmp/a\nb.so",
        "/tmp/x\u{1b}[31m.so",
        "/tmp/é\u{202e}.so",
        "/tmp/back\\slash \"q\".so",
        "/tmp/tab\t\u{7f}.so (deleted)",
        "/tmp/\u{0}\u{1f}.so",
        "[anon: x]",
        "",
    ];

    /// `map --json` is serde's since the measurement in docs/design.md: a report read
    /// back from a golden output is written again byte for byte, and so is one with
    /// hostile names, every kind and code, and odd figures.
    #[test]
    fn reports_read_back_write_the_same_bytes() {
        use crate::report::Report;
        let files = golden(&[".map.json", ".bare.json"]);
        assert!(files.len() >= 14);
        for (name, bytes) in files {
            let mut r: Report = serde_json::from_slice(&bytes).unwrap();
            assert!(by_serde(&r) == bytes, "{name}");
            // Hostile names, every kind and code, a command line, odd figures.
            r.command = Some("cmd \"x\"\n".into());
            r.pid = Some(u32::MAX);
            for (i, reg) in r.regions.iter_mut().enumerate() {
                reg.path = Some(NAMES[i % NAMES.len()].into());
                reg.object = (i % 3 == 0).then(|| NAMES[(i + 1) % NAMES.len()].into());
                reg.path_bytes = (i % 4 == 0).then(|| vec![0xff, 0, b'a']);
                reg.kind = Kind::ALL[i % Kind::ALL.len()];
                reg.offset = (i % 2 == 0).then_some(u64::MAX);
                reg.figures.hugetlb = Some(u64::MAX - i as u64);
                reg.remapped = [
                    None,
                    Some(crate::label::Remapped::Anon),
                    Some(crate::label::Remapped::Memfd),
                ][i % 3];
                reg.verified = [None, Some(true), Some(false)][i % 3];
            }
            for (i, o) in r.objects.iter_mut().enumerate() {
                o.path = NAMES[i % NAMES.len()].to_string();
                o.path_bytes = (i % 2 == 0).then(|| vec![0x80]);
                o.build_id = None;
                o.problem = Some(NAMES[(i + 2) % NAMES.len()].to_string());
                o.huge_text = (i % 2 == 1).then_some(2 << 20);
            }
            r.split_pss_exact = Some(true);
            r.warnings.push(Warning::new(
                Code::LimitReached,
                Some(NAMES[0].into()),
                NAMES[3],
            ));
            r.warnings
                .push(Warning::new(Code::FileUnreadable, None, "plain"));
            let altered = by_serde(&r);
            let back: Report = serde_json::from_slice(&altered).unwrap();
            assert!(by_serde(&back) == altered, "{name}, altered");
        }
    }

    #[test]
    fn layouts_as_serde_writes_them() {
        let files = golden(&[".layout.json"]);
        assert!(files.len() >= 7);
        for (name, bytes) in files {
            let mut l: Layouts = serde_json::from_slice(&bytes).unwrap();
            let mut mine = Vec::new();
            layouts(&l, &mut mine).unwrap();
            assert!(mine == bytes, "{name}");
            for (i, f) in l.files.iter_mut().enumerate() {
                f.path = NAMES[i % NAMES.len()].to_string();
                f.path_bytes = (i % 2 == 0).then(|| vec![0xfe]);
                for (k, s) in f.sections.iter_mut().enumerate() {
                    s.name = (k % 3 != 0).then(|| NAMES[k % NAMES.len()].to_string().into());
                }
                f.memory = None;
                f.warnings.push(Warning::new(
                    Code::SectionsUnreadable,
                    Some(f.path.clone()),
                    NAMES[i % NAMES.len()],
                ));
            }
            l.errors.push(FileError {
                path: NAMES[1].into(),
                path_bytes: Some(vec![1, 2]),
                message: NAMES[4].into(),
            });
            l.skipped.push(FileError {
                path: "x".into(),
                path_bytes: None,
                message: "not ELF".into(),
            });
            let mut mine = Vec::new();
            layouts(&l, &mut mine).unwrap();
            assert!(mine == by_serde(&l), "{name}, altered");
        }
    }

    /// Kinds and finding kinds are written with `as_str`: the names serde gives them.
    #[test]
    fn kinds_are_named_as_serde_names_them() {
        use crate::views::layout::FindingKind as F;
        for k in Kind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        let all = [
            F::WxSegment,
            F::NoRelro,
            F::PartialRelro,
            F::ExecStack,
            F::Textrel,
            F::AlignmentWaste,
            F::SharedPage,
        ];
        for k in all {
            // Exhaustive: a new finding kind must be added to `all`.
            match k {
                F::WxSegment
                | F::NoRelro
                | F::PartialRelro
                | F::ExecStack
                | F::Textrel
                | F::AlignmentWaste
                | F::SharedPage => {}
            }
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
    }

    #[test]
    fn numbers_as_serde_writes_them() {
        let mut ns = vec![
            0,
            9,
            10,
            99,
            100,
            999,
            1000,
            9999,
            10_000,
            99_999,
            100_000,
            u64::MAX,
        ];
        for k in 0..20 {
            let p = 10u64.pow(k);
            ns.extend([p - 1, p, p + 1, p.wrapping_mul(3).wrapping_add(7)]);
        }
        for n in ns {
            let mut j = Vec::new();
            let mut out = Out::new(&mut j);
            out.u64(n);
            out.raw(b",");
            out.finish().unwrap();
            assert_eq!(j, format!("{n},\n").as_bytes());
        }
    }

    #[test]
    fn plain_bytes_in_every_place() {
        let plain = |s: &[u8]| s.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(needs_no_escape(&s), plain(&s), "{len} {at} {b}");
                    // Around bytes that borrow or carry.
                    s.iter_mut().filter(|x| **x == b'a').for_each(|x| *x = 0xff);
                    assert_eq!(needs_no_escape(&s), plain(&s), "{len} {at} {b} in 0xff");
                    s.iter_mut().filter(|x| **x == 0xff).for_each(|x| *x = 0x20);
                    assert_eq!(needs_no_escape(&s), plain(&s), "{len} {at} {b} in 0x20");
                }
            }
        }
    }

    #[test]
    fn plain_strings_are_the_ones_serde_leaves_alone() {
        for b in 0..=255u8 {
            let s = [b'a', b, b'z'];
            let Ok(s) = std::str::from_utf8(&s) else {
                continue;
            };
            let serde = serde_json::to_string(s).unwrap();
            assert_eq!(
                needs_no_escape(s.as_bytes()),
                serde == format!("\"{s}\""),
                "{b}"
            );
        }
        for s in NAMES {
            let serde = serde_json::to_string(s).unwrap();
            assert_eq!(
                needs_no_escape(s.as_bytes()),
                serde == format!("\"{s}\""),
                "{s:?}"
            );
        }
    }
}

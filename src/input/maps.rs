//! Parser of `/proc/PID/maps` and `/proc/PID/smaps` text.
//!
//! Takes bytes, does no I/O: live reads, saved files from boards and fuzzers all
//! feed the same function. Paths are bytes (not UTF-8), names may contain spaces,
//! `\012` stands for a newline, and unknown smaps keys are kept so that a future
//! kernel's fields survive. Every error names the 1-based line and its text.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// One line of maps (with, for smaps, the fields that follow it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// 1-based line number of the header line in the input.
    pub line: usize,
    /// Start address.
    pub start: u64,
    /// Exclusive end address.
    pub end: u64,
    /// The four permission characters as printed (`r-xp`).
    pub perms: [u8; 4],
    /// File offset of `start` (bytes).
    pub offset: u64,
    /// Device major number.
    pub dev_major: u32,
    /// Device minor number.
    pub dev_minor: u32,
    /// Inode (0 for anonymous memory).
    pub inode: u64,
    /// The name exactly as the kernel printed it (padding removed), possibly empty.
    pub name: Vec<u8>,
    /// smaps fields (empty for plain maps).
    pub fields: Fields,
}

/// The smaps keys of Linux 6.x, stored compactly; others go to [`Fields::other`].
/// `true`: the value is in kB.
const KNOWN: [(&str, bool); 28] = [
    ("Size", true),
    ("KernelPageSize", true),
    ("MMUPageSize", true),
    ("Rss", true),
    ("Pss", true),
    ("Pss_Dirty", true),
    ("Pss_Anon", true),
    ("Pss_File", true),
    ("Pss_Shmem", true),
    ("Shared_Clean", true),
    ("Shared_Dirty", true),
    ("Private_Clean", true),
    ("Private_Dirty", true),
    ("Referenced", true),
    ("Anonymous", true),
    ("KSM", true),
    ("LazyFree", true),
    ("AnonHugePages", true),
    ("ShmemPmdMapped", true),
    ("FilePmdMapped", true),
    ("Shared_Hugetlb", true),
    ("Private_Hugetlb", true),
    ("Swap", true),
    ("SwapPss", true),
    ("Locked", true),
    ("THPeligible", false),
    ("ProtectionKey", false),
    ("Name", false),
];

/// Index of a known smaps key, for [`Fields::kb`]; fails to compile for an unknown one.
pub const fn known_key(name: &str) -> usize {
    let mut i = 0;
    while i < KNOWN.len() {
        let (k, n) = (KNOWN[i].0.as_bytes(), name.as_bytes());
        if k.len() == n.len() {
            let mut j = 0;
            while j < k.len() && k[j] == n[j] {
                j += 1;
            }
            if j == k.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a known smaps key")
}

/// The `Key: value` lines of one smaps entry. Known keys cost 4 bytes each (a
/// mapping has ~25 of them, and a process can have 65,530 mappings): a kB value is
/// kept in kB as a `u32` when that is exact, and only a value that does not fit (a
/// reservation of 4 TiB or more, or a byte count that is not whole kB) moves to a
/// side table of full `u64`s, so no value is ever lost. Anything else, including keys
/// of future kernels, is kept in [`Fields::other`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    present: u32,
    /// Known keys whose value is in `wide`, not in `values`.
    wide_mask: u32,
    /// Index in [`KNOWN`] of the key expected next.
    next: u8,
    /// kB for kB keys, the number for the others; 0 where `wide_mask` is set.
    values: [u32; 28],
    /// The full values of the keys in `wide_mask` (bytes or number), 0 elsewhere;
    /// `None` when `wide_mask` is 0 (one canonical form, for `==`).
    wide: Option<Box<[u64; 28]>>,
    /// `VmFlags`, verbatim (shared between the mappings of one parse that have the
    /// same flags: a process has a handful of distinct values).
    pub vm_flags: Option<Arc<[u8]>>,
    /// Fields with keys not in the known list, or with values of an unexpected form.
    pub other: Vec<Field>,
}

/// `Key:` of each known key as a little-endian `u128` and the mask of its bytes, for
/// comparing the start of a line with one load (every key is at most 15 bytes).
const KEY_PATTERNS: [(u128, u128); 28] = {
    let mut out = [(0u128, 0u128); 28];
    let mut i = 0;
    while i < KNOWN.len() {
        let k = KNOWN[i].0.as_bytes();
        assert!(k.len() < 16, "a known key longer than 15 bytes");
        let mut pat = 0u128;
        let mut j = 0;
        while j < k.len() {
            pat |= (k[j] as u128) << (8 * j);
            j += 1;
        }
        pat |= (b':' as u128) << (8 * k.len());
        let mask = if k.len() + 1 == 16 {
            u128::MAX
        } else {
            (1u128 << (8 * (k.len() + 1))) - 1
        };
        out[i] = (pat, mask);
        i += 1;
    }
    out
};

/// `Key:` padded with spaces to 16 bytes, as the kernel prints every known key.
const PADDED: [u128; 28] = {
    let mut out = [0u128; 28];
    let mut i = 0;
    while i < KNOWN.len() {
        let (pat, mask) = KEY_PATTERNS[i];
        out[i] = pat | (!mask & u128::from_le_bytes([b' '; 16]));
        i += 1;
    }
    out
};

/// The value of 8 bytes that are spaces and then at least one digit (`"     123"`),
/// read all at once; `None` for anything else.
fn digits8(w: u64) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let spaces = (w ^ (b' ' as u64 * ONES)).trailing_zeros() / 8;
    if spaces == 8 {
        return None;
    }
    // The leading spaces (the low bytes: the first byte is the lowest) become '0'.
    let low = if spaces == 0 {
        0
    } else {
        u64::MAX >> (64 - 8 * spaces)
    };
    let d = (w & !low) | ((b'0' as u64 * ONES) & low);
    let high = 0xf0 * ONES;
    if d & high != 0x30 * ONES || d.wrapping_add(6 * ONES) & high != 0x30 * ONES {
        return None;
    }
    let v = ((d & (0x0f * ONES)).wrapping_mul(2561)) >> 8;
    let v = ((v & 0x00ff_00ff_00ff_00ff).wrapping_mul(6_553_601)) >> 16;
    Some(((v & 0x0000_ffff_0000_ffff).wrapping_mul(42_949_672_960_001)) >> 32)
}

/// How many keys after the expected one a line may name (smaps skips the
/// rollup-only `Pss_Anon`, `Pss_File`, `Pss_Shmem`).
const LOOKAHEAD: usize = 4;

impl Fields {
    /// Whether there are no fields (a maps line, not smaps).
    pub fn is_empty(&self) -> bool {
        self.present == 0 && self.vm_flags.is_none() && self.other.is_empty()
    }

    fn push(&mut self, key: &[u8], value: FieldValue) {
        if key == b"VmFlags"
            && let FieldValue::Text(t) = &value
        {
            self.vm_flags = Some(t.as_slice().into());
            return;
        }
        // Keys come in the kernel's order: try the one after the last first.
        let hint = usize::from(self.next);
        let known = if KNOWN.get(hint).is_some_and(|(k, _)| k.as_bytes() == key) {
            Some(hint)
        } else {
            KNOWN.iter().position(|(k, _)| k.as_bytes() == key)
        };
        if let Some(i) = known {
            self.next = (i + 1) as u8;
        }
        match (known, &value) {
            (Some(i), FieldValue::Bytes(v)) if KNOWN[i].1 => self.set(i, *v),
            (Some(i), FieldValue::Number(v)) if !KNOWN[i].1 => self.set(i, *v),
            _ => self.other.push(Field {
                key: crate::vocab::escape::text(key).into_owned(),
                value,
            }),
        }
    }

    /// The fast path for the common line: the key the kernel prints next, with a kB
    /// value (`Rss:   123 kB`). Returns false, touching nothing, for anything else.
    ///
    /// The key may also be one of the few after the expected one (smaps skips the
    /// rollup-only `Pss_Anon`, `Pss_File`, `Pss_Shmem`), a plain number for a key
    /// without unit (`THPeligible`), or `VmFlags` (kept without a copy of the line).
    fn push_expected(&mut self, line: &[u8], seen: &mut Vec<Arc<[u8]>>) -> bool {
        if let Some(rest) = line.strip_prefix(b"VmFlags:") {
            let flags = trim(rest);
            if flags.ends_with(b" kB") || parse_dec(flags).is_some() {
                return false;
            }
            self.vm_flags = Some(share(seen, flags));
            return true;
        }
        let from = usize::from(self.next);
        let Some((i, kb, rest)) = KNOWN
            .iter()
            .enumerate()
            .skip(from)
            .take(LOOKAHEAD)
            .find_map(|(i, (key, kb))| {
                let rest = line.strip_prefix(key.as_bytes())?.strip_prefix(b":")?;
                Some((i, *kb, rest))
            })
        else {
            return false;
        };
        let value = if kb {
            let Some(rest) = rest.strip_suffix(b" kB") else {
                return false;
            };
            let digits = &rest[rest.iter().position(|&b| b != b' ').unwrap_or(rest.len())..];
            parse_dec(digits).and_then(|n| n.checked_mul(1024))
        } else {
            // Exactly what the general path accepts as a number, nothing more.
            let t = trim(rest);
            if t.ends_with(b" kB") {
                None
            } else {
                parse_dec(t)
            }
        };
        match value {
            Some(v) => {
                self.set(i, v);
                self.next = (i + 1) as u8;
                true
            }
            None => false,
        }
    }

    /// Sets a known kB field by its index (see [`known_key`]) to `bytes`, as if smaps
    /// had printed it (an RSS-only scan gives `Rss` and `Swap` from pagemap).
    pub fn set_kb(&mut self, i: usize, bytes: u64) {
        if KNOWN.get(i).is_some_and(|k| k.1) {
            self.set(i, bytes);
        }
    }

    /// Stores `v` (bytes for a kB key, the number otherwise) for known key `i`.
    fn set(&mut self, i: usize, v: u64) {
        self.present |= 1 << i;
        let narrow = if KNOWN[i].1 {
            v.is_multiple_of(1024)
                .then(|| u32::try_from(v / 1024).ok())
                .flatten()
        } else {
            u32::try_from(v).ok()
        };
        match narrow {
            Some(n) => {
                self.values[i] = n;
                if self.wide_mask & (1 << i) != 0 {
                    self.wide_mask &= !(1 << i);
                    if self.wide_mask == 0 {
                        self.wide = None;
                    } else if let Some(w) = &mut self.wide {
                        w[i] = 0;
                    }
                }
            }
            None => {
                self.values[i] = 0;
                self.wide_mask |= 1 << i;
                self.wide.get_or_insert_with(|| Box::new([0; 28]))[i] = v;
            }
        }
    }

    /// The stored value of known key `i` (bytes for a kB key), present or not.
    fn value(&self, i: usize) -> u64 {
        if self.wide_mask & (1 << i) != 0 {
            self.wide.as_ref().map_or(0, |w| w[i])
        } else if KNOWN[i].1 {
            u64::from(self.values[i]) * 1024
        } else {
            u64::from(self.values[i])
        }
    }

    /// The fast path of [`Parser::feed`] for the line smaps prints most: the key
    /// expected next (or one of the [`LOOKAHEAD`] after it), a colon, spaces, digits
    /// and ` kB` (or, for a key without unit, blanks, digits, blanks), ending with a
    /// newline within `text`. Returns the length of the line with its newline, having
    /// stored the value exactly as [`Fields::push_expected`] would; `None`, touching
    /// nothing, for anything else (the general path then decides).
    fn fast_line(&mut self, text: &[u8]) -> Option<usize> {
        if let Some(len) = self.fixed_line(text) {
            return Some(len);
        }
        let head = u128::from_le_bytes(*text.first_chunk::<16>()?);
        let from = usize::from(self.next);
        let is = |i: usize| {
            KEY_PATTERNS
                .get(i)
                .is_some_and(|&(pat, mask)| head & mask == pat)
        };
        let i = if is(from) {
            from
        } else {
            (from + 1..from + LOOKAHEAD).find(|&i| is(i))?
        };
        let mut p = KNOWN[i].0.len() + 1;
        if !KNOWN[i].1 {
            return self.fast_number(i, text, p);
        }
        // Spaces, eight at a time: the kernel pads the value to column 24.
        loop {
            let w = u64::from_le_bytes(*text.get(p..)?.first_chunk::<8>()?);
            let x = w ^ u64::from_le_bytes(*b"        ");
            if x != 0 {
                p += (x.trailing_zeros() / 8) as usize;
                break;
            }
            p += 8;
        }
        // At most 19 digits, which cannot overflow; longer goes the general way.
        let digits = p;
        let mut v: u64 = 0;
        loop {
            let d = text.get(p)?.wrapping_sub(b'0');
            if d >= 10 {
                break;
            }
            v = v * 10 + u64::from(d);
            p += 1;
            if p - digits > 19 {
                return None;
            }
        }
        if p == digits || text.get(p..p + 4)? != b" kB\n" {
            return None;
        }
        let bit = 1 << i;
        match u32::try_from(v) {
            // The common case, stored as `set` would store it, without its checks.
            Ok(n) if self.wide_mask & bit == 0 => {
                self.present |= bit;
                self.values[i] = n;
            }
            _ => self.set(i, v.checked_mul(1024)?),
        }
        self.next = (i + 1) as u8;
        Some(p + 4)
    }

    /// The fastest path, for the line exactly as the kernel prints a kB key below
    /// 10^8 kB: the expected key padded to 16 bytes, the value right-aligned in the
    /// next 8, then ` kB` and a newline. A special case of [`Fields::fast_line`].
    fn fixed_line(&mut self, text: &[u8]) -> Option<usize> {
        let line = text.first_chunk::<28>()?;
        let (head, rest) = line.split_first_chunk::<16>()?;
        let (value, unit) = rest.split_first_chunk::<8>()?;
        let head = u128::from_le_bytes(*head);
        let from = usize::from(self.next);
        let i = (from..from + LOOKAHEAD).find(|&i| PADDED.get(i) == Some(&head))?;
        if !KNOWN[i].1 || unit != b" kB\n" {
            return None;
        }
        let v = digits8(u64::from_le_bytes(*value))?;
        let bit = 1 << i;
        if self.wide_mask & bit == 0 {
            self.present |= bit;
            // Below 10^8: fits.
            self.values[i] = v as u32;
        } else {
            self.set(i, v * 1024);
        }
        self.next = (i + 1) as u8;
        Some(28)
    }

    /// [`Fields::fast_line`] for a key without unit, from `p` after its colon:
    /// blanks, digits, blanks, newline (what `trim` and `parse_dec` accept).
    fn fast_number(&mut self, i: usize, text: &[u8], mut p: usize) -> Option<usize> {
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        while text.get(p).is_some_and(blank) {
            p += 1;
        }
        let digits = p;
        let mut v: u64 = 0;
        loop {
            let d = text.get(p)?.wrapping_sub(b'0');
            if d >= 10 {
                break;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(d))?;
            p += 1;
        }
        if p == digits {
            return None;
        }
        while text.get(p).is_some_and(blank) {
            p += 1;
        }
        if text.get(p) != Some(&b'\n') {
            return None;
        }
        self.set(i, v);
        self.next = (i + 1) as u8;
        Some(p + 1)
    }

    /// The value of a known kB field by its index (see [`known_key`]), in bytes.
    pub fn kb(&self, i: usize) -> Option<u64> {
        (self.present & (1 << i) != 0 && KNOWN[i].1).then(|| self.value(i))
    }

    /// The value of `key`, whatever its form.
    pub fn get(&self, key: &str) -> Option<FieldValue> {
        if key == "VmFlags" {
            return self.vm_flags.as_ref().map(|v| FieldValue::Text(v.to_vec()));
        }
        if let Some(i) = KNOWN.iter().position(|(k, _)| *k == key)
            && self.present & (1 << i) != 0
        {
            let v = self.value(i);
            return Some(if KNOWN[i].1 {
                FieldValue::Bytes(v)
            } else {
                FieldValue::Number(v)
            });
        }
        self.other
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.clone())
    }

    /// All fields: the known ones in kernel order, then `VmFlags`, then the others.
    #[cfg(any(feature = "cli", test))]
    pub fn iter(&self) -> impl Iterator<Item = Field> + '_ {
        let known = KNOWN
            .iter()
            .enumerate()
            .filter(|(i, _)| self.present & (1 << i) != 0)
            .map(|(i, (k, kb))| Field {
                key: (*k).to_string(),
                value: if *kb {
                    FieldValue::Bytes(self.value(i))
                } else {
                    FieldValue::Number(self.value(i))
                },
            });
        let flags = self.vm_flags.iter().map(|v| Field {
            key: "VmFlags".into(),
            value: FieldValue::Text(v.to_vec()),
        });
        known.chain(flags).chain(self.other.iter().cloned())
    }
}

/// `flags` as an `Arc`, the one already in `seen` (the most recently used first)
/// when there is one, so that equal `VmFlags` cost one allocation per parse.
fn share(seen: &mut Vec<Arc<[u8]>>, flags: &[u8]) -> Arc<[u8]> {
    const KEEP: usize = 8;
    match seen.iter().position(|f| **f == *flags) {
        Some(at) => {
            if at > 0 {
                seen[..=at].rotate_right(1);
            }
            seen[0].clone()
        }
        None => {
            let new: Arc<[u8]> = flags.into();
            if seen.len() == KEEP {
                seen.pop();
            }
            seen.insert(0, new.clone());
            new
        }
    }
}

/// One `Key: value` line of smaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key, without the colon.
    pub key: String,
    /// Its value.
    pub value: FieldValue,
}

/// The value of an smaps field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// `NNN kB`, converted to bytes.
    Bytes(u64),
    /// A bare integer (`THPeligible`, `ProtectionKey`).
    Number(u64),
    /// Anything else (`VmFlags`, Android's `Name`), kept verbatim.
    Text(Vec<u8>),
}

/// What a maps name says about a mapping. Only a hint about *where* the memory comes
/// from; what ELF bytes it holds is decided from program headers and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameKind<'a> {
    /// No name: anonymous memory.
    Anonymous,
    /// A file path (decoded: `\012` becomes `\n`, the ` (deleted)` suffix removed).
    Path {
        /// The path as maps prints it (with `\\012` for a newline), without the suffix.
        path: Cow<'a, [u8]>,
        /// Whether the kernel appended ` (deleted)`.
        deleted: bool,
    },
    /// `[heap]`.
    Heap,
    /// `[stack]`.
    Stack,
    /// `[stack:TID]` (kernels before 4.5).
    ThreadStack(u64),
    /// `[vdso]`.
    Vdso,
    /// `[vvar]`, `[vvar_vclock]`.
    Vvar,
    /// `[vsyscall]`.
    Vsyscall,
    /// `[anon:NAME]`.
    AnonNamed(&'a [u8]),
    /// `[anon_shmem:NAME]`.
    AnonShmem(&'a [u8]),
    /// `anon_inode:...`.
    AnonInode(&'a [u8]),
    /// Other bracketed names of the kernel: `[uprobes]`, `[sigpage]`, `[vectors]`, ...
    Kernel(&'a [u8]),
    /// Something else that is not a path (`socket:[...]`, ...).
    Other(&'a [u8]),
}

impl Mapping {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.end - self.start
    }

    /// Permissions as maps prints them (`r-xp`).
    pub fn perms_str(&self) -> String {
        match std::str::from_utf8(&self.perms) {
            Ok(s) => s.to_owned(),
            Err(_) => crate::vocab::escape::text(&self.perms).into_owned(),
        }
    }

    /// Device as maps prints it (`fe:00`).
    pub fn dev_str(&self) -> String {
        dev_string(self.dev_major, self.dev_minor)
    }

    /// Whether the mapping is shared (`s`).
    pub fn is_shared(&self) -> bool {
        self.perms[3] == b's'
    }

    /// Classifies the name. See [`NameKind`].
    pub fn name_kind(&self) -> NameKind<'_> {
        classify_name(&self.name)
    }

    /// Value of an smaps field in bytes (only `kB` fields), if present.
    pub fn bytes(&self, key: &str) -> Option<u64> {
        match self.fields.get(key) {
            Some(FieldValue::Bytes(v)) => Some(v),
            _ => None,
        }
    }

    /// A file-backed mapping: it has an inode and a path-like name.
    pub fn is_file_backed(&self) -> bool {
        self.inode != 0 && self.name.first() == Some(&b'/')
    }
}

/// Classifies a maps name (see [`NameKind`]).
pub fn classify_name(name: &[u8]) -> NameKind<'_> {
    fn inner<'a>(name: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
        name.strip_prefix(prefix)?.strip_suffix(b"]")
    }
    match name {
        b"" => NameKind::Anonymous,
        b"[heap]" => NameKind::Heap,
        b"[stack]" => NameKind::Stack,
        b"[vdso]" => NameKind::Vdso,
        b"[vvar]" | b"[vvar_vclock]" => NameKind::Vvar,
        b"[vsyscall]" => NameKind::Vsyscall,
        _ if name[0] == b'/' => {
            let (raw, deleted) = match name.strip_suffix(b" (deleted)") {
                Some(p) => (p, true),
                None => (name, false),
            };
            NameKind::Path {
                path: decode_newlines(raw),
                deleted,
            }
        }
        _ => {
            if let Some(n) = inner(name, b"[anon:") {
                NameKind::AnonNamed(n)
            } else if let Some(n) = inner(name, b"[anon_shmem:") {
                NameKind::AnonShmem(n)
            } else if let Some(tid) = inner(name, b"[stack:")
                .and_then(|t| std::str::from_utf8(t).ok())
                .and_then(|t| t.parse().ok())
            {
                NameKind::ThreadStack(tid)
            } else if let Some(n) = name.strip_prefix(b"anon_inode:") {
                NameKind::AnonInode(n)
            } else if name[0] == b'[' && name.ends_with(b"]") {
                NameKind::Kernel(name)
            } else {
                NameKind::Other(name)
            }
        }
    }
}

/// Undoes the kernel's only escape in maps names: a newline printed as `\012`.
/// (A literal backslash is not escaped, so this is a best guess, as for the kernel's
/// own `seq_file_path` readers.)
pub fn decode_newlines(raw: &[u8]) -> Cow<'_, [u8]> {
    if !memchr::memchr_iter(b'\\', raw).any(|i| raw[i..].starts_with(b"\\012")) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i..].starts_with(b"\\012") {
            out.push(b'\n');
            i += 4;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// What is wrong with a maps/smaps line. The decisions made on an error (read a
/// live process again, which stable code it has) are made on this, never on its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line is not a maps line or an smaps field: what is wrong with it.
    Malformed(&'static str),
    /// A line longer than `MAX_LINE`.
    TooLong,
    /// `/proc/PID/smaps_rollup` given as input: its one line, named `[rollup]`, sums
    /// the whole address space and has no regions to label.
    Rollup,
    /// A line that starts before the previous one ends. In a live read of smaps this
    /// is not corruption but the process changing its maps between two reads of the
    /// file (the kernel resumes at the last address it printed): read it again.
    OutOfOrder,
    /// A live read of smaps that came out overlapping (see [`ParseErrorKind::OutOfOrder`])
    /// every time it was read again.
    Unstable,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseErrorKind::Malformed(what) => what,
            ParseErrorKind::TooLong => "line longer than 65536 bytes",
            ParseErrorKind::Rollup => {
                "this is smaps_rollup: a rollup has no regions to label (give /proc/PID/smaps or maps)"
            }
            ParseErrorKind::OutOfOrder => "mapping overlaps or precedes the previous one",
            ParseErrorKind::Unstable => "the process changed its maps during each of 8 reads",
        })
    }
}

/// A malformed input line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// The offending line (lossily decoded, control characters escaped by the printer).
    pub text: String,
    /// What is wrong with it.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = crate::vocab::escape::escape(self.text.as_bytes());
        if text.len() > 120 {
            let mut cut = 120;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("...");
        }
        write!(f, "line {}: {}: \"{}\"", self.line, self.kind, text)
    }
}

impl ParseError {
    /// The stable code of this error: `maps-unstable` when a live process changed its
    /// maps during every read, `maps-malformed` otherwise.
    pub fn code(&self) -> crate::vocab::Code {
        match self.kind {
            ParseErrorKind::Unstable => crate::vocab::Code::MapsUnstable,
            _ => crate::vocab::Code::MapsMalformed,
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses maps or smaps text (the format is detected line by line: a `Key:` line
/// belongs to the preceding mapping). Stops at the first malformed line.
pub fn parse(input: &[u8]) -> Result<Vec<Mapping>, ParseError> {
    let mut p = Parser::default();
    p.feed(input)?;
    p.finish()
}

/// The longest line taken: the kernel prints a name of at most `PATH_MAX` (4096)
/// bytes, each of whose newlines becomes `\012`, so no line it writes comes near.
/// A longer line is an error as soon as it is seen, so that a line that never ends
/// (`/dev/zero`) costs no more than this.
pub const MAX_LINE: usize = 64 << 10;

/// An incremental parser: feed it chunks as they are read (so a large smaps is never
/// held in memory whole), then [`Parser::finish`]. What it holds of the input is at
/// most one line of [`MAX_LINE`] bytes; the rest is its mappings.
#[derive(Debug, Default)]
pub struct Parser {
    out: Vec<Mapping>,
    /// An incomplete last line carried to the next chunk.
    partial: Vec<u8>,
    lineno: usize,
    /// The `VmFlags` values seen lately (see [`share`]).
    flags: Vec<Arc<[u8]>>,
}

impl Parser {
    /// Parses every complete line of `chunk` (plus what was left from the last one).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), ParseError> {
        let mut rest = chunk;
        if !self.partial.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(nl) => {
                    let mut line = std::mem::take(&mut self.partial);
                    line.extend_from_slice(&rest[..nl]);
                    self.line(&line)?;
                    rest = &rest[nl + 1..];
                }
                None => {
                    self.partial.extend_from_slice(rest);
                    return self.check_partial();
                }
            }
        }
        loop {
            // The field lines of the last mapping, as long as they take the fast path.
            if let Some(m) = self.out.last_mut() {
                while let Some(len) = m.fields.fast_line(rest) {
                    self.lineno += 1;
                    rest = &rest[len..];
                }
            }
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                break;
            };
            self.line(&rest[..nl])?;
            rest = &rest[nl + 1..];
        }
        self.partial.extend_from_slice(rest);
        self.check_partial()?;
        Ok(())
    }

    /// Parses the last line (if it had no newline) and returns the mappings.
    pub fn finish(mut self) -> Result<Vec<Mapping>, ParseError> {
        self.flush()?;
        Ok(self.out)
    }

    /// Parses the last line, if it had no newline.
    pub fn flush(&mut self) -> Result<(), ParseError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line)?;
        }
        Ok(())
    }

    /// The mappings parsed so far (the last one may still get smaps fields).
    pub fn mappings(&self) -> &[Mapping] {
        &self.out
    }

    /// An error when the unfinished last line is already longer than [`MAX_LINE`].
    fn check_partial(&mut self) -> Result<(), ParseError> {
        if self.partial.len() <= MAX_LINE {
            return Ok(());
        }
        Err(ParseError {
            line: self.lineno + 1,
            text: crate::vocab::escape::text(&self.partial[..128]).into_owned(),
            kind: ParseErrorKind::TooLong,
        })
    }

    fn line(&mut self, line: &[u8]) -> Result<(), ParseError> {
        self.lineno += 1;
        let lineno = self.lineno;
        if line.is_empty() {
            return Ok(());
        }
        let err = |kind| ParseError {
            line: lineno,
            // The printer shows 120 bytes of it: no more is kept.
            text: crate::vocab::escape::text(&line[..line.len().min(512)]).into_owned(),
            kind,
        };
        let malformed = |what| err(ParseErrorKind::Malformed(what));
        if line.len() > MAX_LINE {
            return Err(err(ParseErrorKind::TooLong));
        }
        // A line `fast_header` reads starts with hex digits and '-': never a field.
        let m = match fast_header(line, lineno) {
            Some(m) => m,
            None => {
                if let Some(m) = self.out.last_mut()
                    && m.fields.push_expected(line, &mut self.flags)
                {
                    return Ok(());
                }
                if let Some(field) = parse_field(line) {
                    let (key, value) = field.map_err(malformed)?;
                    return match self.out.last_mut() {
                        Some(m) => {
                            m.fields.push(key, value);
                            Ok(())
                        }
                        None => Err(malformed("smaps field before any mapping line")),
                    };
                }
                parse_header(line, lineno).map_err(malformed)?
            }
        };
        if m.name == b"[rollup]" {
            return Err(err(ParseErrorKind::Rollup));
        }
        if let Some(prev) = self.out.last()
            && m.start < prev.end
        {
            return Err(err(ParseErrorKind::OutOfOrder));
        }
        self.out.push(m);
        Ok(())
    }
}

/// Returns `Some` when the line looks like `Key: value` (a key of letters, digits and
/// `_` followed by a colon), which a mapping line never does (it starts with hex and `-`).
fn parse_field(line: &[u8]) -> Option<Result<(&[u8], FieldValue), &'static str>> {
    let colon = memchr::memchr(b':', line)?;
    let key = &line[..colon];
    if key.is_empty()
        || !key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        || !key[0].is_ascii_alphabetic()
    {
        return None;
    }
    // A mapping line starts with hex digits and then '-', so its first token is never
    // a key of letters, digits and '_' directly followed by ':'.
    let rest = trim(&line[colon + 1..]);
    let value = if let Some(num) = rest.strip_suffix(b" kB") {
        match parse_dec(trim(num)).and_then(|n| n.checked_mul(1024)) {
            Some(v) => FieldValue::Bytes(v),
            None => return Some(Err("bad kB value")),
        }
    } else if let Some(n) = parse_dec(rest) {
        FieldValue::Number(n)
    } else {
        FieldValue::Text(rest.to_vec())
    };
    Some(Ok((key, value)))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn parse_dec(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |v, &b| {
        let d = b.wrapping_sub(b'0');
        if d >= 10 {
            return None;
        }
        v.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// The value of each hex digit (either case), 0xff for other bytes: for
/// [`parse_hex`] and [`hex_field`].
const HEX: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 16 {
        t[b"0123456789abcdef"[i] as usize] = i as u8;
        t[b"0123456789ABCDEF"[i] as usize] = i as u8;
        i += 1;
    }
    t
};

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |v, &b| {
        let d = HEX[usize::from(b)];
        (d != 0xff).then_some((v << 4) | u64::from(d))
    })
}

/// Splits off the next space-terminated token.
fn token(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = s.iter().position(|&b| b == b' ')?;
    Some((&s[..sp], &s[sp + 1..]))
}

/// A device as maps prints it, `major:minor` in hex with at least two digits each
/// (`format!("{major:02x}:{minor:02x}")`), written by hand: this runs for every
/// region, and one allocation of the exact size is all it costs.
pub fn dev_string(major: u32, minor: u32) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    fn hex(out: &mut [u8; 17], mut len: usize, v: u32) -> usize {
        let width = ((32 - v.leading_zeros()).div_ceil(4)).max(2);
        for i in (0..width).rev() {
            out[len] = DIGITS[((v >> (4 * i)) & 0xf) as usize];
            len += 1;
        }
        len
    }
    let mut buf = [0u8; 17];
    let mut len = hex(&mut buf, 0, major);
    buf[len] = b':';
    len = hex(&mut buf, len + 1, minor);
    let mut s = String::with_capacity(len);
    s.extend(buf[..len].iter().map(|&b| char::from(b)));
    s
}

/// Reads hex digits at `*p` (1 to `max` of them, either case) and stops at the first
/// other byte, which must be `end`; moves `*p` past it.
fn hex_field(line: &[u8], p: &mut usize, max: usize, end: u8) -> Option<u64> {
    let from = *p;
    let mut v = 0u64;
    loop {
        let b = *line.get(*p)?;
        let d = HEX[usize::from(b)];
        if d == 0xff {
            if b == end && *p > from {
                *p += 1;
                return Some(v);
            }
            return None;
        }
        if *p - from == max {
            return None;
        }
        v = (v << 4) | u64::from(d);
        *p += 1;
    }
}

/// Whether `perms` are permissions as maps prints them: `r`, `w`, `x` or `-` in
/// their places, then `p` or `s`.
fn perms_ok(perms: &[u8; 4]) -> bool {
    matches!(perms[0], b'r' | b'-')
        && matches!(perms[1], b'w' | b'-')
        && matches!(perms[2], b'x' | b'-')
        && matches!(perms[3], b'p' | b's')
}

/// The name of a mapping line from what follows the inode: without the padding
/// before it and without a `\r` at its end (a file with CRLF line ends).
fn name_field(name: &[u8]) -> &[u8] {
    let start = name.iter().position(|&b| b != b' ').unwrap_or(name.len());
    let name = &name[start..];
    name.strip_suffix(b"\r").unwrap_or(name)
}

/// One pass over a mapping line as the kernel prints it; `None` for anything else
/// (including every malformed line), which [`parse_header`] then reads. Accepts only
/// lines that `parse_header` reads the same way, to the same `Mapping`.
fn fast_header(line: &[u8], lineno: usize) -> Option<Mapping> {
    let mut p = 0;
    let start = hex_field(line, &mut p, 16, b'-')?;
    let end = hex_field(line, &mut p, 16, b' ')?;
    if end <= start {
        return None;
    }
    let perms: [u8; 4] = *line.get(p..)?.first_chunk::<4>()?;
    let ok = perms_ok(&perms) && line.get(p + 4) == Some(&b' ');
    if !ok {
        return None;
    }
    p += 5;
    let offset = hex_field(line, &mut p, 16, b' ')?;
    let major = hex_field(line, &mut p, 8, b':')? as u32;
    let minor = hex_field(line, &mut p, 8, b' ')? as u32;
    let from = p;
    let mut inode = 0u64;
    while let Some(&b) = line.get(p) {
        let d = b.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        inode = inode.checked_mul(10)?.checked_add(u64::from(d))?;
        p += 1;
    }
    let name: &[u8] = match line.get(p) {
        _ if p == from => return None,
        None => b"",
        Some(b' ') => &line[p + 1..],
        Some(_) => return None,
    };
    if memchr::memchr(0, name).is_some() {
        return None;
    }
    let name = name_field(name);
    Some(Mapping {
        line: lineno,
        start,
        end,
        perms,
        offset,
        dev_major: major,
        dev_minor: minor,
        inode,
        name: name.to_vec(),
        fields: Fields::default(),
    })
}

fn parse_header(line: &[u8], lineno: usize) -> Result<Mapping, &'static str> {
    if line.contains(&0) {
        return Err("NUL byte in mapping line");
    }
    let (range, rest) = token(line).ok_or("missing fields")?;
    let dash = range
        .iter()
        .position(|&b| b == b'-')
        .ok_or("address range without '-'")?;
    let start = parse_hex(&range[..dash]).ok_or("bad start address")?;
    let end = parse_hex(&range[dash + 1..]).ok_or("bad end address")?;
    // The kernel never prints an empty or backwards range (a VMA always holds at
    // least one page), so such a line is not what a kernel printed: failing the input
    // is safer than labelling the rest of a file that is not what it claims to be
    // (docs/offline.md).
    if end <= start {
        return Err("end address not above start address");
    }
    let (perms, rest) = token(rest).ok_or("missing fields after permissions")?;
    let perms: [u8; 4] = perms
        .try_into()
        .map_err(|_| "permissions are not 4 characters")?;
    if !perms_ok(&perms) {
        return Err("bad permissions");
    }
    let (offset, rest) = token(rest).ok_or("missing fields after offset")?;
    let offset = parse_hex(offset).ok_or("bad offset")?;
    let (dev, rest) = token(rest).ok_or("missing fields after device")?;
    let colon = dev
        .iter()
        .position(|&b| b == b':')
        .ok_or("device without ':'")?;
    let major = parse_hex(&dev[..colon])
        .and_then(|v| u32::try_from(v).ok())
        .ok_or("bad device")?;
    let minor = parse_hex(&dev[colon + 1..])
        .and_then(|v| u32::try_from(v).ok())
        .ok_or("bad device")?;
    // The inode is followed by a space (and padding and the name), or ends the line
    // in files that lost their trailing space.
    let (inode, name) = match token(rest) {
        Some((inode, name)) => (inode, name),
        None => (rest, &b""[..]),
    };
    let inode = parse_dec(inode).ok_or("bad inode")?;
    let name = name_field(name);
    Ok(Mapping {
        line: lineno,
        start,
        end,
        perms,
        offset,
        dev_major: major,
        dev_minor: minor,
        inode,
        name: name.to_vec(),
        fields: Fields::default(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dev_str_is_what_format_gives() {
        let mut m = parse(b"1000-2000 r--p 00000000 fe:00 1 /x\n")
            .unwrap()
            .remove(0);
        for (a, b) in [
            (0, 0),
            (0xfe, 1),
            (0x103, 0xfff),
            (u32::MAX, 0x10),
            (7, 0x12345),
        ] {
            (m.dev_major, m.dev_minor) = (a, b);
            assert_eq!(m.dev_str(), format!("{a:02x}:{b:02x}"));
        }
    }

    use super::*;

    #[test]
    fn digits8_reads_what_parse_dec_reads() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b" 0123456789 /:a\t";
        for n in 0..400_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut b = [0u8; 8];
            if n % 2 == 0 {
                // Spaces then digits, the common shape.
                let spaces = (rng % 9) as usize;
                for (k, c) in b.iter_mut().enumerate() {
                    *c = if k < spaces {
                        b' '
                    } else {
                        b'0' + ((rng >> (3 * k)) % 10) as u8
                    };
                }
            } else {
                for (k, c) in b.iter_mut().enumerate() {
                    *c = alphabet[((rng >> (4 * k)) % alphabet.len() as u64) as usize];
                }
            }
            let start = b.iter().position(|&c| c != b' ').unwrap_or(8);
            let want = parse_dec(&b[start..]);
            assert_eq!(digits8(u64::from_le_bytes(b)), want, "{:?}", b);
        }
        for v in [0u64, 7, 10, 99_999_999, 12_345_678] {
            let b: [u8; 8] = format!("{v:>8}").as_bytes().try_into().unwrap();
            assert_eq!(digits8(u64::from_le_bytes(b)), Some(v));
        }
    }

    #[test]
    fn every_path_parses_a_field_line_the_same() {
        // The same values through the fixed, the fast and the general path.
        let lines: &[&[u8]] = &[
            b"Size:                  8 kB\n",
            b"Size:     8 kB\n",
            b"Size:8 kB\n",
            b"Size:               99999999 kB\n",
            b"Size:           4294967296 kB\n",
            b"Size:           18014398509481983 kB\n",
            b"Size:                  8 kB \n",
            b"Size:\t8 kB\n",
        ];
        for l in lines {
            let mut text = b"10-20 r--p 0 00:00 0\n".to_vec();
            text.extend_from_slice(l);
            text.extend_from_slice(b"Rss:                   4 kB\n");
            let fast = parse(&text).unwrap();
            // Cut before every byte: the field line then goes the general way.
            for cut in 21..text.len() {
                let mut p = Parser::default();
                p.feed(&text[..cut]).unwrap();
                p.feed(&text[cut..]).unwrap();
                assert_eq!(
                    p.finish().unwrap(),
                    fast,
                    "{:?}",
                    String::from_utf8_lossy(l)
                );
            }
        }
        let m = parse(b"10-20 r--p 0 00:00 0\nSize:           4294967296 kB\n").unwrap();
        assert_eq!(m[0].bytes("Size"), Some(4_294_967_296 * 1024));
        let mut f = m[0].fields.clone();
        f.set_kb(0, 4096);
        assert_eq!(f.kb(0), Some(4096));
        assert_eq!(
            f,
            parse(b"10-20 r--p 0 00:00 0\nSize: 4 kB\n").unwrap()[0].fields
        );
        f.set_kb(3, 1000);
        assert_eq!(f.kb(3), Some(1000));
    }

    const SMAPS: &[u8] = b"\
55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 1234                       /usr/bin/cat
Size:                  8 kB
KernelPageSize:        4 kB
Rss:                   8 kB
Pss:                   4 kB
Shared_Clean:          8 kB
FutureKey:            12 kB
THPeligible:    0
VmFlags: rd mr mw me sd
7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n\
7f0000001000-7f0000002000 rw-p 00000000 00:00 0                          [anon: glibc: malloc arena]
7f0000002000-7f0000003000 r--p 00002000 103:03 99                        /tmp/a b\\012c (deleted)
7f0000003000-7f0000004000 r--s 00000000 00:01 7                          /memfd:x y (deleted)
7ffff7fc1000-7ffff7fc3000 r--p 00000000 00:00 0                          [vvar_vclock]
";

    #[test]
    fn a_rollup_is_not_a_maps_file() {
        let rollup = b"55d0c0a00000-7ffc0a021000 ---p 00000000 00:00 0                          [rollup]\nRss:  1024 kB\n";
        let e = parse(rollup).unwrap_err();
        assert_eq!((e.line, e.kind), (1, ParseErrorKind::Rollup));
    }

    #[test]
    fn empty_and_backwards_ranges_fail_the_input() {
        for l in [
            &b"7fe7ce79c000-7fe7ce79c000 r--p 00000000 00:00 0\n"[..],
            b"7fe7ce79d000-7fe7ce79c000 r--p 00000000 00:00 0\n",
        ] {
            assert_eq!(parse(l).unwrap_err().line, 1);
        }
    }

    #[test]
    fn parses_all_fields() {
        let m = parse(SMAPS).unwrap();
        assert_eq!(m.len(), 6);
        assert_eq!(m[0].start, 0x55d0c0a00000);
        assert_eq!(m[0].bytes("Rss"), Some(8192));
        assert_eq!(m[0].bytes("FutureKey"), Some(12 * 1024));
        assert!(
            m[0].fields
                .iter()
                .any(|f| f.key == "THPeligible" && f.value == FieldValue::Number(0))
        );
        assert!(
            m[0].fields
                .iter()
                .any(|f| f.key == "VmFlags"
                    && f.value == FieldValue::Text(b"rd mr mw me sd".to_vec()))
        );
        assert_eq!(m[1].name, b"");
        assert_eq!(m[1].name_kind(), NameKind::Anonymous);
        assert_eq!(
            m[2].name_kind(),
            NameKind::AnonNamed(b" glibc: malloc arena")
        );
        assert_eq!((m[3].dev_major, m[3].dev_minor), (0x103, 3));
        assert_eq!(
            m[3].name_kind(),
            NameKind::Path {
                path: b"/tmp/a b\nc".to_vec().into(),
                deleted: true
            }
        );
        assert!(m[4].is_shared());
        assert_eq!(m[5].name_kind(), NameKind::Vvar);
        assert_eq!(m[5].line, 14);
    }

    #[test]
    fn errors_name_the_line() {
        let bad: &[&[u8]] = &[
            b"zz-10 r--p 0 00:00 0",
            b"20-10 r--p 0 00:00 0",
            b"10-20 rwzp 0 00:00 0",
            b"10-20 r--p 0 0000 0",
            b"10-20 r--p",
            b"10-20 r--p 0 00:00 x",
            b"10-20 r--p 0 00:00 0 a\0b",
            b"10-ffffffffffffffffff r--p 0 00:00 0",
            b"Rss: 4 kB",
        ];
        for line in bad {
            let mut input = b"00-10 r--p 0 00:00 0\n".to_vec();
            if line.starts_with(b"Rss") {
                input.clear();
            }
            input.extend_from_slice(line);
            let e = parse(&input).unwrap_err();
            assert_eq!(e.line, if line.starts_with(b"Rss") { 1 } else { 2 }, "{e}");
        }
    }

    /// Issue 19 §10: a line that never ends (`/dev/zero` as `--smaps`) grew the
    /// parser's buffer without bound.
    #[test]
    fn a_line_that_never_ends_is_an_error_at_max_line() {
        let mut p = Parser::default();
        let chunk = [0u8; 4096];
        let mut fed = 0;
        let e = loop {
            match p.feed(&chunk) {
                Ok(()) => fed += chunk.len(),
                Err(e) => break e,
            }
            assert!(fed <= MAX_LINE + chunk.len(), "{fed}");
        };
        assert_eq!((e.line, e.kind), (1, ParseErrorKind::TooLong));
        assert!(
            e.to_string()
                .starts_with("line 1: line longer than 65536 bytes: \"\\x00"),
            "{e}"
        );
        let mut long = b"10-20 r--p 0 00:00 0 /".to_vec();
        long.resize(MAX_LINE + 10, b'a');
        long.push(b'\n');
        assert_eq!(parse(&long).unwrap_err().kind, ParseErrorKind::TooLong);
        long.truncate(MAX_LINE - 10);
        long.push(b'\n');
        assert_eq!(parse(&long).unwrap().len(), 1);
    }

    #[test]
    fn overlapping_lines_rejected() {
        let e = parse(b"10-20 r--p 0 00:00 0\n18-30 r--p 0 00:00 0\n").unwrap_err();
        assert_eq!((e.line, e.kind), (2, ParseErrorKind::OutOfOrder));
        assert!(
            e.to_string()
                .starts_with("line 2: mapping overlaps or precedes the previous one: \"18-30"),
            "{e}"
        );
    }

    #[test]
    fn names() {
        assert_eq!(classify_name(b"[stack:42]"), NameKind::ThreadStack(42));
        assert_eq!(classify_name(b"[uprobes]"), NameKind::Kernel(b"[uprobes]"));
        assert_eq!(
            classify_name(b"anon_inode:[io_uring]"),
            NameKind::AnonInode(b"[io_uring]")
        );
        assert_eq!(classify_name(b"[anon_shmem:x]"), NameKind::AnonShmem(b"x"));
    }
}

//! What a region holds: the vocabulary every layer labels, sums and prints with.

/// What a region holds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// An executable PT_LOAD (PF_X).
    Text,
    /// A read-only PT_LOAD: ELF headers, dynamic symbols, constants.
    Rodata,
    /// File pages of a writable PT_LOAD.
    Data,
    /// The part of a writable PT_LOAD that the loader made read-only after relocation
    /// (PT_GNU_RELRO).
    Relro,
    /// Zero-filled pages of a writable PT_LOAD past its file contents.
    Bss,
    /// Inside an object's span but in no PT_LOAD: alignment padding.
    Gap,
    /// The brk heap (`[heap]`).
    Heap,
    /// The main thread's stack (`[stack]`).
    Stack,
    /// Another thread's stack.
    ThreadStack,
    /// A thread's alternate signal stack (`sigaltstack`), where its signal handlers
    /// run: bionic's `[anon:thread signal stack]`.
    SignalStack,
    /// An inaccessible page run that guards a thread's stack, signal stack or TLS
    /// from overflow.
    Guard,
    /// The kernel's virtual shared object (`[vdso]`).
    Vdso,
    /// The vDSO's data pages (`[vvar]`, `[vvar_vclock]`).
    Vvar,
    /// The legacy vsyscall page (`[vsyscall]`).
    Vsyscall,
    /// Anonymous memory of no object.
    Anon,
    /// An inaccessible (`---p`) anonymous mapping that guards nothing: address space
    /// reserved for later (a JIT's or allocator's arena, V8's and Chromium's cages,
    /// a Go or Java heap), which costs no memory until it is made accessible.
    Reserved,
    /// A file that is not an ELF object (a locale, a font, a database).
    File,
    /// An ELF file mapped as data, not by a loader: a program that maps its own
    /// executable or a `.debug` file to read symbols, a few pages mapped by a
    /// symbolizer, code a program copied elsewhere (docs/labelling.md §1). The
    /// region names the file as its `object`, with no instance and no segment.
    MappedFile,
    /// Shared memory: System V, POSIX shm, memfd, shared anonymous memory.
    Shm,
    /// A character or block device.
    Device,
    /// An `anon_inode:` mapping (a DRM buffer, a perf ring, ...).
    AnonInode,
    /// Another name the kernel gives (`[uprobes]`, `[sigpage]`, ...).
    Kernel,
    /// Not known: a file elfmaps could not read, or whose program headers do not
    /// explain the maps (a warning says which).
    Unknown,
}

impl Kind {
    /// Every kind, in the order tables list them.
    pub const ALL: [Kind; 23] = [
        Kind::Text,
        Kind::Rodata,
        Kind::Data,
        Kind::Relro,
        Kind::Bss,
        Kind::Gap,
        Kind::Heap,
        Kind::Stack,
        Kind::ThreadStack,
        Kind::SignalStack,
        Kind::Guard,
        Kind::Vdso,
        Kind::Vvar,
        Kind::Vsyscall,
        Kind::Anon,
        Kind::Reserved,
        Kind::File,
        Kind::MappedFile,
        Kind::Shm,
        Kind::Device,
        Kind::AnonInode,
        Kind::Kernel,
        Kind::Unknown,
    ];

    /// The kind as JSON and tables print it (`thread_stack`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Rodata => "rodata",
            Kind::Data => "data",
            Kind::Relro => "relro",
            Kind::Bss => "bss",
            Kind::Gap => "gap",
            Kind::Heap => "heap",
            Kind::Stack => "stack",
            Kind::ThreadStack => "thread_stack",
            Kind::SignalStack => "signal_stack",
            Kind::Guard => "guard",
            Kind::Vdso => "vdso",
            Kind::Vvar => "vvar",
            Kind::Vsyscall => "vsyscall",
            Kind::Anon => "anon",
            Kind::Reserved => "reserved",
            Kind::File => "file",
            Kind::MappedFile => "mapped_file",
            Kind::Shm => "shm",
            Kind::Device => "device",
            Kind::AnonInode => "anon_inode",
            Kind::Kernel => "kernel",
            Kind::Unknown => "unknown",
        }
    }

    /// Whether this kind is memory that an object owns (its segments, bss and gaps, a
    /// file mapped as data, or an object elfmaps could not check), rather than memory
    /// of no object (heap, stacks, anonymous memory, ...).
    pub fn is_of_object(self) -> bool {
        matches!(
            self,
            Kind::Text
                | Kind::Rodata
                | Kind::Data
                | Kind::Relro
                | Kind::Bss
                | Kind::Gap
                | Kind::MappedFile
                | Kind::Unknown
        )
    }

    /// Whether this kind holds bytes of a loaded ELF file's segments.
    pub fn is_file_contents(self) -> bool {
        matches!(self, Kind::Text | Kind::Rodata | Kind::Data | Kind::Relro)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

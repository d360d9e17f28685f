//! What a region holds: the vocabulary every layer labels, sums and prints with.

/// What a region holds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    Rodata,
    Data,
    Relro,
    Bss,
    Gap,
    Heap,
    Stack,
    ThreadStack,
    /// A thread's alternate signal stack (`sigaltstack`), where its signal handlers
    /// run: bionic's `[anon:thread signal stack]`.
    SignalStack,
    /// An inaccessible page run that guards a thread's stack, signal stack or TLS
    /// from overflow.
    Guard,
    Vdso,
    Vvar,
    Vsyscall,
    Anon,
    File,
    Shm,
    Device,
    AnonInode,
    Kernel,
    Unknown,
}

impl Kind {
    pub const ALL: [Kind; 21] = [
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
        Kind::File,
        Kind::Shm,
        Kind::Device,
        Kind::AnonInode,
        Kind::Kernel,
        Kind::Unknown,
    ];

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
            Kind::File => "file",
            Kind::Shm => "shm",
            Kind::Device => "device",
            Kind::AnonInode => "anon_inode",
            Kind::Kernel => "kernel",
            Kind::Unknown => "unknown",
        }
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

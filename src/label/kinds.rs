//! Phase 5: the base kind of memory that no object owns, from its name, its
//! neighbour and what is known of its file: heap, stacks, guards, vdso, shared
//! memory, devices, plain files.

use crate::input::maps::{Mapping, NameKind};
use crate::vocab::Kind;
use crate::vocab::names::is_shm_name;

use super::{FileFacts, Hints};

/// The names bionic gives the inaccessible pages below a thread's stack, its
/// alternate signal stack, its TLS block (below and above it) and its MTE stack
/// ring buffer (`PR_SET_VMA_ANON_NAME` in pthread_create.cpp).
const BIONIC_GUARDS: [&[u8]; 4] = [
    b"thread stack guard",
    b"thread signal stack guard",
    b"bionic TLS guard",
    b"stack_mte_ring guard",
];

/// Base kind of a mapping that no object owns. `name` is `m`'s
/// ([`Mapping::name_kind`]); `below` is the maps line right before `m`, whatever
/// its end.
pub(crate) fn base_kind(
    m: &Mapping,
    name: &NameKind,
    below: Option<&Mapping>,
    facts: Option<&FileFacts>,
    hints: &Hints,
) -> Kind {
    match name {
        NameKind::AnonNamed(n) if is_thread_stack_name(n) => Kind::ThreadStack,
        NameKind::AnonNamed(b"thread signal stack") => Kind::SignalStack,
        NameKind::AnonNamed(n) if BIONIC_GUARDS.contains(n) && inaccessible(m) => Kind::Guard,
        NameKind::Anonymous | NameKind::AnonNamed(_) => {
            if holds_stack_pointer(m, hints) && guard_below(m, below) {
                Kind::ThreadStack
            } else {
                Kind::Anon
            }
        }
        NameKind::Heap => Kind::Heap,
        NameKind::Stack => Kind::Stack,
        NameKind::ThreadStack(_) => Kind::ThreadStack,
        NameKind::Vdso => Kind::Vdso,
        NameKind::Vvar => Kind::Vvar,
        NameKind::Vsyscall => Kind::Vsyscall,
        NameKind::AnonShmem(_) => Kind::Shm,
        NameKind::AnonInode(_) => Kind::AnonInode,
        NameKind::Kernel(_) => Kind::Kernel,
        NameKind::Other(_) => Kind::Unknown,
        NameKind::Path { path, deleted } => match facts {
            // MAP_ANONYMOUS|MAP_HUGETLB memory: a deleted file of the kernel's
            // internal hugetlbfs mount.
            _ if *deleted && **path == *b"/anon_hugepage" && !m.is_shared() => Kind::Anon,
            // A private mapping of /dev/zero is anonymous memory (the kernel keeps
            // the file only for the name).
            _ if !*deleted && **path == *b"/dev/zero" && !m.is_shared() => Kind::Anon,
            Some(FileFacts::Device) => Kind::Device,
            _ if is_shm_name(path, *deleted) => Kind::Shm,
            Some(FileFacts::Unreadable) | None => Kind::Unknown,
            // An ELF file's bytes that no loaded image holds: mapped as data
            // (docs/labelling.md §1).
            Some(FileFacts::Elf { .. }) => Kind::MappedFile,
            Some(_) => Kind::File,
        },
    }
}

/// The names C libraries give a thread's stack: bionic's `stack_and_tls:TID`, and
/// glibc's (2.40 and later, with the `glibc.mem.decorate_maps` tunable) ` glibc:
/// pthread stack: TID` and ` glibc: pthread user stack: TID`.
fn is_thread_stack_name(n: &[u8]) -> bool {
    let glibc = n.trim_ascii_start();
    n.starts_with(b"stack_and_tls:")
        || glibc.starts_with(b"glibc: pthread stack: ")
        || glibc.starts_with(b"glibc: pthread user stack: ")
}

/// Whether a thread's stack pointer lies in `m`.
fn holds_stack_pointer(m: &Mapping, hints: &Hints) -> bool {
    hints
        .thread_stack_pointers
        .iter()
        .any(|&sp| m.start <= sp && sp < m.end)
}

/// Whether the line right below `m` is an inaccessible anonymous mapping that ends
/// where `m` starts: the guard that glibc, musl and bionic leave below a thread stack
/// they allocate (glibc and musl `mprotect` the lowest pages of the stack's mapping
/// to `PROT_NONE`; bionic names its guard). A stack pointer alone is not enough: Go
/// runs goroutines on stacks inside its heap arenas, and a thread's stack pointer
/// there does not make the arena a thread stack.
fn guard_below(m: &Mapping, below: Option<&Mapping>) -> bool {
    below.is_some_and(|g| {
        g.end == m.start
            && g.inode == 0
            && inaccessible(g)
            && matches!(g.name_kind(), NameKind::Anonymous | NameKind::AnonNamed(_))
    })
}

/// `---` in maps: no access at all.
fn inaccessible(m: &Mapping) -> bool {
    m.perms[..3] == *b"---"
}

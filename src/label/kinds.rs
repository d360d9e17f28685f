//! Phase 5: the base kind of memory that no object owns, from its name and what is
//! known of its file: heap, stacks, guards, vdso, shared memory, devices, plain files.

use crate::input::maps::{Mapping, NameKind};
use crate::vocab::Kind;
use crate::vocab::names::is_shm_name;

use super::{FileFacts, Hints};

/// Base kind of a mapping that no object owns.
pub(crate) fn base_kind(m: &Mapping, facts: Option<&FileFacts>, hints: &Hints) -> Kind {
    match m.name_kind() {
        // bionic names its thread stacks and their guards.
        NameKind::AnonNamed(n) if n.starts_with(b"stack_and_tls:") => Kind::ThreadStack,
        NameKind::AnonNamed(b"thread stack guard" | b"stack_mte_ring guard") => Kind::Guard,
        NameKind::Anonymous | NameKind::AnonNamed(_) => {
            if hints
                .thread_stack_pointers
                .iter()
                .any(|&sp| m.start <= sp && sp < m.end)
            {
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
            _ if deleted && *path == *b"/anon_hugepage" && !m.is_shared() => Kind::Anon,
            // A private mapping of /dev/zero is anonymous memory (the kernel keeps
            // the file only for the name).
            _ if !deleted && *path == *b"/dev/zero" && !m.is_shared() => Kind::Anon,
            Some(FileFacts::Device) => Kind::Device,
            _ if is_shm_name(&path, deleted) => Kind::Shm,
            Some(FileFacts::Unreadable) | None => Kind::Unknown,
            Some(_) => Kind::File,
        },
    }
}

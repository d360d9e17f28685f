//! Facts about a process beyond its maps that help name anonymous memory: a source
//! (live or a snapshot) gathers them, attribution uses them.

/// Extra facts about a live process that help name anonymous memory.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// Stack pointers of the process's threads (other than the main one).
    pub thread_stack_pointers: Vec<u64>,
}

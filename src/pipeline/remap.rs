//! Text a program remapped onto other memory (issue 12 §2): where the process's
//! memory can be read (`/proc/PID/mem`), a sample of each remapped region's pages is
//! compared with the object's file at the offset the program headers give. Text is
//! the same after relocation (no `DT_TEXTREL` in the objects that do this), so equal
//! bytes prove the region holds that object's text.

use crate::input::maps::Mapping;
use crate::label::{Attribution, FileKey};
use crate::report::Region;
use crate::source::{Opened, Source};

/// Pages compared per region, spread evenly over it.
const SAMPLES: u64 = 8;
/// Bytes compared per sampled page.
const CHUNK: usize = 4096;

/// Sets `verified` of every remapped region: `Some(true)` when every sample equals
/// the file, `Some(false)` when one differs, `None` when memory or file cannot be read.
pub(super) fn verify(
    mappings: &[Mapping],
    attribution: &Attribution,
    regions: &mut [Region],
    target: &dyn Source,
) {
    for r in regions.iter_mut().filter(|r| r.remapped.is_some()) {
        r.verified = verdict(mappings, attribution, r, target);
    }
}

fn verdict(
    mappings: &[Mapping],
    attribution: &Attribution,
    r: &Region,
    target: &dyn Source,
) -> Option<bool> {
    let inst = attribution.instances.get(r.instance?)?;
    let seg = inst.info.phdrs.get(r.segment?)?;
    let m = mappings
        .iter()
        .find(|m| m.inode != 0 && FileKey::of(m) == inst.key)?;
    let Opened::Regular { file, .. } = target.open(m) else {
        return None;
    };
    let pages = (r.end.checked_sub(r.start)? / CHUNK as u64).max(1);
    let step = pages.div_ceil(SAMPLES).max(1);
    let (mut mem, mut disk) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut page = 0;
    while page < pages {
        let addr = r.start.checked_add(page * CHUNK as u64)?;
        let len = usize::try_from(r.end - addr).ok()?.min(CHUNK);
        target.read_memory(addr, &mut mem[..len])?.ok()?;
        // File offset of `addr`: the segment's offset plus the distance from its start.
        let offset = addr
            .checked_sub(inst.bias)?
            .checked_sub(seg.vaddr)?
            .checked_add(seg.offset)?;
        let mut got = 0;
        while got < len {
            match file.read_at(&mut disk[got..len], offset + got as u64) {
                Ok(0) | Err(_) => return None,
                Ok(n) => got += n,
            }
        }
        if mem[..len] != disk[..len] {
            return Some(false);
        }
        page += step;
    }
    Some(true)
}

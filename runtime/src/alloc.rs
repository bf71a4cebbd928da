//! The process-wide heap settings of the runtime's binaries: `tune_allocator`, called first
//! thing in `main`, and `HugeChunks`, their global allocator.
//!
//! Why: the data path allocates one buffer per data PDU and per read (128 KiB for a 128 KiB
//! I/O). glibc's malloc serves blocks of 128 KiB and more with a fresh `mmap` each and returns
//! them with `munmap` (its default `M_MMAP_THRESHOLD`), and trims the top of a thread's heap as
//! soon as 128 KiB are free (`M_TRIM_THRESHOLD`), so every such buffer was page-faulted and
//! zeroed by the kernel again: measured with `perf record` on fabcheck-target under
//! `spdk_nvme_perf -o 131072 -w read`, page faults, `clear_page` and `unmap_page_range` took
//! over 40% of the target's CPU time (docs/runtime.md, "Speed"). Raising both thresholds keeps
//! the freed buffers in the heap for the next PDU.
//!
//! Why `HugeChunks`: a RAM namespace larger than 1 MiB keeps its data in 2 MiB chunks
//! (`core::nvmf::blocks`). With 4 KiB pages every random 4 KiB write to a 64 MiB namespace
//! missed the TLB and wrote a cold page: under `spdk_nvme_perf -q 32 -o 4096 -w randwrite`,
//! storing a single byte per write into the namespace cost 12% of the target's CPU time, and
//! the whole 4 KiB copy 30% (`perf record`, docs/runtime.md "The seventh pass"). Each block of
//! 2 MiB or more is therefore mapped on its own, 2 MiB aligned, and marked
//! `MADV_HUGEPAGE`, so the kernel backs it with transparent huge pages where it can (the
//! machine's `transparent_hugepage/enabled` is `always` or `madvise`); smaller blocks are
//! glibc's, as before.
//!
//! Owns nothing; the settings only change where memory comes from, never what is computed.

/// Blocks below this come from the heap (above the largest data PDU fabcheck-target sends or
/// accepts: `max_io_size` plus headers and digests).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 8 << 20;
/// Free memory kept at the top of a heap before it is given back to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 64 << 20;

/// Sets glibc's mmap and trim thresholds (see the module doc). Elsewhere a no-op.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes two of malloc's tuning parameters; it is called before
    // any other thread exists, and both values are in the range glibc accepts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// The size from which a block is mapped on its own as huge pages: one x86-64 huge page.
pub const HUGE_BLOCK: usize = 2 << 20;

/// The runtime binaries' global allocator: blocks of `HUGE_BLOCK` bytes or more are mapped
/// 2 MiB aligned and advised for transparent huge pages; everything else is the system's.
///
/// Invariant: whether a block is mapped here depends on its layout alone (`is_huge`), so
/// `dealloc` and `realloc` always return a block to the allocator that made it.
pub struct HugeChunks;

/// Blocks this allocator maps itself.
fn is_huge(layout: std::alloc::Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= HUGE_BLOCK && layout.align() <= HUGE_BLOCK
}

#[cfg(target_os = "linux")]
mod huge {
    use super::HUGE_BLOCK;

    /// The mapping length of a block of `size` bytes.
    pub(super) fn mapped_len(size: usize) -> usize {
        size.next_multiple_of(HUGE_BLOCK)
    }

    /// Maps `size` bytes (zeroed) at a 2 MiB boundary and advises huge pages; null if the
    /// kernel refuses.
    pub(super) fn map(size: usize) -> *mut u8 {
        let len = mapped_len(size);
        let Some(span) = len.checked_add(HUGE_BLOCK) else {
            return std::ptr::null_mut();
        };
        // SAFETY: an anonymous private mapping at an address the kernel picks; no memory of
        // this process is touched.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let start = raw as usize;
        let aligned = start.next_multiple_of(HUGE_BLOCK);
        let (head, tail) = (aligned - start, HUGE_BLOCK - (aligned - start));
        // SAFETY: both ranges lie inside the mapping just made and outside [aligned, +len);
        // munmap of a zero-length range is skipped. madvise only gives the kernel a hint.
        unsafe {
            if head > 0 {
                libc::munmap(raw, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
        aligned as *mut u8
    }

    /// Unmaps a block `map` returned for `size` bytes.
    ///
    /// # Safety
    /// `ptr` came from `map(size)` and is not used again.
    pub(super) unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: the caller's contract: exactly the range `map` kept.
        unsafe { libc::munmap(ptr.cast(), mapped_len(size)) };
    }
}

// SAFETY: huge blocks are fresh private mappings (zeroed, 2 MiB aligned, so aligned for any
// layout `is_huge` accepts) returned by `unmap` with the size they were made for; every other
// block is the system allocator's, untouched.
unsafe impl std::alloc::GlobalAlloc for HugeChunks {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if is_huge(layout) {
            return huge::map(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if is_huge(layout) {
            // SAFETY: forwarded with the caller's guarantees; a fresh mapping is zeroed.
            return unsafe { self.alloc(layout) };
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        #[cfg(target_os = "linux")]
        if is_huge(layout) {
            // SAFETY: `is_huge(layout)` held when the block was made, so `map` made it.
            return unsafe { huge::unmap(ptr, layout.size()) };
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` is valid for `layout.align()`.
        let new =
            unsafe { std::alloc::Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_huge(layout) && !is_huge(new) {
            // SAFETY: forwarded with the caller's guarantees; both blocks are the system's.
            return unsafe { std::alloc::System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: a fresh block of the new layout, the common prefix copied, the old block
        // returned to whichever allocator made it.
        unsafe {
            let to = self.alloc(new);
            if !to.is_null() {
                std::ptr::copy_nonoverlapping(ptr, to, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            to
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn huge_blocks_are_aligned_zeroed_and_survive_realloc_both_ways() {
        let a = HugeChunks;
        let big = Layout::from_size_align(HUGE_BLOCK + 100, 1).unwrap();
        // SAFETY: every block is used within its layout and freed once with it.
        unsafe {
            let p = a.alloc_zeroed(big);
            assert!(!p.is_null());
            if cfg!(target_os = "linux") {
                assert_eq!(p as usize % HUGE_BLOCK, 0, "2 MiB aligned");
            }
            let bytes = std::slice::from_raw_parts_mut(p, big.size());
            assert!(bytes.iter().all(|b| *b == 0), "zeroed");
            bytes[0] = 1;
            bytes[big.size() - 1] = 2;
            let small = a.realloc(p, big, 64);
            assert_eq!(std::slice::from_raw_parts(small, 1), &[1]);
            let small_layout = Layout::from_size_align(64, 1).unwrap();
            let grown = a.realloc(small, small_layout, 3 * HUGE_BLOCK);
            assert_eq!(*grown, 1, "the prefix moves along");
            a.dealloc(grown, Layout::from_size_align(3 * HUGE_BLOCK, 1).unwrap());
        }
    }

    #[test]
    fn a_namespace_chunk_is_huge_and_one_byte_less_is_not() {
        // The test binary's global allocator is the system's: call ours directly.
        let a = HugeChunks;
        let layout = Layout::array::<u8>(HUGE_BLOCK).unwrap();
        assert!(is_huge(layout) == cfg!(target_os = "linux"));
        assert!(!is_huge(Layout::array::<u8>(HUGE_BLOCK - 1).unwrap()));
        // SAFETY: used within its layout, freed once.
        unsafe {
            let p = a.alloc(layout);
            std::ptr::write_bytes(p, 7, HUGE_BLOCK);
            assert_eq!(*p.add(HUGE_BLOCK - 1), 7);
            a.dealloc(p, layout);
        }
    }
}

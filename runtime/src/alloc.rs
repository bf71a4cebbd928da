//! The process-wide heap settings of the runtime's binaries (`tune_allocator`, called first
//! thing in `main`).
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

//! The data of a RAM namespace (`Namespace::blocks`): a sparse map of equal chunks keyed by
//! chunk index; an absent chunk reads as zeros, as an unwritten malloc bdev block does.
//!
//! Chunk size: one block for namespaces up to 1 MiB (the simulator's and the model
//! checker's, so a state holds, clones and hashes only the blocks written), 2 MiB for larger
//! ones (fabcheck-target's: one chunk is one huge page of the runtime's allocator,
//! `runtime::alloc`, so random writes over a large namespace do not miss the TLB on every
//! 4 KiB page, and a 128 KiB read copies from one or two chunks).
//!
//! Invariants kept: every stored chunk is exactly `chunk_bytes` long; a chunk left all zeros
//! by a zeroing is removed, so a range written and then unmapped reads and compares like one
//! never written. Owns no state beyond the map it is given.

use super::subsystem::Namespace;
use super::NamespaceConfig;

/// Chunk size of namespaces larger than `SMALL_NS_BYTES`.
const CHUNK_BYTES: usize = 2 << 20;
/// Namespaces up to this size keep one chunk per block.
const SMALL_NS_BYTES: u64 = 1 << 20;

/// The chunk size of a namespace.
pub fn chunk_bytes(cfg: &NamespaceConfig) -> usize {
    let bs = cfg.block_size.max(1) as usize;
    let bytes = cfg.blocks.saturating_mul(u64::from(cfg.block_size));
    if bytes <= SMALL_NS_BYTES || bs >= CHUNK_BYTES || !CHUNK_BYTES.is_multiple_of(bs) {
        bs
    } else {
        CHUNK_BYTES
    }
}

/// The pieces of the byte range [off, off + len): (chunk index, offset in it, length).
fn pieces(cb: usize, off: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let cb64 = cb as u64;
    let mut at = off;
    let end = off + len as u64;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let (idx, within) = (at / cb64, (at % cb64) as usize);
        let n = (cb - within).min((end - at) as usize);
        at += n as u64;
        Some((idx, within, n))
    })
}

/// `count` blocks from `slba`, unwritten ones as zeros.
pub fn read(ns: &Namespace, slba: u64, count: u64) -> Vec<u8> {
    let mut out = Vec::new();
    read_into(ns, slba, count, &mut out);
    out
}

/// `read` into `out` (emptied first), which keeps its allocation if it has the room.
pub fn read_into(ns: &Namespace, slba: u64, count: u64, out: &mut Vec<u8>) {
    let (bs, cb) = (u64::from(ns.cfg.block_size), chunk_bytes(&ns.cfg));
    let len = (count * bs) as usize;
    out.clear();
    out.reserve(len);
    for (idx, within, n) in pieces(cb, slba * bs, len) {
        match ns.blocks.get(&idx) {
            Some(c) => out.extend_from_slice(&c[within..within + n]),
            None => out.resize(out.len() + n, 0),
        }
    }
}

/// Stores `data` from block `slba` on.
pub fn write(ns: &mut Namespace, slba: u64, data: &[u8]) {
    let (bs, cb) = (u64::from(ns.cfg.block_size), chunk_bytes(&ns.cfg));
    let mut src = data;
    for (idx, within, n) in pieces(cb, slba * bs, data.len()) {
        let chunk = ns.blocks.entry(idx).or_insert_with(|| vec![0; cb]);
        store(&mut chunk[within..within + n], &src[..n]);
        src = &src[n..];
    }
}

/// Zeroes `count` blocks from `slba` (Write Zeroes, deallocate).
pub fn zero(ns: &mut Namespace, slba: u64, count: u64) {
    let (bs, cb) = (u64::from(ns.cfg.block_size), chunk_bytes(&ns.cfg));
    for (idx, within, n) in pieces(cb, slba * bs, (count * bs) as usize) {
        if n == cb {
            ns.blocks.remove(&idx);
        } else if let Some(c) = ns.blocks.get_mut(&idx) {
            c[within..within + n].fill(0);
            if is_all_zero(c) {
                ns.blocks.remove(&idx);
            }
        }
    }
}

/// Copies of at least this many bytes into a namespace bypass the cache (`store`).
const STREAM_MIN: usize = 4096;

/// Copies `src` into the namespace bytes `dst` (same length). From `STREAM_MIN` bytes on, the
/// copy uses non-temporal stores on x86-64: written data is not read back soon, and a plain
/// copy first reads every destination cache line from memory. Measured on this project's
/// machine (C loop over a 64 MiB huge-page buffer, docs/runtime.md "The seventh pass"): a
/// 128 KiB sequential copy 16 us with `memcpy`, 8 us streaming; a random 4 KiB one 530 and
/// 360 ns. The simulator's namespaces (one chunk per 512 B block) never reach `STREAM_MIN`.
/// The bytes stored are the same either way.
fn store(dst: &mut [u8], src: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if src.len() >= STREAM_MIN {
        return stream_copy(dst, src);
    }
    dst.copy_from_slice(src);
}

/// `dst.copy_from_slice(src)` with SSE2 non-temporal stores for the 16-byte aligned middle of
/// `dst` (SSE2 is part of x86-64, so no feature check is needed), plain copies for the ends,
/// and a store fence after.
#[cfg(target_arch = "x86_64")]
fn stream_copy(dst: &mut [u8], src: &[u8]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
    assert_eq!(dst.len(), src.len(), "stream_copy of unequal lengths");
    let head = dst.as_ptr().align_offset(16).min(dst.len());
    let body = (dst.len() - head) / 64 * 64;
    dst[..head].copy_from_slice(&src[..head]);
    let (d, s) = (dst[head..].as_mut_ptr(), src[head..].as_ptr());
    let mut at = 0;
    while at < body {
        // SAFETY: `at + 64 <= body <= dst.len() - head == src.len() - head`, so the four
        // 16-byte loads read inside `src` (unaligned loads) and the four stores write inside
        // `dst` at 16-byte aligned addresses (`d` is aligned by `head`, `at` is a multiple
        // of 64), as `_mm_stream_si128` requires; `dst` and `src` cannot overlap (`&mut`).
        unsafe {
            for lane in 0..4 {
                let v = _mm_loadu_si128(s.add(at + 16 * lane).cast::<__m128i>());
                _mm_stream_si128(d.add(at + 16 * lane).cast::<__m128i>(), v);
            }
        }
        at += 64;
    }
    // SAFETY: a store fence has no memory-safety preconditions; it orders the streaming
    // stores before any later store of this thread.
    unsafe { _mm_sfence() };
    dst[head + body..].copy_from_slice(&src[head + body..]);
}

/// Whether `bytes` holds only zeros (4 KiB at a time, each without an early exit so the
/// compiler vectorises it: a 2 MiB chunk is scanned in microseconds).
fn is_all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|page| page.iter().fold(0u8, |acc, b| acc | b) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nvmf::NamespaceIds;

    fn ns(block_size: u32, blocks: u64) -> Namespace {
        let cfg = NamespaceConfig {
            nsid: 1,
            block_size,
            blocks,
        };
        Namespace::new(cfg, NamespaceIds::default())
    }

    #[test]
    fn sparse_reads_mix_written_and_zero_blocks() {
        let mut n = ns(4, 32);
        write(&mut n, 10, &[1, 1, 1, 1, 2, 2, 2, 2]);
        write(&mut n, 13, &[3, 3, 3, 3]);
        assert_eq!(
            n.blocks.len(),
            3,
            "small namespaces keep one chunk per block"
        );
        let want = [[0; 4], [1; 4], [2; 4], [0; 4], [3; 4]].concat();
        assert_eq!(read(&n, 9, 5), want);
        assert_eq!(read(&n, 20, 2), vec![0; 8]);
        write(&mut n, 11, &[7; 4]);
        assert_eq!(
            read(&n, 10, 2),
            [[1; 4], [7; 4]].concat(),
            "overwrite in place"
        );
    }

    #[test]
    fn store_copies_every_length_and_alignment_as_a_plain_copy_does() {
        let src: Vec<u8> = (0..3 * STREAM_MIN + 200)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for len in [
            0,
            1,
            15,
            63,
            64,
            65,
            STREAM_MIN - 1,
            STREAM_MIN,
            STREAM_MIN + 77,
        ] {
            for dst_off in [0, 1, 8, 15, 16, 33] {
                for src_off in [0, 3, 16] {
                    let mut dst = vec![0xEE; len + 64];
                    let from = &src[src_off..src_off + len];
                    store(&mut dst[dst_off..dst_off + len], from);
                    assert_eq!(
                        &dst[dst_off..dst_off + len],
                        from,
                        "{len} {dst_off} {src_off}"
                    );
                    assert!(
                        dst[..dst_off]
                            .iter()
                            .chain(&dst[dst_off + len..])
                            .all(|b| *b == 0xEE),
                        "nothing outside the range is written ({len} {dst_off} {src_off})"
                    );
                }
            }
        }
    }

    #[test]
    fn large_namespaces_use_chunks_across_their_edges() {
        let mut n = ns(512, 1 << 14);
        assert_eq!(chunk_bytes(&n.cfg), 2 << 20);
        let edge = 4096 - 100;
        let data: Vec<u8> = (0..256 * 512).map(|i| (i % 253) as u8 + 1).collect();
        write(&mut n, edge, &data);
        assert_eq!(
            n.blocks.len(),
            2,
            "128 KiB 100 blocks before the first 2 MiB edge spans two chunks"
        );
        assert_eq!(read(&n, edge, 256), data);
        let around = read(&n, edge - 1, 258);
        assert_eq!(
            (&around[..512], &around[around.len() - 512..]),
            (&[0u8; 512][..], &[0u8; 512][..])
        );
        zero(&mut n, edge + 1, 1);
        assert_eq!(read(&n, edge + 1, 1), vec![0; 512]);
        assert_eq!(read(&n, edge + 2, 1), data[1024..1536].to_vec());
        zero(&mut n, edge - 1, 200);
        assert_eq!(
            n.blocks.keys().copied().collect::<Vec<_>>(),
            vec![1],
            "the first chunk is all zeros and dropped; the second still holds data"
        );
        zero(&mut n, edge + 199, 100);
        assert!(
            n.blocks.is_empty(),
            "zeroed chunks are dropped: {:?}",
            n.blocks.keys()
        );
    }
}

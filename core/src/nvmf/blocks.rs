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
    let (bs, cb) = (u64::from(ns.cfg.block_size), chunk_bytes(&ns.cfg));
    let len = (count * bs) as usize;
    let mut out = Vec::with_capacity(len);
    for (idx, within, n) in pieces(cb, slba * bs, len) {
        match ns.blocks.get(&idx) {
            Some(c) => out.extend_from_slice(&c[within..within + n]),
            None => out.resize(out.len() + n, 0),
        }
    }
    out
}

/// Stores `data` from block `slba` on.
pub fn write(ns: &mut Namespace, slba: u64, data: &[u8]) {
    let (bs, cb) = (u64::from(ns.cfg.block_size), chunk_bytes(&ns.cfg));
    let mut src = data;
    for (idx, within, n) in pieces(cb, slba * bs, data.len()) {
        let chunk = ns.blocks.entry(idx).or_insert_with(|| vec![0; cb]);
        chunk[within..within + n].copy_from_slice(&src[..n]);
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

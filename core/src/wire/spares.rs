//! `Spares`: emptied data buffers a `PduDecoder` fills with the next PDU's data instead of
//! allocating a new one, and the target fills with the next read's data (`Target::recycle`).
//!
//! Why: fabcheck-target's 4 KiB writes arrive in-capsule, and each one's data needed a fresh
//! 4 KiB allocation (above glibc's per-thread cache, so every one went through `_int_malloc`)
//! that was freed again when the write completed. The target hands each finished write's
//! buffer back to its connection's decoder (`PduDecoder::recycle`), which reuses it.
//!
//! Owns: empty buffers of at most `MAX_SPARE_BYTES` capacity in all, none larger than the
//! decoder's data limit.
//! Invariant kept: spares are invisible. Equality and hashing ignore them and a clone starts
//! without any, so a state holds, compares and hashes the same with or without them (the model
//! checker hashes decoders), and a buffer's old bytes are cleared before it is kept.

use std::hash::{Hash, Hasher};

/// Capacity kept per decoder: a whole queue's worth of 4 KiB writes (SPDK's default
/// `max_queue_depth` 128 × 4 KiB = 512 KiB), since a queue completes its writes in bursts.
const MAX_SPARE_BYTES: usize = 1 << 20;

/// Emptied buffers waiting for reuse (see the module doc).
#[derive(Default)]
pub(crate) struct Spares {
    bufs: Vec<Vec<u8>>,
    /// The capacity of `bufs`, summed.
    bytes: usize,
}

impl Spares {
    /// Keeps `buf`, emptied, when there is room and it is no larger than `max_len` bytes.
    pub(crate) fn put(&mut self, mut buf: Vec<u8>, max_len: usize) {
        let cap = buf.capacity();
        if cap > 0 && cap <= max_len && self.bytes + cap <= MAX_SPARE_BYTES {
            buf.clear();
            self.bytes += cap;
            self.bufs.push(buf);
        }
    }

    /// An empty buffer with room for `len` bytes: a spare if the last one kept has the room,
    /// else a new one.
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        match self.bufs.pop() {
            Some(buf) => {
                self.bytes -= buf.capacity();
                if buf.capacity() >= len {
                    return buf;
                }
                Vec::with_capacity(len)
            }
            None => Vec::with_capacity(len),
        }
    }

    /// `data` in a spare buffer that holds it, or in a new one.
    pub(crate) fn filled(&mut self, data: &[u8]) -> Vec<u8> {
        let Some(mut buf) = self.bufs.pop() else {
            return data.to_vec();
        };
        self.bytes -= buf.capacity();
        if buf.capacity() < data.len() {
            return data.to_vec();
        }
        buf.extend_from_slice(data);
        buf
    }
}

impl Clone for Spares {
    /// A clone starts empty: spares are a cache, not state.
    fn clone(&self) -> Self {
        Spares::default()
    }
}

impl PartialEq for Spares {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Spares {}

impl Hash for Spares {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for Spares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spares({})", self.bufs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_is_reused_emptied_and_never_compared() {
        let mut s = Spares::default();
        let buf = vec![7u8; 4096];
        let ptr = buf.as_ptr();
        s.put(buf, 8192);
        assert_eq!(
            s,
            Spares::default(),
            "spares never make two decoders differ"
        );
        let got = s.filled(&[1, 2, 3]);
        assert_eq!((got.as_slice(), got.as_ptr()), (&[1u8, 2, 3][..], ptr));
        assert_eq!(s.filled(&[4]), vec![4], "no spare left: a new buffer");
    }

    #[test]
    fn spares_are_bounded_in_number_and_size() {
        let mut s = Spares::default();
        s.put(Vec::with_capacity(2 * MAX_SPARE_BYTES), 4 * MAX_SPARE_BYTES);
        assert_eq!(s.bufs.len(), 0, "larger than the byte bound: dropped");
        s.put(Vec::with_capacity(16384), 8192);
        assert_eq!(s.bufs.len(), 0, "larger than the data limit: dropped");
        let n = MAX_SPARE_BYTES / 4096;
        for _ in 0..2 * n {
            s.put(Vec::with_capacity(4096), 8192);
        }
        assert_eq!((s.bufs.len(), s.bytes), (n, MAX_SPARE_BYTES));
        let big = s.filled(&[9; 5000]);
        assert_eq!(
            big,
            vec![9; 5000],
            "a spare too small is not grown in place"
        );
        assert_eq!(s.bufs.len(), n - 1, "and is given up");
        assert_eq!(s.bytes, MAX_SPARE_BYTES - 4096);
        assert_eq!(s.clone().bufs.len(), 0, "a clone starts without spares");
    }
}

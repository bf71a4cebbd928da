//! Fingerprints: a fast, seedless, platform-independent hash of a state (64 or 128 bits).
//!
//! Each written word is folded into the lanes with a 64x64->128 multiply (wyhash's mixing step);
//! `finish` applies a final avalanche. Fixed constants keep fingerprints identical across runs,
//! threads and machines (a fingerprint never depends on a random seed or address).

use std::hash::{Hash, Hasher};

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let r = u128::from(a).wrapping_mul(u128::from(b));
    (r as u64) ^ ((r >> 64) as u64)
}

/// Two-lane hasher; lane 1 only matters for 128-bit fingerprints.
#[derive(Debug, Clone)]
pub struct FpHasher {
    a: u64,
    b: u64,
    wide: bool,
}

impl FpHasher {
    pub fn new(wide: bool) -> Self {
        FpHasher { a: P0, b: P1, wide }
    }

    #[inline]
    fn word(&mut self, w: u64) {
        self.a = mix(self.a ^ w, P1);
        if self.wide {
            self.b = mix(self.b ^ w, P2).rotate_left(23);
        }
    }

    /// The 128-bit fingerprint (needs `wide`).
    pub fn finish128(&self) -> u128 {
        let lo = mix(self.a, P2 ^ self.b) ^ self.a;
        let hi = mix(self.b ^ P0, self.a ^ P1);
        u128::from(hi) << 64 | u128::from(lo)
    }
}

impl Hasher for FpHasher {
    fn finish(&self) -> u64 {
        mix(self.a ^ P2, P0) ^ self.a
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(tail) ^ (rest.len() as u64) << 56);
    }

    fn write_u8(&mut self, i: u8) {
        self.word(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.word(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.word(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.word(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }
}

/// A fingerprint width: `u64` or `u128`. Zero is reserved (the empty slot).
pub trait Fp: Copy + Eq + Ord + Send + Sync + std::fmt::Debug + 'static {
    const ZERO: Self;
    fn of<T: Hash + ?Sized>(value: &T) -> Self;
    /// Bits used to pick a shard and a slot.
    fn spread(self) -> u64;
}

impl Fp for u64 {
    const ZERO: Self = 0;
    fn of<T: Hash + ?Sized>(value: &T) -> Self {
        let mut h = FpHasher::new(false);
        value.hash(&mut h);
        h.finish().max(1)
    }
    fn spread(self) -> u64 {
        self
    }
}

impl Fp for u128 {
    const ZERO: Self = 0;
    fn of<T: Hash + ?Sized>(value: &T) -> Self {
        let mut h = FpHasher::new(true);
        value.hash(&mut h);
        h.finish128().max(1)
    }
    fn spread(self) -> u64 {
        self as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_spread() {
        assert_eq!(u64::of(&(1u32, "a")), u64::of(&(1u32, "a")));
        assert_ne!(u64::of(&(1u32, "a")), u64::of(&(2u32, "a")));
        assert_ne!(u64::of(&vec![1u8, 2]), u64::of(&vec![2u8, 1]));
        assert_ne!(u128::of(&7u64) >> 64, u128::of(&8u64) >> 64);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..100_000u64 {
            assert!(seen.insert(u64::of(&i)), "collision at {i}");
        }
    }
}

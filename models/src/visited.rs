//! The visited set: fingerprint -> (parent fingerprint, order key), in 256 mutex-guarded shards
//! of open-addressing tables (linear probing, grown at 3/4 load). A probe reads only the
//! (fingerprint, key) slots; parents sit in a parallel array touched only when an entry is
//! written or a path is rebuilt, so more of the probed array stays in cache.
//!
//! Invariant kept: one entry per fingerprint; an entry's key only ever decreases. Keys order
//! the discoveries (level first, then the parent's position in its level, then the action
//! index), so keeping the smallest key makes every recorded parent independent of which thread
//! got there first.

use crate::fingerprint::Fp;
use std::sync::Mutex;

const SHARD_BITS: u32 = 8;
const SHARDS: usize = 1 << SHARD_BITS;

#[derive(Clone, Copy)]
struct Entry<F> {
    fp: F,
    key: u64,
}

struct Shard<F> {
    slots: Vec<Entry<F>>,
    /// `parents[i]` belongs to `slots[i]`.
    parents: Vec<F>,
    len: usize,
}

impl<F: Fp> Shard<F> {
    fn new(cap: usize) -> Self {
        let empty = Entry {
            fp: F::ZERO,
            key: 0,
        };
        Shard {
            slots: vec![empty; cap],
            parents: vec![F::ZERO; cap],
            len: 0,
        }
    }

    fn find(&self, fp: F) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (fp.spread() as usize) & mask;
        loop {
            let e = &self.slots[i];
            if e.fp == fp || e.fp == F::ZERO {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Shard::new(self.slots.len() * 2));
        for (e, p) in old.slots.into_iter().zip(old.parents) {
            if e.fp != F::ZERO {
                let i = self.find(e.fp);
                self.slots[i] = e;
                self.parents[i] = p;
            }
        }
        self.len = old.len;
    }
}

/// The result of an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// First time seen.
    New,
    /// Seen before; the recorded parent now has this smaller key. Carries the key it replaced.
    Improved(u64),
    /// Seen before with a smaller or equal key.
    Seen,
}

/// A concurrent set of fingerprints with parents.
pub struct Visited<F> {
    shards: Vec<Mutex<Shard<F>>>,
}

impl<F: Fp> Default for Visited<F> {
    fn default() -> Self {
        Visited {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new(64))).collect(),
        }
    }
}

impl<F: Fp> Visited<F> {
    fn shard(&self, fp: F) -> std::sync::MutexGuard<'_, Shard<F>> {
        let s = (fp.spread() >> (64 - SHARD_BITS)) as usize;
        self.shards[s].lock().expect("a checker thread panicked")
    }

    /// Inserts `fp` with `parent` and `key`, or lowers the key of an existing entry.
    pub fn insert(&self, fp: F, parent: F, key: u64) -> Insert {
        let mut sh = self.shard(fp);
        if (sh.len + 1) * 4 > sh.slots.len() * 3 {
            sh.grow();
        }
        let i = sh.find(fp);
        let e = &mut sh.slots[i];
        if e.fp == F::ZERO {
            *e = Entry { fp, key };
            sh.parents[i] = parent;
            sh.len += 1;
            return Insert::New;
        }
        if key < e.key {
            let old = std::mem::replace(&mut e.key, key);
            sh.parents[i] = parent;
            return Insert::Improved(old);
        }
        Insert::Seen
    }

    /// The recorded parent and key of `fp`.
    pub fn get(&self, fp: F) -> Option<(F, u64)> {
        let sh = self.shard(fp);
        let i = sh.find(fp);
        (sh.slots[i].fp == fp).then_some((sh.parents[i], sh.slots[i].key))
    }

    /// How many fingerprints are stored.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().expect("a checker thread panicked").len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_grow_and_keep_the_smallest_key() {
        let v = Visited::<u64>::default();
        for i in 1..50_000u64 {
            let fp = crate::fingerprint::Fp::of(&i);
            assert_eq!(v.insert(fp, 1, i + 10), Insert::New);
        }
        assert_eq!(v.len(), 49_999);
        let fp: u64 = crate::fingerprint::Fp::of(&7u64);
        assert_eq!(v.insert(fp, 2, 100), Insert::Seen);
        assert_eq!(v.insert(fp, 3, 5), Insert::Improved(17));
        assert_eq!(v.get(fp), Some((3, 5)));
        assert_eq!(v.get(12345), None);
    }
}

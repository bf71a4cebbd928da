//! Generation-tagged arenas: every lifecycle object (subsystem, qpair, controller, request)
//! lives in one, and a handle to a freed slot is detectable, so a use-after-free in the model is
//! a `Violation` (I1), never undefined behaviour.
//!
//! Invariant kept: a slot's generation only grows; a handle is live iff its generation equals the
//! slot's and the slot is occupied. Slots are reused lowest-index first (deterministic).

use serde::Serialize;
use std::fmt;

/// A typed handle: an index and the generation it was issued with.
pub trait ArenaHandle: Copy + Ord {
    fn from_parts(idx: u32, gen: u32) -> Self;
    fn idx(self) -> u32;
    fn gen(self) -> u32;
}

macro_rules! handle {
    ($(#[$m:meta])* $name:ident, $tag:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name {
            pub idx: u32,
            pub gen: u32,
        }
        impl ArenaHandle for $name {
            fn from_parts(idx: u32, gen: u32) -> Self {
                $name { idx, gen }
            }
            fn idx(self) -> u32 {
                self.idx
            }
            fn gen(self) -> u32 {
                self.gen
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}#{}.{}", $tag, self.idx, self.gen)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

handle!(
    /// A subsystem.
    SubsysH,
    "subsys"
);
handle!(
    /// A qpair (one per connection).
    QpairH,
    "qpair"
);
handle!(
    /// A controller.
    CtrlrH,
    "ctrlr"
);
handle!(
    /// A request (one NVMe command).
    ReqH,
    "req"
);
handle!(
    /// A transport listener (`struct spdk_nvmf_listener`).
    ListenerH,
    "listener"
);

/// Serializes a map with non-string keys as a sequence of `[key, value]` pairs (JSON-safe).
pub fn ser_pairs<K: Serialize, V: Serialize, S: serde::Serializer>(
    map: &std::collections::BTreeMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.iter())
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
struct Slot<T> {
    gen: u32,
    val: Option<T>,
}

/// A vector of generation-tagged slots.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Arena<H, T> {
    slots: Vec<Slot<T>>,
    #[serde(skip)]
    _h: std::marker::PhantomData<H>,
}

impl<H: ArenaHandle, T> Default for Arena<H, T> {
    fn default() -> Self {
        Arena {
            slots: Vec::new(),
            _h: std::marker::PhantomData,
        }
    }
}

impl<H: ArenaHandle, T> Arena<H, T> {
    /// Stores `val` in the lowest free slot and returns its handle.
    pub fn insert(&mut self, val: T) -> H {
        if let Some(i) = self.slots.iter().position(|s| s.val.is_none()) {
            let slot = &mut self.slots[i];
            slot.gen += 1;
            slot.val = Some(val);
            return H::from_parts(i as u32, slot.gen);
        }
        self.slots.push(Slot {
            gen: 1,
            val: Some(val),
        });
        H::from_parts(self.slots.len() as u32 - 1, 1)
    }

    /// The object, if `h` is live.
    pub fn get(&self, h: H) -> Option<&T> {
        let slot = self.slots.get(h.idx() as usize)?;
        if slot.gen == h.gen() {
            slot.val.as_ref()
        } else {
            None
        }
    }

    /// The object, if `h` is live.
    pub fn get_mut(&mut self, h: H) -> Option<&mut T> {
        let slot = self.slots.get_mut(h.idx() as usize)?;
        if slot.gen == h.gen() {
            slot.val.as_mut()
        } else {
            None
        }
    }

    /// Whether `h` names a live object.
    pub fn contains(&self, h: H) -> bool {
        self.get(h).is_some()
    }

    /// Frees the object; `None` if `h` was already stale.
    pub fn remove(&mut self, h: H) -> Option<T> {
        let slot = self.slots.get_mut(h.idx() as usize)?;
        if slot.gen == h.gen() {
            slot.val.take()
        } else {
            None
        }
    }

    /// Live objects in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (H, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.val.as_ref().map(|v| (H::from_parts(i as u32, s.gen), v)))
    }

    /// Live objects in slot order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (H, &mut T)> {
        self.slots.iter_mut().enumerate().filter_map(|(i, s)| {
            let gen = s.gen;
            s.val.as_mut().map(|v| (H::from_parts(i as u32, gen), v))
        })
    }

    /// Handles of live objects in slot order.
    pub fn handles(&self) -> Vec<H> {
        self.iter().map(|(h, _)| h).collect()
    }

    /// Number of live objects.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.val.is_some()).count()
    }

    /// Whether no object is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_are_detected_and_slots_reused() {
        let mut a: Arena<QpairH, u32> = Arena::default();
        let h1 = a.insert(7);
        assert_eq!(a.get(h1), Some(&7));
        assert_eq!(a.remove(h1), Some(7));
        assert!(a.get(h1).is_none());
        assert!(a.remove(h1).is_none());
        let h2 = a.insert(8);
        assert_eq!(h2.idx, h1.idx);
        assert_ne!(h2.gen, h1.gen);
        assert!(a.get(h1).is_none());
        assert_eq!(a.len(), 1);
    }
}

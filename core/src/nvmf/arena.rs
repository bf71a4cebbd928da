//! Generation-tagged arenas: every lifecycle object (subsystem, qpair, controller, request)
//! lives in one, and a handle to a freed slot is detectable, so a use-after-free in the model is
//! a `Violation` (I1), never undefined behaviour.
//!
//! Invariant kept: a slot's generation only grows; a handle is live iff its generation equals the
//! slot's and the slot is occupied. Slots are reused lowest-index first (deterministic).
//!
//! Access recording (`record`, for the model checker's partial-order reduction): while a
//! thread records, every accessor logs which slot it read or wrote; an access that depends on
//! the whole arena (insert, iteration, counting) logs the whole arena. Off by default.

use serde::Serialize;
use std::fmt;

/// A typed handle: an index and the generation it was issued with.
pub trait ArenaHandle: Copy + Ord {
    /// Which kind of object the handle names (for access recording).
    const KIND: record::Kind;
    fn from_parts(idx: u32, gen: u32) -> Self;
    fn idx(self) -> u32;
    fn gen(self) -> u32;
}

macro_rules! handle {
    ($(#[$m:meta])* $name:ident, $tag:literal, $kind:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name {
            pub idx: u32,
            pub gen: u32,
        }
        impl ArenaHandle for $name {
            const KIND: record::Kind = record::Kind::$kind;
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
    "subsys",
    Subsystem
);
handle!(
    /// A qpair (one per connection).
    QpairH,
    "qpair",
    Qpair
);
handle!(
    /// A controller.
    CtrlrH,
    "ctrlr",
    Ctrlr
);
handle!(
    /// A request (one NVMe command).
    ReqH,
    "req",
    Request
);
handle!(
    /// A registered poller (`struct spdk_poller`, poller.rs).
    PollerH,
    "poller",
    Poller
);
handle!(
    /// A transport listener (`struct spdk_nvmf_listener`).
    ListenerH,
    "listener",
    Listener
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
        record::whole::<H>(false);
        let h = self.insert_slot(val);
        record::slot(h, true);
        h
    }

    fn insert_slot(&mut self, val: T) -> H {
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
        record::slot(h, false);
        self.peek(h)
    }

    fn peek(&self, h: H) -> Option<&T> {
        let slot = self.slots.get(h.idx() as usize)?;
        if slot.gen == h.gen() {
            slot.val.as_ref()
        } else {
            None
        }
    }

    /// The object, if `h` is live.
    pub fn get_mut(&mut self, h: H) -> Option<&mut T> {
        record::slot(h, true);
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
        record::slot(h, true);
        let slot = self.slots.get_mut(h.idx() as usize)?;
        if slot.gen == h.gen() {
            slot.val.take()
        } else {
            None
        }
    }

    /// Live objects in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (H, &T)> {
        record::whole::<H>(false);
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.val.as_ref().map(|v| (H::from_parts(i as u32, s.gen), v)))
    }

    /// Live objects in slot order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (H, &mut T)> {
        record::whole::<H>(true);
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
        record::whole::<H>(false);
        self.slots.iter().filter(|s| s.val.is_some()).count()
    }

    /// Whether no object is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-thread access recording (off by default; the model checker turns it on around one step).
pub mod record {
    use super::ArenaHandle;
    use std::cell::{Cell, RefCell};

    /// The kind of object an arena holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Kind {
        Subsystem,
        Qpair,
        Ctrlr,
        Request,
        Poller,
        Listener,
    }

    /// Hashes of the target's state outside its arenas (`Target::footprint_parts`), for
    /// diffing before and after one step.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Parts {
        /// Each thread queue (index 0 is the app thread, 1 + n poll group n).
        pub queues: Vec<u64>,
        /// Every field but the arenas, the thread queues, `now`, `config`, `outputs`, `current`
        /// and the add-only counters, one hash each (`Target::FOOTPRINT_FIELDS` names them).
        pub fields: Vec<u64>,
        /// The add-only counters (`Target::FOOTPRINT_COUNTERS`): only ever incremented, and read
        /// by no step (only by the invariant oracle), so two increments commute.
        pub counters: Vec<u64>,
    }

    /// One recorded access: a slot (`idx`) or the whole arena (`None`), read or written.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct Access {
        pub kind: Kind,
        pub idx: Option<u32>,
        pub write: bool,
    }

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static LOG: RefCell<Vec<Access>> = const { RefCell::new(Vec::new()) };
    }

    /// Starts recording this thread's arena accesses (clearing the log).
    pub fn start() {
        LOG.with(|l| l.borrow_mut().clear());
        ON.set(true);
    }

    /// Stops recording and returns the accesses since `start`, in order.
    pub fn stop() -> Vec<Access> {
        ON.set(false);
        LOG.take()
    }

    /// Pauses recording until the guard drops (for read-only oracles run inside a step).
    pub struct Paused(bool);

    /// See `Paused`.
    #[must_use]
    pub fn pause() -> Paused {
        Paused(ON.replace(false))
    }

    impl Drop for Paused {
        fn drop(&mut self) {
            ON.set(self.0);
        }
    }

    fn push(a: Access) {
        LOG.with(|l| l.borrow_mut().push(a));
    }

    #[inline]
    pub(super) fn slot<H: ArenaHandle>(h: H, write: bool) {
        if ON.get() {
            push(Access {
                kind: H::KIND,
                idx: Some(h.idx()),
                write,
            });
        }
    }

    #[inline]
    pub(super) fn whole<H: ArenaHandle>(write: bool) {
        if ON.get() {
            push(Access {
                kind: H::KIND,
                idx: None,
                write,
            });
        }
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

    #[test]
    fn accesses_are_recorded_only_while_on() {
        use record::{Access, Kind};
        let mut a: Arena<QpairH, u32> = Arena::default();
        let h = a.insert(1);
        record::start();
        let _ = a.get(h);
        if let Some(v) = a.get_mut(h) {
            *v = 2;
        }
        {
            let _p = record::pause();
            let _ = a.len();
        }
        let _ = a.handles();
        let log = record::stop();
        let _ = a.get(h);
        let acc = |idx, write| Access {
            kind: Kind::Qpair,
            idx,
            write,
        };
        assert_eq!(
            log,
            vec![acc(Some(0), false), acc(Some(0), true), acc(None, false)]
        );
        assert!(record::stop().is_empty());
    }
}

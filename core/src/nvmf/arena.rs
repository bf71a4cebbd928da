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
//!
//! Ownership checking (I17, ownership.rs) rides on the same hook: while a step runs with the
//! check on, every `get`, `get_mut` and `remove` of a live object asks the object which thread
//! owns it (`Owned`) and ownership.rs compares that with the running thread.

use super::ThreadId;
use serde::Serialize;
use std::fmt;

/// Which thread owns an arena object (I17): SPDK's rule of who may read and write it.
pub trait Owned {
    /// The owning thread, or `None` when the object is not checked.
    fn owner(&self) -> Option<ThreadId>;
}

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

impl<H: ArenaHandle, T: Owned> Arena<H, T> {
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
    #[track_caller]
    #[inline]
    pub fn get(&self, h: H) -> Option<&T> {
        let v = self.peek(h);
        record::access(h, false, v);
        v
    }

    #[inline]
    fn peek(&self, h: H) -> Option<&T> {
        let slot = self.slots.get(h.idx() as usize)?;
        if slot.gen == h.gen() {
            slot.val.as_ref()
        } else {
            None
        }
    }

    /// The object, if `h` is live.
    #[track_caller]
    #[inline]
    pub fn get_mut(&mut self, h: H) -> Option<&mut T> {
        record::access(h, true, self.peek(h));
        let slot = self.slots.get_mut(h.idx() as usize)?;
        if slot.gen == h.gen() {
            slot.val.as_mut()
        } else {
            None
        }
    }

    /// Whether `h` names a live object.
    #[track_caller]
    #[inline]
    pub fn contains(&self, h: H) -> bool {
        self.get(h).is_some()
    }

    /// Frees the object; `None` if `h` was already stale.
    #[track_caller]
    #[inline]
    pub fn remove(&mut self, h: H) -> Option<T> {
        record::access(h, true, self.peek(h));
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
    use crate::nvmf::ThreadId;
    use std::cell::{Cell, RefCell};

    /// The kind of object an arena holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    #[repr(u8)]
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

    /// `MODE` bit: log accesses (the model checker's footprints).
    const LOG_BIT: u8 = 1;
    /// `MODE` bit: check each access against its owner's thread (I17, ownership.rs).
    const CHECK_BIT: u8 = 2;

    thread_local! {
        static MODE: Cell<u8> = const { Cell::new(0) };
        static LOG: RefCell<Vec<Access>> = const { RefCell::new(Vec::new()) };
    }

    /// Starts recording this thread's arena accesses (clearing the log).
    pub fn start() {
        LOG.with(|l| l.borrow_mut().clear());
        MODE.set(MODE.get() | LOG_BIT);
    }

    /// Stops recording and returns the accesses since `start`, in order.
    pub fn stop() -> Vec<Access> {
        MODE.set(MODE.get() & !LOG_BIT);
        LOG.take()
    }

    /// Turns the ownership check on or off; returns whether it was on.
    pub(in crate::nvmf) fn set_checking(on: bool) -> bool {
        let m = MODE.get();
        MODE.set(if on { m | CHECK_BIT } else { m & !CHECK_BIT });
        m & CHECK_BIT != 0
    }

    /// Pauses recording and checking until the guard drops (for read-only oracles run
    /// inside a step).
    pub struct Paused(u8);

    /// See `Paused`.
    #[must_use]
    pub fn pause() -> Paused {
        Paused(MODE.replace(0))
    }

    impl Drop for Paused {
        fn drop(&mut self) {
            MODE.set(self.0);
        }
    }

    /// One access to slot `h` of a live (`v` is `Some`) or stale object.
    #[inline]
    #[track_caller]
    pub(super) fn access<H: ArenaHandle, T: super::Owned>(h: H, write: bool, v: Option<&T>) {
        let m = MODE.get();
        if m == 0 {
            return;
        }
        if m & LOG_BIT != 0 {
            push(Access {
                kind: H::KIND,
                idx: Some(h.idx()),
                write,
            });
        }
        if m & CHECK_BIT != 0 {
            if let Some(owner) = v.and_then(super::Owned::owner) {
                check(H::KIND, (h.idx(), h.gen()), write, owner);
            }
        }
    }

    /// An access to an object on a thread that does not own it, not covered by an allowed
    /// foreign access (I17, ownership.rs).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Breach {
        pub kind: Kind,
        /// The object's slot and generation.
        pub slot: (u32, u32),
        pub write: bool,
        pub owner: ThreadId,
        pub running: ThreadId,
        /// The model code that made the access (diagnostics only, never in output).
        pub at: &'static std::panic::Location<'static>,
    }

    thread_local! {
        /// The thread whose code runs (`None` while the reactor dispatches a step).
        static RUNNING: Cell<Option<ThreadId>> = const { Cell::new(None) };
        /// Foreign accesses allowed right now: bit `2 * kind + write` (ownership.rs).
        static ALLOWED: Cell<u16> = const { Cell::new(0) };
        /// The breaches of the running step, in order (the first is the step's violation).
        static BREACHES: RefCell<Vec<Breach>> = const { RefCell::new(Vec::new()) };
    }

    /// The permission bit of an access of `kind` (a write also needs its own bit).
    pub const fn allow_bit(kind: Kind, write: bool) -> u16 {
        1 << (2 * kind as u16 + write as u16)
    }

    /// Sets the running thread for the check.
    pub(in crate::nvmf) fn set_running(t: Option<ThreadId>) {
        RUNNING.set(t);
    }

    /// Adds `bits` to the allowed foreign accesses; returns the previous set.
    #[inline]
    pub(in crate::nvmf) fn allow(bits: u16) -> u16 {
        ALLOWED.replace(ALLOWED.get() | bits)
    }

    /// Restores the allowed set `allow` returned.
    #[inline]
    pub(in crate::nvmf) fn restore_allowed(bits: u16) {
        ALLOWED.set(bits);
    }

    /// Takes the step's breaches.
    pub(in crate::nvmf) fn take_breaches() -> Vec<Breach> {
        BREACHES.take()
    }

    #[track_caller]
    fn check(kind: Kind, slot: (u32, u32), write: bool, owner: ThreadId) {
        let Some(running) = RUNNING.get() else { return };
        if running == owner || ALLOWED.get() & allow_bit(kind, write) != 0 {
            return;
        }
        let at = std::panic::Location::caller();
        let b = Breach {
            kind,
            slot,
            write,
            owner,
            running,
            at,
        };
        BREACHES.with(|v| v.borrow_mut().push(b));
    }

    fn push(a: Access) {
        LOG.with(|l| l.borrow_mut().push(a));
    }

    #[inline]
    pub(super) fn slot<H: ArenaHandle>(h: H, write: bool) {
        if MODE.get() & LOG_BIT != 0 {
            push(Access {
                kind: H::KIND,
                idx: Some(h.idx()),
                write,
            });
        }
    }

    #[inline]
    pub(super) fn whole<H: ArenaHandle>(write: bool) {
        if MODE.get() & LOG_BIT != 0 {
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

    impl Owned for u32 {
        fn owner(&self) -> Option<ThreadId> {
            None
        }
    }

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

//! Pollers as objects: SPDK's `spdk_poller_register` / `spdk_poller_unregister`
//! (lib/thread/thread.c). Every registration is a generation-tagged `PollerH` in one arena,
//! owned by an object (a controller, a request) and a thread, with its period. The owner's
//! pointer field that holds it (`ctrlr->keep_alive_poller`, `ctrlr->cc_timer`,
//! `req->poller`, ...) is a slot here, keyed by the `Timer` that names what the poller does
//! and for whom: registering into a slot overwrites the pointer and does NOT unregister what it
//! held, exactly as `ctrlr->cc_timer = SPDK_POLLER_REGISTER(...)` does in C, so a registration
//! nobody points at any more keeps firing (a leak), and the checker sees it.
//!
//! A poller is periodic, as in SPDK: firing does not unregister it. The handlers unregister
//! their own poller first where SPDK's do (`_nvmf_ctrlr_cc_reset_shn_done`,
//! `nvmf_ctrlr_cc_timeout`, `nvmf_ctrlr_association_remove`, `retry_connect`,
//! `_retry_qid_check`); the keep-alive poller stays registered until the controller stops it.
//! The time-jump rule (docs/architecture.md): a registration's `next` is the first of its runs
//! whose outcome can differ from an idle run; `None` means every run is idle until something
//! changes (the keep-alive poller of a controller with CSTS.CFS set).
//!
//! Invariants kept (docs/invariants.md): P1, a poller never fires on a freed owner (checked at
//! every fire); P2, every poller is unregistered by the time its owner is freed (checked on
//! every step by `invariants::check`).

use super::arena::{Arena, CtrlrH, PollerH, ReqH};
use super::{InvariantId, RpcId, Target, ThreadId, Timer};
use crate::time::{Duration, Instant};
use serde::Serialize;
use std::collections::BTreeMap;

/// The object a poller belongs to (its `ctx` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PollerOwner {
    Ctrlr(CtrlrH),
    Req(ReqH),
    /// The context of a waiting `remove_host` (host_wait.rs).
    Rpc(RpcId),
}

impl std::fmt::Display for PollerOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollerOwner::Ctrlr(h) => write!(f, "{h}"),
            PollerOwner::Req(h) => write!(f, "{h}"),
            PollerOwner::Rpc(id) => write!(f, "remove_host ctx of rpc {}", id.0),
        }
    }
}

/// One registration (`struct spdk_poller`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Poller {
    /// What it runs, for whom (also the owner's slot it was registered into).
    pub what: Timer,
    pub owner: PollerOwner,
    /// The thread it was registered on (`spdk_get_thread()` at registration).
    pub thread: ThreadId,
    pub period: Duration,
    /// The next run that can change anything (`None`: idle until rescheduled).
    pub next: Option<Instant>,
}

/// Every registered poller and the owners' pointer fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Pollers {
    arena: Arena<PollerH, Poller>,
    /// The owner's pointer field per `Timer`: the registration it holds (NULL = absent).
    #[serde(serialize_with = "super::arena::ser_pairs")]
    slots: BTreeMap<Timer, PollerH>,
}

impl Pollers {
    /// Registered pollers in arena order.
    pub fn iter(&self) -> impl Iterator<Item = (PollerH, &Poller)> {
        self.arena.iter()
    }

    /// Registered pollers with a deadline, `(what, next)`, sorted by `what` then deadline (the
    /// order the keyed timers had; ties keep arena order).
    pub fn armed(&self) -> Vec<(Timer, Instant)> {
        let mut out: Vec<(Timer, Instant)> = self
            .arena
            .iter()
            .filter_map(|(_, p)| p.next.map(|at| (p.what, at)))
            .collect();
        out.sort_by_key(|(t, at)| (*t, *at));
        out
    }

    /// The registration the owner's field `what` points at.
    pub fn slot(&self, what: Timer) -> Option<PollerH> {
        self.slots.get(&what).copied()
    }

    /// The earliest-due registration of `what` at `now` (arena order on ties).
    fn due(&self, what: Timer, now: Instant) -> Option<PollerH> {
        self.arena
            .iter()
            .filter(|(_, p)| p.what == what && p.next.is_some_and(|at| at <= now))
            .min_by_key(|(_, p)| p.next)
            .map(|(h, _)| h)
    }

    /// Drops the owner's pointer fields (the owner is being freed): the registrations they
    /// held stay registered if nobody unregistered them (P2 reports them).
    fn forget_slots(&mut self, owner: PollerOwner) {
        let _index = super::ownership::bookkeeping();
        let arena = &self.arena;
        self.slots
            .retain(|_, h| arena.get(*h).is_none_or(|p| p.owner != owner));
    }
}

impl Target {
    /// `ptr = SPDK_POLLER_REGISTER(fn, owner, period)` on the current thread: a new
    /// registration, first due one period from now (or at `first`, the time-jump rule). The
    /// slot's previous registration, if any, is NOT unregistered (C overwrites the pointer).
    pub(super) fn poller_register(
        &mut self,
        what: Timer,
        owner: PollerOwner,
        period: Duration,
        first: Option<Instant>,
    ) -> PollerH {
        let next = Some(first.unwrap_or(self.now + period));
        let thread = self.current;
        let p = Poller {
            what,
            owner,
            thread,
            period,
            next,
        };
        let h = self.pollers.arena.insert(p);
        self.pollers.slots.insert(what, h);
        h
    }

    /// `spdk_poller_unregister(&ptr)`: unregisters what the slot points at and NULLs it. A NULL
    /// slot is a no-op, as in SPDK.
    pub(super) fn poller_unregister(&mut self, what: Timer) {
        if let Some(h) = self.pollers.slots.remove(&what) {
            self.pollers.arena.remove(h);
        }
    }

    /// Moves the slot's registration's next useful run (`None`: idle). No-op on a NULL slot.
    pub(super) fn poller_reschedule(&mut self, what: Timer, next: Option<Instant>) {
        let Some(h) = self.pollers.slot(what) else {
            return;
        };
        if let Some(p) = self.pollers.arena.get_mut(h) {
            p.next = next;
        }
    }

    /// The owner's fields are freed with it (call when the owner's memory goes).
    pub(super) fn pollers_owner_freed(&mut self, owner: PollerOwner) {
        self.pollers.forget_slots(owner);
    }

    /// Runs the earliest-due registration of `timer` on its thread. A registration is periodic:
    /// before its handler runs its next run is one period later (the handler may unregister
    /// or reschedule it). A `Fire` with nothing due is a no-op (spurious wake-up). A poller whose
    /// owner is gone is P1: SPDK would run `fn(ctx)` on freed memory.
    pub(super) fn fire_timer(&mut self, timer: Timer) {
        let Some(h) = self.pollers.due(timer, self.now) else {
            return;
        };
        let Some(p) = self.pollers.arena.get_mut(h) else {
            return;
        };
        let (owner, thread) = (p.owner, p.thread);
        // thread.c: a timed poller's next run is one period after this one.
        p.next = Some(self.now + p.period);
        super::ownership::enter(&mut self.current, thread);
        if !self.poller_owner_live(owner) {
            let handles = vec![format!("{h}"), format!("{owner} (freed)")];
            let detail = format!("{timer:?} fired on a freed owner");
            self.crash_on(
                InvariantId::PollerOwnerLive,
                "spdk_poller fn(ctx)",
                handles,
                &detail,
            );
            return;
        }
        self.run_poller(timer, owner);
    }

    fn poller_owner_live(&self, owner: PollerOwner) -> bool {
        let _checker = super::ownership::bookkeeping();
        match owner {
            PollerOwner::Ctrlr(c) => self.ctrlrs.contains(c),
            PollerOwner::Req(r) => self.reqs.contains(r),
            PollerOwner::Rpc(id) => self.host_wait_live(id),
        }
    }

    /// P2 for `invariants::check`: the first registration whose owner was freed.
    pub(super) fn leaked_poller(&self) -> Option<(PollerH, &Poller)> {
        self.pollers
            .iter()
            .find(|(_, p)| !self.poller_owner_live(p.owner))
    }
}

/// I17: a poller belongs to the thread it was registered on.
impl super::arena::Owned for Poller {
    fn owner(&self) -> Option<ThreadId> {
        Some(self.thread)
    }
}

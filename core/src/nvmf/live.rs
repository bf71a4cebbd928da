//! One guard for every stale handle: `Target::live(h, site)` returns the object a handle names,
//! or records the violation a dereference of freed memory would be in SPDK (I1 for a
//! controller, qpair or subsystem; I4 for a request that already ended) and returns None.
//! A peer can reach a stale handle (a disconnect racing a CONNECT hop), so this is a recorded
//! violation, never a panic.

use super::arena::{Arena, ArenaHandle, CtrlrH, QpairH, ReqH, SubsysH};
use super::ctrlr::Ctrlr;
use super::qpair::Qpair;
use super::request::Request;
use super::subsystem::Subsystem;
use super::{InvariantId, Target};
use std::fmt::Display;

/// A handle kind the target keeps an arena of.
pub trait Handle: ArenaHandle + Display + 'static {
    type Obj: super::arena::Owned + 'static;
    /// The invariant a use of a stale handle breaks.
    const BROKEN: InvariantId;
    /// What such a use is, for the violation's detail.
    const STALE: &'static str;
    fn arena(t: &mut Target) -> &mut Arena<Self, Self::Obj>;
}

impl Handle for QpairH {
    type Obj = Qpair;
    const BROKEN: InvariantId = InvariantId::NoDanglingReference;
    const STALE: &'static str = "freed qpair dereferenced";
    fn arena(t: &mut Target) -> &mut Arena<Self, Qpair> {
        &mut t.qpairs
    }
}

impl Handle for CtrlrH {
    type Obj = Ctrlr;
    const BROKEN: InvariantId = InvariantId::NoDanglingReference;
    const STALE: &'static str = "freed controller dereferenced";
    fn arena(t: &mut Target) -> &mut Arena<Self, Ctrlr> {
        &mut t.ctrlrs
    }
}

impl Handle for SubsysH {
    type Obj = Subsystem;
    const BROKEN: InvariantId = InvariantId::NoDanglingReference;
    const STALE: &'static str = "freed subsystem dereferenced";
    fn arena(t: &mut Target) -> &mut Arena<Self, Subsystem> {
        &mut t.subsystems
    }
}

impl Handle for ReqH {
    type Obj = Request;
    const BROKEN: InvariantId = InvariantId::RequestEndsOnce;
    const STALE: &'static str = "request used after it completed or was freed";
    fn arena(t: &mut Target) -> &mut Arena<Self, Request> {
        &mut t.reqs
    }
}

impl Target {
    /// The object `h` names, or a recorded violation at `site` if `h` is stale.
    #[track_caller]
    #[inline]
    pub(super) fn live<H: Handle>(&mut self, h: H, site: &str) -> Option<&mut H::Obj> {
        if !H::arena(self).contains(h) {
            self.crash_on(H::BROKEN, site, vec![format!("{h}")], H::STALE);
            return None;
        }
        H::arena(self).get_mut(h)
    }

    /// `live` for a read-only use (the I17 check sees a read).
    #[track_caller]
    #[inline]
    pub(super) fn live_ref<H: Handle>(&mut self, h: H, site: &str) -> Option<&H::Obj> {
        if !H::arena(self).contains(h) {
            self.crash_on(H::BROKEN, site, vec![format!("{h}")], H::STALE);
            return None;
        }
        H::arena(self).get(h)
    }
}

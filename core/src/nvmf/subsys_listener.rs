//! What a subsystem listener points at, and every read of it.
//!
//! A subsystem listener (`SubsysListener`) does not copy its trid: `_nvmf_subsystem_add_listener`
//! sets `listener->trid = &tr_listener->trid` (v24.01 subsystem.c:1188, master :1860), a pointer
//! into the transport listener that existed then. That transport listener is freed by the
//! `spdk_nvmf_transport_stop_listen` that drops its last reference, and nothing removes the
//! subsystem listeners pointing into it. A `listen` of the same trid afterwards makes a new
//! transport listener; the old subsystem listener still points at the freed one.
//!
//! - v24.01 keeps the dangling pointer: every later read of that listener's trid reads freed
//!   memory (I1).
//! - Since dfdd45beeb (v26.01, #3656; the v26.05 and master profiles) the transport sets the
//!   pointer to NULL before it frees (transport.c:467-476), and most readers skip such an
//!   "inactive" listener (`nvmf_subsystem_listener_is_active`). The readers that do not check
//!   dereference NULL (I1): `_nvmf_subsystem_remove_listener` with stop (an assert first),
//!   nvmf_tgt's `nvmf_tgt_stop_listen`, and `nvmf_qpair_set_ctrlr`'s trace description
//!   (e67cdcb4ea, v26.05).
//!
//! Invariant kept: every read of a subsystem listener's trid goes through `read_listener`, in
//! the order SPDK walks `subsystem->listeners` (head first), and stops the run at the first
//! read SPDK would crash on.

use super::arena::{CtrlrH, SubsysH};
use super::ownership::{foreign, Foreign};
use super::subsystem::SubsysListener;
use super::{InvariantId, Target, Trid};

/// Whether a reading site skips inactive listeners (`nvmf_subsystem_listener_is_active`, in
/// the profiles that null the pointer) or dereferences the trid as it finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reader {
    SkipsInactive,
    Dereferences,
}

impl Target {
    /// Reads `l`'s trid at `site`: `Some(true)` for a listener whose transport listener lives,
    /// `Some(false)` for an inactive one a `SkipsInactive` reader passes over, `None` after
    /// recording I1 (freed memory, or NULL for a `Dereferences` reader).
    pub(super) fn read_listener(
        &mut self,
        s: SubsysH,
        l: &SubsysListener,
        site: &str,
        reader: Reader,
    ) -> Option<bool> {
        let live = {
            let _read = foreign(Foreign::ListenerTridThroughPointer);
            self.listeners.is_live(l.bound)
        };
        if live {
            return Some(true);
        }
        let nulled = self.config.spdk.nulls_stopped_listener_trid();
        if nulled && reader == Reader::SkipsInactive {
            return Some(false);
        }
        let detail = if nulled {
            "reads listener->trid of a subsystem listener whose transport listener was \
             freed: the trid is NULL (dfdd45beeb), and this reader does not check \
             nvmf_subsystem_listener_is_active"
        } else {
            "reads listener->trid of a subsystem listener whose transport listener was \
             freed (use after free; NULL and skipped since dfdd45beeb, #3656)"
        };
        let handles = vec![
            format!("{s}"),
            format!("{}", l.trid),
            format!("{}", l.bound),
        ];
        self.crash_on(InvariantId::NoDanglingReference, site, handles, detail);
        None
    }

    /// `nvmf_subsystem_find_listener` and `spdk_nvmf_subsystem_listener_allowed`: walks `s`'s
    /// listeners head first, reading each trid, up to the first active one equal to `trid`.
    /// `Some(None)`: not found; `None`: a read crashed (I1 recorded).
    pub(super) fn find_subsys_listener(
        &mut self,
        s: SubsysH,
        trid: &Trid,
        site: &str,
    ) -> Option<Option<SubsysListener>> {
        let list = self.subsys_listeners(s);
        for l in list {
            if self.read_listener(s, &l, site, Reader::SkipsInactive)? && l.trid == *trid {
                return Some(Some(l));
            }
        }
        Some(None)
    }

    /// Reads every listener of `s` at `site` (the RPC dumps, the discovery log): the active
    /// ones, head first; `None` after a crashing read.
    pub(super) fn read_subsys_listeners(
        &mut self,
        s: SubsysH,
        site: &str,
    ) -> Option<Vec<SubsysListener>> {
        let mut active = Vec::new();
        for l in self.subsys_listeners(s) {
            if self.read_listener(s, &l, site, Reader::SkipsInactive)? {
                active.push(l);
            }
        }
        Some(active)
    }

    /// `spdk_nvmf_tgt_listen_ext` then `_nvmf_subsystem_add_listener`: one more reference on
    /// the transport listener, and a subsystem listener pointing into it.
    pub(super) fn add_subsys_listener(&mut self, s: SubsysH, trid: &Trid) {
        let bound = self.transport_listen(trid);
        if let Some(sub) = self.subsystems.get_mut(s) {
            sub.add_listener(trid.clone(), bound);
        }
        self.discovery_listener_added();
    }

    /// `_nvmf_subsystem_remove_listener` without the stop: controllers pointing at `l` forget
    /// it, it leaves the subsystem and the discovery log changes.
    pub(super) fn remove_subsystem_listener(&mut self, s: SubsysH, l: &SubsysListener) {
        for (_, c) in self.ctrlrs.iter_mut() {
            if c.subsys() == s {
                c.forget_listener(l);
            }
        }
        if let Some(sub) = self.subsystems.get_mut(s) {
            sub.remove_listener(l);
        }
        self.discovery_listener_removed();
    }

    /// `nvmf_qpair_set_ctrlr` for an I/O qpair of `c` (`Spdk::describes_qpair_listener`):
    /// with `ctrlr->listener` set it reads the listener's trid unchecked. False after a crash.
    pub(super) fn describe_ctrlr_listener(&mut self, c: CtrlrH) -> bool {
        if !self.config.spdk.describes_qpair_listener() {
            return true;
        }
        let Some((s, l)) = self
            .ctrlrs
            .get(c)
            .and_then(|x| x.listener().map(|l| (x.subsys(), l.clone())))
        else {
            return true;
        };
        self.read_listener(s, &l, "nvmf_qpair_set_ctrlr", Reader::Dereferences)
            .is_some()
    }

    /// `s`'s listeners, head first (none for a freed subsystem).
    pub(super) fn subsys_listeners(&self, s: SubsysH) -> Vec<SubsysListener> {
        self.subsystems
            .get(s)
            .map(|sub| sub.listeners().to_vec())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::arena::ListenerH;
    use super::super::subsystem::Subsystem;
    use super::super::SubsystemConfig;
    use super::Trid;

    /// `listener->id` is the lowest free id (`used_listener_ids`) and the list is head first
    /// (`TAILQ_INSERT_HEAD`): the discovery log's PORTIDs and every walk's order.
    #[test]
    fn listener_ids_take_the_lowest_free_and_the_list_is_newest_first() {
        let mut s = Subsystem::from_config(&SubsystemConfig::new("nqn.2016-06.io.spdk:x"));
        let h = |idx| ListenerH { idx, gen: 1 };
        let (a, b, c) = (Trid::tcp("a", 1), Trid::tcp("b", 2), Trid::tcp("c", 3));
        let la = s.add_listener(a, h(0));
        s.add_listener(b.clone(), h(1));
        s.remove_listener(&la);
        s.add_listener(c.clone(), h(2));
        let got: Vec<(Trid, u16)> = s
            .listeners()
            .iter()
            .map(|l| (l.trid.clone(), l.id))
            .collect();
        assert_eq!(got, vec![(c, 0), (b, 1)]);
    }
}

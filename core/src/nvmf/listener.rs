//! Transport listeners as objects (`struct spdk_nvmf_listener`: trid + refcount, in an arena:
//! created by `spdk_nvmf_transport_listen`, freed by `spdk_nvmf_transport_stop_listen` at
//! refcount zero), what a qpair keeps of its listener (TCP copies the trid; the reference form,
//! `TargetConfig::listener_ref`, keeps the listener itself as RDMA keeps `rqpair->listen_id`),
//! the acceptor (`spdk_nvmf_tgt_new_qpair`: round-robin poll group choice) and
//! `spdk_nvmf_transport_stop_listen_async` (for_each_channel disconnecting matching qpairs, then
//! the refcount drop and exactly one callback on the caller's thread).
//!
//! Invariants kept: I9 and I13 (the contract as a caller reads it) are checked when a
//! stop_listen completes, I14 (a listener outlives every qpair that references it) when a
//! listener is freed; I13 and I14 are contracts SPDK does not crash on, so their breaches are
//! recorded and the run goes on (`contract_breach`); every disconnect the filter makes is recorded with its cause for I11 (exactly the
//! qpairs whose controller is in the filter's subsystem); the filter never dereferences a NULL
//! or freed controller (the qpair is skipped, as SPDK does since `2e56512236`). Catalogue
//! switches `spdk-2299-null` and `spdk-2299-precision` put back the two earlier conditions.

use super::arena::{Arena, ListenerH, QpairH, SubsysH};
use super::callbacks::StopListenCb;
use super::catalogue::BugId;
use super::ownership::{bookkeeping, foreign, Foreign};
use super::planted::Plant;
use super::qpair::Qpair;
use super::state::QpairState::Uninitialized as New;
use super::thread::{FanKind, Fanout, Msg, StopListenFan};
use super::{ConnId, InvariantId, Mark, Output, Target, ThreadId, Trid, Violation};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What `nvmf_stop_listen_disconnect_qpairs`'s subsystem condition does with one qpair.
enum FilterVerdict {
    Disconnect,
    Skip,
    /// The condition reads `qpair->ctrlr->subsys` of a qpair without a controller.
    NullCtrlr,
}

/// SPDK's filter site, named in violations.
const FILTER_SITE: &str = "nvmf_stop_listen_disconnect_qpairs";

/// One disconnect made by a subsystem-filtered stop_listen (I11 checks every one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FilteredDisconnect {
    pub qpair: String,
    pub pg: u16,
    pub filter: SubsysH,
    /// The subsystem of the qpair's controller when the filter disconnected it (None: no
    /// controller yet).
    pub ctrlr_subsys: Option<SubsysH>,
}

/// A transport listener (`struct spdk_nvmf_listener`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Listener {
    trid: Trid,
    /// invariant: >= 1 while the listener exists.
    refcount: u32,
}

/// The transport's listeners (`transport->listeners`) and, in the reference form, the listener
/// each transport qpair keeps (RDMA's `rqpair->listen_id`), dropped when the transport frees
/// the qpair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Listeners {
    arena: Arena<ListenerH, Listener>,
    #[serde(serialize_with = "super::arena::ser_pairs")]
    refs: BTreeMap<QpairH, ListenerH>,
}

impl Listeners {
    /// `nvmf_transport_find_listener`.
    pub fn find(&self, trid: &Trid) -> Option<ListenerH> {
        self.arena
            .iter()
            .find(|(_, l)| l.trid == *trid)
            .map(|(h, _)| h)
    }

    /// Whether transport listener `h` still exists (what a subsystem listener points into).
    pub fn is_live(&self, h: ListenerH) -> bool {
        self.arena.contains(h)
    }

    /// Frees every listener (the target is being destroyed).
    pub fn clear(&mut self) {
        for h in self.arena.handles() {
            self.arena.remove(h);
        }
    }
}

impl Target {
    /// `spdk_nvmf_transport_listen`: create or take one more reference; the listener.
    pub(super) fn transport_listen(&mut self, trid: &Trid) -> ListenerH {
        match self.listeners.find(trid) {
            Some(h) => {
                if let Some(l) = self.listeners.arena.get_mut(h) {
                    l.refcount += 1;
                }
                h
            }
            None => {
                let trid = trid.clone();
                self.listeners.arena.insert(Listener { trid, refcount: 1 })
            }
        }
    }

    /// `spdk_nvmf_transport_stop_listen` called from `site`: drop one reference; free at zero
    /// (I14 is checked on the spot: no live qpair may still reference it).
    pub(super) fn transport_stop_listen(&mut self, trid: &Trid, site: &str) {
        let Some(h) = self.listeners.find(trid) else {
            return;
        };
        let Some(l) = self.listeners.arena.get_mut(h) else {
            return;
        };
        l.refcount -= 1;
        if l.refcount > 0 {
            return;
        }
        self.listeners.arena.remove(h);
        self.mark(Mark::ListenerFreed, format!("{trid}"));
        let users: Vec<String> = self.listener_users(h);
        if !users.is_empty() {
            let detail = "listener freed while a qpair still references it";
            self.breach(InvariantId::ListenerOutlivesQpairs, site, users, detail);
        }
    }

    /// Live qpairs that reference listener `h` (reference form).
    fn listener_users(&self, h: ListenerH) -> Vec<String> {
        let _checker = bookkeeping();
        self.listeners
            .refs
            .iter()
            .filter(|(_, l)| **l == h)
            .filter_map(|(q, _)| self.qpairs.get(*q).map(|x| x.label()))
            .collect()
    }

    /// The transport freed qpair `q`: its reference to the listener goes with it.
    pub(super) fn listener_qpair_freed(&mut self, q: QpairH) {
        self.listeners.refs.remove(&q);
    }

    /// Records a breach of a contract SPDK does not crash on (I13, I14): the run goes on, so a
    /// crash later in the same run is still found, and the simulator reports the first
    /// breach when the run ends without another failure (`contract_breach`).
    fn breach(&mut self, invariant: InvariantId, site: &str, handles: Vec<String>, detail: &str) {
        self.history.breaches.push(Violation {
            invariant,
            site: site.to_string(),
            handles,
            thread: self.current,
            detail: detail.to_string(),
        });
    }

    /// The first contract breach (I13, I14) of the run, if any.
    pub fn contract_breach(&self) -> Option<&Violation> {
        self.history.breaches.first()
    }

    /// The acceptor: a new TCP connection on `trid` becomes an UNINITIALIZED qpair sent to a
    /// poll group chosen round-robin; in the reference form the qpair keeps its listener.
    pub(super) fn handle_accept(&mut self, trid: &Trid, conn: ConnId) {
        super::ownership::enter(&mut self.current, ThreadId::App);
        let listener = self.listeners.find(trid);
        let refused = listener.is_none() || self.conns.contains_key(&conn);
        let pg = self.next_live_pg();
        // No poll group left ("No poll groups exist"): the UNINITIALIZED qpair is
        // disconnected, i.e. finalized and its socket closed, at once.
        let (Some(listener), Some(pg)) = (listener.filter(|_| !refused), pg) else {
            self.outputs.push_back(Output::Close { conn });
            return;
        };
        self.next_pg = (pg + 1) % self.pgs.len() as u16;
        let q = self
            .qpairs
            .insert(Qpair::new(conn, trid.clone(), pg, &self.config));
        if self.config.listener_ref {
            self.listeners.refs.insert(q, listener);
        }
        self.conns.insert(conn, q);
        self.history.qpairs_created += 1;
        self.mark(
            Mark::QpairAccepted,
            format!("conn={} {trid} -> pg{pg}", conn.0),
        );
        self.send_msg(ThreadId::PollGroup(pg), Msg::PollGroupAdd { qpair: q });
    }

    /// `nvmf_tcp_get_optimal_poll_group`: the transport's next poll group (round robin over
    /// `ttransport->poll_groups`; a destroyed group left the list and the cursor moved past it).
    fn next_live_pg(&self) -> Option<u16> {
        let n = self.pgs.len() as u16;
        (0..n)
            .map(|k| (self.next_pg + k) % n)
            .find(|pg| !self.pgs[usize::from(*pg)].is_destroyed())
    }

    /// Starts `spdk_nvmf_transport_stop_listen_async(trid, filter)` from the current thread.
    pub(super) fn stop_listen_async(
        &mut self,
        trid: &Trid,
        filter: Option<SubsysH>,
        cb: StopListenCb,
    ) {
        let existing: BTreeSet<QpairH> = self
            .qpairs
            .iter()
            .filter(|(_, q)| q.trid() == trid && self.qpair_matches_filter(q, filter))
            .map(|(h, _)| h)
            .collect();
        self.mark(Mark::StopListenStarted, format!("{trid} filter={filter:?}"));
        if self.planted(Plant::ListenerFreedEarly) {
            self.transport_stop_listen(trid, "spdk_nvmf_transport_stop_listen_async");
        }
        self.for_each_channel(FanKind::StopListen {
            trid: trid.clone(),
            filter,
            existing,
            visited: BTreeSet::new(),
            cb,
        });
    }

    /// `nvmf_stop_listen_disconnect_qpairs` for fan-out `fan` on its poll group. v24.01
    /// re-sends itself while it found a matching qpair (parked until the group's qpairs
    /// change, see `thread::park_msg`); master continues the fan-out at once.
    pub(super) fn stop_listen_visit(&mut self, fan: u64) {
        let Some(f) = self.fanouts.get(&fan) else {
            return;
        };
        let pg = f.pg;
        let FanKind::StopListen {
            trid,
            filter,
            existing,
            ..
        } = f.kind.clone()
        else {
            return;
        };
        let snapshot = self.planted(Plant::StopListenSnapshot).then_some(&existing);
        let (found, matched) = self.stop_listen_on_pg(pg, &trid, filter, snapshot);
        if let Some(Fanout {
            kind: FanKind::StopListen { visited, .. },
            ..
        }) = self.fanouts.get_mut(&fan)
        {
            visited.extend(matched);
        }
        if !found || !self.config.spdk.stop_listen_repolls() {
            self.channel_continue(fan);
            return;
        }
        let msg = Msg::StopListenRepoll { fan };
        let thread = ThreadId::PollGroup(pg);
        if self.stop_listen_on_pg_matches(pg, &trid, filter) {
            self.park_msg(thread, msg);
        } else {
            self.send_msg(thread, msg);
        }
    }

    /// Whether a qpair on `trid` matching the filter is still on the group.
    fn stop_listen_on_pg_matches(&self, pg: u16, trid: &Trid, filter: Option<SubsysH>) -> bool {
        self.pgs[usize::from(pg)].qpairs().iter().any(|qh| {
            self.qpairs.get(*qh).is_some_and(|q| {
                q.trid() == trid && !matches!(self.spdk_filter(q, filter), FilterVerdict::Skip)
            })
        })
    }

    /// `nvmf_stop_listen_disconnect_qpairs` on one poll group: walks `group->qpairs` (any
    /// state) and disconnects those on `trid` that match the filter. Returns whether any
    /// matched (v24.01's `qpair_found`) and which (checker bookkeeping for I13). `snapshot`:
    /// the planted defect that disconnects only qpairs that matched at the call.
    fn stop_listen_on_pg(
        &mut self,
        pg: u16,
        trid: &Trid,
        filter: Option<SubsysH>,
        snapshot: Option<&BTreeSet<QpairH>>,
    ) -> (bool, Vec<QpairH>) {
        let (mut found, mut matched) = (false, Vec::new());
        let qpairs = self.pgs[usize::from(pg)].qpairs().to_vec();
        for qh in qpairs {
            let Some(q) = self.qpairs.get(qh) else {
                self.crash_on(
                    InvariantId::NoDanglingReference,
                    "nvmf_stop_listen_disconnect_qpairs",
                    vec![format!("{qh}")],
                    "freed qpair on group->qpairs",
                );
                return (false, matched);
            };
            if q.trid() != trid {
                continue;
            }
            let verdict = self.spdk_filter(q, filter);
            let label = q.label();
            if q.ctrlr().is_none() {
                let d = format!("conn={} qid={}", q.conn().0, q.qid());
                self.mark(Mark::StopListenMetQpairWithoutCtrlr, d);
            }
            match verdict {
                FilterVerdict::Skip => {}
                FilterVerdict::NullCtrlr => {
                    let handles = vec![label, "ctrlr NULL".to_string()];
                    let detail = "qpair->ctrlr->subsys read on a qpair without a controller";
                    self.crash_on(
                        InvariantId::NoDanglingReference,
                        FILTER_SITE,
                        handles,
                        detail,
                    );
                    return (false, matched);
                }
                FilterVerdict::Disconnect => {
                    matched.push(qh);
                    if snapshot.is_some_and(|s| !s.contains(&qh)) {
                        continue;
                    }
                    found = true;
                    self.record_filtered_disconnect(qh, pg, filter);
                    self.qpair_disconnect(qh);
                }
            }
        }
        (found, matched)
    }

    /// `nvmf_stop_listen_disconnect_qpairs`'s condition as SPDK runs it: today's
    /// `S == NULL || (qpair->ctrlr != NULL && S == qpair->ctrlr->subsys)` (2e56512236); with
    /// `spdk-2299-null` the original `S == NULL || S == qpair->ctrlr->subsys` (79727986e0), with
    /// `spdk-2299-precision` the first fix's `S == NULL || qpair->ctrlr == NULL || S ==
    /// qpair->ctrlr->subsys` (44f69b654b).
    fn spdk_filter(&self, q: &Qpair, filter: Option<SubsysH>) -> FilterVerdict {
        let Some(s) = filter else {
            return FilterVerdict::Disconnect;
        };
        let _fixed = foreign(Foreign::FixedFields);
        let subsys = q
            .ctrlr()
            .and_then(|c| self.ctrlrs.get(c))
            .map(|c| c.subsys());
        match subsys {
            Some(x) if x == s => FilterVerdict::Disconnect,
            Some(_) => FilterVerdict::Skip,
            None if q.ctrlr().is_some() => FilterVerdict::Skip,
            None if self.bug(BugId::Spdk2299Null) => FilterVerdict::NullCtrlr,
            None if self.bug(BugId::Spdk2299Precision) => FilterVerdict::Disconnect,
            None => FilterVerdict::Skip,
        }
    }

    /// Records a disconnect made by a subsystem filter, with the controller's subsystem at that
    /// moment (checker bookkeeping for I11; a qpair already disconnecting is not disconnected
    /// again, so it is not recorded).
    fn record_filtered_disconnect(&mut self, qh: QpairH, pg: u16, filter: Option<SubsysH>) {
        let (Some(filter), Some(q)) = (filter, self.qpairs.get(qh)) else {
            return;
        };
        if q.disconnect_started() {
            return;
        }
        let _checker = bookkeeping();
        let ctrlr_subsys = q
            .ctrlr()
            .and_then(|c| self.ctrlrs.get(c))
            .map(|c| c.subsys());
        let qpair = q.label();
        self.history.filtered_disconnects.push(FilteredDisconnect {
            qpair,
            pg,
            filter,
            ctrlr_subsys,
        });
    }

    /// The contract's filter (checker bookkeeping for I9): no subsystem, or the qpair's
    /// controller is in it (a qpair with no controller never matches a subsystem filter).
    fn qpair_matches_filter(&self, q: &Qpair, filter: Option<SubsysH>) -> bool {
        let _checker = bookkeeping();
        match filter {
            None => true,
            Some(s) => q
                .ctrlr()
                .and_then(|c| self.ctrlrs.get(c))
                .is_some_and(|c| c.subsys() == s),
        }
    }

    /// `nvmf_stop_listen_fini` on the caller's thread: refcount drop, I9 and I13 checks,
    /// callback.
    pub(super) fn stop_listen_fini(&mut self, fan: StopListenFan, cb: StopListenCb) {
        let StopListenFan {
            trid,
            filter,
            existing,
            visited,
        } = fan;
        let trid = &trid;
        // `spdk_nvmf_transport_stop_listen` finds no listener for a trid nobody listens on
        // (-ENOENT, "Failed to stop listening"): the walk ran all the same, the callback gets
        // the error.
        let listening = self.listeners.find(trid).is_some();
        if !self.planted(Plant::ListenerFreedEarly) {
            self.transport_stop_listen(trid, "nvmf_stop_listen_fini");
        }
        self.check_stop_listen_postcondition(trid, filter, &existing);
        self.check_stop_listen_contract(trid, filter, &existing, &visited);
        self.mark(Mark::StopListenDone, format!("{trid}"));
        self.stop_listen_callback(cb, listening);
    }

    /// I9: after stop_listen(T, S), no qpair that matched at the call (on T, controller in S,
    /// or any qpair on T with no filter) is still active and not disconnecting.
    fn check_stop_listen_postcondition(
        &mut self,
        _trid: &Trid,
        filter: Option<SubsysH>,
        existing: &BTreeSet<QpairH>,
    ) {
        let bad: Vec<String> = self
            .qpairs
            .iter()
            .filter(|(h, q)| {
                existing.contains(h) && q.state().is_active() && !q.disconnect_started()
            })
            .filter(|(_, q)| self.qpair_matches_filter(q, filter))
            .map(|(_, q)| format!("qpair conn={} qid={}", q.conn().0, q.qid()))
            .collect();
        if !bad.is_empty() {
            self.crash_on(
                InvariantId::StopListenDisconnects,
                "nvmf_stop_listen_fini",
                bad,
                "a matching qpair survived stop_listen",
            );
        }
    }
}

impl Target {
    /// I13: when stop_listen(T, S) completes, no qpair on T matching S remains active and not
    /// disconnecting, whatever arrived during the fan-out (qpairs I9 already reported are
    /// left to it). A survivor the filter matched when its group was visited is the visit's
    /// failure; one that came to match after the visit (accepted on, or bound to a controller
    /// in S on, a group already visited) is SPDK's own behaviour: hazard H-2.
    fn check_stop_listen_contract(
        &mut self,
        trid: &Trid,
        filter: Option<SubsysH>,
        existing: &BTreeSet<QpairH>,
        visited: &BTreeSet<QpairH>,
    ) {
        let survivors: Vec<(QpairH, String)> = self
            .qpairs
            .iter()
            .filter(|(h, q)| !existing.contains(h) && q.trid() == trid)
            .filter(|(_, q)| !q.disconnect_started() && (q.state().is_active() || q.state() == New))
            .filter(|(_, q)| self.qpair_matches_filter(q, filter))
            .map(|(h, q)| (h, q.label()))
            .collect();
        let missed: Vec<String> = survivors
            .iter()
            .filter(|(h, _)| visited.contains(h))
            .map(|(_, l)| l.clone())
            .collect();
        let (site, bad, detail) = if !missed.is_empty() {
            let detail = "a qpair the visit matched is still active when stop_listen completes";
            (FILTER_SITE, missed, detail)
        } else {
            let late: Vec<String> = survivors.into_iter().map(|(_, l)| l).collect();
            if late.is_empty() {
                return;
            }
            self.mark(Mark::StopListenLateQpair, format!("{trid}"));
            let detail = "a qpair that came to match after its group was visited is still \
                          active when stop_listen completes";
            ("nvmf_stop_listen_fini", late, detail)
        };
        self.breach(InvariantId::StopListenContract, site, bad, detail);
    }
}

/// I17: a transport listener belongs to the target's (app) thread.
impl super::arena::Owned for Listener {
    fn owner(&self) -> Option<ThreadId> {
        Some(ThreadId::App)
    }
}

//! Transport listeners (`struct spdk_nvmf_listener`: trid + refcount), the acceptor
//! (`spdk_nvmf_tgt_new_qpair`: round-robin poll group choice) and
//! `spdk_nvmf_transport_stop_listen_async` (for_each_channel disconnecting matching qpairs, then
//! the refcount drop and exactly one callback on the caller's thread).
//!
//! Invariants kept: I9 is checked when a stop_listen completes; every disconnect the filter makes
//! is recorded with its cause for I11 (exactly the qpairs whose controller is in the filter's
//! subsystem); the filter never dereferences a NULL or freed controller (the qpair is skipped, as
//! SPDK does since `2e56512236`). Catalogue switches `spdk-2299-null` and
//! `spdk-2299-precision` put back the two earlier conditions.

use super::arena::{QpairH, SubsysH};
use super::callbacks::StopListenCb;
use super::catalogue::BugId;
use super::qpair::Qpair;
use super::thread::{FanKind, Msg};
use super::{ConnId, InvariantId, Mark, Output, Target, ThreadId, Trid};
use serde::Serialize;
use std::collections::BTreeSet;

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

/// A transport listener.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Listener {
    /// invariant: >= 1 while the listener exists.
    pub refcount: u32,
}

impl Target {
    /// `spdk_nvmf_transport_listen`: create or take one more reference.
    pub(super) fn transport_listen(&mut self, trid: &Trid) {
        self.listeners
            .entry(trid.clone())
            .and_modify(|l| l.refcount += 1)
            .or_insert(Listener { refcount: 1 });
    }

    /// `spdk_nvmf_transport_stop_listen`: drop one reference; free at zero.
    pub(super) fn transport_stop_listen(&mut self, trid: &Trid) {
        if let Some(l) = self.listeners.get_mut(trid) {
            l.refcount -= 1;
            if l.refcount == 0 {
                self.listeners.remove(trid);
            }
        }
    }

    /// The acceptor: a new TCP connection on `trid` becomes an UNINITIALIZED qpair sent to a
    /// poll group chosen round-robin.
    pub(super) fn handle_accept(&mut self, trid: &Trid, conn: ConnId) {
        self.current = ThreadId::App;
        let refused = !self.listeners.contains_key(trid)
            || self.conns.contains_key(&conn)
            || self.shutdown.is_some();
        if refused {
            self.outputs.push_back(Output::Close { conn });
            return;
        }
        let pg = self.next_pg % self.pgs.len() as u16;
        self.next_pg = (pg + 1) % self.pgs.len() as u16;
        let q = self
            .qpairs
            .insert(Qpair::new(conn, trid.clone(), pg, &self.config));
        self.conns.insert(conn, q);
        self.history.qpairs_created += 1;
        self.mark(
            Mark::QpairAccepted,
            format!("conn={} {trid} -> pg{pg}", conn.0),
        );
        self.send_msg(ThreadId::PollGroup(pg), Msg::PollGroupAdd { qpair: q });
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
        self.for_each_channel(FanKind::StopListen {
            trid: trid.clone(),
            filter,
            existing,
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
        let FanKind::StopListen { trid, filter, .. } = f.kind.clone() else {
            return;
        };
        let found = self.stop_listen_on_pg(pg, &trid, filter);
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
    /// matched (v24.01's `qpair_found`).
    pub(super) fn stop_listen_on_pg(
        &mut self,
        pg: u16,
        trid: &Trid,
        filter: Option<SubsysH>,
    ) -> bool {
        let mut found = false;
        let qpairs = self.pgs[usize::from(pg)].qpairs().to_vec();
        for qh in qpairs {
            let Some(q) = self.qpairs.get(qh) else {
                self.crash_on(
                    InvariantId::NoDanglingReference,
                    "nvmf_stop_listen_disconnect_qpairs",
                    vec![format!("{qh}")],
                    "freed qpair on group->qpairs",
                );
                return false;
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
                    return false;
                }
                FilterVerdict::Disconnect => {
                    found = true;
                    self.record_filtered_disconnect(qh, pg, filter);
                    self.qpair_disconnect(qh);
                }
            }
        }
        found
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
        match filter {
            None => true,
            Some(s) => q
                .ctrlr()
                .and_then(|c| self.ctrlrs.get(c))
                .is_some_and(|c| c.subsys() == s),
        }
    }

    /// `nvmf_stop_listen_fini` on the caller's thread: refcount drop, I9 check, callback.
    pub(super) fn stop_listen_fini(
        &mut self,
        trid: &Trid,
        filter: Option<SubsysH>,
        existing: &BTreeSet<QpairH>,
        cb: StopListenCb,
    ) {
        self.transport_stop_listen(trid);
        self.check_stop_listen_postcondition(trid, filter, existing);
        let _ = trid;
        self.mark(Mark::StopListenDone, format!("{trid}"));
        self.stop_listen_callback(cb);
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

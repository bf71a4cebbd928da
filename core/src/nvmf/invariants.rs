//! The invariants (named in violations.rs; docs/invariants.md) as a read-only oracle
//! (`check`), plus the liveness report (`quiescence`). Crash-like violations (NULL/freed
//! dereference, wrong thread, failed asserts) are recorded where they happen and are sticky;
//! `check` adds the structural checks that can be read off the state at any step.

use super::arena::ReqH;
use super::request::{Counted, Phase};
use super::state::QpairState;
use super::state::SubState;
use super::{ConnId, InvariantId, QuiescenceReport, Target, ThreadId, Violation};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Counters kept for the "exactly once" invariants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct History {
    pub qpairs_created: u64,
    /// Transport fini runs per connection (I2: at most one).
    pub qpairs_destroyed: BTreeMap<ConnId, u32>,
    pub ctrlrs_created: u64,
    pub ctrlrs_destroyed: u64,
    pub subsystems_destroyed: u64,
    pub requests_freed: u64,
    pub responses_sent: u64,
    pub fanouts_done: u64,
    /// Requests dropped without an answer while their qpair was active (liveness).
    pub lost_answers: Vec<String>,
    /// Every disconnect a subsystem-filtered stop_listen made (I11).
    pub filtered_disconnects: Vec<super::listener::FilteredDisconnect>,
    /// CONNECTs answered BUSY after waiting only for a pause (L1).
    pub busy_connects: Vec<super::connect_retry::BusyConnect>,
    /// Contract breaches SPDK does not crash on (I13, I14; listener.rs), in order: reported
    /// when the run ends unless a crash or a liveness failure came first.
    pub breaches: Vec<Violation>,
}

fn violation(invariant: InvariantId, site: &str, handles: Vec<String>, detail: &str) -> Violation {
    Violation {
        invariant,
        site: site.to_string(),
        handles,
        thread: ThreadId::App,
        detail: detail.to_string(),
    }
}

/// Runs every structural check.
pub fn check(t: &Target) -> Result<(), Violation> {
    check_i1_references(t)?;
    super::tcp_slots::check_tcp_group_lists(t)?;
    check_i2_destroyed_once(t)?;
    check_i3_masks(t)?;
    check_i7_counters(t)?;
    check_i10_states(t)?;
    check_i11_stop_listen_exact(t)?;
    check_i12_status_follows_queues(t)?;
    check_l1_pause_transparent_connect(t)?;
    check_p2_pollers_with_owner(t)?;
    Ok(())
}

/// P2: no poller is still registered once its owner is freed (`_nvmf_ctrlr_destruct` stops
/// the keep-alive and association pollers; the CC pollers and the CONNECT/qid retry pollers
/// unregister themselves before their owner can go).
fn check_p2_pollers_with_owner(t: &Target) -> Result<(), Violation> {
    let Some((h, p)) = t.leaked_poller() else {
        return Ok(());
    };
    let handles = vec![format!("{h}"), format!("{} (freed)", p.owner)];
    let detail = format!("{:?} still registered after its owner was freed", p.what);
    Err(Violation {
        thread: p.thread,
        ..violation(InvariantId::P2, "spdk_poller_unregister", handles, &detail)
    })
}

/// I12: a CC reset reports CSTS.RDY = 0, and a shutdown CSTS.SHST = COMPLETE, only once the
/// controller holds no I/O queue, unless SPDK gave up after its CC timeout (CSTS.CFS). The
/// controller records the I/O qids in its mask at the moment it wrote that status
/// (`Ctrlr::status_with_io`); broken by `spdk-2199` (status written right after the
/// disconnect fan-out, while the I/O qpairs are still tearing down).
fn check_i12_status_follows_queues(t: &Target) -> Result<(), Violation> {
    for (h, c) in t.ctrlrs.iter() {
        if let Some(qid) = c.status_with_io().iter().next() {
            let what = if c.csts() & super::ctrlr::CSTS_SHST_COMPLETE != 0 {
                "CSTS.SHST = COMPLETE"
            } else {
                "CSTS.RDY = 0 after CC.EN 1->0"
            };
            let detail = format!("{what} while I/O queue qid {qid} is still connected");
            return Err(violation(
                InvariantId::CtrlrStatusFollowsQueues,
                "_nvmf_ctrlr_cc_reset_shn_done",
                vec![format!("{h}"), format!("cntlid={}", c.cntlid())],
                &detail,
            ));
        }
    }
    Ok(())
}

/// I11: a subsystem-filtered stop_listen disconnected only qpairs whose controller was in the
/// filter's subsystem when it did. Broken by `spdk-2299-precision` (a pre-CONNECT qpair, no
/// controller yet, matched every filter).
fn check_i11_stop_listen_exact(t: &Target) -> Result<(), Violation> {
    let bad = t
        .history
        .filtered_disconnects
        .iter()
        .find(|d| d.ctrlr_subsys != Some(d.filter));
    match bad {
        Some(d) => {
            let ctrlr = d
                .ctrlr_subsys
                .map_or("ctrlr NULL".to_string(), |s| format!("{s}"));
            let handles = vec![d.qpair.clone(), format!("pg{}", d.pg), ctrlr];
            let detail = format!(
                "stop_listen filtered by {} disconnected a qpair outside it",
                d.filter
            );
            Err(violation(
                InvariantId::StopListenExact,
                "nvmf_stop_listen_disconnect_qpairs",
                handles,
                &detail,
            ))
        }
        None => Ok(()),
    }
}

/// L1: a CONNECT that waited only for a pause was answered CONTROLLER_BUSY, and its subsystem
/// is ACTIVE again (so the answer was wrong, not early). Broken by `spdk-3095`.
fn check_l1_pause_transparent_connect(t: &Target) -> Result<(), Violation> {
    for b in &t.history.busy_connects {
        let Some(sub) = t.subsystems.get(b.subsys) else {
            continue;
        };
        if sub.state() == SubState::Active {
            let handles = vec![format!("conn={}", b.conn.0), sub.nqn().to_string()];
            let detail = "CONNECT delayed only by a pause was failed with CONTROLLER_BUSY";
            return Err(violation(
                InvariantId::PauseTransparentConnect,
                "nvmf_ctrlr_cmd_connect",
                handles,
                detail,
            ));
        }
    }
    Ok(())
}

/// I1: no live object holds a handle to a freed controller, qpair or subsystem (what SPDK would
/// dereference later). Broken by `spdk-3302` at the moment of the crash (recorded at `free_aer`).
fn check_i1_references(t: &Target) -> Result<(), Violation> {
    for (h, q) in t.qpairs.iter() {
        // Old teardown order: a qpair whose mask bit was released may keep a dangling
        // `qpair->ctrlr` until its fini; only a read of it is reported (spdk-1819).
        if let Some(c) = q.ctrlr().filter(|_| !q.ctrlr_released()) {
            if !t.ctrlrs.contains(c) {
                return Err(violation(
                    InvariantId::NoDanglingReference,
                    "qpair->ctrlr",
                    vec![q.label(), format!("{c}")],
                    "qpair references a freed controller",
                ));
            }
        }
        let on_group = t.pgs[usize::from(q.pg())].has_qpair(h);
        if on_group != (q.group() == Some(q.pg())) {
            return Err(violation(
                InvariantId::NoDanglingReference,
                "qpair->group",
                vec![q.label()],
                "qpair->group and group->qpairs disagree",
            ));
        }
        let grouped = !matches!(q.state(), QpairState::Uninitialized | QpairState::Error);
        if grouped && !on_group {
            return Err(violation(
                InvariantId::NoDanglingReference,
                "group->qpairs",
                vec![q.label()],
                "active qpair missing from its poll group",
            ));
        }
    }
    for (h, c) in t.ctrlrs.iter() {
        // The fixed order clears `admin_qpair` before the admin bit; the old one (spdk-2055)
        // never does, and a read of it is reported where SPDK reads it.
        let admin_dangling = c
            .admin_qpair()
            .is_some_and(|a| !t.qpairs.contains(a) && c.qpair_mask().contains(&0));
        // Once removed from the subsystem (destruct chain) the controller no longer uses it
        // (SPDK HEAD sets `ctrlr->subsys = NULL` there).
        let subsys_dangling = !c.in_destruct() && !t.subsystems.contains(c.subsys());
        if subsys_dangling || admin_dangling {
            return Err(violation(
                InvariantId::NoDanglingReference,
                "ctrlr->subsys/admin_qpair",
                vec![format!("{h}")],
                "controller references a freed object",
            ));
        }
    }
    Ok(())
}

/// I2: every qpair is destroyed (transport fini) at most once. Broken by a double disconnect
/// that reaches `_nvmf_qpair_destroy` twice.
fn check_i2_destroyed_once(t: &Target) -> Result<(), Violation> {
    match t.history.qpairs_destroyed.iter().find(|(_, n)| **n > 1) {
        Some((conn, _)) => Err(violation(
            InvariantId::QpairDestroyedOnce,
            "nvmf_transport_qpair_fini",
            vec![format!("conn={}", conn.0)],
            "qpair destroyed twice",
        )),
        None => Ok(()),
    }
}

/// I3: a controller's qpair mask names only live qpairs of that controller (a controller
/// outlives every qpair that references it); destroyed no more often than created.
fn check_i3_masks(t: &Target) -> Result<(), Violation> {
    if t.history.ctrlrs_destroyed > t.history.ctrlrs_created {
        return Err(violation(
            InvariantId::CtrlrDestroyedOnce,
            "_nvmf_ctrlr_destruct",
            vec![],
            "more controllers destroyed than created",
        ));
    }
    for (h, q) in t.qpairs.iter() {
        let Some(c) = q.ctrlr().and_then(|c| t.ctrlrs.get(c)) else {
            continue;
        };
        // v24.01 qpairs are ENABLED (ACTIVE) before CONNECT: only a finished CONNECT owes
        // the mask bit.
        let connecting = q.connect_req().is_some()
            || q.outstanding()
                .iter()
                .any(|r| t.reqs.get(*r).is_some_and(|r| r.is_connect()));
        if q.state() == QpairState::Enabled && !connecting && !c.qpair_mask().contains(&q.qid()) {
            return Err(violation(
                InvariantId::CtrlrDestroyedOnce,
                "ctrlr->qpair_mask",
                vec![q.label(), format!("{h}")],
                "enabled qpair without its mask bit",
            ));
        }
    }
    Ok(())
}

/// I7: every sgroup counter equals the number of live requests counted against it (so it can
/// never underflow and, at quiescence, equals the admitted, uncompleted requests).
fn check_i7_counters(t: &Target) -> Result<(), Violation> {
    // Keyed by subsystem id, as `group->sgroups` is (S8).
    let mut mgmt: BTreeMap<(u16, u32), u32> = BTreeMap::new();
    let mut io: BTreeMap<(u16, u32, u32), u32> = BTreeMap::new();
    for (_, r) in t.reqs.iter() {
        match r.counted() {
            Counted::None => {}
            Counted::Mgmt(s) => *mgmt.entry((r.pg, s.idx)).or_default() += 1,
            Counted::Io(s, n) => *io.entry((r.pg, s.idx, n)).or_default() += 1,
        }
    }
    for (pg, group) in t.pgs.iter().enumerate() {
        for (s, sg) in group.sgroups() {
            let want = mgmt.get(&(pg as u16, s)).copied().unwrap_or(0);
            if sg.mgmt_io_outstanding() != want {
                let d = format!(
                    "mgmt_io_outstanding {} but {want} counted requests",
                    sg.mgmt_io_outstanding()
                );
                return Err(violation(
                    InvariantId::SgroupCountersExact,
                    "sgroup->mgmt_io_outstanding",
                    vec![format!("pg{pg} sid={s}")],
                    &d,
                ));
            }
            for (nsid, info) in sg.namespaces() {
                let want = io.get(&(pg as u16, s, nsid)).copied().unwrap_or(0);
                if info.io_outstanding() != want {
                    return Err(violation(
                        InvariantId::SgroupCountersExact,
                        "ns_info->io_outstanding",
                        vec![format!("pg{pg} sid={s} nsid={nsid}")],
                        "io_outstanding mismatch",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// I10: sgroups only use INACTIVE/ACTIVE/PAUSING/PAUSED; a PAUSED sgroup has nothing counted
/// unless its subsystem is already RESUMING (retry-mode CONNECT re-admission);
/// CSTS.RDY is set only with CC.EN (or during a reset still in progress).
fn check_i10_states(t: &Target) -> Result<(), Violation> {
    for (pg, group) in t.pgs.iter().enumerate() {
        for (s, sg) in group.sgroups() {
            let bad_state = matches!(
                sg.state(),
                SubState::Activating | SubState::Resuming | SubState::Deactivating
            );
            // v24.01's `retry_connect` re-admits a parked CONNECT as soon as the subsystem is
            // no longer PAUSING/PAUSED, so while it is RESUMING a still-PAUSED sgroup may count
            // one (SPDK does exactly this; the resume then reaches the group and activates it).
            let resuming = t
                .subsystems
                .iter()
                .any(|(h, sub)| h.idx == s && sub.state() == SubState::Resuming);
            let counted_while_paused =
                sg.state() == SubState::Paused && sg.mgmt_io_outstanding() > 0 && !resuming;
            if bad_state || counted_while_paused {
                return Err(violation(
                    InvariantId::LegalTransitions,
                    "sgroup->state",
                    vec![format!("pg{pg} sid={s}")],
                    "illegal sgroup state",
                ));
            }
        }
    }
    for (h, c) in t.ctrlrs.iter() {
        let rdy = c.csts() & super::ctrlr::CSTS_RDY != 0;
        let en = c.cc() & super::ctrlr::CC_EN != 0;
        if rdy && !en && !c.disconnect_in_progress() {
            return Err(violation(
                InvariantId::LegalTransitions,
                "csts.rdy",
                vec![format!("{h}")],
                "CSTS.RDY set with CC.EN clear",
            ));
        }
    }
    Ok(())
}

/// The liveness report: everything that keeps the target from quiescence.
pub fn quiescence(t: &Target) -> QuiescenceReport {
    let mut stuck = Vec::new();
    stuck_threads(t, &mut stuck);
    stuck_work(t, &mut stuck);
    stuck_objects(t, &mut stuck);
    QuiescenceReport { stuck }
}

/// Queued and parked messages.
fn stuck_threads(t: &Target, stuck: &mut Vec<String>) {
    for (i, q) in t.queues.iter().enumerate() {
        if !q.is_empty() {
            let names: Vec<&str> = q.iter().map(|m| m.name()).collect();
            let thread = super::thread::thread_of(i);
            stuck.push(format!(
                "{thread} has {} queued messages: {}",
                q.len(),
                names.join(", ")
            ));
        }
    }
    for (i, p) in t.parked.iter().enumerate() {
        for m in p {
            stuck.push(format!(
                "{} waits in {}",
                super::thread::thread_of(i),
                m.name()
            ));
        }
    }
}

/// Unfinished state changes, CONNECTs, device I/O, fan-outs and RPCs.
fn stuck_work(t: &Target, stuck: &mut Vec<String>) {
    for (_, s) in t.subsystems.iter() {
        if let Some(head) = s.current_change() {
            let (nqn, state) = (s.nqn(), s.state().name());
            stuck.push(format!(
                "state change of {nqn} to {:?} never finished (state {state})",
                head.requested
            ));
        }
    }
    stuck.extend(t.history.lost_answers.iter().cloned());
    let left = left_by_destroy(t, stuck);
    for (h, r) in t.reqs.iter() {
        if left.contains(&h) {
            continue;
        }
        if r.phase == Phase::Queued && !r.is_connect() {
            stuck.push(format!(
                "request {h} on conn {} queued, never answered",
                r.conn.0
            ));
        } else if r.is_connect() {
            stuck.push(format!(
                "CONNECT on conn {} unanswered ({h}, {:?})",
                r.conn.0, r.phase
            ));
        } else if r.phase == Phase::Device {
            stuck.push(format!(
                "device I/O of {h} on conn {} not completed",
                r.conn.0
            ));
        } else if r.phase == Phase::NeedBuffer {
            stuck.push(format!(
                "request {h} on conn {} waits for a data buffer (NEED_BUFFER)",
                r.conn.0
            ));
        }
    }
    for f in t.fanouts.values() {
        stuck.push(format!(
            "for_each_channel {} at pg{} never completed",
            kind_name(&f.kind),
            f.pg
        ));
    }
    for id in &t.rpcs_pending {
        // A remove_host waiting on its registered poller is answered by the poller's timeout
        // at the latest (host_wait.rs): pending, not stuck.
        if t.host_wait_bounded(*id) {
            continue;
        }
        stuck.push(format!("rpc {} never answered", id.0));
    }
}

/// Requests left on `sgroup->queued` at an id whose subsystem was freed (S8): nothing walks
/// that list until the request's qpair is destroyed or a new subsystem takes the id. Reported
/// at `_nvmf_subsystem_destroy`, which left them there (hazard H-1).
fn left_by_destroy(t: &Target, stuck: &mut Vec<String>) -> BTreeSet<ReqH> {
    let mut left = BTreeSet::new();
    for (pg, group) in t.pgs.iter().enumerate() {
        for (sid, sg) in group.sgroups() {
            if t.subsystems.iter().any(|(h, _)| h.idx == sid) {
                continue;
            }
            for &r in sg.queued() {
                let conn = t.reqs.get(r).map_or(0, |req| req.conn.0);
                stuck.push(format!(
                    "request {r} on conn {conn} left on pg{pg}'s sgroup->queued of freed \
                     subsystem id {sid}, never answered (_nvmf_subsystem_destroy)"
                ));
                left.insert(r);
            }
        }
    }
    left
}

/// Objects half torn down, or alive after a shutdown.
fn stuck_objects(t: &Target, stuck: &mut Vec<String>) {
    for (_, q) in t.qpairs.iter() {
        if matches!(q.state(), QpairState::Deactivating | QpairState::Error) {
            stuck.push(format!(
                "{} never destroyed ({})",
                q.label(),
                q.state().name()
            ));
        }
    }
    for (h, c) in t.ctrlrs.iter() {
        if c.in_destruct() {
            stuck.push(format!(
                "{h} cntlid={} in destruct but never freed",
                c.cntlid()
            ));
        }
    }
    if t.is_shut_down() {
        t.shutdown_survivors(stuck);
    }
}

fn kind_name(k: &super::thread::FanKind) -> &'static str {
    match k {
        super::thread::FanKind::StateChange { .. } => "subsystem_state_change",
        super::thread::FanKind::StopListen { .. } => "stop_listen",
        super::thread::FanKind::CtrlrDisconnect { .. } => "ctrlr_disconnect_qpairs",
        super::thread::FanKind::PgDestroy => "poll_group_destroy",
        super::thread::FanKind::DisconnectHost { .. } => "disconnect_host",
        super::thread::FanKind::GetQpairs { .. } => "rpc_nvmf_get_qpairs",
        super::thread::FanKind::Abort { .. } => "ctrlr_abort",
    }
}

//! The invariants by name, the `Violation` value, and the two ways the model records one where
//! SPDK would crash or corrupt memory: `crash_on` (a failed assert, a NULL or freed dereference)
//! and `assert_thread` (an object touched off its thread). The read-only oracle over the whole
//! state is in invariants.rs; docs/invariants.md gives each invariant with the bug behind it.
//!
//! A recorded violation is sticky (the first one wins) and the target ignores every later input,
//! as a crashed SPDK would: nothing a peer sends can make the model panic instead.

use super::{Target, ThreadId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The invariants SPDK's nvmf lifecycle keeps. Output (traces, seeds, snapshots, JSON) shows
/// the short code `I1`..`I11`, `L1`; `InvariantId::I1`.. name the same values.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InvariantId {
    /// I1: no NULL or freed controller, qpair, listener or subsystem is dereferenced. Checked
    /// at every dereference site (`Target::live`, `free_aer`) and structurally in
    /// `invariants::check`. Broken by `spdk-3302` (NULL ctrlr in `free_aer`).
    #[serde(rename = "I1")]
    NoDanglingReference,
    /// I2: every qpair is destroyed exactly once; transport fini runs once
    /// (`_nvmf_qpair_destroy`, `nvmf_transport_qpair_fini`, `History::qpairs_destroyed`).
    /// Broken by a double disconnect (SPDK #2765-style re-entry).
    #[serde(rename = "I2")]
    QpairDestroyedOnce,
    /// I3: every controller is destroyed exactly once, only with an empty qpair mask, after
    /// every qpair referencing it (`_nvmf_ctrlr_free_from_qpair`, `_nvmf_ctrlr_destruct`, masks
    /// in `invariants::check`). Broken by a double destruct.
    #[serde(rename = "I3")]
    CtrlrDestroyedOnce,
    /// I4: every request gets exactly one completion or is silently freed with its dying qpair
    /// (a second end finds a stale `ReqH`: `_nvmf_request_complete`, `spdk_nvmf_request_free`).
    #[serde(rename = "I4")]
    RequestEndsOnce,
    /// I5: every async callback (state change, stop_listen, fan-out, RPC answer) fires exactly
    /// once, after all its messages ran (`for_each_channel_done`, `rpc callback`).
    #[serde(rename = "I5")]
    CallbackOnce,
    /// I6: controller fields are touched only on the controller's thread, qpair teardown and
    /// request execution only on the qpair's poll group (`assert_thread` at those sites).
    #[serde(rename = "I6")]
    OwnerThread,
    /// I7: sgroup counters never underflow and equal the admitted, uncompleted requests
    /// (`Sgroup::release`, `invariants::check`). Broken by SPDK's AER accounting bugs.
    #[serde(rename = "I7")]
    SgroupCountersExact,
    /// I8: liveness: every CONNECT is answered, every pause terminates, every stop_listen
    /// completes (`quiescence_report`).
    #[serde(rename = "I8")]
    EverythingCompletes,
    /// I9: after stop_listen(T, S) completes, no qpair that matched at the call is still active
    /// (`nvmf_stop_listen_fini`). Broken by an over-precise filter (SPDK #2299 family).
    #[serde(rename = "I9")]
    StopListenDisconnects,
    /// I10: subsystem, sgroup and qpair transitions follow SPDK's tables (state.rs); CSTS.RDY
    /// only with CC.EN (`nvmf_subsystem_set_state`, `Qpair::set_state`, `invariants::check`).
    #[serde(rename = "I10")]
    LegalTransitions,
    /// I11: `stop_listen_async(T, S)` disconnects exactly the qpairs on T whose controller is
    /// in S (every qpair on T when S is NULL), and no other qpair: a pre-CONNECT qpair (no
    /// controller yet) is outside every subsystem filter (`nvmf_stop_listen_disconnect_qpairs`;
    /// each stop-listen disconnect is recorded with its cause and checked every step). I9 is
    /// the other half. Broken by `spdk-2299-precision`.
    #[serde(rename = "I11")]
    StopListenExact,
    /// I12: after CC.EN 1->0 CSTS.RDY reads 0, and after CC.SHN CSTS.SHST reads COMPLETE, only
    /// once the controller's qpair mask holds no I/O queue, unless SPDK gave up and set CSTS.CFS
    /// (`_nvmf_ctrlr_cc_reset_shn_done`, `Ctrlr::status_with_io`). Broken by `spdk-2199`.
    #[serde(rename = "I12")]
    CtrlrStatusFollowsQueues,
    /// L1 (liveness): a CONNECT delayed only because its subsystem was PAUSING/PAUSED is never
    /// answered CONTROLLER_BUSY once the subsystem is ACTIVE again (`nvmf_ctrlr_cmd_connect`;
    /// decided, and reported, on the step the subsystem is ACTIVE with such an answer given).
    /// Broken by `spdk-3095` (v24.01's retry parking gives up after 1 s).
    #[serde(rename = "L1")]
    PauseTransparentConnect,
    /// P1: a poller never runs on a freed owner (`spdk_poller` fn(ctx) with ctx freed; checked
    /// at every fire, poller.rs). Shown by the planted `KeepAliveNotStoppedAtFree` when the
    /// oracle is not consulted.
    #[serde(rename = "P1")]
    PollerOwnerLive,
    /// P2: every poller is unregistered by the time its owner (controller, request) is freed:
    /// no registration outlives its owner (`invariants::check`). Broken by the planted
    /// `KeepAliveNotStoppedAtFree` and `AssociationTimerArmedTwice`.
    #[serde(rename = "P2")]
    PollerUnregisteredWithOwner,
    /// I13: the stop-listen contract as a caller reads it: when `stop_listen_async(T, S)`
    /// completes, no qpair on T that matches S (its controller in S; any qpair with no filter)
    /// is still active and not disconnecting, whatever was accepted or connected during the
    /// fan-out (I9 checks only the qpairs that matched at the call). Site
    /// `nvmf_stop_listen_disconnect_qpairs` when the survivor matched when its group was
    /// visited, `nvmf_stop_listen_fini` when it came to match after the visit (SPDK's own
    /// behaviour: hazard H-2 in `fabcheck hazards`).
    #[serde(rename = "I13")]
    StopListenContract,
    /// I14: a listener outlives every qpair that references it (reference form,
    /// `TargetConfig::listener_ref`, as RDMA's `rqpair->listen_id`): checked after every step
    /// (`spdk_nvmf_transport_stop_listen` frees the listener).
    #[serde(rename = "I14")]
    ListenerOutlivesQpairs,
    /// I15: thread and poll-group lifetime: no message that reads its poll group runs after
    /// the group was destroyed, and no message is sent to an exited thread
    /// (`spdk_thread_send_msg`, the running message's function; thread_life.rs). Broken by
    /// `spdk-1850`-class shutdowns that destroy poll groups with teardown messages in flight.
    #[serde(rename = "I15")]
    ThreadLifetime,
    /// I16: bounded callback re-entry: a completion callback invoked synchronously from
    /// inside the call that registered it re-enters its caller at most a fixed depth deep
    /// (a deeper chain is SPDK's unbounded recursion, a stack overflow). Broken by
    /// `spdk-2765` (`_nvmf_tgt_disconnect_next_qpair`).
    #[serde(rename = "I16")]
    BoundedReentry,
    /// I17: every access to a controller, qpair, request, subsystem or poller runs on the
    /// thread that owns it, or is one of SPDK's own foreign accesses (`ownership::Foreign`);
    /// checked on every arena access during a step (ownership.rs).
    #[serde(rename = "I17")]
    ThreadOwnership,
}

impl InvariantId {
    pub const I1: InvariantId = InvariantId::NoDanglingReference;
    pub const I2: InvariantId = InvariantId::QpairDestroyedOnce;
    pub const I3: InvariantId = InvariantId::CtrlrDestroyedOnce;
    pub const I4: InvariantId = InvariantId::RequestEndsOnce;
    pub const I5: InvariantId = InvariantId::CallbackOnce;
    pub const I6: InvariantId = InvariantId::OwnerThread;
    pub const I7: InvariantId = InvariantId::SgroupCountersExact;
    pub const I8: InvariantId = InvariantId::EverythingCompletes;
    pub const I9: InvariantId = InvariantId::StopListenDisconnects;
    pub const I10: InvariantId = InvariantId::LegalTransitions;
    pub const I11: InvariantId = InvariantId::StopListenExact;
    pub const I12: InvariantId = InvariantId::CtrlrStatusFollowsQueues;
    pub const L1: InvariantId = InvariantId::PauseTransparentConnect;
    pub const P1: InvariantId = InvariantId::PollerOwnerLive;
    pub const P2: InvariantId = InvariantId::PollerUnregisteredWithOwner;
    pub const I13: InvariantId = InvariantId::StopListenContract;
    pub const I14: InvariantId = InvariantId::ListenerOutlivesQpairs;
    pub const I15: InvariantId = InvariantId::ThreadLifetime;
    pub const I16: InvariantId = InvariantId::BoundedReentry;
    pub const I17: InvariantId = InvariantId::ThreadOwnership;

    /// Every invariant, in code order.
    pub const ALL: [InvariantId; 20] = [
        Self::I1,
        Self::I2,
        Self::I3,
        Self::I4,
        Self::I5,
        Self::I6,
        Self::I7,
        Self::I8,
        Self::I9,
        Self::I10,
        Self::I11,
        Self::I12,
        Self::L1,
        Self::P1,
        Self::P2,
        Self::I13,
        Self::I14,
        Self::I15,
        Self::I16,
        Self::I17,
    ];

    /// The short code output uses, e.g. "I1".
    pub fn code(self) -> &'static str {
        match self {
            InvariantId::NoDanglingReference => "I1",
            InvariantId::QpairDestroyedOnce => "I2",
            InvariantId::CtrlrDestroyedOnce => "I3",
            InvariantId::RequestEndsOnce => "I4",
            InvariantId::CallbackOnce => "I5",
            InvariantId::OwnerThread => "I6",
            InvariantId::SgroupCountersExact => "I7",
            InvariantId::EverythingCompletes => "I8",
            InvariantId::StopListenDisconnects => "I9",
            InvariantId::LegalTransitions => "I10",
            InvariantId::StopListenExact => "I11",
            InvariantId::CtrlrStatusFollowsQueues => "I12",
            InvariantId::PauseTransparentConnect => "L1",
            InvariantId::PollerOwnerLive => "P1",
            InvariantId::PollerUnregisteredWithOwner => "P2",
            InvariantId::StopListenContract => "I13",
            InvariantId::ListenerOutlivesQpairs => "I14",
            InvariantId::ThreadLifetime => "I15",
            InvariantId::BoundedReentry => "I16",
            InvariantId::ThreadOwnership => "I17",
        }
    }

    /// The descriptive name, e.g. "NoDanglingReference".
    pub fn name(self) -> &'static str {
        match self {
            InvariantId::NoDanglingReference => "NoDanglingReference",
            InvariantId::QpairDestroyedOnce => "QpairDestroyedOnce",
            InvariantId::CtrlrDestroyedOnce => "CtrlrDestroyedOnce",
            InvariantId::RequestEndsOnce => "RequestEndsOnce",
            InvariantId::CallbackOnce => "CallbackOnce",
            InvariantId::OwnerThread => "OwnerThread",
            InvariantId::SgroupCountersExact => "SgroupCountersExact",
            InvariantId::EverythingCompletes => "EverythingCompletes",
            InvariantId::StopListenDisconnects => "StopListenDisconnects",
            InvariantId::LegalTransitions => "LegalTransitions",
            InvariantId::StopListenExact => "StopListenExact",
            InvariantId::CtrlrStatusFollowsQueues => "CtrlrStatusFollowsQueues",
            InvariantId::PauseTransparentConnect => "PauseTransparentConnect",
            InvariantId::PollerOwnerLive => "PollerOwnerLive",
            InvariantId::PollerUnregisteredWithOwner => "PollerUnregisteredWithOwner",
            InvariantId::StopListenContract => "StopListenContract",
            InvariantId::ListenerOutlivesQpairs => "ListenerOutlivesQpairs",
            InvariantId::ThreadLifetime => "ThreadLifetime",
            InvariantId::BoundedReentry => "BoundedReentry",
            InvariantId::ThreadOwnership => "ThreadOwnership",
        }
    }
}

/// Prints the short code, so `{:?}` in traces and seed strings stays `I1`..`I10`.
impl fmt::Debug for InvariantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for InvariantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A crash or broken invariant, as a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Violation {
    pub invariant: InvariantId,
    /// SPDK-ish site name, e.g. "free_aer", "stop_listen filter".
    pub site: String,
    /// Object handles involved, e.g. ["qpair conn=3 qid=0", "ctrlr NULL"].
    pub handles: Vec<String>,
    pub thread: ThreadId,
    /// One-line explanation.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} at {} on {}: {} [{}]",
            self.invariant,
            self.site,
            self.thread,
            self.detail,
            self.handles.join(", ")
        )
    }
}

impl Target {
    /// Records a sticky crash (first one wins) on the current thread.
    pub(super) fn crash_on(
        &mut self,
        invariant: InvariantId,
        site: &str,
        handles: Vec<String>,
        detail: &str,
    ) {
        if self.violation.is_none() {
            self.violation = Some(Violation {
                invariant,
                site: site.to_string(),
                handles,
                thread: self.current,
                detail: detail.to_string(),
            });
        }
    }

    /// A debug-only `assert` of SPDK fails at `site`: a crash (I10) when the modelled build has
    /// asserts (`TargetConfig::debug_asserts`, the differential harness's build); the release
    /// build compiles it out and the caller goes on with the code after it.
    pub(super) fn debug_assert_fails(&mut self, handles: Vec<String>, site: &str, detail: &str) {
        if self.config.debug_asserts {
            let detail = format!("{detail} (debug builds; release builds go on)");
            self.crash_on(InvariantId::LegalTransitions, site, handles, &detail);
        }
    }

    /// Checks that the current thread is `expected` (I6); records a crash if not.
    pub(super) fn assert_thread(&mut self, expected: ThreadId, site: &str, what: String) -> bool {
        self.assert_thread_with(expected, site, || what)
    }

    /// `assert_thread` that only builds the object label when the check fails (hot path).
    pub(super) fn assert_thread_with(
        &mut self,
        expected: ThreadId,
        site: &str,
        what: impl FnOnce() -> String,
    ) -> bool {
        if self.current == expected {
            return true;
        }
        let detail = format!("touched on {} but belongs to {expected}", self.current);
        self.crash_on(InvariantId::OwnerThread, site, vec![what()], &detail);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::InvariantId;

    #[test]
    fn output_keeps_the_short_codes() {
        let codes: Vec<String> = InvariantId::ALL.iter().map(|i| format!("{i:?}")).collect();
        let mut want: Vec<String> = (1..=12).map(|n| format!("I{n}")).collect();
        want.push("L1".into());
        want.extend(["P1".into(), "P2".into()]);
        want.extend(["I13", "I14", "I15", "I16", "I17"].map(String::from));
        assert_eq!(codes, want);
        assert_eq!(InvariantId::I1, InvariantId::NoDanglingReference);
        assert_eq!(InvariantId::I7.to_string(), "I7");
        let json = serde_json::to_string(&InvariantId::LegalTransitions).unwrap_or_default();
        assert_eq!(json, "\"I10\"");
        let back: Result<InvariantId, _> = serde_json::from_str("\"I9\"");
        assert_eq!(back.ok(), Some(InvariantId::StopListenDisconnects));
    }
}

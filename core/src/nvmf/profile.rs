//! SPDK version profiles: which SPDK the core models. A profile selects every behaviour that
//! differs between the modelled versions together, so a run is always one coherent SPDK
//! (docs/spdk-profiles.md has the table with the SPDK source each row was read from).
//!
//! Invariant kept: no other switch selects a version-dependent behaviour; code asks the
//! profile (`Spdk::retry_parking`, ...) and never compares versions itself.

use crate::wire::Cqe;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What `nvmf_subsystem_disconnect_host_fini` does after the disconnect walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveHostWait {
    /// v24.01: answers with the walk's status (`subsystem.c:896-907`); the context's subsystem
    /// pointer is not read.
    None,
    /// v26.05: re-walks the poll groups (`spdk_for_each_channel(ctx->subsystem->tgt, ..)`)
    /// until none holds a qpair of the host, -ETIMEDOUT after 15 s (`subsystem.c:1355-1463`).
    /// The model reads `ctx->subsystem` as that call does and answers; the re-walk itself is
    /// not modelled (docs/spdk-profiles.md, known divergences).
    QpairsOffGroups,
    /// master (30652f6374): `spdk_thread_exec_msg(ctx->subsystem->thread, ..)` starts a 5 ms
    /// poller that answers once no controller of the host is left on the subsystem,
    /// -ETIMEDOUT after 15 s (`subsystem.c:1395-1522`).
    CtrlrsGone,
}

/// The SPDK version the core models.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Spdk {
    /// The `v24.01` release (the last one with SPDK #3302).
    #[serde(rename = "v24.01")]
    V24_01,
    /// The `v26.05` release (tag commit d519b163cb, the last release; the SPDK peer the
    /// interop suite and the bench run). Master's design except where master changed it
    /// after the release: C2HData SUCCESS without SQ flow control negotiation (00c2f8cd49),
    /// Set Features VWC stores WCE (7daf055591).
    #[serde(rename = "v26.05")]
    V26_05,
    /// SPDK master at [`MASTER_COMMIT`] (later than the last release, v26.05, which lacks
    /// the per-namespace pause fixes d123762feb and 2ca0e1360e).
    #[default]
    #[serde(rename = "master")]
    Master,
}

/// The master commit the `master` profile was read from.
pub const MASTER_COMMIT: &str = "3230130e6a4114a97991d7e27cecd5ab64b696c3";

impl Spdk {
    /// Every profile, oldest first.
    pub const ALL: [Spdk; 3] = [Spdk::V24_01, Spdk::V26_05, Spdk::Master];

    /// The stable name scenarios and seed strings use: "v24.01", "v26.05", "master".
    pub fn name(self) -> &'static str {
        match self {
            Spdk::V24_01 => "v24.01",
            Spdk::V26_05 => "v26.05",
            Spdk::Master => "master",
        }
    }

    /// Every profile's name, for messages: "v24.01, v26.05 or master".
    pub fn names() -> String {
        let n: Vec<&str> = Spdk::ALL.iter().map(|p| p.name()).collect();
        format!("{} or {}", n[..n.len() - 1].join(", "), n[n.len() - 1])
    }

    /// Whether this is a profile of SPDK's design since v24.05: CONNECTING state, queued
    /// state changes, iobuf wait queue, DESTROY_PENDING, ... (every method below that says
    /// "master" holds for v26.05 too unless it names v26.05).
    fn since_v24_05(self) -> bool {
        self != Spdk::V24_01
    }

    /// Looks a profile up by its stable name.
    pub fn from_name(name: &str) -> Option<Spdk> {
        Spdk::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The git revision the profile was read from (a tag or a commit).
    pub fn revision(self) -> &'static str {
        match self {
            Spdk::V24_01 => "v24.01",
            Spdk::V26_05 => "v26.05",
            Spdk::Master => MASTER_COMMIT,
        }
    }

    /// Whether the profile has v24.01's 100 us CONNECT retry poller at all (master parks in
    /// `sgroup->queued`). It is used only with catalogue switch `spdk-3095`: without it the
    /// v24.01 profile parks in `sgroup->queued` too, as v24.01.x does with the backport
    /// 0276a8e631 (`Target::retry_parking`).
    pub fn retry_parking(self) -> bool {
        self == Spdk::V24_01
    }

    /// master has the CONNECTING state: only CONNECT is admitted before the CONNECT response
    /// (`nvmf_check_qpair_active`); v24.01 makes a new qpair ACTIVE at once.
    pub fn connecting_gate(self) -> bool {
        self.since_v24_05()
    }

    /// master answers a CONNECT with `nvmf_ctrlr_send_connect_rsp` sent to the qpair's poll
    /// group; v24.01 completes it on the controller thread (`ctrlr_add_qpair_and_send_rsp`).
    pub fn connect_rsp_on_qpair_group(self) -> bool {
        self.since_v24_05()
    }

    /// v24.01's `nvmf_stop_listen_disconnect_qpairs` re-sends itself to the poll group until
    /// no matching qpair is left; master continues the fan-out at once.
    pub fn stop_listen_repolls(self) -> bool {
        self == Spdk::V24_01
    }

    /// The NVMe version a controller reports (VS) and whether CAP.CRWMS (bit 59) is set:
    /// master reports 2.0 with CRWMS ("NVMe 2.0 specification required"), v24.01 reports 1.3
    /// (`nvmf_ctrlr_init`).
    pub fn nvme_version(self) -> (u32, bool) {
        match self {
            Spdk::V24_01 => (0x0001_0300, false),
            Spdk::V26_05 | Spdk::Master => (0x0002_0000, true),
        }
    }

    /// master queues a subsystem state change requested while another one runs
    /// (`subsystem->state_changes`); v24.01 refuses it at once with -EBUSY
    /// (`nvmf_subsystem_state_change`: the `changing_state` compare-and-swap) and the caller
    /// (an RPC handler) answers the error.
    pub fn queues_state_changes(self) -> bool {
        self.since_v24_05()
    }

    /// Whether the controller honours the host's "disable SQ flow control" CONNECT attribute
    /// (`cattr.dissqfc`, bit 2): master records it at controller creation
    /// (`nvmf_ctrlr_create`: `ctrlr->sq_flow_control_disabled`, d6945b55aa) and then reports
    /// SQHD 0xFFFF in the CONNECT response (`nvmf_ctrlr_send_connect_rsp`) and leaves the SQ
    /// head and SQHD of later responses alone (`request_transfer_out`); v24.01 and v26.05
    /// have no such field and ignore the bit.
    pub fn negotiates_sq_flow_control(self) -> bool {
        self == Spdk::Master
    }

    /// Whether a successful C2H transfer answered with `cqe` ends with a C2HData carrying
    /// SUCCESS and no CapsuleResp (`nvmf_tcp_pdu_c2h_data_complete`), given the transport
    /// option `c2h_success` (`TargetConfig::c2h_success`, default true) and, when the qpair has
    /// a controller, whether that controller disabled SQ flow control. v24.01 and v26.05
    /// (`_nvmf_tcp_send_c2h_data`, v26.05 tcp.c:2916-2921) set SUCCESS on the last C2HData
    /// when the option is on and CQE dwords 0 and 1 are zero; master (00c2f8cd49) also needs
    /// "no controller, or SQ flow control disabled" (tcp.c:2915-2917).
    pub fn c2h_success(self, option: bool, ctrlr_fc_disabled: Option<bool>, cqe: &Cqe) -> bool {
        let negotiated = match self {
            Spdk::V24_01 | Spdk::V26_05 => true,
            Spdk::Master => ctrlr_fc_disabled.unwrap_or(true),
        };
        option && negotiated && cqe.cdw0 == 0 && cqe.cdw1 == 0
    }

    /// master queues a request that finds no data buffer on the iobuf channel's wait queue
    /// (`spdk_iobuf_get` with an entry, since 18ede8d38d) and finds the channel through
    /// `req->qpair->group` (`nvmf_request_iobuf_get_cb`, and `nvmf_request_get_buffers_abort`
    /// before 243b7d792e); v24.01 keeps it on the TCP group's `pending_buf_queue`
    /// (`tqpair->group->group`), which `spdk_nvmf_poll_group_remove` does not clear.
    pub fn iobuf_queue(self) -> bool {
        self.since_v24_05()
    }

    /// Adding a host the subsystem already allows: master refuses it with -EINVAL
    /// (`spdk_nvmf_subsystem_add_host_ext`, subsystem.c:1220-1224) and the RPC answers an
    /// error; v24.01 returns 0 (`spdk_nvmf_subsystem_add_host`, subsystem.c:812-817, "already
    /// allows the specified host"), so the RPC succeeds and nothing changes.
    pub fn refuses_duplicate_host(self) -> bool {
        self.since_v24_05()
    }

    /// `nvmf_subsystem_add_listener` for a listener the subsystem already has, found once the
    /// subsystem is paused: v24.01 skips it and answers success after the resume
    /// (`nvmf_rpc_listen_paused`, nvmf_rpc.c:764); since ee9e3438f7 (v24.05) it answers
    /// "Invalid parameters" before resuming (v26.05 nvmf_rpc.c:747-751, master
    /// `rpc_nvmf_add_listener_paused`, :697-701).
    pub fn refuses_existing_listener(self) -> bool {
        self.since_v24_05()
    }

    /// `spdk_nvmf_subsystem_destroy` of a subsystem whose destruction already started: v24.01
    /// has a debug-only `assert(0)` before returning -EALREADY (subsystem.c:443, "Subsystem
    /// destruction is already started"); master returns -EALREADY without it.
    pub fn asserts_on_second_destroy(self) -> bool {
        self == Spdk::V24_01
    }

    /// The errno a state change requested after a subsystem delete started fails with:
    /// -ENODEV (master, DESTROY_PENDING) or -EBUSY (v24.01, `changing_state`).
    pub fn refused_state_change_errno(self) -> i32 {
        match self {
            Spdk::V24_01 => -16,
            Spdk::V26_05 | Spdk::Master => -19,
        }
    }

    /// What `nvmf_subsystem_remove_host` does after its disconnect walk (host_wait.rs).
    pub fn remove_host_wait(self) -> RemoveHostWait {
        match self {
            Spdk::V24_01 => RemoveHostWait::None,
            Spdk::V26_05 => RemoveHostWait::QpairsOffGroups,
            Spdk::Master => RemoveHostWait::CtrlrsGone,
        }
    }

    /// Set Features Volatile Write Cache: master refuses WCE = 0 (FEATURE_NOT_CHANGEABLE) and
    /// ignores WCE = 1 (7daf055591, `nvmf_ctrlr_set_features_volatile_write_cache`); v24.01
    /// and v26.05 store CDW11 (v26.05 ctrlr.c:1834-1847).
    pub fn refuses_write_cache_disable(self) -> bool {
        self == Spdk::Master
    }

    /// The whole-target shutdown stops listening after the subsystems stopped (f5bebba058,
    /// #3784; in v26.05 and master); v24.01 stops listening first (2cbc8aec37) or, as released
    /// (`spdk-3273`), never (`nvmf_tgt_advance_state`).
    pub fn stops_listening_after_subsystems(self) -> bool {
        self.since_v24_05()
    }

    /// `spdk_thread_send_msg` to a thread marked exited: v26.05 and master `abort()`
    /// (thread.c:1425-1426); v24.01 returns -EIO and the message is lost (thread.c:1354).
    pub fn aborts_on_send_to_exited_thread(self) -> bool {
        self.since_v24_05()
    }

    /// A subsystem listener whose transport listener is gone has `trid == NULL` (dfdd45beeb,
    /// #3656, in v26.05 and master: an assert, then a NULL dereference); v24.01 reads the
    /// freed listener (use after free). Only the violation's detail differs.
    pub fn nulls_stopped_listener_trid(self) -> bool {
        self.since_v24_05()
    }

    /// `nvmf_qpair_set_ctrlr` appends the controller's listener address to the qpair's trace
    /// description, reading `ctrlr->listener->trid->traddr` without checking that the trid is
    /// set (e67cdcb4ea, v26.05 ctrlr.c:228-232, master likewise); v24.01 has no such read.
    pub fn describes_qpair_listener(self) -> bool {
        self.since_v24_05()
    }

    /// Get Log Page on an NVM controller serves the Supported Log Pages (0x00), Feature
    /// Identifiers Effects (0x12) and NVMe-MI Commands Effects (0x13) pages, checks the NSID of
    /// controller-scope pages, refuses an offset past the Commands Supported and Effects page,
    /// whose entries carry the command scope, and Identify sets LPA.MLPS (v26.05
    /// ctrlr.c:2619-2710, 2786-3060, 3303-3304; master likewise). v24.01 (ctrlr.c:2420-2472,
    /// 2794) and v24.05 have none of it.
    pub fn serves_supported_log_pages(self) -> bool {
        self.since_v24_05()
    }

    /// `nvmf_get_changed_ns_list_log_page` refuses an offset at or past the 4 KiB page with
    /// -EINVAL (INVALID FIELD) in v26.05 (ctrlr.c:2596-2605) and master; v24.01 reads zeros.
    pub fn refuses_log_offset_past_page(self) -> bool {
        self.since_v24_05()
    }
}

impl fmt::Display for Spdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_round_trip_by_name_and_serde() {
        for p in Spdk::ALL {
            assert_eq!(Spdk::from_name(p.name()), Some(p));
            let json = serde_json::to_string(&p).expect("serializes");
            assert_eq!(json, format!("\"{}\"", p.name()));
            assert_eq!(serde_json::from_str::<Spdk>(&json).ok(), Some(p));
        }
        assert_eq!(Spdk::from_name("v26.06"), None);
        assert_eq!(Spdk::names(), "v24.01, v26.05 or master");
        assert_eq!(Spdk::V26_05.revision(), "v26.05");
        assert_eq!(Spdk::Master.revision().len(), 40);
    }
}

//! Human-readable names: stable snake_case coverage-mark names, and one-line `Display` for
//! inputs, outputs and lifecycle events (PDUs shown by kind, never as hex).

use super::{Input, Mark, Output, RpcRequest, Target, TargetEvent};
use std::fmt;

/// Stable snake_case name of a mark.
pub fn mark_name(m: Mark) -> &'static str {
    match m {
        Mark::QpairAccepted => "qpair_accepted",
        Mark::IcDone => "ic_done",
        Mark::AdminConnectStarted => "admin_connect_started",
        Mark::ConnectParked => "connect_parked",
        Mark::ConnectParkedWhilePausing => "connect_parked_while_pausing",
        Mark::ConnectRetryGaveUp => "connect_retry_gave_up",
        Mark::ConnectReplayedOnResume => "connect_replayed_on_resume",
        Mark::CtrlrAddFailed => "ctrlr_add_failed",
        Mark::CtrlrCreated => "ctrlr_created",
        Mark::ConnectResponded => "connect_responded",
        Mark::IoConnectRejected => "io_connect_rejected",
        Mark::StopListenMetQpairWithoutCtrlr => "stop_listen_met_qpair_without_ctrlr",
        Mark::StopListenDone => "stop_listen_done",
        Mark::DisconnectWithOutstanding => "disconnect_with_outstanding",
        Mark::FreeAerWithoutCtrlr => "free_aer_without_ctrlr",
        Mark::QpairDestroyed => "qpair_destroyed",
        Mark::CtrlrDestroyed => "ctrlr_destroyed",
        Mark::KeepAliveExpired => "keep_alive_expired",
        Mark::CcReset => "cc_reset",
        Mark::CcShutdown => "cc_shutdown",
        Mark::PauseWaitedForDrain => "pause_waited_for_drain",
        Mark::StateChangeQueued => "state_change_queued",
        Mark::SubsystemPaused => "subsystem_paused",
        Mark::SubsystemResumed => "subsystem_resumed",
        Mark::NamespaceChangedAen => "namespace_changed_aen",
        Mark::IoCompleted => "io_completed",
        Mark::TermReqSent => "term_req_sent",
        Mark::TargetShutdownDone => "target_shutdown_done",
        Mark::QpairDisconnectStarted => "qpair_disconnect_started",
        Mark::StopListenStarted => "stop_listen_started",
        Mark::IoConnectAccepted => "io_connect_accepted",
        Mark::AssociationExpired => "association_expired",
        Mark::SubsystemStarted => "subsystem_started",
        Mark::SubsystemStopped => "subsystem_stopped",
        Mark::SubsystemDestroyed => "subsystem_destroyed",
        Mark::AenCompleted => "aen_completed",
        Mark::PeerClosed => "peer_closed",
        Mark::CcRepolled => "cc_repolled",
        Mark::CcTimeoutReset => "cc_timeout_reset",
    }
}

/// Every mark, in declaration order.
pub static ALL_MARKS: &[Mark] = &[
    Mark::QpairAccepted,
    Mark::IcDone,
    Mark::AdminConnectStarted,
    Mark::ConnectParked,
    Mark::ConnectParkedWhilePausing,
    Mark::ConnectRetryGaveUp,
    Mark::ConnectReplayedOnResume,
    Mark::CtrlrAddFailed,
    Mark::CtrlrCreated,
    Mark::ConnectResponded,
    Mark::IoConnectRejected,
    Mark::StopListenMetQpairWithoutCtrlr,
    Mark::StopListenDone,
    Mark::DisconnectWithOutstanding,
    Mark::FreeAerWithoutCtrlr,
    Mark::QpairDestroyed,
    Mark::CtrlrDestroyed,
    Mark::KeepAliveExpired,
    Mark::CcReset,
    Mark::CcShutdown,
    Mark::PauseWaitedForDrain,
    Mark::StateChangeQueued,
    Mark::SubsystemPaused,
    Mark::SubsystemResumed,
    Mark::NamespaceChangedAen,
    Mark::IoCompleted,
    Mark::TermReqSent,
    Mark::TargetShutdownDone,
    Mark::QpairDisconnectStarted,
    Mark::StopListenStarted,
    Mark::IoConnectAccepted,
    Mark::AssociationExpired,
    Mark::SubsystemStarted,
    Mark::SubsystemStopped,
    Mark::SubsystemDestroyed,
    Mark::AenCompleted,
    Mark::PeerClosed,
    Mark::CcRepolled,
    Mark::CcTimeoutReset,
];

impl Target {
    /// Emits a lifecycle event on the current thread.
    pub(super) fn mark(&mut self, mark: Mark, detail: String) {
        self.outputs.push_back(Output::Event(TargetEvent {
            thread: self.current,
            mark,
            detail,
        }));
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Accept { trid, conn } => write!(f, "accept conn={} on {trid}", conn.0),
            Input::Bytes { conn, data } => write!(f, "bytes conn={} len={}", conn.0, data.len()),
            Input::PeerClosed { conn } => write!(f, "peer closed conn={}", conn.0),
            Input::Rpc { id, request } => write!(f, "rpc {}: {}", id.0, rpc_name(request)),
            Input::Run(t) => write!(f, "run {t}"),
            Input::Complete(io) => write!(f, "device completes io {}", io.0),
            Input::Fire(t) => write!(f, "fire {t:?}"),
        }
    }
}

/// SPDK-like name of an RPC with its main argument.
pub fn rpc_name(r: &RpcRequest) -> String {
    match r {
        RpcRequest::CreateSubsystem(c) => format!("nvmf_create_subsystem {}", c.nqn),
        RpcRequest::DeleteSubsystem { nqn } => format!("nvmf_delete_subsystem {nqn}"),
        RpcRequest::StartSubsystem { nqn } => format!("start {nqn}"),
        RpcRequest::StopSubsystem { nqn } => format!("stop {nqn}"),
        RpcRequest::PauseSubsystem { nqn, nsid } => format!("pause {nqn} nsid={nsid}"),
        RpcRequest::ResumeSubsystem { nqn } => format!("resume {nqn}"),
        RpcRequest::AddHost { nqn, hostnqn } => format!("nvmf_subsystem_add_host {nqn} {hostnqn}"),
        RpcRequest::RemoveHost { nqn, hostnqn } => {
            format!("nvmf_subsystem_remove_host {nqn} {hostnqn}")
        }
        RpcRequest::AllowAnyHost { nqn, allow } => {
            format!("nvmf_subsystem_allow_any_host {nqn} {allow}")
        }
        RpcRequest::AddNamespace { nqn, ns } => {
            format!("nvmf_subsystem_add_ns {nqn} nsid={}", ns.nsid)
        }
        RpcRequest::RemoveNamespace { nqn, nsid } => {
            format!("nvmf_subsystem_remove_ns {nqn} nsid={nsid}")
        }
        RpcRequest::TransportListen { trid } => format!("listen {trid}"),
        RpcRequest::SubsystemAddListener { nqn, trid } => {
            format!("nvmf_subsystem_add_listener {nqn} {trid}")
        }
        RpcRequest::SubsystemRemoveListener { nqn, trid } => {
            format!("nvmf_subsystem_remove_listener {nqn} {trid}")
        }
        RpcRequest::StopListenAsync { trid, nqn } => format!(
            "stop_listen_async {trid} subsystem={}",
            nqn.as_deref().unwrap_or("NULL")
        ),
        RpcRequest::DisconnectQpair { conn } => format!("disconnect qpair conn={}", conn.0),
        RpcRequest::GetSubsystems => "nvmf_get_subsystems".to_string(),
        RpcRequest::GetControllers { nqn } => format!("nvmf_subsystem_get_controllers {nqn}"),
        RpcRequest::GetQpairs { nqn } => format!("nvmf_subsystem_get_qpairs {nqn}"),
        RpcRequest::GetListeners { nqn } => format!("nvmf_subsystem_get_listeners {nqn}"),
        RpcRequest::Shutdown => "shutdown".to_string(),
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Send { conn, data } => {
                let kind = data.first().map_or("empty", |t| pdu_kind(*t));
                write!(f, "send conn={} {kind} len={}", conn.0, data.len())
            }
            Output::Close { conn } => write!(f, "close conn={}", conn.0),
            Output::RpcDone { id, result } => match result {
                Ok(_) => write!(f, "rpc {} done", id.0),
                Err(e) => write!(f, "rpc {} failed: {e}", id.0),
            },
            Output::Event(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for TargetEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {} {}", self.thread, self.mark.name(), self.detail)
    }
}

fn pdu_kind(t: u8) -> &'static str {
    match t {
        0x00 => "ICReq",
        0x01 => "ICResp",
        0x02 => "H2CTermReq",
        0x03 => "C2HTermReq",
        0x04 => "CapsuleCmd",
        0x05 => "CapsuleResp",
        0x06 => "H2CData",
        0x07 => "C2HData",
        0x09 => "R2T",
        _ => "unknown PDU",
    }
}

//! Human-readable names: stable snake_case coverage-mark names, and one-line `Display` for
//! inputs, outputs and lifecycle events (PDUs shown by kind, never as hex).

use super::{Input, Mark, Output, RpcRequest, Target, TargetEvent};
use std::fmt;

impl Target {
    /// Emits a lifecycle event on the current thread.
    pub(super) fn mark(&mut self, mark: Mark, detail: String) {
        self.outputs.push_back(Output::Event(TargetEvent {
            thread: self.current,
            mark,
            detail,
        }));
    }

    /// `mark` for the per-I/O path: the detail is formatted only when the configuration keeps
    /// details (`TargetConfig::event_details_off`).
    pub(super) fn mark_with(&mut self, mark: Mark, detail: impl FnOnce() -> String) {
        let detail = if self.config.event_details_off {
            String::new()
        } else {
            detail()
        };
        self.mark(mark, detail);
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
        RpcRequest::RemoveHost {
            nqn,
            hostnqn,
            timeout_ms: 0,
        } => format!("nvmf_subsystem_remove_host {nqn} {hostnqn}"),
        RpcRequest::RemoveHost {
            nqn,
            hostnqn,
            timeout_ms,
        } => format!("nvmf_subsystem_remove_host {nqn} {hostnqn} timeout_ms={timeout_ms}"),
        RpcRequest::AllowAnyHost { nqn, allow } => {
            format!("nvmf_subsystem_allow_any_host {nqn} {allow}")
        }
        RpcRequest::AddNamespace { nqn, ns } | RpcRequest::AddNamespaceWithIds { nqn, ns, .. } => {
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
        RpcRequest::ResizeNamespace { nqn, nsid, blocks } => {
            format!("resize namespace {nsid} of {nqn} to {blocks} blocks")
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Send { conn, data } => {
                let kind = data.first().map_or("empty", pdu_kind);
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

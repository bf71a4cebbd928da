//! Named lifecycle points (coverage marks): the `Mark` enum, each mark's stable snake_case name
//! (what scenarios and coverage tables use) and the list of every mark. Display of inputs,
//! outputs and events is in display.rs.

use serde::{Deserialize, Serialize};

/// Named lifecycle points (coverage marks). `name()` is the stable string scenarios use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Mark {
    QpairAccepted,
    IcDone,
    AdminConnectStarted,
    /// An admin CONNECT was parked because its subsystem was not ACTIVE.
    ConnectParked,
    /// Parked while the subsystem was PAUSING (the #3302 window).
    ConnectParkedWhilePausing,
    ConnectRetryGaveUp,
    ConnectReplayedOnResume,
    /// `_nvmf_subsystem_add_ctrlr` failed (e.g. cntlid range exhausted).
    CtrlrAddFailed,
    CtrlrCreated,
    ConnectResponded,
    IoConnectRejected,
    /// stop_listen_async met a qpair with no controller.
    StopListenMetQpairWithoutCtrlr,
    StopListenDone,
    DisconnectWithOutstanding,
    /// `free_aer` was reached on a qpair with no controller.
    FreeAerWithoutCtrlr,
    QpairDestroyed,
    CtrlrDestroyed,
    KeepAliveExpired,
    CcReset,
    CcShutdown,
    PauseWaitedForDrain,
    StateChangeQueued,
    SubsystemPaused,
    SubsystemResumed,
    NamespaceChangedAen,
    IoCompleted,
    TermReqSent,
    TargetShutdownDone,
    /// `spdk_nvmf_qpair_disconnect` started on a qpair.
    QpairDisconnectStarted,
    StopListenStarted,
    /// An I/O CONNECT was accepted (mask bit set on the ctrlr thread).
    IoConnectAccepted,
    AssociationExpired,
    SubsystemStarted,
    SubsystemStopped,
    SubsystemDestroyed,
    /// An AER was completed with an event.
    AenCompleted,
    PeerClosed,
    /// A CC reset/shutdown re-polled because I/O qpairs were still alive.
    CcRepolled,
    /// `nvmf_ctrlr_cc_timeout` reset a namespace through the admin qpair's poll group.
    CcTimeoutReset,
    /// A command other than CONNECT arrived on a qpair before CONNECT (refused by
    /// `nvmf_ctrlr_process_admin_cmd` in v24.01, by `nvmf_check_qpair_active` in master).
    AdminBeforeConnect,
    /// An I/O CONNECT found its controller's admin qpair gone (teardown finished).
    IoConnectWithoutAdminQpair,
    /// v24.01 refused a subsystem state change with -EBUSY (another one was running).
    StateChangeBusy,
    /// `spdk_nvmf_transport_stop_listen` freed a listener (refcount zero).
    ListenerFreed,
    /// A stop_listen completed while a qpair on its trid that came to match its filter after
    /// its group was visited was still active (hazard H-2).
    StopListenLateQpair,
    /// A stop (or delete, or target shutdown) found its subsystem PAUSED: the PAUSED ->
    /// DEACTIVATING edge fa949b0c14 added.
    StoppedWhilePaused,
    /// `_nvmf_subsystem_destroy` found controllers still on `subsystem->ctrlrs` (their
    /// last-qpair teardown in flight) and re-sent itself to wait for them.
    DestroyWaitedForCtrlrs,
    /// An AER was answered at once with a pending event (`nvmf_ctrlr_async_event_request`).
    AerAnsweredFromPending,
    /// A fifth AER was answered ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED.
    AerLimitExceeded,
    /// An AER reached a controller with CC.EN = 0 (answered COMMAND SEQUENCE ERROR).
    AerWhileDisabled,
    /// An admin AER met a qpair that is not active (`nvmf_check_qpair_active`, or v24.01's
    /// state test in `nvmf_check_subsystem_active`): a replay after resume on a
    /// disconnecting qpair.
    AerOnInactiveQpair,
    /// A poll group thread reached EXITED after its group was destroyed (thread_life.rs).
    ThreadExited,
    /// `spdk_nvmf_qpair_disconnect` met a qpair already disconnecting during the poll-group
    /// destroy walk (the #2765 window; the fixed walk re-polls, the old one re-entered).
    DestroyWalkMetDisconnecting,
    /// A namespace pause reached a poll group whose subsystem was already PAUSED and waited
    /// for that namespace's I/O (`nvmf_sgroup_pause_ns`, the fix of SPDK #3738).
    NsPauseOfPausedDrained,
    /// `nvmf_poll_group_add_subsystem` found requests on `sgroup->queued` left by the
    /// previous holder of the subsystem id (or by this subsystem before a stop) (S8).
    StaleQueuedOnAdd,
    /// Old teardown order: `_nvmf_transport_qpair_fini` ran after the qpair's controller was
    /// freed (the read `spdk-1819` puts back).
    PollGroupRemoveAfterCtrlrFree,
    /// S7: a request found no data buffer on its poll group and waited (TCP NEED_BUFFER).
    BufferWait,
    /// S7: a request still waiting for a buffer was taken off the wait queue by its qpair's
    /// teardown (master: `nvmf_tcp_poll_group_remove`; v24.01: `nvmf_tcp_cleanup_all_states`).
    BufferWaitAborted,
    /// A capsule waited in AWAIT_REQ for a request slot while a response write was pending
    /// (`nvmf_tcp_capsule_cmd_hdr_handle`, S6).
    TcpAwaitReqWaited,
    /// `spdk_sock_close` aborted a pending response write (`_req_pdu_write_done` with an
    /// error).
    TcpWriteAbortedAtClose,
}

impl Mark {
    /// Stable snake_case name, e.g. "stop_listen_met_qpair_without_ctrlr".
    pub fn name(self) -> &'static str {
        mark_name(self)
    }

    /// Every mark, in declaration order (for coverage tables).
    pub fn all() -> &'static [Mark] {
        ALL_MARKS
    }

    /// The catalogue switch without which the model cannot reach this mark, if any: the
    /// mark names a path that only the old SPDK code behind the switch takes. The built-in
    /// sweep reaches such a mark from the entry's scenarios with the switch on.
    ///
    /// `connect_retry_gave_up`: only v24.01's retry parking registers the 100 us CONNECT
    /// retry poller that gives up after 1 s (`nvmf_ctrlr_cmd_connect` registers
    /// `retry_connect`, v24.01 `ctrlr.c:906,975`); `12c640c0fa` (v24.05) replaced it with
    /// `sgroup->queued`, which master keeps and the v24.01 profile models with the switch off.
    ///
    /// `poll_group_remove_after_ctrlr_free`: only the teardown order before 478f652436
    /// (`spdk-2055`) runs `_nvmf_transport_qpair_fini` after the controller was freed.
    pub fn requires(self) -> Option<super::BugId> {
        match self {
            Mark::ConnectRetryGaveUp => Some(super::BugId::Spdk3095),
            Mark::PollGroupRemoveAfterCtrlrFree => Some(super::BugId::Spdk2055),
            _ => None,
        }
    }
}

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
        Mark::AdminBeforeConnect => "admin_before_connect",
        Mark::IoConnectWithoutAdminQpair => "io_connect_without_admin_qpair",
        Mark::StateChangeBusy => "state_change_busy",
        Mark::ListenerFreed => "listener_freed",
        _ => mark_name_ii(m),
    }
}

/// The marks added with catalogue issue II (#12); the unique-names test
/// (`core/tests/all/target_api.rs`) catches a mark neither function names.
fn mark_name_ii(m: Mark) -> &'static str {
    match m {
        Mark::StopListenLateQpair => "stop_listen_late_qpair",
        Mark::StoppedWhilePaused => "stopped_while_paused",
        Mark::DestroyWaitedForCtrlrs => "destroy_waited_for_ctrlrs",
        Mark::AerAnsweredFromPending => "aer_answered_from_pending",
        Mark::AerLimitExceeded => "aer_limit_exceeded",
        Mark::AerWhileDisabled => "aer_while_disabled",
        Mark::AerOnInactiveQpair => "aer_on_inactive_qpair",
        Mark::ThreadExited => "thread_exited",
        Mark::DestroyWalkMetDisconnecting => "destroy_walk_met_disconnecting",
        Mark::NsPauseOfPausedDrained => "ns_pause_of_paused_drained",
        Mark::StaleQueuedOnAdd => "stale_queued_on_add",
        Mark::PollGroupRemoveAfterCtrlrFree => "poll_group_remove_after_ctrlr_free",
        Mark::BufferWait => "buffer_wait",
        Mark::BufferWaitAborted => "buffer_wait_aborted",
        Mark::TcpAwaitReqWaited => "tcp_await_req_waited",
        Mark::TcpWriteAbortedAtClose => "tcp_write_aborted_at_close",
        _ => "unnamed",
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
    Mark::AdminBeforeConnect,
    Mark::IoConnectWithoutAdminQpair,
    Mark::StateChangeBusy,
    Mark::ListenerFreed,
    Mark::StopListenLateQpair,
    Mark::StoppedWhilePaused,
    Mark::DestroyWaitedForCtrlrs,
    Mark::AerAnsweredFromPending,
    Mark::AerLimitExceeded,
    Mark::AerWhileDisabled,
    Mark::AerOnInactiveQpair,
    Mark::ThreadExited,
    Mark::DestroyWalkMetDisconnecting,
    Mark::NsPauseOfPausedDrained,
    Mark::StaleQueuedOnAdd,
    Mark::PollGroupRemoveAfterCtrlrFree,
    Mark::BufferWait,
    Mark::BufferWaitAborted,
    Mark::TcpAwaitReqWaited,
    Mark::TcpWriteAbortedAtClose,
];

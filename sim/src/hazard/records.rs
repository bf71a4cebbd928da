//! The confirmed hazard records (docs/hazards.md): each step with the SPDK source lines it
//! corresponds to, in v24.01 and in master at the profile's commit.

use super::{line, Hazard, HazardStep, MASTER, V2401, V2605};
use fabcheck_core::nvmf::{InvariantId, Spdk};

/// `H-1`: the queued CONNECT of a deleted subsystem.
pub(super) const QUEUED_CONNECT_OF_DELETED_SUBSYSTEM: Hazard = Hazard {
    id: "H-1-queued-connect-orphaned",
    title: "a CONNECT queued on a subsystem that is deleted is never answered",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I8,
    site: "_nvmf_subsystem_destroy",
    detail: "",
    stuck: &["never answered (nvmf_poll_group_add_subsystem)"],
    also_at: &[],
    scenario: "subsystem-delete-under-connect",
    seeds: &[
        "fc1:subsystem-delete-under-connect@v24.01:0706dd2f4d197e6f:0.0.1.0.1.1.0.1.1.1.1.1.1.1.1.1",
        "fc1:subsystem-delete-under-connect@v26.05:0706dd2f4d197e6f:0.0.1.0.1.1.0.1.1.1.1.1.1.1.1.1",
        "fc1:subsystem-delete-under-connect@master:0706dd2f4d197e6f:0.0.1.0.1.1.0.1.1.1.1.1.1.1.1.1",
    ],
    summary: "A CONNECT that reaches a poll group while its subsystem's sgroup is not ACTIVE \
              (paused, or stopped before a delete) is put on `sgroup->queued`; the qpair has \
              no controller yet. Stopping the subsystem only disconnects qpairs whose \
              controller is in it, deleting it frees the subsystem, and nothing walks \
              `sgroup->queued` to answer the request: it stays there (v24.01 orphans it when \
              the id is reused, master frees it then with only an error log). The host's \
              CONNECT is never answered by the target.",
    backstop: "the host's own CONNECT timeout (nvme-cli/kernel: the admin command timeout) \
               or a disconnect of its socket, which frees the request \
               (`_nvmf_qpair_sgroup_req_clean`)",
    steps: &[
        HazardStep {
            what: "the operator pauses (or stops) S: each poll group's sgroup leaves ACTIVE",
            source: &[
                line(V2401, "lib/nvmf/nvmf.c:1792", "nvmf_poll_group_pause_subsystem"),
                line(V2605, "lib/nvmf/nvmf.c:2000", "nvmf_poll_group_pause_subsystem"),
                line(MASTER, "lib/nvmf/nvmf.c:2096", "nvmf_poll_group_pause_subsystem"),
            ],
        },
        HazardStep {
            what: "a host's CONNECT to S arrives: the sgroup is not ACTIVE, the request is \
                   queued (the qpair has no controller)",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:4567", "nvmf_check_subsystem_active"),
                line(V2605, "lib/nvmf/ctrlr.c:5321", "nvmf_check_subsystem_active"),
                line(MASTER, "lib/nvmf/ctrlr.c:5337", "nvmf_check_subsystem_active"),
            ],
        },
        HazardStep {
            what: "delete S (stop first): each sgroup goes INACTIVE and only qpairs with a \
                   controller in S are disconnected; `sgroup->queued` is not touched",
            source: &[
                line(V2401, "lib/nvmf/nvmf.c:1737", "nvmf_poll_group_remove_subsystem_msg"),
                line(V2401, "lib/nvmf/nvmf.c:1782", "nvmf_poll_group_remove_subsystem"),
                line(V2605, "lib/nvmf/nvmf.c:1945", "nvmf_poll_group_remove_subsystem_msg"),
                line(V2605, "lib/nvmf/nvmf.c:1990", "nvmf_poll_group_remove_subsystem"),
                line(MASTER, "lib/nvmf/nvmf.c:2005", "nvmf_poll_group_remove_subsystem_msg"),
                line(MASTER, "lib/nvmf/nvmf.c:2050", "nvmf_poll_group_remove_subsystem"),
            ],
        },
        HazardStep {
            what: "the subsystem is freed with the CONNECT still queued and unanswered",
            source: &[
                line(V2401, "lib/nvmf/subsystem.c:399", "_nvmf_subsystem_destroy"),
                line(V2605, "lib/nvmf/subsystem.c:567", "_nvmf_subsystem_destroy"),
                line(MASTER, "lib/nvmf/subsystem.c:604", "_nvmf_subsystem_destroy"),
            ],
        },
        HazardStep {
            what: "only a later subsystem with the same id drops the leftovers, without an \
                   answer (v24.01 re-initialises the list, master frees them with an error log)",
            source: &[
                line(V2401, "lib/nvmf/nvmf.c:1658", "nvmf_poll_group_add_subsystem"),
                line(V2605, "lib/nvmf/nvmf.c:1860", "nvmf_poll_group_add_subsystem"),
                line(MASTER, "lib/nvmf/nvmf.c:1920", "nvmf_poll_group_add_subsystem"),
            ],
        },
    ],
};

/// `H-2`: stop-listen completes while a qpair accepted during its fan-out survives.
pub(super) const STOP_LISTEN_LATE_QPAIR: Hazard = Hazard {
    id: "H-2-stop-listen-late-qpair",
    title: "stop_listen_async completes while a qpair accepted during its fan-out is still \
            connected",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I13,
    site: "nvmf_stop_listen_fini",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "listener-lifetime",
    seeds: &[
        "fc1:listener-lifetime@v24.01:24684c4f0fd784b4:0.1.1.1.1.1.0.1.1.1.1.1.1.1.1.0.1.1.1.1.1.1.1.1",
        "fc1:listener-lifetime@v26.05:24684c4f0fd784b4:0.1.1.1.1.1.0.1.1.1.1.1.1.1.1.0.1.1.1.1.1.1.1.1",
        "fc1:listener-lifetime@master:24684c4f0fd784b4:0.1.1.1.1.1.0.1.1.1.1.1.1.1.1.0.1.1.1.1.1.1.1.1",
    ],
    summary: "`spdk_nvmf_transport_stop_listen_async(T, S)` visits the poll groups one after \
              the other and disconnects the qpairs on T it finds on each group's list at that \
              moment; the listener keeps accepting until `nvmf_stop_listen_fini` drops its \
              reference. A connection accepted on T (or a qpair bound to a controller in S) \
              after its poll group was visited is never looked at: when the callback reports \
              the listener stopped, that qpair is still connected. v24.01's re-poll only \
              repeats the walk on the group being visited; master does not re-poll at all.",
    backstop: "the caller may not assume T is quiet when the callback fires: remove the \
               listener from the subsystems first (new CONNECTs are then refused by the \
               listener check) or disconnect what is left afterwards",
    steps: &[
        HazardStep {
            what: "the caller starts stop_listen_async(T, S): a for_each_channel walk",
            source: &[
                line(V2401, "lib/nvmf/transport.c:549", "spdk_nvmf_transport_stop_listen_async"),
                line(V2605, "lib/nvmf/transport.c:571", "spdk_nvmf_transport_stop_listen_async"),
                line(MASTER, "lib/nvmf/transport.c:571", "spdk_nvmf_transport_stop_listen_async"),
            ],
        },
        HazardStep {
            what: "poll group N is visited: its qpairs on T that match are disconnected, then \
                   the walk moves on",
            source: &[
                line(V2401, "lib/nvmf/transport.c:500", "nvmf_stop_listen_disconnect_qpairs"),
                line(V2401, "lib/nvmf/transport.c:521", "nvmf_stop_listen_disconnect_qpairs"),
                line(V2605, "lib/nvmf/transport.c:528", "nvmf_stop_listen_disconnect_qpairs"),
                line(V2605, "lib/nvmf/transport.c:543", "nvmf_stop_listen_disconnect_qpairs"),
                line(MASTER, "lib/nvmf/transport.c:528", "nvmf_stop_listen_disconnect_qpairs"),
                line(MASTER, "lib/nvmf/transport.c:543", "nvmf_stop_listen_disconnect_qpairs"),
            ],
        },
        HazardStep {
            what: "a host connects to T (still listening): the new qpair goes round-robin to \
                   poll group N, already visited",
            source: &[
                line(V2401, "lib/nvmf/tcp.c:1335", "nvmf_tcp_handle_connect"),
                line(V2401, "lib/nvmf/nvmf.c:1131", "spdk_nvmf_tgt_new_qpair"),
                line(V2605, "lib/nvmf/tcp.c:1518", "nvmf_tcp_handle_connect"),
                line(V2605, "lib/nvmf/nvmf.c:1402", "spdk_nvmf_tgt_new_qpair"),
                line(MASTER, "lib/nvmf/tcp.c:1514", "nvmf_tcp_handle_connect"),
                line(MASTER, "lib/nvmf/nvmf.c:1443", "spdk_nvmf_tgt_new_qpair"),
            ],
        },
        HazardStep {
            what: "the walk ends: the listener reference is dropped and the callback reports \
                   success with the new qpair still connected",
            source: &[
                line(V2401, "lib/nvmf/transport.c:467", "nvmf_stop_listen_fini"),
                line(V2401, "lib/nvmf/transport.c:473", "nvmf_stop_listen_fini"),
                line(V2605, "lib/nvmf/transport.c:504", "nvmf_stop_listen_fini"),
                line(V2605, "lib/nvmf/transport.c:510", "nvmf_stop_listen_fini"),
                line(MASTER, "lib/nvmf/transport.c:504", "nvmf_stop_listen_fini"),
                line(MASTER, "lib/nvmf/transport.c:510", "nvmf_stop_listen_fini"),
            ],
        },
    ],
};

/// `H-3`: in the reference form the listener is freed under qpairs that still use it.
pub(super) const LISTENER_FREED_UNDER_QPAIRS: Hazard = Hazard {
    id: "H-3-listener-freed-under-qpairs",
    title: "reference form (RDMA before 34479d742b): the last stop frees a listener its qpairs \
            still reference",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I14,
    site: "nvmf_stop_listen_fini",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "listener-lifetime",
    seeds: &[
        "fc1:listener-lifetime@v24.01:3847468dbd8d1e6d:0.0.1.1.1.0.1.1.1.1.1.1.0.1.1.1.1.1.1.1.1.1.1",
        "fc1:listener-lifetime@v26.05:3847468dbd8d1e6d:0.0.1.1.1.0.1.1.1.1.1.1.0.1.1.1.1.1.1.1.1.1.1",
        "fc1:listener-lifetime@master:3847468dbd8d1e6d:0.0.1.1.1.0.1.1.1.1.1.1.0.1.1.1.1.1.1.1.1.1.1",
    ],
    summary: "`nvmf_stop_listen_fini` drops the listener's reference as soon as the walk has \
              *started* disconnecting the matching qpairs; their teardown is asynchronous, and \
              a qpair the filter skipped (no controller yet) is not disconnected at all. When \
              that was the last reference the listener is freed (`spdk_nvmf_transport_stop_listen`) \
              and RDMA destroys its listen cm_id, while those qpairs still hold \
              `rqpair->listen_id`; v24.01's `nvmf_rdma_qpair_get_listen_trid` reads through it \
              (stop-listen filter, CONNECT's listener check, get_qpairs). SPDK made RDMA qpairs \
              copy the trid in 34479d742b (v25.09) for this reason; TCP always copied it.",
    backstop: "a transport whose qpairs keep a reference must copy what they need at accept \
               time (what TCP does, and RDMA since 34479d742b)",
    steps: &[
        HazardStep {
            what: "the RDMA acceptor keeps the listener's cm_id in the new qpair",
            source: &[
                line(V2401, "lib/nvmf/rdma.c:1432", "nvmf_rdma_connect"),
                line(V2605, "lib/nvmf/rdma.c:1435", "nvmf_rdma_connect"),
                line(MASTER, "lib/nvmf/rdma.c:1414", "nvmf_rdma_connect"),
            ],
        },
        HazardStep {
            what: "stop_listen's walk starts disconnecting the qpairs on T (asynchronous), \
                   skipping those without a controller when a subsystem filter is given",
            source: &[
                line(V2401, "lib/nvmf/transport.c:500", "nvmf_stop_listen_disconnect_qpairs"),
                line(V2605, "lib/nvmf/transport.c:528", "nvmf_stop_listen_disconnect_qpairs"),
                line(MASTER, "lib/nvmf/transport.c:528", "nvmf_stop_listen_disconnect_qpairs"),
            ],
        },
        HazardStep {
            what: "the last reference is dropped: the listener is freed and RDMA destroys its \
                   cm_id while the qpairs still exist",
            source: &[
                line(V2401, "lib/nvmf/transport.c:437", "spdk_nvmf_transport_stop_listen"),
                line(V2401, "lib/nvmf/rdma.c:3110", "nvmf_rdma_stop_listen_ex"),
                line(V2605, "lib/nvmf/transport.c:464", "spdk_nvmf_transport_stop_listen"),
                line(MASTER, "lib/nvmf/transport.c:464", "spdk_nvmf_transport_stop_listen"),
            ],
        },
        HazardStep {
            what: "v24.01 reads the qpair's listen trid through the freed cm_id",
            source: &[
                line(V2401, "lib/nvmf/rdma.c:4996", "nvmf_rdma_qpair_get_listen_trid"),
            ],
        },
    ],
};

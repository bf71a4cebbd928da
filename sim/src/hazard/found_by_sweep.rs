//! The hazards the 50,000-run sweep of every built-in scenario found (`bash ci/sweep.sh`),
//! beyond those the scenarios were written around: each step with the SPDK source lines it
//! corresponds to.

use super::{line, Hazard, HazardStep, MASTER, V2401, V2605};
use fabcheck_core::nvmf::{InvariantId, Spdk};

/// `H-4`: v24.01's shutdown skips a subsystem whose state change is still running.
pub(in crate::hazard) const SHUTDOWN_SKIPS_CHANGING_SUBSYSTEM: Hazard = Hazard {
    id: "H-4-shutdown-skips-changing-subsystem",
    title: "a target shutdown during a subsystem state change leaves that subsystem alive",
    profiles: &[Spdk::V24_01],
    invariant: InvariantId::I8,
    site: "spdk_nvmf_subsystem_destroy",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "random-peers",
    seeds: &["fc1:random-peers@v24.01:2e78a1611caaa7d8"],
    summary: "v24.01 refuses a subsystem state change while another one runs \
              (`changing_state`, -EBUSY). An RPC that pauses a subsystem (here \
              `nvmf_subsystem_add_ns` with an nsid already in use) resumes it afterwards; \
              when the shutdown's stop phase reaches that subsystem while the resume is still \
              fanning out, `spdk_nvmf_subsystem_stop` fails with -EBUSY, nvmf_tgt logs \
              \"Unable to stop\" and moves on, and the destroy phase then meets a subsystem \
              that is ACTIVE again: `spdk_nvmf_subsystem_destroy` refuses it (-EAGAIN, \
              \"can only be destroyed in inactive state\"), both in nvmf_tgt's destroy phase \
              and in `nvmf_tgt_destroy_cb`. The subsystem, and whatever it holds, is never \
              freed. master queues overlapping state changes (`state_changes`), so its stop \
              runs after the resume and the subsystem is destroyed.",
    backstop: "none inside the process (the leak is at exit); an embedder that shuts down \
               must first wait for its state-change RPCs to finish",
    steps: &[
        HazardStep {
            what: "an RPC pauses S and, its work done or failed, starts resuming it",
            source: &[line(
                V2401,
                "lib/nvmf/nvmf_rpc.c:1521",
                "nvmf_rpc_ns_paused",
            )],
        },
        HazardStep {
            what: "the shutdown's stop of S meets the running resume: -EBUSY",
            source: &[
                line(
                    V2401,
                    "lib/nvmf/subsystem.c:689",
                    "nvmf_subsystem_state_change",
                ),
                line(
                    V2401,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:456",
                    "nvmf_tgt_advance_state",
                ),
            ],
        },
        HazardStep {
            what: "the resume finishes: S is ACTIVE; the destroy phase refuses it and goes on",
            source: &[
                line(
                    V2401,
                    "lib/nvmf/subsystem.c:436",
                    "spdk_nvmf_subsystem_destroy",
                ),
                line(
                    V2401,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:263",
                    "_nvmf_tgt_subsystem_destroy",
                ),
                line(V2401, "lib/nvmf/nvmf.c:482", "nvmf_tgt_destroy_cb"),
            ],
        },
    ],
};

/// `H-5`: a CONNECT parked for a duplicate-qid retry keeps a controller pointer the last-qpair
/// destruct frees.
pub(in crate::hazard) const QID_RETRY_OUTLIVES_CTRLR: Hazard = Hazard {
    id: "H-5-qid-retry-outlives-ctrlr",
    title: "a CONNECT parked for a duplicate-qid retry is left holding a freed controller",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I3,
    site: "_nvmf_ctrlr_destruct",
    detail: "parked for a duplicate-qid retry",
    stuck: &[],
    also_at: &[],
    scenario: "random-peers",
    seeds: &[
        "fc1:random-peers@v24.01:204729500633d901:0.0.0.0.0.0.0.2.25.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.2.10.0.0.0.1.0.1.1.2.5",
        "fc1:random-peers@v26.05:2e226ce4a65713f4:1.0.1.0.1.1.1.0.2.2.2.0.10.0.0.0.0.0.0.0.0.0.10.0.0.0.0.1.5",
        "fc1:random-peers@master:1ea3eff4d6f961b4:1.1.0.1.0.0.0.0.0.0.0.0.1.1.1.0.1.1.10.0.0.0.0.0.0.0.0.0.0.0.0.5",
    ],
    summary: "An I/O CONNECT whose qid is still set in the controller's qpair mask (the host \
              reconnects a queue whose old connection the target has not torn down yet) is \
              parked: `qpair->connect_req` keeps the request, `qpair->ctrlr` is set \
              \"so that we'll have it when the poller expires\", and `_retry_qid_check` is \
              registered for 1 ms. The parked qpair holds no bit in the mask. If the host \
              then closes its other queues (the admin queue and the old one with that qid), \
              the last `_nvmf_ctrlr_free_from_qpair` finds the mask empty and destroys the \
              controller; `_nvmf_ctrlr_destruct` frees it. Nothing clears the parked \
              qpair's pointer: when the poller fires, `_retry_qid_check` reads \
              `req->qpair->ctrlr` and `nvmf_ctrlr_add_qpair` / `ctrlr_add_qpair_and_send_rsp` \
              dereference the freed controller. Present in v24.01 and in master at the \
              profile's commit (the retry came with b1a2319686, v23.05).",
    backstop: "none on the target; the window is the 1 ms retry period, so a host that closes \
               a controller's queues right after reconnecting one of them can crash it",
    steps: &[
        HazardStep {
            what: "an I/O CONNECT finds its qid still in the mask: parked with qpair->ctrlr \
                   set and the 1 ms retry poller registered",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:239", "ctrlr_add_qpair_and_send_rsp"),
                line(V2605, "lib/nvmf/ctrlr.c:306", "nvmf_ctrlr_add_qpair"),
                line(MASTER, "lib/nvmf/ctrlr.c:309", "nvmf_ctrlr_add_qpair"),
            ],
        },
        HazardStep {
            what: "the host's other queues go away: the mask empties and the controller is \
                   destroyed",
            source: &[
                line(V2401, "lib/nvmf/nvmf.c:1240", "_nvmf_ctrlr_free_from_qpair"),
                line(V2605, "lib/nvmf/nvmf.c:1512", "_nvmf_ctrlr_free_from_qpair"),
                line(MASTER, "lib/nvmf/nvmf.c:1553", "_nvmf_ctrlr_free_from_qpair"),
            ],
        },
        HazardStep {
            what: "the controller is freed while the parked qpair still points at it",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:551", "_nvmf_ctrlr_destruct"),
                line(V2605, "lib/nvmf/ctrlr.c:666", "_nvmf_ctrlr_destruct"),
                line(MASTER, "lib/nvmf/ctrlr.c:670", "_nvmf_ctrlr_destruct"),
            ],
        },
        HazardStep {
            what: "the retry poller fires and reads the freed controller",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:268", "_retry_qid_check"),
                line(V2605, "lib/nvmf/ctrlr.c:333", "_retry_qid_check"),
                line(MASTER, "lib/nvmf/ctrlr.c:336", "_retry_qid_check"),
            ],
        },
    ],
};

/// `H-6`: the duplicate-qid retry asserts on an admin qpair that already left its poll group.
pub(in crate::hazard) const QID_RETRY_ADMIN_GROUP_NULL: Hazard = Hazard {
    id: "H-6-qid-retry-admin-group-null",
    title: "a duplicate-qid retry reads the group of an admin qpair already removed from it",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I1,
    site: "ctrlr_add_qpair_and_send_rsp",
    detail: "retried by _retry_qid_check",
    stuck: &[],
    also_at: &[],
    scenario: "random-peers",
    seeds: &[
        "fc1:random-peers@v24.01:038b391585635873:0.1.0.1.0.0.0.0.1.1.1.0.0.0.1.1.1.21.0.1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.1.1.0.0.0.0.1.12.0.1.1.0.1.1.0.2.10.2.0.1.2.0.0.2.11.2.0.2.0.1.0.0.0.3.1.0.0.1.3.5.1.1.4",
        "fc1:random-peers@v26.05:038b391585635873:0.1.0.1.0.0.0.0.1.1.1.0.0.0.1.1.1.21.0.1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.1.1.0.0.0.0.1.12.0.1.1.0.1.1.0.2.10.2.0.1.2.0.0.2.11.2.0.2.0.1.0.0.0.3.1.0.0.1.3.5.1.1.4",
        "fc1:random-peers@master:038b391585635873:0.1.0.1.0.0.0.0.1.1.1.0.0.0.1.1.1.21.0.1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.1.1.0.0.0.0.1.12.0.1.1.0.1.1.0.2.10.2.0.1.2.0.0.2.11.2.0.2.0.1.0.0.0.3.1.0.0.1.3.5.1.1.4",
    ],
    summary: "The I/O CONNECT path checks, before it hops to the controller thread, that the \
              admin qpair is ACTIVE and still in a poll group (`nvmf_ctrlr_add_io_qpair`; \
              master also tests `ctrlr->admin_qpair` after the hop, cc2f6634b7). The \
              duplicate-qid retry does not: `_retry_qid_check` calls \
              `nvmf_ctrlr_add_qpair` (v24.01: `ctrlr_add_qpair_and_send_rsp`) directly, \
              whose `assert(ctrlr->admin_qpair->group->thread == spdk_get_thread())` \
              dereferences the admin qpair's group. Between `spdk_nvmf_poll_group_remove` \
              (group NULL) and `_nvmf_transport_qpair_fini_complete` (admin_qpair NULL) the \
              admin qpair is still the controller's but has no group, so a retry that fires \
              while the host's admin connection is being torn down reads NULL. A crash in \
              debug builds; release builds compile the assert out and add the I/O qpair to a \
              controller that is losing its admin queue.",
    backstop: "release builds (NDEBUG) skip the assert; debug builds, as SPDK's CI runs, crash",
    steps: &[
        HazardStep {
            what: "an I/O CONNECT finds its qid still in the mask and is parked for 1 ms",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:239", "ctrlr_add_qpair_and_send_rsp"),
                line(V2605, "lib/nvmf/ctrlr.c:306", "nvmf_ctrlr_add_qpair"),
                line(MASTER, "lib/nvmf/ctrlr.c:309", "nvmf_ctrlr_add_qpair"),
            ],
        },
        HazardStep {
            what: "the admin qpair is disconnected and leaves its poll group (group NULL); \
                   the controller still points at it until transport fini completes",
            source: &[
                line(V2605, "lib/nvmf/nvmf.c:1626", "_nvmf_qpair_destroy"),
                line(V2605, "lib/nvmf/nvmf.c:1536", "_nvmf_transport_qpair_fini_complete"),
                line(MASTER, "lib/nvmf/nvmf.c:1667", "_nvmf_qpair_destroy"),
                line(MASTER, "lib/nvmf/nvmf.c:1577", "_nvmf_transport_qpair_fini_complete"),
            ],
        },
        HazardStep {
            what: "the retry fires and asserts on the admin qpair's NULL group",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:228", "ctrlr_add_qpair_and_send_rsp"),
                line(V2605, "lib/nvmf/ctrlr.c:294", "nvmf_ctrlr_add_qpair"),
                line(MASTER, "lib/nvmf/ctrlr.c:297", "nvmf_ctrlr_add_qpair"),
            ],
        },
    ],
};

/// `H-7`: a CONNECT completed after its subsystem was deleted leaves its count in the sgroup.
pub(in crate::hazard) const CONNECT_COUNT_OUTLIVES_SUBSYSTEM: Hazard = Hazard {
    id: "H-7-connect-count-outlives-subsystem",
    title: "a CONNECT answered after its subsystem was deleted never releases its sgroup count",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I7,
    site: "_nvmf_request_complete",
    detail: "a CONNECT whose subsystem was deleted",
    stuck: &[],
    also_at: &[],
    scenario: "random-peers",
    seeds: &[
        "fc1:random-peers@v24.01:04cc2f34e6434842:0.0.0.0.0.0.1.1.2.2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.16.1.1",
        "fc1:random-peers@v26.05:2f90ea2a2adc5bab:0.0.0.0.0.0.0.1.0.0.0.0.2.1.1.1.1.1.2.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.3.10.5.3.6.11.8.9.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.16.1.1.1.1.1",
        "fc1:random-peers@master:2f90ea2a2adc5bab:0.0.0.0.0.0.0.1.0.0.0.0.2.1.1.1.1.1.2.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.3.10.5.3.6.11.8.9.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.16.1.1.1.1.1",
    ],
    summary: "A CONNECT is counted in its subsystem's sgroup (`mgmt_io_outstanding++` in \
              `nvmf_check_subsystem_active`, the sgroup found by the CONNECT's NQN). Stopping \
              a subsystem removes it from each poll group without waiting for that count, \
              and deleting it frees it, so an I/O CONNECT still travelling between threads is \
              answered afterwards (refused: its controller is gone). `_nvmf_request_complete` \
              then looks the sgroup up by NQN again (`nvmf_subsystem_pg_from_connect_cmd`), \
              finds no subsystem, and releases nothing: the count stays in \
              `group->sgroups[id]`. Nothing resets it (`nvmf_poll_group_add_subsystem` only \
              drops queued requests), so the next subsystem created with that id (the lowest \
              free one) starts with a count no request will release, and its first pause on \
              that poll group (a namespace or listener change) waits forever. The model \
              reports the unreleased count at the completion (I7).",
    backstop: "none inside the target; do not re-create a subsystem while CONNECTs to the \
               deleted one may still be in flight, or restart the target",
    steps: &[
        HazardStep {
            what: "a CONNECT is counted in the sgroup of the subsystem its NQN names",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:4570", "nvmf_check_subsystem_active"),
                line(V2605, "lib/nvmf/ctrlr.c:5324", "nvmf_check_subsystem_active"),
                line(MASTER, "lib/nvmf/ctrlr.c:5340", "nvmf_check_subsystem_active"),
            ],
        },
        HazardStep {
            what: "the subsystem is stopped (removed from each poll group, no wait for the \
                   count) and deleted while the CONNECT is between threads",
            source: &[
                line(V2401, "lib/nvmf/nvmf.c:1756", "nvmf_poll_group_remove_subsystem"),
                line(V2605, "lib/nvmf/nvmf.c:1964", "nvmf_poll_group_remove_subsystem"),
                line(MASTER, "lib/nvmf/nvmf.c:2024", "nvmf_poll_group_remove_subsystem"),
            ],
        },
        HazardStep {
            what: "the CONNECT is answered: no subsystem by that NQN, no sgroup, no release",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:4430", "_nvmf_request_complete"),
                line(V2605, "lib/nvmf/ctrlr.c:5186", "_nvmf_request_complete"),
                line(MASTER, "lib/nvmf/ctrlr.c:5202", "_nvmf_request_complete"),
            ],
        },
        HazardStep {
            what: "a subsystem created later takes the same id and inherits the count; its \
                   first pause on that poll group never completes",
            source: &[
                line(V2605, "lib/nvmf/subsystem.c:354", "spdk_nvmf_subsystem_create_ext"),
                line(MASTER, "lib/nvmf/subsystem.c:401", "spdk_nvmf_subsystem_create_ext"),
                line(V2401, "lib/nvmf/nvmf.c:1826", "nvmf_poll_group_pause_subsystem"),
                line(V2605, "lib/nvmf/nvmf.c:2034", "nvmf_poll_group_pause_subsystem"),
                line(MASTER, "lib/nvmf/nvmf.c:2139", "nvmf_poll_group_pause_subsystem"),
            ],
        },
    ],
};

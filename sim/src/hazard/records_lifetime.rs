//! Hazards of the thread and poll-group lifetime (I15, core `thread_life.rs`): target shutdown
//! destroys a controller's thread while that controller's teardown is still on its way to it.
//! H-8 and H-9 are the two sends of that teardown that can meet the exited thread.

use super::{line, Hazard, HazardStep, MASTER, V2401, V2605};
use fabcheck_core::nvmf::{InvariantId, Spdk};

const SUMMARY: &str = "Target shutdown (nvmf_tgt's FINI states) stops and destroys every \
    subsystem, logging and going on to the next one when it cannot ('Trying others'): a \
    subsystem that an earlier nvmf_delete_subsystem is still stopping or destroying is \
    passed over while its qpairs drain. DESTROY_POLL_GROUPS then walks each poll group until \
    its qpair list is empty, frees the group and calls spdk_thread_exit; the thread is \
    EXITED once its message ring is empty and no poller is registered on it. A controller \
    whose host set KATO = 0 has no keep-alive poller, so its thread (the admin qpair's poll \
    group) can exit while one of its I/O qpairs, on another poll group, still drains. When \
    that qpair's teardown sends the controller's next step to the controller's thread, the \
    send fails: v24.01 logs 'marked as exited' and returns -EIO (the controller is never \
    freed, and the subsystem's destroy waits for it), master aborts.";

const BACKSTOP: &str = "do not shut the target down while an nvmf_delete_subsystem is still \
    running (wait for its answer), or keep keep-alive enabled on every host (the controller's \
    keep-alive poller then holds its thread in EXITING until the controller is freed)";

const STEPS: &[HazardStep] = &[
    HazardStep {
        what: "nvmf_delete_subsystem(S) stops S: the I/O qpair on another poll group starts \
               disconnecting and drains its outstanding I/O",
        source: &[
            line(V2401, "lib/nvmf/nvmf.c:1381", "spdk_nvmf_qpair_disconnect"),
            line(V2605, "lib/nvmf/nvmf.c:1640", "spdk_nvmf_qpair_disconnect"),
            line(MASTER, "lib/nvmf/nvmf.c:1681", "spdk_nvmf_qpair_disconnect"),
        ],
    },
    HazardStep {
        what: "the shutdown cannot stop or destroy S (a state change in progress, or not \
               INACTIVE yet) and goes on to the other subsystems",
        source: &[
            line(
                V2401,
                "module/event/subsystems/nvmf/nvmf_tgt.c:235",
                "nvmf_tgt_subsystem_stopped",
            ),
            line(
                V2401,
                "module/event/subsystems/nvmf/nvmf_tgt.c:263",
                "_nvmf_tgt_subsystem_destroy",
            ),
            line(
                V2605,
                "module/event/subsystems/nvmf/nvmf_tgt.c:264",
                "nvmf_tgt_subsystem_stopped",
            ),
            line(
                V2605,
                "module/event/subsystems/nvmf/nvmf_tgt.c:321",
                "_nvmf_tgt_subsystem_destroy",
            ),
            line(
                MASTER,
                "module/event/subsystems/nvmf/nvmf_tgt.c:264",
                "nvmf_tgt_subsystem_stopped",
            ),
            line(
                MASTER,
                "module/event/subsystems/nvmf/nvmf_tgt.c:321",
                "_nvmf_tgt_subsystem_destroy",
            ),
        ],
    },
    HazardStep {
        what: "DESTROY_POLL_GROUPS: the controller's poll group is empty (its admin qpair is \
               gone), is freed and its thread exits; with no keep-alive poller nothing holds \
               it in EXITING",
        source: &[
            line(V2401, "lib/nvmf/nvmf.c:328", "_nvmf_tgt_disconnect_qpairs"),
            line(
                V2401,
                "module/event/subsystems/nvmf/nvmf_tgt.c:102",
                "nvmf_tgt_destroy_poll_group_done",
            ),
            line(V2401, "lib/thread/thread.c:685", "thread_exit"),
            line(V2605, "lib/nvmf/nvmf.c:476", "_nvmf_tgt_disconnect_qpairs"),
            line(
                V2605,
                "module/event/subsystems/nvmf/nvmf_tgt.c:131",
                "nvmf_tgt_destroy_poll_group_done",
            ),
            line(V2605, "lib/thread/thread.c:735", "thread_exit"),
            line(MASTER, "lib/nvmf/nvmf.c:476", "_nvmf_tgt_disconnect_qpairs"),
            line(
                MASTER,
                "module/event/subsystems/nvmf/nvmf_tgt.c:131",
                "nvmf_tgt_destroy_poll_group_done",
            ),
            line(MASTER, "lib/thread/thread.c:735", "thread_exit"),
        ],
    },
];

/// `H-8`: the draining I/O qpair's fini sends `_nvmf_ctrlr_free_from_qpair` to the exited
/// controller thread.
pub(super) const FREE_FROM_QPAIR_TO_EXITED_THREAD: Hazard = Hazard {
    id: "H-8-free-from-qpair-to-exited-thread",
    title: "shutdown lets a controller's thread exit before its last I/O qpair's teardown \
            reaches it (_nvmf_ctrlr_free_from_qpair)",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I15,
    site: "_nvmf_transport_qpair_fini_complete",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "shutdown-under-load",
    seeds: &[SEED_H8_V2401, SEED_H8_V2605, SEED_H8_MASTER],
    summary: SUMMARY,
    backstop: BACKSTOP,
    steps: &[
        STEPS[0],
        STEPS[1],
        STEPS[2],
        HazardStep {
            what: "the I/O qpair drains and finishes teardown: the send of \
                   _nvmf_ctrlr_free_from_qpair to the controller's thread fails",
            source: &[
                line(
                    V2401,
                    "lib/nvmf/nvmf.c:1272",
                    "_nvmf_transport_qpair_fini_complete",
                ),
                line(V2401, "lib/thread/thread.c:1354", "spdk_thread_send_msg"),
                line(
                    V2605,
                    "lib/nvmf/nvmf.c:1540",
                    "_nvmf_transport_qpair_fini_complete",
                ),
                line(V2605, "lib/thread/thread.c:1425", "spdk_thread_send_msg"),
                line(
                    MASTER,
                    "lib/nvmf/nvmf.c:1581",
                    "_nvmf_transport_qpair_fini_complete",
                ),
                line(MASTER, "lib/thread/thread.c:1425", "spdk_thread_send_msg"),
            ],
        },
    ],
};

/// `H-9`: the last-qpair destruct sends `_nvmf_ctrlr_destruct` to the exited controller
/// thread.
pub(super) const CTRLR_DESTRUCT_TO_EXITED_THREAD: Hazard = Hazard {
    id: "H-9-ctrlr-destruct-to-exited-thread",
    title: "shutdown lets a controller's thread exit before its destruct reaches it \
            (_nvmf_ctrlr_destruct)",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I15,
    site: "nvmf_ctrlr_destruct",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "shutdown-under-load",
    seeds: &[SEED_H9_V2401, SEED_H9_V2605, SEED_H9_MASTER],
    summary: SUMMARY,
    backstop: BACKSTOP,
    steps: &[
        STEPS[0],
        STEPS[1],
        HazardStep {
            what: "the last qpair's _nvmf_ctrlr_free_from_qpair runs on the controller's \
                   thread and sends the destruct to the subsystem thread; the thread's queue \
                   is now empty",
            source: &[
                line(V2401, "lib/nvmf/nvmf.c:1244", "_nvmf_ctrlr_free_from_qpair"),
                line(V2605, "lib/nvmf/nvmf.c:1516", "_nvmf_ctrlr_free_from_qpair"),
                line(
                    MASTER,
                    "lib/nvmf/nvmf.c:1557",
                    "_nvmf_ctrlr_free_from_qpair",
                ),
            ],
        },
        STEPS[2],
        HazardStep {
            what: "nvmf_ctrlr_destruct on the subsystem thread sends _nvmf_ctrlr_destruct to \
                   the controller's thread: the send fails",
            source: &[
                line(V2401, "lib/nvmf/ctrlr.c:559", "nvmf_ctrlr_destruct"),
                line(V2401, "lib/thread/thread.c:1354", "spdk_thread_send_msg"),
                line(V2605, "lib/nvmf/ctrlr.c:674", "nvmf_ctrlr_destruct"),
                line(V2605, "lib/thread/thread.c:1425", "spdk_thread_send_msg"),
                line(MASTER, "lib/nvmf/ctrlr.c:678", "nvmf_ctrlr_destruct"),
                line(MASTER, "lib/thread/thread.c:1425", "spdk_thread_send_msg"),
            ],
        },
    ],
};

/// Seeds with every switch off (`fabcheck hazards --check` replays them).
const SEED_H8_V2401: &str = "fc1:shutdown-under-load@v24.01:3ccdfd9c96a18897";
/// v26.05's seeds are shrunk (`fabcheck shrink`); H-8's story needs many choices.
const SEED_H8_V2605: &str = concat!(
    "fc1:shutdown-under-load@v26.05:3ccdfd9c96a18897:",
    "0.0.1.0.0.1.1.1.1.1.1.1.1.0.0.1.1.1.1.1.1.1.1.0.0.1.1.1.0.0.1.0.",
    "0.0.0.1.0.0.0.0.0.1.0.0.0.1.0.1.0.0.0.0.0.0.0.0.0.0.0.1.0.1.0.1.",
    "0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.",
    "0.1.0.1.0.1.0.1.0.1.0.1.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.",
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.",
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.",
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.",
    "0.0.0.0.0.0.0.1",
);
const SEED_H8_MASTER: &str = "fc1:shutdown-under-load@master:3ccdfd9c96a18897";
const SEED_H9_V2401: &str = "fc1:shutdown-under-load@v24.01:31bca702ef57085d";
const SEED_H9_V2605: &str = "fc1:shutdown-under-load@v26.05:31bca702ef57085d:0.0.0.0.0.0.1.1.1.1.1.1.1.0.0.0.1.0.1.1.1.1.0.0.1.1.1.1.1.1.1.0.0.0.0.2.199.0.0.199.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.2.1.1.1.1";
const SEED_H9_MASTER: &str = "fc1:shutdown-under-load@master:31bca702ef57085d";

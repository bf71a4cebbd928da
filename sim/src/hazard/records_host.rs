//! Hazard H-11: `nvmf_subsystem_remove_host`'s disconnect context keeps a plain pointer to the
//! subsystem; an `nvmf_delete_subsystem` that frees the subsystem while the remove_host walk is
//! on its way makes the walk's completion read freed memory (v26.05 and master). Found by the
//! `host-removal-under-teardown` scenario after master's remove_host wait was modelled
//! (host_wait.rs in the core); confirmed on real SPDK master with the differential harness.

use super::{line, Hazard, HazardStep, MASTER, V2605};
use fabcheck_core::nvmf::{InvariantId, Spdk};

/// `H-11`: `nvmf_subsystem_disconnect_host_fini` reads `ctx->subsystem` after a delete freed
/// it.
pub(super) const REMOVE_HOST_WALK_OUTLIVES_SUBSYSTEM: Hazard = Hazard {
    id: "H-11-remove-host-walk-outlives-subsystem",
    title: "nvmf_subsystem_remove_host's disconnect walk finishes after a concurrent \
            nvmf_delete_subsystem freed the subsystem (nvmf_subsystem_disconnect_host_fini)",
    profiles: &[Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I1,
    site: "nvmf_subsystem_disconnect_host_fini",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "host-removal-under-teardown",
    seeds: &[SEED_V2605, SEED_MASTER],
    summary: "rpc_nvmf_subsystem_remove_host removes the host, then \
              spdk_nvmf_subsystem_disconnect_host starts a for_each_channel walk whose context \
              holds `ctx->subsystem`, a plain pointer: no reference, no state change, nothing \
              the subsystem's destroy waits for. An nvmf_delete_subsystem answered in between \
              (stop_for_destroy's fan-out completes, the subsystem has no controller left, \
              _nvmf_subsystem_destroy frees it) leaves the walk's completion \
              nvmf_subsystem_disconnect_host_fini to read it: master's \
              `spdk_thread_exec_msg(ctx->subsystem->thread, ..)` (subsystem.c:1521), v26.05's \
              `spdk_for_each_channel(ctx->subsystem->tgt, ..)` for its re-walk \
              (subsystem.c:1462). v24.01's fini only calls back. Confirmed on real SPDK master \
              at 3230130e6a with the differential harness: ASAN heap-use-after-free at \
              subsystem.c:1521 at the model's step, the free in _nvmf_subsystem_destroy \
              (subsystem.c:604). master's 5 ms poller that follows keeps the same pointer \
              (nvmf_subsystem_has_ctrlr), so a delete that finishes while it waits is the same \
              read one poll later (core test in core/src/tests/remove_host.rs).",
    backstop: "do not delete a subsystem (or shut the target down) while an \
               nvmf_subsystem_remove_host on it is unanswered: one RPC client, waiting for \
               each answer",
    steps: &[
        HazardStep {
            what: "nvmf_delete_subsystem(S): stop_for_destroy starts the stop fan-out",
            source: &[
                line(
                    V2605,
                    "lib/nvmf/nvmf_rpc.c:576",
                    "rpc_nvmf_delete_subsystem",
                ),
                line(
                    MASTER,
                    "lib/nvmf/nvmf_rpc.c:463",
                    "rpc_nvmf_delete_subsystem",
                ),
            ],
        },
        HazardStep {
            what: "nvmf_subsystem_remove_host(S, host): the host is removed and the disconnect \
                   walk starts with `ctx->subsystem = S`",
            source: &[
                line(
                    V2605,
                    "lib/nvmf/nvmf_rpc.c:2038",
                    "rpc_nvmf_subsystem_remove_host",
                ),
                line(
                    V2605,
                    "lib/nvmf/subsystem.c:1491",
                    "spdk_nvmf_subsystem_disconnect_host",
                ),
                line(
                    MASTER,
                    "lib/nvmf/nvmf_rpc.c:1708",
                    "rpc_nvmf_subsystem_remove_host",
                ),
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:1548",
                    "spdk_nvmf_subsystem_disconnect_host",
                ),
            ],
        },
        DELETE_FREES_THE_SUBSYSTEM,
        HazardStep {
            what: "the walk's last poll group is visited and its completion reads the freed S",
            source: &[
                line(
                    V2605,
                    "lib/nvmf/subsystem.c:1462",
                    "nvmf_subsystem_disconnect_host_fini",
                ),
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:1521",
                    "nvmf_subsystem_disconnect_host_fini",
                ),
            ],
        },
    ],
};

const SEED_V2605: &str = "fc1:host-removal-under-teardown@v26.05:0706dd2f4d197e6f:\
                          0.0.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1";
const SEED_MASTER: &str = "fc1:host-removal-under-teardown@master:0706dd2f4d197e6f:\
                           0.0.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1";

/// `H-12`: master's remove_host poller reads `ctx->subsystem` after a delete freed it.
pub(super) const REMOVE_HOST_POLLER_OUTLIVES_SUBSYSTEM: Hazard = Hazard {
    id: "H-12-remove-host-poller-outlives-subsystem",
    title: "master's remove_host poller polls a subsystem a concurrent nvmf_delete_subsystem \
            freed (nvmf_subsystem_has_ctrlr)",
    profiles: &[Spdk::Master],
    invariant: InvariantId::I1,
    site: "nvmf_subsystem_has_ctrlr",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "host-removal-under-teardown",
    seeds: &[SEED_POLL_MASTER],
    summary: "After its walk, master's nvmf_subsystem_remove_host registers a 5 ms poller on \
              the subsystem thread (30652f6374) that answers once no controller of the host is \
              left on `subsystem->ctrlrs`; its context keeps `ctx->subsystem` as a plain \
              pointer. An nvmf_delete_subsystem that frees the subsystem before the next poll \
              (no controller of any host left, or the last ones destructed meanwhile) makes \
              that poll read freed memory in nvmf_subsystem_has_ctrlr. Confirmed on real SPDK \
              master at 3230130e6a with the differential harness: remove_host with no \
              connected host, then delete, then the 5 ms poll: ASAN heap-use-after-free at \
              subsystem.c:1399, freed in _nvmf_subsystem_destroy (subsystem.c:604). v26.05's \
              re-walk has no poller (its fini read is H-11).",
    backstop: "do not delete a subsystem (or shut the target down) while an \
               nvmf_subsystem_remove_host on it is unanswered",
    steps: &[
        HazardStep {
            what: "nvmf_subsystem_remove_host(S, host): the walk finishes and its completion \
                   registers the 5 ms poller with `ctx->subsystem = S`",
            source: &[
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:1521",
                    "nvmf_subsystem_disconnect_host_fini",
                ),
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:1469",
                    "nvmf_subsystem_disconnect_host_start_poller",
                ),
            ],
        },
        DELETE_FREES_THE_SUBSYSTEM,
        HazardStep {
            what: "the next poll walks the freed S's controller list",
            source: &[
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:1442",
                    "nvmf_subsystem_disconnect_host_poll",
                ),
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:1399",
                    "nvmf_subsystem_has_ctrlr",
                ),
            ],
        },
    ],
};

const SEED_POLL_MASTER: &str = "fc1:host-removal-under-teardown@master:1ad6e24671254235:\
                                0.0.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1";

/// The step both stories share: the delete's stop completes and the subsystem (no controller
/// left) is destroyed and freed.
const DELETE_FREES_THE_SUBSYSTEM: HazardStep = HazardStep {
    what: "the stop completes first: the delete destroys S (no controller left) and \
               frees it, and answers",
    source: &[
        line(
            V2605,
            "lib/nvmf/nvmf_rpc.c:521",
            "rpc_nvmf_subsystem_stopped",
        ),
        line(V2605, "lib/nvmf/subsystem.c:567", "_nvmf_subsystem_destroy"),
        line(
            MASTER,
            "lib/nvmf/nvmf_rpc.c:421",
            "rpc_nvmf_subsystem_stopped",
        ),
        line(
            MASTER,
            "lib/nvmf/subsystem.c:604",
            "_nvmf_subsystem_destroy",
        ),
    ],
};

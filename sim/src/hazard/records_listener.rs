//! Hazard H-10: the shutdown's STOP_LISTEN frees transport listeners that subsystem listeners
//! still point at; a later removal of those subsystem listeners with stop reads the pointer.
//! Found by replaying H-8 and H-9 on real SPDK (docs/differential.md, "Target shutdown").

use super::{line, Hazard, HazardStep, MASTER, V2401, V2405, V2605};
use fabcheck_core::nvmf::{InvariantId, Spdk};

/// `H-10`: `_nvmf_subsystem_remove_listener(stop)` after STOP_LISTEN freed the transport
/// listener.
pub(super) const STOPPED_LISTENER_REMOVED_WITH_STOP: Hazard = Hazard {
    id: "H-10-stopped-listener-removed-with-stop",
    title: "a subsystem listener whose transport listener the shutdown's STOP_LISTEN freed is \
            removed with stop (in-flight delete or the target's destroy)",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I1,
    site: "_nvmf_subsystem_remove_listener",
    detail: "",
    stuck: &[],
    also_at: &[],
    scenario: "shutdown-under-load",
    seeds: &[SEED_V2401, SEED_V2605, SEED_MASTER],
    summary: "A subsystem listener keeps a pointer to its transport listener's trid \
              (`listener->trid = &tr_listener->trid`). nvmf_tgt's STOP_LISTEN (v24.05's \
              2cbc8aec37, which the v24.01 profile includes; after the subsystem stops in \
              master) calls `spdk_nvmf_transport_stop_listen` once per subsystem listener and \
              removes none of them: the last reference frees the transport listener and its \
              trid. A subsystem the shutdown passed over because an earlier \
              nvmf_delete_subsystem is still stopping it then finishes that stop, and \
              `rpc_nvmf_subsystem_stopped` calls `nvmf_subsystem_remove_all_listeners(s, \
              true)`; a subsystem that survived the destroy phase meets the same call in \
              `nvmf_tgt_destroy_cb`. `_nvmf_subsystem_remove_listener` reads \
              `listener->trid->trstring`: freed memory in v24.05 .. v25.09; since dfdd45beeb \
              (v26.01, #3656) the pointer is NULL, so debug builds fail \
              `assert(nvmf_subsystem_listener_is_active(listener))` and release builds \
              dereference NULL. Confirmed on real SPDK with the differential harness: ASAN \
              heap-use-after-free in v24.05 and in v24.01 with the profile's shutdown order, \
              the assert in master at 3230130e6a.",
    backstop: "do not shut the target down while an nvmf_delete_subsystem is still running \
               (wait for its answer), and let every subsystem reach INACTIVE before the \
               shutdown (no state change in flight)",
    steps: &[
        HazardStep {
            what: "nvmf_delete_subsystem(S) starts stopping S; the shutdown's stop phase passes \
                   over S (its stop is refused while the delete's runs)",
            source: &[
                line(
                    V2401,
                    "lib/nvmf/nvmf_rpc.c:530",
                    "rpc_nvmf_delete_subsystem",
                ),
                line(
                    V2605,
                    "lib/nvmf/nvmf_rpc.c:542",
                    "rpc_nvmf_delete_subsystem",
                ),
                line(
                    MASTER,
                    "lib/nvmf/nvmf_rpc.c:437",
                    "rpc_nvmf_delete_subsystem",
                ),
            ],
        },
        HazardStep {
            what: "STOP_LISTEN drops every subsystem listener's reference: the transport \
                   listener is freed with its trid, the subsystem listeners stay",
            source: &[
                line(
                    V2405,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:255",
                    "nvmf_tgt_stop_listen",
                ),
                line(
                    V2401,
                    "lib/nvmf/transport.c:437",
                    "spdk_nvmf_transport_stop_listen",
                ),
                line(
                    V2605,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:276",
                    "nvmf_tgt_stop_listen",
                ),
                line(
                    V2605,
                    "lib/nvmf/transport.c:464",
                    "spdk_nvmf_transport_stop_listen",
                ),
                line(
                    MASTER,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:276",
                    "nvmf_tgt_stop_listen",
                ),
                line(
                    MASTER,
                    "lib/nvmf/transport.c:464",
                    "spdk_nvmf_transport_stop_listen",
                ),
            ],
        },
        HazardStep {
            what: "S's stop completes: the delete removes S's listeners with stop and reads the \
                   freed (or NULL) trid",
            source: &[
                line(
                    V2401,
                    "lib/nvmf/nvmf_rpc.c:508",
                    "rpc_nvmf_subsystem_stopped",
                ),
                line(
                    V2401,
                    "lib/nvmf/subsystem.c:328",
                    "_nvmf_subsystem_remove_listener",
                ),
                line(
                    V2605,
                    "lib/nvmf/nvmf_rpc.c:520",
                    "rpc_nvmf_subsystem_stopped",
                ),
                line(
                    V2605,
                    "lib/nvmf/subsystem.c:486",
                    "_nvmf_subsystem_remove_listener",
                ),
                line(
                    MASTER,
                    "lib/nvmf/nvmf_rpc.c:420",
                    "rpc_nvmf_subsystem_stopped",
                ),
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:523",
                    "_nvmf_subsystem_remove_listener",
                ),
            ],
        },
    ],
};

const SEED_V2401: &str = "fc1:shutdown-under-load@v24.01:0706dd2f4d197e6f";
const SEED_V2605: &str =
    "fc1:shutdown-under-load@v26.05:1e41ab087439611e:0.0.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1";
const SEED_MASTER: &str = "fc1:shutdown-under-load@master:1e41ab087439611e";

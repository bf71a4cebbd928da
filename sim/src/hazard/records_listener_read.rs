//! Hazard H-13: a subsystem listener outlives the transport listener its trid points into,
//! and a later read of that trid reads freed memory (v24.01) or NULL (v26.05, master).
//! Found by the model once subsystem listeners kept their binding (core subsys_listener.rs);
//! v24.01's reads and master's assert were seen on real SPDK first (docs/differential.md).

use super::{line, Hazard, HazardStep, MASTER, V2401, V2405, V2605};
use fabcheck_core::nvmf::{InvariantId, Spdk};

/// `H-13`: a read of a subsystem listener's trid after its transport listener was freed.
pub(super) const LISTENER_READ_AFTER_FREE: Hazard = Hazard {
    id: "H-13-listener-read-after-free",
    title: "a stop_listen frees a transport listener that a subsystem listener still points \
            into; a later read of that listener's trid meets freed memory or NULL",
    profiles: &[Spdk::V24_01, Spdk::V26_05, Spdk::Master],
    invariant: InvariantId::I1,
    site: "nvmf_tgt_stop_listen",
    detail: "",
    stuck: &[],
    also_at: &[
        "spdk_nvmf_subsystem_listener_allowed",
        "nvmf_subsystem_find_listener",
        "nvmf_generate_discovery_log",
        "dump_nvmf_subsystem",
        "rpc_nvmf_get_listeners_paused",
        "nvmf_qpair_set_ctrlr",
    ],
    scenario: "random-peers",
    seeds: &[SEED_V2401, SEED_V2605, SEED_MASTER],
    summary: "A subsystem listener does not copy its trid: `listener->trid = \
              &tr_listener->trid` points into the transport listener that existed when it was \
              added. `spdk_nvmf_transport_stop_listen` frees the transport listener when its \
              last reference goes, and removes no subsystem listener. An embedder's \
              `spdk_nvmf_transport_stop_listen_async` on a port whose references the \
              subsystem listeners hold (with or without a subsystem filter) drops one of \
              theirs; nvmf_tgt's STOP_LISTEN then drops the rest, and the one that reaches zero \
              frees the listener while the loop still has subsystem listeners to read. In \
              v24.01 (and v24.05 .. v25.09) the pointer dangles: STOP_LISTEN, the CONNECT \
              access check (`spdk_nvmf_subsystem_listener_allowed`, even on another port of the \
              subsystem, when the stale listener comes first in the list), the listener RPCs' \
              `nvmf_subsystem_find_listener`, the discovery log and the RPC dumps read freed \
              memory; with v24.05's shutdown order (STOP_LISTEN before the subsystems stop, \
              which the v24.01 profile takes) a CONNECT on a connection accepted before the \
              shutdown does so with no embedder involved. Since dfdd45beeb (v26.01, #3656) \
              the transport sets the pointer to NULL and most readers skip the listener, but \
              nvmf_tgt's STOP_LISTEN and `nvmf_qpair_set_ctrlr`'s trace description \
              (e67cdcb4ea, v26.05) dereference it. A `listen` of the same port later does not \
              repair the binding. Seen on real SPDK with the differential harness: ASAN \
              heap-use-after-free in `spdk_nvme_transport_id_compare` \
              (`nvmf_subsystem_find_listener`) in v24.01, and master's \
              `assert(nvmf_subsystem_listener_is_active)` (H-10's site) after a re-listen.",
    backstop: "an embedder stops only the references it took itself \
               (`spdk_nvmf_tgt_listen_ext`), and takes a port away from a subsystem with \
               `nvmf_subsystem_remove_listener`, never with a bare stop_listen",
    steps: &[
        HazardStep {
            what: "a subsystem listener is added: it points into the transport listener",
            source: &[
                line(
                    V2401,
                    "lib/nvmf/subsystem.c:1188",
                    "_nvmf_subsystem_add_listener",
                ),
                line(
                    V2605,
                    "lib/nvmf/subsystem.c:1803",
                    "_nvmf_subsystem_add_listener",
                ),
                line(
                    MASTER,
                    "lib/nvmf/subsystem.c:1860",
                    "_nvmf_subsystem_add_listener",
                ),
            ],
        },
        HazardStep {
            what: "a stop drops the last reference: the transport listener is freed (v26.05 \
                   and master set the subsystem listeners' pointer to NULL first); the \
                   subsystem listener stays",
            source: &[
                line(
                    V2401,
                    "lib/nvmf/transport.c:442",
                    "spdk_nvmf_transport_stop_listen",
                ),
                line(
                    V2605,
                    "lib/nvmf/transport.c:474",
                    "spdk_nvmf_transport_stop_listen",
                ),
                line(
                    MASTER,
                    "lib/nvmf/transport.c:474",
                    "spdk_nvmf_transport_stop_listen",
                ),
            ],
        },
        HazardStep {
            what: "a later walk reads the listener's trid: nvmf_tgt's STOP_LISTEN \
                   (`trid->trstring`), the CONNECT access check, the listener RPCs",
            source: &[
                line(
                    V2405,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:270",
                    "nvmf_tgt_stop_listen",
                ),
                line(
                    V2401,
                    "lib/nvmf/subsystem.c:1298",
                    "spdk_nvmf_subsystem_listener_allowed",
                ),
                line(
                    V2401,
                    "lib/nvmf/subsystem.c:1046",
                    "nvmf_subsystem_find_listener",
                ),
                line(
                    V2605,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:291",
                    "nvmf_tgt_stop_listen",
                ),
                line(
                    MASTER,
                    "module/event/subsystems/nvmf/nvmf_tgt.c:291",
                    "nvmf_tgt_stop_listen",
                ),
                line(MASTER, "lib/nvmf/ctrlr.c:228", "nvmf_qpair_set_ctrlr"),
            ],
        },
    ],
};

const SEED_V2401: &str = "fc1:random-peers@v24.01:333012f6635ff33d";
const SEED_V2605: &str = "fc1:random-peers@v26.05:0c60e9b1dda8d36a";
const SEED_MASTER: &str = "fc1:random-peers@master:2fcd400f7acbe68a";

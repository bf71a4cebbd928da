//! Random actors (`script = "random"`, `operator = "random"`): the menus they pick from and
//! the picks. A random host's menu is every step a host can put on the wire, legal or not
//! (connects, I/O, CC writes, second CONNECTs, duplicate qids, early admin commands, stale
//! H2CData, closes, waits); each pick is among the menu steps whose gate passes now. A random
//! operator's menu is every RPC the scenario's names allow.
//!
//! Invariants kept: every pick goes through the chooser (`ChoiceKind::Script`), so a seed
//! string replays it and shrinking can change it; the menus are pure functions of the
//! scenario. Ending moves (vanishing, target shutdown) are offered only as an actor's last
//! action, so a random actor does not spend most runs already gone.

use super::{OpState, World};
use crate::chooser::ChoiceKind;
use crate::scenario::{HostSpec, HostStep, OperatorRpc, Scenario};

/// The I/O queue ids a random host uses.
const RANDOM_QIDS: [u16; 2] = [1, 2];

/// The first namespace of the host's subsystem: `(nsid, blocks)`, or nsid 1 if it has none.
fn host_namespace(spec: &HostSpec, sc: &Scenario) -> (u32, u64) {
    sc.subsystems
        .iter()
        .filter(|s| s.nqn == spec.subnqn)
        .flat_map(|s| s.namespaces.iter())
        .map(|n| (n.nsid, n.blocks))
        .next()
        .unwrap_or((1, 64))
}

/// Every step a random host may pick (before gating), in a fixed order.
pub(super) fn host_menu(spec: &HostSpec, sc: &Scenario) -> Vec<HostStep> {
    let (nsid, blocks) = host_namespace(spec, sc);
    let big = u32::try_from(blocks.min(16)).unwrap_or(16);
    let kato = if spec.kato_ms == 0 {
        10_000
    } else {
        spec.kato_ms
    };
    let mut m = vec![
        HostStep::Connect,
        HostStep::OpenAdmin,
        HostStep::ConnectAdmin,
        HostStep::Initialize,
        HostStep::KeepAlive,
        HostStep::StopKeepAlive,
        HostStep::Reset,
        HostStep::Shutdown,
        HostStep::DisconnectAll,
        HostStep::CloseAdmin,
        HostStep::AdminBeforeConnect { opc: None },
        HostStep::WriteCc {
            en: None,
            shn: None,
        },
        HostStep::ConnectAgain { qid: 0 },
        HostStep::Wait {
            ms: 0,
            jitter_ms: kato.saturating_mul(3) / 2,
        },
    ];
    for qid in RANDOM_QIDS {
        m.extend([
            HostStep::ConnectIo { qid },
            HostStep::ConnectIoStale { qid },
            HostStep::ConnectDupQid { qid },
            HostStep::ConnectAgain { qid },
            HostStep::Read {
                qid,
                nsid,
                slba: 0,
                nlb: 1,
            },
            HostStep::Write {
                qid,
                nsid,
                slba: 0,
                blocks: 1,
            },
            HostStep::Write {
                qid,
                nsid,
                slba: 0,
                blocks: big,
            },
            HostStep::StaleH2cData { qid },
            HostStep::Disconnect { qid },
        ]);
    }
    m
}

/// Every RPC a random operator may pick (before the last-action rule), in a fixed order.
pub(super) fn operator_menu(sc: &Scenario) -> Vec<OperatorRpc> {
    let mut listeners: Vec<String> = sc.listeners.clone();
    for l in sc.subsystems.iter().flat_map(|s| s.listeners.iter()) {
        if !listeners.contains(l) {
            listeners.push(l.clone());
        }
    }
    let mut m = Vec::new();
    for l in &listeners {
        m.push(OperatorRpc::Listen {
            listener: l.clone(),
        });
        m.push(OperatorRpc::StopListen {
            listener: l.clone(),
            nqn: None,
        });
    }
    for (h, spec) in sc.hosts.iter().enumerate() {
        m.push(OperatorRpc::DisconnectQpair { host: h, qid: 0 });
        m.push(OperatorRpc::DisconnectQpair { host: h, qid: 1 });
        for s in sc.subsystems.iter().filter(|s| s.nqn == spec.subnqn) {
            m.push(OperatorRpc::RemoveHost {
                nqn: s.nqn.clone(),
                hostnqn: spec.hostnqn.clone(),
            });
            m.push(OperatorRpc::AddHost {
                nqn: s.nqn.clone(),
                hostnqn: spec.hostnqn.clone(),
            });
        }
    }
    for s in &sc.subsystems {
        subsystem_rpcs(s, &listeners, &mut m);
    }
    m
}

fn subsystem_rpcs(
    s: &crate::scenario::SubsystemSpec,
    listeners: &[String],
    m: &mut Vec<OperatorRpc>,
) {
    let nqn = s.nqn.clone();
    m.extend([
        OperatorRpc::Pause {
            nqn: nqn.clone(),
            nsid: 0,
        },
        OperatorRpc::Resume { nqn: nqn.clone() },
        OperatorRpc::StartSubsystem { nqn: nqn.clone() },
        OperatorRpc::StopSubsystem { nqn: nqn.clone() },
        OperatorRpc::DeleteSubsystem { nqn: nqn.clone() },
        OperatorRpc::CreateSubsystem { nqn: nqn.clone() },
        OperatorRpc::GetQpairs { nqn: nqn.clone() },
        OperatorRpc::GetControllers { nqn: nqn.clone() },
    ]);
    if let Some(ns) = s.namespaces.first() {
        m.extend([
            OperatorRpc::Pause {
                nqn: nqn.clone(),
                nsid: ns.nsid,
            },
            OperatorRpc::RemoveNamespace {
                nqn: nqn.clone(),
                nsid: ns.nsid,
            },
            OperatorRpc::AddNamespace {
                nqn: nqn.clone(),
                ns: *ns,
            },
            OperatorRpc::ResizeNamespace {
                nqn: nqn.clone(),
                nsid: ns.nsid,
                blocks: ns.blocks * 2,
            },
        ]);
    }
    for l in listeners {
        m.extend([
            OperatorRpc::AddListener {
                nqn: nqn.clone(),
                listener: l.clone(),
            },
            OperatorRpc::RemoveListener {
                nqn: nqn.clone(),
                listener: l.clone(),
            },
            OperatorRpc::StopListen {
                listener: l.clone(),
                nqn: Some(nqn.clone()),
            },
        ]);
    }
}

impl OperatorRpc {
    /// How many RPCs this action issues when random (0: a scripted action).
    pub(crate) fn random_actions(&self) -> u32 {
        match self {
            OperatorRpc::Random { actions } => *actions,
            _ => 0,
        }
    }
}

impl World<'_> {
    /// The concrete step a random host `h` takes now: one of its menu steps whose gate
    /// passes (vanishing only as its last action).
    pub(super) fn pick_random_step(&mut self, h: usize, last: bool) -> HostStep {
        let slot = &self.s.hosts[h];
        let mut open: Vec<HostStep> = slot.menu.iter().filter(|s| slot.gate(s)).cloned().collect();
        if last {
            open.push(HostStep::HalfOpen);
        }
        let n = crate::chooser::len_u32(open.len());
        let i = self.chooser.pick(ChoiceKind::Script, n) as usize;
        open.swap_remove(i)
    }

    /// The concrete RPC a random operator action issues now (target shutdown only as its
    /// last): what it owes first, else a pick; a pause then owes its resume and a stop its
    /// start, as every SPDK RPC that pauses or stops a subsystem undoes it.
    pub(super) fn pick_random_rpc(&mut self, i: usize) -> OperatorRpc {
        if let Some(owed) = self.s.op_owed[i].take() {
            return owed;
        }
        let last = self.s.op_left[i] <= 1;
        let mut menu = operator_menu(self.sc);
        if last {
            menu.push(OperatorRpc::Shutdown);
        }
        let n = crate::chooser::len_u32(menu.len());
        let k = self.chooser.pick(ChoiceKind::Script, n) as usize;
        self.s.op_left[i] = self.s.op_left[i].saturating_sub(1);
        let rpc = menu.swap_remove(k);
        self.s.op_owed[i] = match &rpc {
            OperatorRpc::Pause { nqn, .. } => Some(OperatorRpc::Resume { nqn: nqn.clone() }),
            OperatorRpc::StopSubsystem { nqn } => {
                Some(OperatorRpc::StartSubsystem { nqn: nqn.clone() })
            }
            _ => None,
        };
        rpc
    }

    /// A random operator action answered: it becomes pending again while it has RPCs left.
    pub(super) fn random_op_answered(&mut self, i: usize) {
        if self.s.op_left[i] > 0 || self.s.op_owed[i].is_some() {
            self.s.ops[i] = OpState::Pending;
        }
    }
}

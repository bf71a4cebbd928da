//! A scripted host: the sans-IO `Host`, its script, and what the world has seen of it (which
//! queues are open, negotiated, connected; whether the controller is ready), which gates the
//! script: a step is enabled only once the host reached what the step needs.

use crate::scenario::{HostSpec, HostStep, Scenario};
use fabcheck_core::host::{dup_qid_key, Host, HostAction, HostConfig, HostEvent, QueueState};
use fabcheck_core::Instant;
use std::collections::BTreeSet;

/// The admin commands a host may send before CONNECT when its script leaves the choice to the
/// seed: AER, Identify, Keep Alive, Get Log Page.
pub(super) const EARLY_ADMIN_OPCODES: [u8; 4] = [0x0C, 0x06, 0x18, 0x02];

pub(super) struct HostSlot {
    pub host: Host,
    pub kept: bool,
    pub steps: Vec<(HostStep, bool)>,
    pub pos: usize,
    pub open: BTreeSet<u16>,
    pub ic: BTreeSet<u16>,
    pub connected: BTreeSet<u16>,
    /// Admin CONNECT sent and not answered.
    pub connecting: bool,
    pub ready: bool,
    pub keep_alive: bool,
    pub next_tag: u64,
    /// The next script step is not enabled before this time (set by a `wait` step).
    pub wake_at: Instant,
    /// Actions taken so far by the `random` step at `pos`.
    pub random_done: u32,
    /// What a `random` step picks from (random.rs), built from the host's scenario entry.
    pub menu: Vec<HostStep>,
}

impl HostSlot {
    pub fn new(spec: &HostSpec, sc: &Scenario) -> Self {
        let mut cfg = HostConfig::new(&spec.hostnqn, &spec.subnqn);
        cfg.kato_ms = spec.kato_ms;
        cfg.aers = spec.aers;
        cfg.sqsize = spec.sqsize.unwrap_or(cfg.sqsize);
        cfg.disable_sq_flow_control = spec.disable_sq_flow_control;
        HostSlot {
            host: Host::new(cfg),
            kept: true,
            steps: expand(&spec.script)
                .into_iter()
                .map(|s| (s, true))
                .collect(),
            pos: 0,
            open: BTreeSet::new(),
            ic: BTreeSet::new(),
            connected: BTreeSet::new(),
            connecting: false,
            ready: false,
            keep_alive: spec.kato_ms > 0,
            next_tag: 1,
            wake_at: Instant::ZERO,
            random_done: 0,
            menu: super::random::host_menu(spec, sc),
        }
    }

    /// Skips dropped steps; the next kept step, if any.
    pub fn next_step(&mut self) -> Option<&HostStep> {
        while self.pos < self.steps.len() && !self.steps[self.pos].1 {
            self.pos += 1;
        }
        self.steps.get(self.pos).map(|(s, _)| s)
    }

    /// Whether `step` may run now (nothing runs once the host vanished).
    pub fn gate(&self, step: &HostStep) -> bool {
        !self.host.vanished() && self.gate_step(step)
    }

    fn gate_step(&self, step: &HostStep) -> bool {
        match step {
            HostStep::Connect | HostStep::OpenAdmin => !self.open.contains(&0),
            HostStep::ConnectAdmin => self.ic.contains(&0) && !self.connected.contains(&0),
            HostStep::Initialize | HostStep::KeepAlive | HostStep::StopKeepAlive => {
                self.connected.contains(&0)
            }
            HostStep::ConnectIo { qid } => self.ready && !self.open.contains(qid),
            HostStep::Read { qid, .. } | HostStep::Write { qid, .. } => {
                self.connected.contains(qid)
            }
            HostStep::Reset | HostStep::Shutdown => self.ready,
            HostStep::Disconnect { qid } => self.open.contains(qid),
            HostStep::DisconnectAll => !self.open.is_empty(),
            HostStep::AdminBeforeConnect { .. } => {
                self.ic.contains(&0) && !self.connected.contains(&0) && !self.connecting
            }
            HostStep::ConnectIoStale { qid } => {
                self.host.last_cntlid().is_some() && !self.open.contains(qid)
            }
            HostStep::CloseAdmin => self.open.contains(&0),
            HostStep::Wait { .. } | HostStep::HalfOpen | HostStep::Random { .. } => true,
            HostStep::WriteCc { .. } => self.connected.contains(&0),
            HostStep::ConnectAgain { qid } | HostStep::StaleH2cData { qid } => {
                self.connected.contains(qid)
            }
            HostStep::ConnectDupQid { qid } => {
                self.host.cntlid().is_some() && !self.open.contains(&dup_qid_key(*qid))
            }
            // Expanded away by `expand`.
            HostStep::ReconnectStorm { .. } => false,
            HostStep::Aers { .. } => self.connected.contains(&0),
            HostStep::AerBehindConnect => matches!(
                self.host.queue_state(0),
                Some(QueueState::Connecting | QueueState::Live)
            ),
        }
    }

    /// The host action of a step; `block_size` sizes writes. A `wait` has none (the world
    /// sets `wake_at`).
    pub fn action(&mut self, step: &HostStep, block_size: u32) -> Option<HostAction> {
        Some(match step {
            HostStep::Connect => {
                self.connecting = true;
                HostAction::Connect
            }
            HostStep::OpenAdmin => HostAction::OpenAdmin,
            HostStep::ConnectAdmin => {
                self.connecting = true;
                HostAction::ConnectAdmin
            }
            HostStep::Initialize => HostAction::Initialize,
            HostStep::ConnectIo { qid } => HostAction::ConnectIo { qid: *qid },
            HostStep::Read {
                qid,
                nsid,
                slba,
                nlb,
            } => HostAction::Read {
                tag: self.tag(),
                qid: *qid,
                nsid: *nsid,
                slba: *slba,
                nlb: *nlb,
            },
            HostStep::Write {
                qid,
                nsid,
                slba,
                blocks,
            } => self.write_action((*qid, *nsid, *slba), *blocks as usize * block_size as usize),
            HostStep::KeepAlive => HostAction::KeepAlive,
            HostStep::StopKeepAlive => {
                self.keep_alive = false;
                HostAction::SetKeepAlive(false)
            }
            HostStep::Reset => HostAction::Reset,
            HostStep::Shutdown => HostAction::Shutdown,
            HostStep::Disconnect { qid } => HostAction::Disconnect { qid: *qid },
            HostStep::DisconnectAll => HostAction::DisconnectAll,
            HostStep::AdminBeforeConnect { opc } => HostAction::AdminBeforeConnect {
                opc: opc.unwrap_or(EARLY_ADMIN_OPCODES[0]),
            },
            HostStep::ConnectIoStale { qid } => HostAction::ConnectIoStale { qid: *qid },
            HostStep::CloseAdmin => HostAction::Disconnect { qid: 0 },
            HostStep::WriteCc { en, shn } => HostAction::WriteCc {
                en: en.unwrap_or(false),
                shn: shn.unwrap_or(0),
            },
            HostStep::ConnectAgain { qid } => HostAction::ConnectAgain { qid: *qid },
            HostStep::ConnectDupQid { qid } => HostAction::ConnectDupQid { qid: *qid },
            HostStep::StaleH2cData { qid } => HostAction::StaleH2cData { qid: *qid },
            HostStep::HalfOpen => HostAction::Vanish,
            HostStep::Wait { .. } | HostStep::ReconnectStorm { .. } | HostStep::Random { .. } => {
                return None
            }
            HostStep::Aers { count } => HostAction::Aers { count: *count },
            HostStep::AerBehindConnect => self.aer_behind_connect(),
        })
    }

    /// An AER behind the admin CONNECT while it is in flight, else on the live queue.
    fn aer_behind_connect(&self) -> HostAction {
        if self.host.queue_state(0) == Some(QueueState::Live) {
            return HostAction::Aers { count: 1 };
        }
        HostAction::AdminBeforeConnect {
            opc: EARLY_ADMIN_OPCODES[0],
        }
    }

    /// A write of `len` bytes at `(qid, nsid, slba)`; the data is derived from its tag.
    fn write_action(&mut self, (qid, nsid, slba): (u16, u32, u64), len: usize) -> HostAction {
        let tag = self.tag();
        let data = (0..len).map(|i| (i as u64 ^ tag) as u8).collect();
        HostAction::Write {
            tag,
            qid,
            nsid,
            slba,
            data,
        }
    }

    fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag - 1
    }

    /// Updates what the world knows from a host event.
    pub fn observe(&mut self, ev: &HostEvent) {
        match ev {
            HostEvent::IcDone { qid } => {
                self.ic.insert(*qid);
            }
            HostEvent::Connected { qid, .. } => {
                self.connected.insert(*qid);
                if *qid == 0 {
                    self.connecting = false;
                }
            }
            HostEvent::ConnectFailed { qid: 0, .. } => self.connecting = false,
            HostEvent::Ready { .. } => self.ready = true,
            HostEvent::QueueClosed { qid } => self.closed(*qid),
            _ => {}
        }
    }

    /// The queue `qid` is gone.
    pub fn closed(&mut self, qid: u16) {
        self.open.remove(&qid);
        self.ic.remove(&qid);
        self.connected.remove(&qid);
        if qid == 0 {
            self.ready = false;
            self.connecting = false;
        }
    }
}

/// The script with each `reconnect_storm` written out as its connects and disconnects.
fn expand(script: &[HostStep]) -> Vec<HostStep> {
    let mut out = Vec::new();
    for step in script {
        match step {
            HostStep::ReconnectStorm { times } => {
                for _ in 0..*times {
                    out.push(HostStep::Connect);
                    out.push(HostStep::DisconnectAll);
                }
            }
            other => out.push(other.clone()),
        }
    }
    out
}

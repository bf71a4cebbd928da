//! Applying one chosen event to the world.

use super::{Event, OpState, World};
use crate::chooser::ChoiceKind;
use crate::net::Delivery;
use crate::scenario::{HostStep, OperatorRpc};
use crate::trace::LineKind;
use fabcheck_core::host::HostInput;
use fabcheck_core::nvmf::{ConnId, Input, RpcId, RpcRequest, Trid};

impl World<'_> {
    pub(super) fn apply(&mut self, event: Event) {
        match event {
            Event::Target(input) => self.apply_target(input),
            Event::ToTarget(c) => self.deliver_to_target(c),
            Event::ToHost(c) => self.deliver_to_host(c),
            Event::HostStep(h) => self.apply_host_step(h),
            Event::HostTimer(h) => {
                self.note(LineKind::Step, &format!("host{h}"), None, "timer".into());
                self.s.hosts[h].host.handle_timeout(self.s.now);
            }
            Event::Operator(i) => self.apply_operator(i),
        }
    }

    fn apply_target(&mut self, input: Input) {
        if self.tracing() {
            let (actor, text) = match &input {
                Input::Run(t) => (t.to_string(), "runs its next message".to_string()),
                Input::Complete(io) => ("device".to_string(), format!("completes I/O {}", io.0)),
                Input::Fire(t) => ("timer".to_string(), format!("fires {t:?}")),
                other => ("target".to_string(), format!("{other:?}")),
            };
            self.note(LineKind::Step, &actor, None, text);
        }
        self.feed(input);
    }

    /// How many bytes of `len` pending to deliver: all, unless a split fault strikes.
    fn split(&mut self, len: usize) -> Option<usize> {
        let rate = self.sc.faults.pdu_split;
        if rate.is_never() || len < 2 || self.s.stage != super::Stage::Safety {
            return None;
        }
        if !rate.hit(self.chooser.pick(ChoiceKind::Fault, rate.den)) {
            return None;
        }
        let n = crate::chooser::len_u32(len);
        Some(1 + self.chooser.pick(ChoiceKind::Split, n - 1) as usize)
    }

    fn deliver_to_target(&mut self, c: ConnId) {
        let len = self.s.conns[&c].to_target.len();
        let prefix = self.split(len);
        let conn = self.s.conns.get_mut(&c).expect("enabled conn exists");
        let (h, qid) = (conn.host, conn.qid);
        match conn.to_target.take(prefix) {
            Some(Delivery::Bytes(data)) => {
                self.trace_pdus(c, true, &data);
                self.feed(Input::Bytes { conn: c, data });
            }
            Some(Delivery::Fin) => {
                conn.target_open = false;
                let text = format!("closes conn {} (q{qid})", c.0);
                self.note(LineKind::Conn, &format!("host{h}"), Some("target"), text);
                self.feed(Input::PeerClosed { conn: c });
            }
            None => {}
        }
    }

    fn deliver_to_host(&mut self, c: ConnId) {
        let len = self.s.conns[&c].to_host.len();
        let prefix = self.split(len);
        let conn = self.s.conns.get_mut(&c).expect("enabled conn exists");
        let (h, qid) = (conn.host, conn.qid);
        match conn.to_host.take(prefix) {
            Some(Delivery::Bytes(data)) => {
                self.trace_pdus(c, false, &data);
                self.s.hosts[h]
                    .host
                    .handle(self.s.now, HostInput::Bytes { qid, data });
            }
            Some(Delivery::Fin) => {
                conn.host_open = false;
                let text = format!("closed conn {} (q{qid})", c.0);
                self.note(LineKind::Conn, "target", Some(&format!("host{h}")), text);
                self.host_queue_gone(h, qid, c);
                self.s.hosts[h]
                    .host
                    .handle(self.s.now, HostInput::Closed { qid });
            }
            None => {}
        }
    }

    /// Forgets host `h`'s queue `qid` if it is still mapped to `c`.
    pub(super) fn host_queue_gone(&mut self, h: usize, qid: u16, c: ConnId) {
        if self.s.by_queue.get(&(h, qid)) == Some(&c) {
            self.s.by_queue.remove(&(h, qid));
        }
        self.s.hosts[h].closed(qid);
    }

    fn apply_host_step(&mut self, h: usize) {
        let slot = &mut self.s.hosts[h];
        let step = slot.next_step().cloned().expect("enabled host step exists");
        let step = match step {
            HostStep::Random { steps } => {
                slot.random_done += 1;
                let last = slot.random_done >= steps;
                if last {
                    slot.pos += 1;
                    slot.random_done = 0;
                }
                self.pick_random_step(h, last)
            }
            other => {
                slot.pos += 1;
                other
            }
        };
        let step = self.resolve_step(step);
        let bs = self.block_size(h, &step);
        let action = self.s.hosts[h].action(&step, bs);
        self.note(
            LineKind::HostStep,
            &format!("host{h}"),
            None,
            step.to_string(),
        );
        match action {
            Some(action) => self.s.hosts[h]
                .host
                .handle(self.s.now, HostInput::Do(action)),
            None => self.host_wait(h, &step),
        }
    }

    /// Fills in what a step leaves to the seed (an early admin command's opcode).
    fn resolve_step(&mut self, step: HostStep) -> HostStep {
        match step {
            HostStep::AdminBeforeConnect { opc: None } => {
                let n = super::host::EARLY_ADMIN_OPCODES.len() as u32;
                let i = self.chooser.pick(ChoiceKind::Script, n) as usize;
                HostStep::AdminBeforeConnect {
                    opc: Some(super::host::EARLY_ADMIN_OPCODES[i]),
                }
            }
            HostStep::WriteCc { en, shn } => HostStep::WriteCc {
                en: Some(en.unwrap_or_else(|| self.chooser.pick(ChoiceKind::Script, 2) == 1)),
                shn: Some(shn.unwrap_or_else(|| self.chooser.pick(ChoiceKind::Script, 4) as u8)),
            },
            other => other,
        }
    }

    /// A `wait` step: the next step is enabled `ms` plus a chosen `0..=jitter_ms` from now.
    fn host_wait(&mut self, h: usize, step: &HostStep) {
        let HostStep::Wait { ms, jitter_ms } = *step else {
            return;
        };
        let extra = match jitter_ms {
            0 => 0,
            j => self.chooser.pick(ChoiceKind::Script, j.saturating_add(1)),
        };
        let d = fabcheck_core::Duration::from_millis(ms.saturating_add(u64::from(extra)));
        self.s.hosts[h].wake_at = self.s.now + d;
    }

    fn block_size(&self, h: usize, step: &HostStep) -> u32 {
        let HostStep::Write { nsid, .. } = step else {
            return 512;
        };
        let subnqn = &self.sc.hosts[h].subnqn;
        self.sc
            .subsystems
            .iter()
            .filter(|s| &s.nqn == subnqn)
            .flat_map(|s| s.namespaces.iter())
            .find(|n| n.nsid == *nsid)
            .map_or(512, |n| n.block_size)
    }

    fn apply_operator(&mut self, i: usize) {
        let mut rpc = self.sc.operator[i].rpc.clone();
        if let OperatorRpc::Random { .. } = rpc {
            rpc = self.pick_random_rpc(i);
        }
        let Some(request) = self.rpc_request(&rpc) else {
            self.s.ops[i] = OpState::Skipped;
            let text = format!("skips {rpc}: queue not open");
            self.note(LineKind::Rpc, "operator", None, text);
            self.random_op_answered(i);
            return;
        };
        let id = RpcId(self.s.next_rpc);
        self.s.next_rpc += 1;
        self.s.ops[i] = OpState::Issued(id);
        self.note(
            LineKind::Rpc,
            "operator",
            Some("app"),
            format!("{rpc} (rpc {})", id.0),
        );
        self.feed(Input::Rpc { id, request });
    }

    fn rpc_request(&self, rpc: &OperatorRpc) -> Option<RpcRequest> {
        let trid = |l: &str| l.parse::<Trid>().expect("validated listener");
        Some(match rpc.clone() {
            OperatorRpc::Pause { nqn, nsid } => RpcRequest::PauseSubsystem { nqn, nsid },
            OperatorRpc::Resume { nqn } => RpcRequest::ResumeSubsystem { nqn },
            OperatorRpc::StopListen { listener, nqn } => RpcRequest::StopListenAsync {
                trid: trid(&listener),
                nqn,
            },
            OperatorRpc::AddListener { nqn, listener } => RpcRequest::SubsystemAddListener {
                nqn,
                trid: trid(&listener),
            },
            OperatorRpc::RemoveListener { nqn, listener } => RpcRequest::SubsystemRemoveListener {
                nqn,
                trid: trid(&listener),
            },
            OperatorRpc::AddNamespace { nqn, ns } => RpcRequest::AddNamespace {
                nqn,
                ns: ns.to_config(),
            },
            OperatorRpc::RemoveNamespace { nqn, nsid } => RpcRequest::RemoveNamespace { nqn, nsid },
            OperatorRpc::StartSubsystem { nqn } => RpcRequest::StartSubsystem { nqn },
            OperatorRpc::StopSubsystem { nqn } => RpcRequest::StopSubsystem { nqn },
            OperatorRpc::DeleteSubsystem { nqn } => RpcRequest::DeleteSubsystem { nqn },
            OperatorRpc::DisconnectQpair { host, qid } => RpcRequest::DisconnectQpair {
                conn: *self.s.by_queue.get(&(host, qid))?,
            },
            OperatorRpc::Shutdown => RpcRequest::Shutdown,
            OperatorRpc::CreateSubsystem { nqn } => RpcRequest::CreateSubsystem(
                self.sc
                    .subsystems
                    .iter()
                    .find(|s| s.nqn == nqn)?
                    .to_config(),
            ),
            OperatorRpc::GetQpairs { nqn } => RpcRequest::GetQpairs { nqn },
            OperatorRpc::GetControllers { nqn } => RpcRequest::GetControllers { nqn },
            OperatorRpc::RemoveHost { nqn, hostnqn } => RpcRequest::RemoveHost {
                nqn,
                hostnqn,
                timeout_ms: 0,
            },
            OperatorRpc::AddHost { nqn, hostnqn } => RpcRequest::AddHost { nqn, hostnqn },
            OperatorRpc::Listen { listener } => RpcRequest::TransportListen {
                trid: trid(&listener),
            },
            OperatorRpc::ResizeNamespace { nqn, nsid, blocks } => {
                RpcRequest::ResizeNamespace { nqn, nsid, blocks }
            }
            OperatorRpc::Random { .. } => return None,
        })
    }
}

//! `FakeWorld`: the router with the scripted `FakeTarget` as its target end and one sans-IO
//! host (host 0). The fake answers synchronously, so it never has internal work or timers.

use super::fake::{FakeTarget, Knobs};
use super::router::{Router, TargetEnd};
use crate::host::{HostConfig, Qid};
use crate::nvmf::{ConnId, Input, Output};
use crate::time::Instant;

/// A sans-IO host (host 0) wired to a `FakeTarget`.
pub type FakeWorld = Router<FakeTarget>;

impl FakeWorld {
    pub fn new(config: HostConfig, knobs: Knobs) -> Self {
        let mut w = Router::with_target(FakeTarget::new(knobs));
        w.add_host(config);
        w
    }
}

impl TargetEnd for FakeTarget {
    fn open(&mut self, _now: Instant, conn: ConnId, qid: Option<Qid>) {
        let qid = qid.expect("the fake target serves host queues only");
        self.conns.insert(conn, qid);
        self.accept(qid);
    }

    fn bytes(&mut self, now: Instant, conn: ConnId, data: Vec<u8>) {
        let answer = self.receive(now, self.conns[&conn], &data);
        if !answer.is_empty() {
            self.outbox.push_back(Output::Send {
                conn,
                data: answer.into(),
            });
        }
    }

    fn peer_closed(&mut self, _now: Instant, _conn: ConnId) {}

    fn poll_output(&mut self) -> Option<Output> {
        self.outbox.pop_front()
    }

    fn ready(&self) -> Vec<Input> {
        Vec::new()
    }

    fn step(&mut self, _now: Instant, input: Input) {
        panic!("the scripted fake target takes no target inputs: {input:?}");
    }

    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    fn fire_due(&mut self, _now: Instant) {}

    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

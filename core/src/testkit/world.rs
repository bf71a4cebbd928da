//! `World`: the router with the real sans-IO `Target` as its target end. Raw peers are
//! scripted PDU by PDU (`accept`, `send`, `recv`); the helpers here step the target by hand
//! (one thread run, one timer), answer RPCs, connect raw peers, and check a full teardown.

use super::fixtures::{trid, NQN};
use super::pdu;
use super::router::{Peer, Router, TargetEnd};
use crate::host::Qid;
use crate::nvmf::{
    ConnId, Input, Mark, Output, RpcId, RpcRequest, Spdk, Target, TargetConfig, ThreadId, Timer,
    Violation,
};
use crate::time::{Duration, Instant};
use crate::wire::{CapsuleResp, Cqe, Pdu};

/// The real target wired to raw peers and sans-IO hosts.
pub type World = Router<Target>;

impl TargetEnd for Target {
    fn open(&mut self, now: Instant, conn: ConnId, _qid: Option<Qid>) {
        self.handle(now, Input::Accept { trid: trid(), conn });
    }

    fn bytes(&mut self, now: Instant, conn: ConnId, data: Vec<u8>) {
        self.handle(now, Input::Bytes { conn, data });
    }

    fn peer_closed(&mut self, now: Instant, conn: ConnId) {
        self.handle(now, Input::PeerClosed { conn });
    }

    fn poll_output(&mut self) -> Option<Output> {
        Target::poll_output(self)
    }

    fn ready(&self) -> Vec<Input> {
        self.enabled_events()
            .into_iter()
            .filter(|e| e.at.is_none())
            .map(|e| e.input)
            .collect()
    }

    fn step(&mut self, now: Instant, input: Input) {
        self.handle(now, input);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.poll_timeout()
    }

    fn fire_due(&mut self, now: Instant) {
        self.handle_timeout(now);
    }

    fn check(&self) -> Result<(), String> {
        self.check_invariants()
            .map_err(|v| format!("{v}\nqueues: {:?}", queues(self)))
    }
}

/// Each thread's queued messages, for failure messages.
fn queues(t: &Target) -> Vec<(ThreadId, Vec<&'static str>)> {
    let mut out = vec![(ThreadId::App, t.queued_messages(ThreadId::App))];
    for pg in 0..t.config().poll_groups {
        let thread = ThreadId::PollGroup(pg);
        out.push((thread, t.queued_messages(thread)));
    }
    out
}

impl World {
    pub fn new(config: TargetConfig) -> Self {
        Router::with_target(Target::new(config))
    }

    /// One world per SPDK version profile, each from `config(profile)`.
    pub fn per_profile(config: fn(Spdk) -> TargetConfig) -> impl Iterator<Item = (Spdk, World)> {
        Spdk::ALL
            .into_iter()
            .map(move |spdk| (spdk, World::new(config(spdk))))
    }

    /// Runs the head message of `thread`; returns whether there was one.
    pub fn run(&mut self, thread: ThreadId) -> bool {
        if self.target.queue_len(thread) == 0 {
            return false;
        }
        self.input(Input::Run(thread));
        true
    }

    /// Advances time to the earliest target timer and fires it alone.
    pub fn fire_next_timer(&mut self) -> Option<Timer> {
        let (timer, at) = self
            .target
            .armed_timers()
            .into_iter()
            .min_by_key(|(t, at)| (*at, *t))?;
        self.now = self.now.max(at);
        self.input(Input::Fire(timer));
        Some(timer)
    }

    /// Fires one specific timer at its deadline.
    pub fn fire(&mut self, timer: Timer) {
        let at = self
            .target
            .armed_timers()
            .into_iter()
            .find(|(t, _)| *t == timer)
            .map(|(_, at)| at)
            .unwrap_or_else(|| panic!("timer {timer:?} not armed"));
        self.now = self.now.max(at);
        self.input(Input::Fire(timer));
    }

    /// Runs everything and fires target timers one at a time up to `until` (host timers wait;
    /// `advance_to` runs both). Stops at a violation: a crashed target runs nothing more.
    pub fn settle_until(&mut self, until: Instant) {
        loop {
            self.run_all();
            if self.violation().is_some() {
                break;
            }
            let due = self
                .target
                .armed_timers()
                .into_iter()
                .map(|(_, at)| at)
                .min();
            match due {
                Some(at) if at <= until => {
                    self.fire_next_timer();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// Moves virtual time forward without firing anything.
    pub fn skip(&mut self, d: Duration) {
        self.now = self.now + d;
    }

    /// A raw peer connects as `conn` on `trid()`.
    pub fn accept(&mut self, conn: u64) -> ConnId {
        let conn = ConnId(conn);
        self.peers.entry(conn).or_insert_with(Peer::new);
        self.input(Input::Accept { trid: trid(), conn });
        conn
    }

    /// A raw peer sends `pdu` (no digests).
    pub fn send(&mut self, conn: ConnId, pdu: &Pdu) {
        let data = pdu.to_bytes(crate::wire::Digests::default());
        self.input(Input::Bytes { conn, data });
    }

    pub fn rpc(&mut self, request: RpcRequest) -> RpcId {
        self.next_rpc += 1;
        let id = RpcId(self.next_rpc);
        self.input(Input::Rpc { id, request });
        id
    }

    pub fn rpc_ok(&self, id: RpcId) -> bool {
        matches!(self.rpc_results.get(&id), Some(Ok(_)))
    }

    /// Pops every PDU the raw peer received.
    pub fn recv(&mut self, conn: ConnId) -> Vec<Pdu> {
        self.peers
            .get_mut(&conn)
            .map(|p| p.received.drain(..).collect())
            .unwrap_or_default()
    }

    /// Pops the raw peer's CapsuleResps (other PDUs dropped).
    pub fn responses(&mut self, conn: ConnId) -> Vec<Cqe> {
        self.recv(conn)
            .into_iter()
            .filter_map(|p| match p {
                Pdu::CapsuleResp(CapsuleResp { cqe }) => Some(cqe),
                Pdu::C2HData(d) if d.success => Some(implied_cqe(d.cccid)),
                _ => None,
            })
            .collect()
    }

    /// Sends one command on a raw peer, runs the target, and returns the command's data (if
    /// any) and its completion.
    pub fn exec(&mut self, conn: ConnId, pdu: &Pdu) -> (Vec<u8>, Cqe) {
        self.send(conn, pdu);
        self.run_all();
        let mut data = Vec::new();
        let mut cqe = None;
        for p in self.recv(conn) {
            match p {
                Pdu::C2HData(d) => {
                    data.extend_from_slice(&d.data);
                    if d.success {
                        cqe = Some(implied_cqe(d.cccid));
                    }
                }
                Pdu::CapsuleResp(r) => cqe = Some(r.cqe),
                _ => {}
            }
        }
        (data, cqe.expect("command answered"))
    }

    /// Whether the target closed the raw peer's connection.
    pub fn closed(&self, conn: ConnId) -> bool {
        self.peers.get(&conn).is_some_and(|p| p.closed)
    }

    pub fn marked(&self, mark: Mark) -> usize {
        self.target_events.iter().filter(|e| e.mark == mark).count()
    }

    pub fn violation(&self) -> Option<&Violation> {
        self.target.violation()
    }
}

impl World {
    /// A raw peer: accept (run to completion), then ICReq + CONNECT (cid 1) for `qid` sent
    /// but not yet run. Admin CONNECTs use cntlid 0xFFFF.
    pub fn start_connect(&mut self, conn: u64, hostnqn: &str, cntlid: u16, qid: u16) -> ConnId {
        self.start_connect_kato(conn, hostnqn, cntlid, qid, 0)
    }

    fn start_connect_kato(
        &mut self,
        conn: u64,
        hostnqn: &str,
        cntlid: u16,
        qid: u16,
        kato_ms: u32,
    ) -> ConnId {
        let c = self.accept(conn);
        self.run_all();
        self.send(c, &pdu::icreq());
        self.send(c, &pdu::connect(1, qid, NQN, hostnqn, cntlid, kato_ms));
        c
    }

    /// A raw peer: accept + ICReq + admin CONNECT, run to completion; returns the CQE.
    pub fn connect_admin(&mut self, conn: u64, hostnqn: &str, kato_ms: u32) -> (ConnId, Cqe) {
        let c = self.start_connect_kato(conn, hostnqn, 0xFFFF, 0, kato_ms);
        self.run_all();
        let pdus = self.recv(c);
        assert!(
            matches!(pdus.first(), Some(Pdu::IcResp(_))),
            "no ICResp: {pdus:?}"
        );
        let cqe = match pdus.last() {
            Some(Pdu::CapsuleResp(r)) => r.cqe,
            other => panic!("no CONNECT response: {other:?}"),
        };
        (c, cqe)
    }

    /// A raw peer: admin connect + CC.EN = 1; returns the cntlid.
    pub fn connect_enabled(&mut self, conn: u64, hostnqn: &str) -> (ConnId, u16) {
        let (c, cqe) = self.connect_admin(conn, hostnqn, 0);
        assert!(cqe.status.is_success(), "CONNECT failed: {cqe:?}");
        self.send(c, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
        self.run_all();
        let r = self.responses(c);
        assert!(r[0].status.is_success());
        (c, cqe.cdw0 as u16)
    }

    /// A raw peer: accept + ICReq + I/O CONNECT for `qid`; returns the response CQE.
    pub fn connect_io(&mut self, conn: u64, hostnqn: &str, cntlid: u16, qid: u16) -> (ConnId, Cqe) {
        let c = self.start_connect(conn, hostnqn, cntlid, qid);
        self.run_all();
        let cqe = *self.responses(c).last().expect("I/O CONNECT answered");
        (c, cqe)
    }

    /// Raw peers on conns 1 and 2: an enabled controller for `hostnqn` and its I/O qpair
    /// (qid 1); returns (admin conn, I/O conn).
    pub fn enabled_with_io(&mut self, hostnqn: &str) -> (ConnId, ConnId) {
        let (admin, cntlid) = self.connect_enabled(1, hostnqn);
        let (io, cqe) = self.connect_io(2, hostnqn, cntlid, 1);
        assert!(cqe.status.is_success(), "I/O CONNECT: {cqe:?}");
        (admin, io)
    }

    /// Sends an RPC, runs everything ready, asserts it succeeded.
    pub fn rpc_now(&mut self, request: RpcRequest) {
        let id = self.rpc(request);
        self.run_all();
        assert!(self.rpc_ok(id), "{:?}", self.rpc_results.get(&id));
    }

    /// Pauses `NQN` (`nsid` 0: the whole subsystem) and asserts the RPC answered.
    pub fn pause(&mut self, nsid: u32) {
        let nqn = NQN.into();
        self.rpc_now(RpcRequest::PauseSubsystem { nqn, nsid });
    }

    /// An embedder's own reference on `trid()` (`spdk_nvmf_tgt_listen_ext`), for a later
    /// embedder `stop_listen` to drop: with it the stop leaves the subsystems' references
    /// alone, as a balanced embedder does. Without it the stop drops a reference a subsystem
    /// listener holds, and a later read of that listener's trid is H-13 (docs/hazards.md).
    /// Answered at once: nothing else runs.
    pub fn embedder_listen(&mut self) {
        let id = self.rpc(RpcRequest::TransportListen {
            trid: super::trid(),
        });
        assert!(self.rpc_ok(id), "{:?}", self.rpc_results.get(&id));
    }

    /// Resumes `NQN` and asserts the RPC answered.
    pub fn resume(&mut self) {
        self.rpc_now(RpcRequest::ResumeSubsystem { nqn: NQN.into() });
    }

    /// The first armed target timer `pick` selects.
    pub fn armed_timer(&self, pick: impl Fn(&Timer) -> bool) -> Option<Timer> {
        let armed = self.target.armed_timers().into_iter();
        armed.map(|(t, _)| t).find(|t| pick(t))
    }

    /// Runs thread messages only (device completions and timers wait).
    pub fn run_threads(&mut self) {
        while let Some(input) = self
            .target
            .enabled_events()
            .into_iter()
            .find(|e| matches!(e.input, Input::Run(_)))
            .map(|e| e.input)
        {
            self.input(input);
        }
    }

    /// Delivers every pending device completion, then runs everything.
    pub fn complete_device(&mut self) {
        for io in self.target.pending_device_ios() {
            self.input(Input::Complete(io));
        }
        self.run_all();
    }

    /// Asserts the target is quiescent with every object freed (after a shutdown or teardown).
    pub fn assert_quiescent(&self) {
        let report = self.target.quiescence_report();
        assert!(report.is_quiet(), "not quiescent: {:#?}", report.stuck);
    }

    /// Shuts the whole target down, then checks everything was freed and answered.
    pub fn shutdown_and_check(&mut self) {
        let id = self.rpc(RpcRequest::Shutdown);
        self.settle_until(self.now + Duration::from_secs(200));
        assert!(
            self.rpc_ok(id),
            "shutdown answered: {:?}",
            self.rpc_results.get(&id)
        );
        let t = &self.target;
        assert!(t.is_shut_down());
        assert_eq!(t.qpair_count(), 0, "qpairs left");
        assert_eq!(t.ctrlr_count(), 0, "controllers left");
        assert_eq!(t.subsystem_count(), 0, "subsystems left");
        assert_eq!(t.request_count(), 0, "requests left");
        assert!(
            t.armed_timers().is_empty(),
            "timers left: {:?}",
            t.armed_timers()
        );
        self.assert_quiescent();
    }
}

/// The completion a host infers from a C2HData with SUCCESS (no CapsuleResp follows): the
/// command's cid, status success, every other field zero (SQHD is not reported).
pub fn implied_cqe(cid: u16) -> Cqe {
    Cqe {
        cid,
        ..Cqe::default()
    }
}

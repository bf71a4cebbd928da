//! The quinn-style harness: a `Target` plus in-memory raw peers. Every call is one step; after
//! each step outputs are routed (PDUs decoded per connection with `Role::Host`) and the
//! invariants are checked.

use crate::host::{Host, HostAction, HostConfig, HostEvent, HostInput, HostOutput, Qid};
use crate::nvmf::{
    ConnId, Input, Mark, NamespaceConfig, Output, RpcError, RpcId, RpcRequest, RpcResponse,
    SubsystemConfig, Target, TargetConfig, TargetEvent, ThreadId, Timer, Trid, Violation,
};
use crate::time::{Duration, Instant};
use crate::wire::{CapsuleResp, Cqe, DecoderConfig, Digests, Pdu, PduDecoder, Role};
use std::collections::{BTreeMap, VecDeque};

pub const NQN: &str = "nqn.2016-06.io.spdk:cnode1";

pub fn trid() -> Trid {
    Trid::tcp("127.0.0.1", 4420)
}

/// One raw peer: decodes what the target sends on its connection.
pub struct Peer {
    decoder: PduDecoder,
    pub received: VecDeque<Pdu>,
    pub closed: bool,
    pub wire_error: Option<String>,
}

impl Peer {
    fn new() -> Self {
        Peer {
            decoder: PduDecoder::new(DecoderConfig {
                role: Role::Host,
                max_pdu_len: 1 << 20,
                max_data_len: 1 << 20,
                digests: Digests::default(),
            }),
            received: VecDeque::new(),
            closed: false,
            wire_error: None,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        let mut input = data;
        while !input.is_empty() {
            match self.decoder.decode(&mut input) {
                Ok(Some(pdu)) => self.received.push_back(pdu),
                Ok(None) => return,
                Err(e) => {
                    self.wire_error = Some(e.to_string());
                    return;
                }
            }
        }
    }
}

/// A target and its peers.
pub struct World {
    pub target: Target,
    pub now: Instant,
    pub peers: BTreeMap<ConnId, Peer>,
    pub rpc_results: BTreeMap<RpcId, Result<RpcResponse, RpcError>>,
    pub events: Vec<TargetEvent>,
    /// Allow a violation (seed-bug tests) instead of failing the test.
    pub expect_violation: bool,
    next_rpc: u64,
    /// Sans-IO hosts wired in memory (each queue is one connection).
    pub hosts: Vec<HostSlot>,
    /// Which host queue a connection belongs to.
    conn_owner: BTreeMap<ConnId, (usize, Qid)>,
    next_host_conn: u64,
}

/// One sans-IO host and its connections.
pub struct HostSlot {
    pub host: Host,
    pub conns: BTreeMap<Qid, ConnId>,
    pub events: Vec<HostEvent>,
}

/// A subsystem with one 64-block RAM namespace, listening on `trid()`.
pub fn subsystem() -> SubsystemConfig {
    let mut s = SubsystemConfig::new(NQN);
    s.listeners.push(trid());
    s.namespaces.push(NamespaceConfig {
        nsid: 1,
        block_size: 512,
        blocks: 64,
    });
    s
}

/// Two poll groups, one transport listener, one subsystem.
pub fn config() -> TargetConfig {
    TargetConfig {
        listeners: vec![trid()],
        subsystems: vec![subsystem()],
        ..TargetConfig::default()
    }
}

impl World {
    pub fn new(config: TargetConfig) -> Self {
        World {
            target: Target::new(config),
            now: Instant::ZERO,
            peers: BTreeMap::new(),
            rpc_results: BTreeMap::new(),
            events: Vec::new(),
            expect_violation: false,
            next_rpc: 1,
            hosts: Vec::new(),
            conn_owner: BTreeMap::new(),
            next_host_conn: 100,
        }
    }

    /// Feeds one input at the current time, routes outputs, checks invariants.
    pub fn input(&mut self, input: Input) {
        self.target.handle(self.now, input);
        self.drain();
        if !self.expect_violation {
            if let Err(v) = self.target.check_invariants() {
                panic!("invariant violated: {v}\nqueues: {:?}", self.queues());
            }
        }
    }

    fn queues(&self) -> Vec<(ThreadId, Vec<&'static str>)> {
        let mut out = vec![(ThreadId::App, self.target.queued_messages(ThreadId::App))];
        for pg in 0..self.target.config().poll_groups {
            let t = ThreadId::PollGroup(pg);
            out.push((t, self.target.queued_messages(t)));
        }
        out
    }

    fn drain(&mut self) {
        while let Some(out) = self.target.poll_output() {
            if let Some((h, input)) = self.to_host(&out) {
                self.host_input(h, input);
                continue;
            }
            match out {
                Output::Send { conn, data } => {
                    self.peers.entry(conn).or_insert_with(Peer::new).feed(&data)
                }
                Output::Close { conn } => {
                    self.peers.entry(conn).or_insert_with(Peer::new).closed = true
                }
                Output::RpcDone { id, result } => {
                    assert!(
                        self.rpc_results.insert(id, result).is_none(),
                        "rpc {} answered twice",
                        id.0
                    );
                }
                Output::Event(e) => self.events.push(e),
            }
        }
    }

    /// Runs the head message of `thread`; returns whether there was one.
    pub fn run(&mut self, thread: ThreadId) -> bool {
        if self.target.queue_len(thread) == 0 {
            return false;
        }
        self.input(Input::Run(thread));
        true
    }

    /// Runs thread messages and device completions (never timers) until none is enabled.
    pub fn run_all(&mut self) {
        for _ in 0..100_000 {
            let next = self
                .target
                .enabled_events()
                .into_iter()
                .find(|e| e.at.is_none())
                .map(|e| e.input);
            match next {
                Some(input) => self.input(input),
                None => return,
            }
        }
        panic!("run_all did not settle: {:?}", self.queues());
    }

    /// Advances time to the earliest timer and fires it.
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

    /// Runs everything and fires timers due up to `until` (virtual time).
    pub fn settle_until(&mut self, until: Instant) {
        loop {
            self.run_all();
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

    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
    }

    pub fn accept(&mut self, conn: u64) -> ConnId {
        let conn = ConnId(conn);
        self.peers.insert(conn, Peer::new());
        self.input(Input::Accept { trid: trid(), conn });
        conn
    }

    pub fn send(&mut self, conn: ConnId, pdu: &Pdu) {
        let data = pdu.to_bytes(Digests::default());
        self.input(Input::Bytes { conn, data });
    }

    pub fn rpc(&mut self, request: RpcRequest) -> RpcId {
        let id = RpcId(self.next_rpc);
        self.next_rpc += 1;
        self.input(Input::Rpc { id, request });
        id
    }

    pub fn rpc_ok(&self, id: RpcId) -> bool {
        matches!(self.rpc_results.get(&id), Some(Ok(_)))
    }

    /// Pops every PDU the peer received.
    pub fn recv(&mut self, conn: ConnId) -> Vec<Pdu> {
        self.peers
            .get_mut(&conn)
            .map(|p| p.received.drain(..).collect())
            .unwrap_or_default()
    }

    /// Pops the peer's CapsuleResps (other PDUs dropped).
    pub fn responses(&mut self, conn: ConnId) -> Vec<Cqe> {
        self.recv(conn)
            .into_iter()
            .filter_map(|p| match p {
                Pdu::CapsuleResp(CapsuleResp { cqe }) => Some(cqe),
                _ => None,
            })
            .collect()
    }

    pub fn closed(&self, conn: ConnId) -> bool {
        self.peers.get(&conn).is_some_and(|p| p.closed)
    }

    pub fn marked(&self, mark: Mark) -> usize {
        self.events.iter().filter(|e| e.mark == mark).count()
    }

    pub fn violation(&self) -> Option<&Violation> {
        self.target.violation()
    }

    /// Accept + ICReq + admin CONNECT, run to completion; returns the response CQE.
    pub fn connect_admin(&mut self, conn: u64, hostnqn: &str, kato_ms: u32) -> (ConnId, Cqe) {
        let c = self.accept(conn);
        self.run_all();
        self.send(c, &super::pdu::icreq());
        self.send(c, &super::pdu::connect(1, 0, NQN, hostnqn, 0xFFFF, kato_ms));
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

    /// Admin connect + CC.EN = 1; returns the cntlid.
    pub fn connect_enabled(&mut self, conn: u64, hostnqn: &str) -> (ConnId, u16) {
        let (c, cqe) = self.connect_admin(conn, hostnqn, 0);
        assert!(cqe.status.is_success(), "CONNECT failed: {cqe:?}");
        self.send(c, &super::pdu::prop_set_cc(2, super::pdu::CC_ENABLE));
        self.run_all();
        let r = self.responses(c);
        assert!(r[0].status.is_success());
        (c, cqe.cdw0 as u16)
    }

    /// Accept + ICReq + I/O CONNECT for `qid`; returns the response CQE.
    pub fn connect_io(&mut self, conn: u64, hostnqn: &str, cntlid: u16, qid: u16) -> (ConnId, Cqe) {
        let c = self.accept(conn);
        self.run_all();
        self.send(c, &super::pdu::icreq());
        self.send(c, &super::pdu::connect(1, qid, NQN, hostnqn, cntlid, 0));
        self.run_all();
        let cqe = *self.responses(c).last().expect("I/O CONNECT answered");
        (c, cqe)
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
        assert!(self.target.is_shut_down());
        assert_eq!(self.target.qpair_count(), 0, "qpairs left");
        assert_eq!(self.target.ctrlr_count(), 0, "controllers left");
        assert_eq!(self.target.subsystem_count(), 0, "subsystems left");
        assert_eq!(self.target.request_count(), 0, "requests left");
        assert!(
            self.target.armed_timers().is_empty(),
            "timers left: {:?}",
            self.target.armed_timers()
        );
        self.assert_quiescent();
    }
}

impl World {
    /// Adds a sans-IO host; returns its index.
    pub fn add_host(&mut self, config: HostConfig) -> usize {
        self.hosts.push(HostSlot {
            host: Host::new(config),
            conns: BTreeMap::new(),
            events: Vec::new(),
        });
        self.hosts.len() - 1
    }

    /// Gives a host a scripted action.
    pub fn host_do(&mut self, h: usize, action: HostAction) {
        self.host_input(h, HostInput::Do(action));
    }

    /// A target output addressed to a host queue, as that host's input.
    fn to_host(&self, out: &Output) -> Option<(usize, HostInput)> {
        let conn = match out {
            Output::Send { conn, .. } | Output::Close { conn } => *conn,
            _ => return None,
        };
        let (h, qid) = *self.conn_owner.get(&conn)?;
        let input = match out {
            Output::Send { data, .. } => HostInput::Bytes {
                qid,
                data: data.clone(),
            },
            _ => HostInput::Closed { qid },
        };
        Some((h, input))
    }

    fn host_input(&mut self, h: usize, input: HostInput) {
        let now = self.now;
        self.hosts[h].host.handle(now, input);
        self.pump_host(h);
    }

    /// Routes a host's outputs: Open -> accept, Send -> bytes, Close -> peer closed.
    fn pump_host(&mut self, h: usize) {
        while let Some(out) = self.hosts[h].host.poll_output() {
            match out {
                HostOutput::Open { qid } => {
                    let conn = ConnId(self.next_host_conn);
                    self.next_host_conn += 1;
                    self.conn_owner.insert(conn, (h, qid));
                    self.hosts[h].conns.insert(qid, conn);
                    self.input(Input::Accept { trid: trid(), conn });
                    let now = self.now;
                    self.hosts[h].host.handle(now, HostInput::Opened { qid });
                }
                HostOutput::Send { qid, data } => {
                    let conn = self.hosts[h].conns[&qid];
                    self.input(Input::Bytes { conn, data });
                }
                HostOutput::Close { qid } => {
                    let conn = self.hosts[h].conns[&qid];
                    self.input(Input::PeerClosed { conn });
                }
                HostOutput::Event(e) => self.hosts[h].events.push(e),
            }
        }
    }

    /// Runs target events, host timers and target timers in time order up to `until`.
    pub fn settle_hosts_until(&mut self, until: Instant) {
        loop {
            self.run_all();
            let host_due = (0..self.hosts.len())
                .filter_map(|h| self.hosts[h].host.poll_timeout().map(|t| (t, h)))
                .min();
            let target_due = self
                .target
                .armed_timers()
                .into_iter()
                .map(|(_, at)| at)
                .min();
            match (host_due, target_due) {
                (Some((t, h)), td) if t <= until && td.is_none_or(|d| t <= d) => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    self.hosts[h].host.handle_timeout(now);
                    self.pump_host(h);
                }
                (_, Some(d)) if d <= until => {
                    self.fire_next_timer();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// Events a host reported so far.
    pub fn host_events(&self, h: usize) -> &[HostEvent] {
        &self.hosts[h].events
    }

    /// A host's current cntlid (None once its admin queue closed).
    pub fn hosts_cntlid(&self, h: usize) -> Option<u16> {
        self.hosts[h].host.cntlid()
    }

    /// The last cntlid a host learned, kept after its admin queue closed.
    pub fn host_last_cntlid(&self, h: usize) -> Option<u16> {
        self.hosts[h].host.last_cntlid()
    }

    /// The state of a host's queue.
    pub fn host_queue_state(&self, h: usize, qid: u16) -> Option<crate::host::QueueState> {
        self.hosts[h].host.queue_state(qid)
    }
}

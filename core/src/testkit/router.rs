//! The one router/stepper under every in-memory test: a target end (the real sans-IO
//! `Target`, or the scripted `FakeTarget`) wired to initiator ends (raw PDU peers and real
//! sans-IO `Host`s) in virtual time.
//!
//! Owns the connection table: which `ConnId` belongs to which host queue, which connections
//! either side closed, and which raw peer decodes what the target sends. Keeps: after every
//! input the target end takes, its invariants are checked (unless `expect_violation`); bytes
//! are never routed on a connection either side closed; a host queue reopened gets a fresh
//! connection and never sees the old one's bytes; the target's internal work runs in the order
//! `choices` picks (the first ready item once they run out), so a schedule is one byte string.

use crate::host::{Host, HostEvent, HostInput, HostOutput, Qid};
use crate::nvmf::{ConnId, Input, Output, RpcError, RpcId, RpcResponse, TargetEvent};
use crate::time::{Duration, Instant};
use crate::wire::{DecoderConfig, Digests, Pdu, PduDecoder, Role};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The target side of a router: what it accepts from initiators and what it runs by itself.
pub trait TargetEnd {
    /// An initiator opened `conn` (a host says which queue it is for; a raw peer does not).
    fn open(&mut self, now: Instant, conn: ConnId, qid: Option<Qid>);
    /// Bytes an initiator sent on `conn`.
    fn bytes(&mut self, now: Instant, conn: ConnId, data: Vec<u8>);
    /// The initiator closed `conn`.
    fn peer_closed(&mut self, now: Instant, conn: ConnId);
    /// The next output (bytes or a close for a connection, an RPC answer, an event).
    fn poll_output(&mut self) -> Option<Output>;
    /// Internal work that may run now (thread messages, device completions; never timers),
    /// in a deterministic order.
    fn ready(&self) -> Vec<Input>;
    /// Runs one input (one of `ready()`, or anything a test feeds directly).
    fn step(&mut self, now: Instant, input: Input);
    /// The earliest armed timer.
    fn next_deadline(&self) -> Option<Instant>;
    /// Fires every timer due at `now`.
    fn fire_due(&mut self, now: Instant);
    /// The end's invariants (`Err` says which one broke and the state around it).
    fn check(&self) -> Result<(), String>;
}

/// One raw initiator end: decodes what the target sends on its connection (`Role::Host`),
/// with the digests the target's ICResp settles from then on.
pub struct Peer {
    decoder: PduDecoder,
    pub received: VecDeque<Pdu>,
    pub closed: bool,
    pub wire_error: Option<String>,
}

impl Peer {
    pub(super) fn new() -> Self {
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
                Ok(Some(pdu)) => {
                    if let Pdu::IcResp(ic) = &pdu {
                        self.decoder.set_digests(ic.digests);
                    }
                    self.received.push_back(pdu);
                }
                Ok(None) => return,
                Err(e) => {
                    self.wire_error = Some(e.to_string());
                    return;
                }
            }
        }
    }
}

/// One sans-IO host end and its connections.
pub struct HostSlot {
    pub host: Host,
    /// The current connection of each queue.
    pub conns: BTreeMap<Qid, ConnId>,
    /// Every output the host produced, in order.
    pub outputs: Vec<HostOutput>,
    /// The events among them.
    pub events: Vec<HostEvent>,
    /// Queues the host asked to close (until it reopens them), in order.
    pub closed: Vec<Qid>,
}

/// A target end, its raw peers and its hosts. `World` and `FakeWorld` name the two ends.
pub struct Router<T> {
    pub target: T,
    pub now: Instant,
    pub peers: BTreeMap<ConnId, Peer>,
    pub hosts: Vec<HostSlot>,
    pub rpc_results: BTreeMap<RpcId, Result<RpcResponse, RpcError>>,
    pub target_events: Vec<TargetEvent>,
    /// Allow a violation (seed-bug tests) instead of failing the test.
    pub expect_violation: bool,
    /// Deliver target bytes to hosts in pieces of at most this many bytes.
    pub split: usize,
    /// Schedule choices: which ready target input runs next (`choice % ready`).
    pub choices: Vec<u8>,
    choice: usize,
    conn_owner: BTreeMap<ConnId, (usize, Qid)>,
    target_closed: BTreeSet<ConnId>,
    next_host_conn: u64,
    /// The last RPC id handed out.
    pub(super) next_rpc: u64,
}

impl<T: TargetEnd> Router<T> {
    /// A router around `target`, at time zero, with no initiators yet.
    pub fn with_target(target: T) -> Self {
        Router {
            target,
            now: Instant::ZERO,
            peers: BTreeMap::new(),
            hosts: Vec::new(),
            rpc_results: BTreeMap::new(),
            target_events: Vec::new(),
            expect_violation: false,
            split: usize::MAX,
            choices: Vec::new(),
            choice: 0,
            conn_owner: BTreeMap::new(),
            target_closed: BTreeSet::new(),
            next_host_conn: 100,
            next_rpc: 0,
        }
    }

    /// Feeds one input to the target at the current time, checks, routes until quiet.
    pub fn input(&mut self, input: Input) {
        self.target.step(self.now, input);
        self.check();
        self.pump();
    }

    fn check(&self) {
        if self.expect_violation {
            return;
        }
        if let Err(v) = self.target.check() {
            panic!("invariant violated: {v}");
        }
    }

    /// Routes outputs both ways until nothing moves (runs no internal target work).
    pub fn pump(&mut self) {
        loop {
            let mut moved = self.drain_target();
            for h in 0..self.hosts.len() {
                while let Some(out) = self.hosts[h].host.poll_output() {
                    moved = true;
                    self.route_host_output(h, out);
                    self.drain_target();
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn drain_target(&mut self) -> bool {
        let mut moved = false;
        while let Some(out) = self.target.poll_output() {
            moved = true;
            match out {
                Output::Send { conn, data } => {
                    self.route_target_output(conn, Some(data.into_vec()))
                }
                Output::Close { conn } => {
                    self.target_closed.insert(conn);
                    self.route_target_output(conn, None);
                }
                Output::RpcDone { id, result } => {
                    let first = self.rpc_results.insert(id, result).is_none();
                    assert!(first, "rpc {} answered twice", id.0);
                }
                Output::Event(e) => self.target_events.push(e),
            }
        }
        moved
    }

    /// Bytes (or, with `None`, a close) from the target to whoever owns `conn`.
    fn route_target_output(&mut self, conn: ConnId, data: Option<Vec<u8>>) {
        let Some(&(h, qid)) = self.conn_owner.get(&conn) else {
            let peer = self.peers.entry(conn).or_insert_with(Peer::new);
            match data {
                Some(d) => peer.feed(&d),
                None => peer.closed = true,
            }
            return;
        };
        if self.hosts[h].conns.get(&qid) != Some(&conn) {
            return; // a connection the queue has since replaced
        }
        match data {
            Some(d) => self.deliver_to(h, qid, &d),
            None => self.hosts[h]
                .host
                .handle(self.now, HostInput::Closed { qid }),
        }
    }

    fn route_host_output(&mut self, h: usize, out: HostOutput) {
        self.hosts[h].outputs.push(out.clone());
        match out {
            HostOutput::Open { qid } => self.open_host_queue(h, qid),
            HostOutput::Send { qid, data } => {
                if let Some(conn) = self.live_conn(h, qid) {
                    self.target.bytes(self.now, conn, data);
                    self.check();
                }
            }
            HostOutput::Close { qid } => {
                let conn = self.live_conn(h, qid);
                self.hosts[h].closed.push(qid);
                if let Some(conn) = conn {
                    self.target.peer_closed(self.now, conn);
                    self.check();
                }
            }
            HostOutput::Event(e) => self.hosts[h].events.push(e),
        }
    }

    fn open_host_queue(&mut self, h: usize, qid: Qid) {
        let conn = ConnId(self.next_host_conn);
        self.next_host_conn += 1;
        self.conn_owner.insert(conn, (h, qid));
        let slot = &mut self.hosts[h];
        slot.conns.insert(qid, conn);
        slot.closed.retain(|&q| q != qid);
        self.target.open(self.now, conn, Some(qid));
        self.check();
        self.hosts[h]
            .host
            .handle(self.now, HostInput::Opened { qid });
    }

    /// The connection of host `h`'s queue `qid` while neither side has closed it.
    fn live_conn(&self, h: usize, qid: Qid) -> Option<ConnId> {
        let slot = &self.hosts[h];
        let conn = *slot.conns.get(&qid)?;
        let open = !slot.closed.contains(&qid) && !self.target_closed.contains(&conn);
        open.then_some(conn)
    }

    fn deliver_to(&mut self, h: usize, qid: Qid, bytes: &[u8]) {
        for piece in bytes.chunks(self.split.max(1)) {
            let data = piece.to_vec();
            self.hosts[h]
                .host
                .handle(self.now, HostInput::Bytes { qid, data });
        }
    }

    /// Delivers bytes to host 0's queue `qid` as if the target sent them (split as
    /// configured); the host's reaction is routed on the next `pump`.
    pub fn deliver(&mut self, qid: Qid, bytes: &[u8]) {
        self.deliver_to(0, qid, bytes);
    }

    /// The next scheduling choice among `n` ready inputs.
    fn choose(&mut self, n: usize) -> usize {
        let c = self.choices.get(self.choice).copied().unwrap_or(0);
        self.choice += 1;
        usize::from(c) % n
    }

    /// Runs the target's ready work (never timers) in `choices` order, routing after each
    /// step, until nothing is ready.
    pub fn run_all(&mut self) {
        self.pump();
        for _ in 0..100_000 {
            let mut ready = self.target.ready();
            if ready.is_empty() {
                return;
            }
            let pick = self.choose(ready.len());
            self.input(ready.swap_remove(pick));
        }
        panic!("run_all did not settle");
    }

    /// Runs ready work, then host and target timers in time order, up to `until`.
    pub fn advance_to(&mut self, until: Instant) {
        loop {
            self.run_all();
            let host_due = self.hosts.iter().filter_map(|s| s.host.poll_timeout());
            match host_due.chain(self.target.next_deadline()).min() {
                Some(t) if t <= until => self.fire_at(t),
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// Moves time to `t` and fires every host and target timer due then.
    fn fire_at(&mut self, t: Instant) {
        self.now = self.now.max(t);
        let now = self.now;
        for slot in &mut self.hosts {
            if slot.host.poll_timeout().is_some_and(|d| d <= now) {
                slot.host.handle_timeout(now);
            }
        }
        if self.target.next_deadline().is_some_and(|d| d <= now) {
            self.target.fire_due(now);
            self.check();
        }
        self.pump();
    }

    /// `advance_to(now + d)`.
    pub fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }
}

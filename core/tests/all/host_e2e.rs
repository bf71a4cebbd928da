//! End to end in memory: the sans-IO host wired to the real sans-IO target. Each host queue
//! connection gets a fresh target connection id; target threads, device completions and timers all run
//! in FIFO order as soon as they are enabled, and the target's invariants are checked after
//! every step.

use fabcheck_core::host::{Host, HostAction, HostConfig, HostEvent, HostInput, HostOutput, Qid};
use fabcheck_core::nvmf::{
    ConnId, Input, NamespaceConfig, Output, SubsystemConfig, Target, TargetConfig, Trid,
};
use fabcheck_core::wire::{status, Digests};
use fabcheck_core::{Duration, Instant};
use std::collections::BTreeMap;

const NQN: &str = "nqn.2016-06.io.spdk:cnode1";
const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:e2e-host";

fn trid() -> Trid {
    Trid::tcp("127.0.0.1", 4420)
}

struct Pair {
    host: Host,
    target: Target,
    now: Instant,
    events: Vec<HostEvent>,
    target_closed: Vec<Qid>,
    conns: BTreeMap<Qid, ConnId>,
    next_conn: u64,
    /// Schedule choices: which enabled target event runs next (empty: always the first).
    choices: Vec<u8>,
    choice: usize,
}

impl Pair {
    fn new(digests: Digests) -> Self {
        let mut sub = SubsystemConfig::new(NQN);
        sub.listeners.push(trid());
        sub.namespaces.push(NamespaceConfig {
            nsid: 1,
            block_size: 512,
            blocks: 256,
        });
        let config = TargetConfig {
            listeners: vec![trid()],
            subsystems: vec![sub],
            ..TargetConfig::default()
        };
        let mut host_config = HostConfig::new(HOSTNQN, NQN);
        host_config.digests = digests;
        host_config.aers = 4;
        Pair {
            host: Host::new(host_config),
            target: Target::new(config),
            now: Instant::ZERO,
            events: Vec::new(),
            target_closed: Vec::new(),
            conns: BTreeMap::new(),
            next_conn: 1,
            choices: Vec::new(),
            choice: 0,
        }
    }

    fn target_input(&mut self, input: Input) {
        self.target.handle(self.now, input);
        if let Err(v) = self.target.check_invariants() {
            panic!("target invariant violated: {v}");
        }
    }

    /// Routes outputs both ways and runs every enabled target event until nothing moves.
    fn settle(&mut self) {
        for _ in 0..100_000 {
            let moved = self.drain_host() | self.drain_target();
            if moved {
                continue;
            }
            let mut ready: Vec<Input> = self
                .target
                .enabled_events()
                .into_iter()
                .filter(|e| e.at.is_none())
                .map(|e| e.input)
                .collect();
            if ready.is_empty() {
                return;
            }
            let pick = self.choose(ready.len());
            self.target_input(ready.swap_remove(pick));
        }
        panic!("the pair did not settle");
    }

    fn drain_host(&mut self) -> bool {
        let mut moved = false;
        while let Some(out) = self.host.poll_output() {
            moved = true;
            match out {
                HostOutput::Open { qid } => {
                    let conn = ConnId(self.next_conn);
                    self.next_conn += 1;
                    self.conns.insert(qid, conn);
                    self.target_closed.retain(|&q| q != qid);
                    self.target_input(Input::Accept { trid: trid(), conn });
                    self.host.handle(self.now, HostInput::Opened { qid });
                }
                HostOutput::Send { qid, data } => {
                    if !self.target_closed.contains(&qid) {
                        self.target_input(Input::Bytes {
                            conn: self.conns[&qid],
                            data,
                        });
                    }
                }
                HostOutput::Close { qid } => {
                    if !self.target_closed.contains(&qid) {
                        self.target_input(Input::PeerClosed {
                            conn: self.conns[&qid],
                        });
                    }
                }
                HostOutput::Event(e) => self.events.push(e),
            }
        }
        moved
    }

    fn drain_target(&mut self) -> bool {
        let mut moved = false;
        while let Some(out) = self.target.poll_output() {
            moved = true;
            match out {
                Output::Send { conn, data } => {
                    if let Some(qid) = self.qid_of(conn) {
                        self.host.handle(self.now, HostInput::Bytes { qid, data });
                    }
                }
                Output::Close { conn } => {
                    if let Some(qid) = self.qid_of(conn) {
                        self.target_closed.push(qid);
                        self.host.handle(self.now, HostInput::Closed { qid });
                    }
                }
                Output::RpcDone { .. } | Output::Event(_) => {}
            }
        }
        moved
    }

    /// The next scheduling choice among `n` enabled events.
    fn choose(&mut self, n: usize) -> usize {
        let c = self.choices.get(self.choice).copied().unwrap_or(0);
        self.choice += 1;
        usize::from(c) % n
    }

    /// The host queue currently using target connection `conn` (none for a replaced one).
    fn qid_of(&self, conn: ConnId) -> Option<Qid> {
        self.conns
            .iter()
            .find(|(_, &c)| c == conn)
            .map(|(&qid, _)| qid)
    }

    /// Feeds several actions before letting anything run, so their work interleaves.
    fn act_many(&mut self, actions: Vec<HostAction>) {
        for action in actions {
            self.host.handle(self.now, HostInput::Do(action));
        }
        self.settle();
    }

    fn act(&mut self, action: HostAction) {
        self.host.handle(self.now, HostInput::Do(action));
        self.settle();
    }

    /// Fires host and target timers in time order up to `until`.
    fn advance_to(&mut self, until: Instant) {
        loop {
            let next = [self.host.poll_timeout(), self.target.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.host.handle_timeout(self.now);
                    self.target.handle_timeout(self.now);
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    fn io_done(&self, tag: u64) -> Option<(fabcheck_core::wire::Status, Vec<u8>)> {
        self.events.iter().find_map(|e| match e {
            HostEvent::IoDone {
                tag: t,
                status,
                data,
            } if *t == tag => Some((*status, data.clone())),
            _ => None,
        })
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

fn write(tag: u64, qid: Qid, slba: u64, data: Vec<u8>) -> HostAction {
    HostAction::Write {
        tag,
        qid,
        nsid: 1,
        slba,
        data,
    }
}

fn read(tag: u64, qid: Qid, slba: u64, nlb: u32) -> HostAction {
    HostAction::Read {
        tag,
        qid,
        nsid: 1,
        slba,
        nlb,
    }
}

fn connect_init_write_read(digests: Digests) {
    connect_init_write_read_scheduled(digests, Vec::new());
}

fn connect_init_write_read_scheduled(digests: Digests, choices: Vec<u8>) {
    let mut p = Pair::new(digests);
    p.choices = choices;
    p.act(HostAction::Connect);
    p.advance_to(p.now + Duration::from_millis(100));
    assert!(p.host.is_ready(), "{:?}", p.events);
    let cntlid = p.host.cntlid().unwrap();
    assert!(p.events.contains(&HostEvent::Ready { cntlid }));
    assert_eq!(p.host.namespaces().collect::<Vec<_>>(), vec![(1, 512)]);

    // Two I/O queues (on both poll groups) connect and write at the same time.
    p.act_many(vec![
        HostAction::ConnectIo { qid: 1 },
        HostAction::ConnectIo { qid: 2 },
    ]);
    assert!(p.events.contains(&HostEvent::Connected { qid: 1, cntlid }));
    assert!(p.events.contains(&HostEvent::Connected { qid: 2, cntlid }));
    let small = pattern(1024, 1);
    let big = pattern(16384, 2);
    let other = pattern(2048, 3);
    p.act_many(vec![
        write(1, 1, 0, small.clone()),
        write(2, 1, 2, big.clone()),
        write(5, 2, 100, other.clone()),
    ]);
    assert_eq!(p.io_done(1), Some((status::SUCCESS, Vec::new())));
    assert_eq!(p.io_done(2), Some((status::SUCCESS, Vec::new())));
    assert_eq!(p.io_done(5), Some((status::SUCCESS, Vec::new())));
    p.act_many(vec![read(3, 2, 0, 34), read(6, 1, 100, 4)]);
    let mut want = small;
    want.extend(big);
    assert_eq!(p.io_done(3), Some((status::SUCCESS, want)));
    assert_eq!(p.io_done(6), Some((status::SUCCESS, other)));

    // Keep-alive keeps the controller alive across several KATOs.
    p.advance_to(p.now + Duration::from_secs(35));
    p.act(HostAction::Read {
        tag: 4,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 1,
    });
    assert_eq!(p.io_done(4).map(|(s, _)| s), Some(status::SUCCESS));
    assert!(!p.events.iter().any(|e| matches!(
        e,
        HostEvent::ProtocolError { .. } | HostEvent::QueueClosed { .. }
    )));

    // Shutdown: the target drops the I/O queue, then reports SHST complete.
    p.act(HostAction::Shutdown);
    p.advance_to(p.now + Duration::from_secs(2));
    assert!(
        p.events.contains(&HostEvent::ShutdownComplete),
        "{:?}",
        p.events
    );
    assert!(p.events.contains(&HostEvent::QueueClosed { qid: 1 }));
    assert!(p.events.contains(&HostEvent::QueueClosed { qid: 2 }));
    p.act(HostAction::DisconnectAll);
    p.advance_to(p.now + Duration::from_secs(1));
    assert_eq!(p.target.qpair_count(), 0);
    assert_eq!(p.target.ctrlr_count(), 0);
}

#[test]
fn host_and_target_connect_init_write_read_shutdown() {
    connect_init_write_read(Digests::default());
}

#[test]
fn host_and_target_with_digests() {
    connect_init_write_read(Digests {
        header: true,
        data: true,
    });
}

#[test]
fn host_without_keep_alive_is_disconnected_by_the_target() {
    let mut p = Pair::new(Digests::default());
    p.act(HostAction::Connect);
    p.advance_to(p.now + Duration::from_millis(100));
    assert!(p.host.is_ready());
    p.act(HostAction::ConnectIo { qid: 1 });
    p.act(HostAction::SetKeepAlive(false));
    p.advance_to(p.now + Duration::from_secs(25));
    assert!(p.events.contains(&HostEvent::QueueClosed { qid: 0 }));
    assert!(p.events.contains(&HostEvent::QueueClosed { qid: 1 }));
    assert_eq!(p.host.cntlid(), None);
}

#[test]
fn reset_then_reinitialize_and_reconnect_io() {
    let mut p = Pair::new(Digests::default());
    p.act(HostAction::Connect);
    p.advance_to(p.now + Duration::from_millis(100));
    p.act(HostAction::ConnectIo { qid: 1 });
    p.act(HostAction::Reset);
    p.advance_to(p.now + Duration::from_secs(1));
    assert!(
        p.events.contains(&HostEvent::ResetComplete),
        "{:?}",
        p.events
    );
    assert!(
        p.events.contains(&HostEvent::QueueClosed { qid: 1 }),
        "CC.EN = 0 drops the I/O queues"
    );
    p.act(HostAction::Initialize);
    p.advance_to(p.now + Duration::from_millis(100));
    assert!(p.host.is_ready(), "{:?}", p.events);
    p.act(HostAction::ConnectIo { qid: 1 });
    p.act(HostAction::Write {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        data: pattern(512, 9),
    });
    assert_eq!(p.io_done(1), Some((status::SUCCESS, Vec::new())));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any order in which the target's threads and device completions run, the host's session
    /// (init, I/O, keep-alive, shutdown, teardown) ends the same way.
    #[test]
    fn any_target_schedule_gives_the_same_session(
        choices in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
    ) {
        connect_init_write_read_scheduled(Digests::default(), choices);
    }
}

//! A scripted NVMe/TCP initiator on tokio sockets: the sans-IO `Host` with one TCP connection
//! per queue. Used by the loopback tests and handy for experiments.
//!
//! Calling order: `Client::new`, then `connect()` (admin queue + init), `connect_io(qid)`,
//! then `write`/`read`, or `act` + `wait` for anything else. Every host event is kept in
//! `seen` in arrival order. All waits are bounded.

use crate::host_socket::{self, SockEv};
use fabcheck_core::host::{Host, HostAction, HostConfig, HostEvent, HostInput, HostOutput, Qid};
use fabcheck_core::wire::Status;
use fabcheck_core::Instant as VInstant;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A host talking to one target address.
pub struct Client {
    pub host: Host,
    target: SocketAddr,
    t0: Instant,
    writers: BTreeMap<Qid, OwnedWriteHalf>,
    tx: mpsc::UnboundedSender<SockEv>,
    rx: mpsc::UnboundedReceiver<SockEv>,
    pending: VecDeque<HostEvent>,
    /// Every event so far, in order.
    pub seen: Vec<HostEvent>,
    next_tag: u64,
}

/// Default bound on every wait.
pub const WAIT: Duration = Duration::from_secs(10);

impl Client {
    pub fn new(target: SocketAddr, config: HostConfig) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Client {
            host: Host::new(config),
            target,
            t0: Instant::now(),
            writers: BTreeMap::new(),
            tx,
            rx,
            pending: VecDeque::new(),
            seen: Vec::new(),
            next_tag: 1,
        }
    }

    fn now(&self) -> VInstant {
        VInstant(u64::try_from(self.t0.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// Feeds a scripted action and carries out the host's outputs.
    pub async fn act(&mut self, a: HostAction) -> Result<(), String> {
        let now = self.now();
        self.host.handle(now, HostInput::Do(a));
        self.pump().await
    }

    /// Waits up to `timeout` for an event matching `want` (earlier events are skipped but
    /// stay in `seen`).
    pub async fn wait(
        &mut self,
        timeout: Duration,
        want: impl Fn(&HostEvent) -> bool,
    ) -> Result<HostEvent, String> {
        let until = Instant::now() + timeout;
        loop {
            while let Some(e) = self.pending.pop_front() {
                if want(&e) {
                    return Ok(e);
                }
            }
            if Instant::now() >= until {
                return Err(format!("timed out; events so far: {:?}", self.seen));
            }
            self.step(until).await;
            self.pump().await?;
        }
    }

    /// Runs the host (timers, incoming bytes) for `d` without waiting for anything.
    pub async fn idle(&mut self, d: Duration) -> Result<(), String> {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.step(until).await;
            self.pump().await?;
        }
        Ok(())
    }

    /// Connects the admin queue and runs the init sequence; returns the cntlid.
    pub async fn connect(&mut self) -> Result<u16, String> {
        self.act(HostAction::Connect).await?;
        match self
            .wait(WAIT, |e| matches!(e, HostEvent::Ready { .. }) || fatal(e))
            .await?
        {
            HostEvent::Ready { cntlid } => Ok(cntlid),
            other => Err(format!("connect failed: {other:?}")),
        }
    }

    /// Connects I/O queue `qid`.
    pub async fn connect_io(&mut self, qid: Qid) -> Result<(), String> {
        self.act(HostAction::ConnectIo { qid }).await?;
        match self
            .wait(WAIT, |e| {
                matches!(e, HostEvent::Connected { qid: q, .. } if *q == qid) || fatal(e)
            })
            .await?
        {
            HostEvent::Connected { .. } => Ok(()),
            other => Err(format!("I/O connect failed: {other:?}")),
        }
    }

    /// Writes `data` at `slba` and waits for the completion status.
    pub async fn write(
        &mut self,
        qid: Qid,
        nsid: u32,
        slba: u64,
        data: Vec<u8>,
    ) -> Result<Status, String> {
        let tag = self.tag();
        self.act(HostAction::Write {
            tag,
            qid,
            nsid,
            slba,
            data,
        })
        .await?;
        self.io_done(tag).await.map(|(s, _)| s)
    }

    /// Reads `nlb` blocks at `slba`.
    pub async fn read(
        &mut self,
        qid: Qid,
        nsid: u32,
        slba: u64,
        nlb: u32,
    ) -> Result<(Status, Vec<u8>), String> {
        let tag = self.tag();
        self.act(HostAction::Read {
            tag,
            qid,
            nsid,
            slba,
            nlb,
        })
        .await?;
        self.io_done(tag).await
    }

    /// A fresh I/O tag.
    pub fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    /// Waits for the completion of `tag`.
    pub async fn io_done(&mut self, tag: u64) -> Result<(Status, Vec<u8>), String> {
        match self
            .wait(
                WAIT,
                |e| matches!(e, HostEvent::IoDone { tag: t, .. } if *t == tag),
            )
            .await?
        {
            HostEvent::IoDone { status, data, .. } => Ok((status, data)),
            _ => unreachable!("wait returned a non-matching event"),
        }
    }

    /// Whether any queue is still connected.
    pub fn is_open(&self) -> bool {
        !self.writers.is_empty()
    }

    async fn step(&mut self, until: Instant) {
        let timer = self
            .host
            .poll_timeout()
            .map(|t| self.t0 + Duration::from_nanos(t.0));
        let wake = timer.map_or(until, |t| t.min(until));
        tokio::select! {
            ev = self.rx.recv() => {
                if let Some(ev) = ev { self.on_sock(ev); }
                while let Ok(ev) = self.rx.try_recv() { self.on_sock(ev); }
            }
            () = tokio::time::sleep_until(wake) => {
                let now = self.now();
                self.host.handle_timeout(now);
            }
        }
    }

    fn on_sock(&mut self, ev: SockEv) {
        let now = self.now();
        match ev {
            SockEv::Data(qid, data) => self.host.handle(now, HostInput::Bytes { qid, data }),
            SockEv::Closed(qid) => {
                if self.writers.remove(&qid).is_some() {
                    self.host.handle(now, HostInput::Closed { qid });
                }
            }
        }
    }

    async fn pump(&mut self) -> Result<(), String> {
        while let Some(o) = self.host.poll_output() {
            match o {
                HostOutput::Open { qid } => self.open(qid).await?,
                HostOutput::Send { qid, data } => {
                    if let Some(w) = self.writers.get_mut(&qid) {
                        let _ = w.write_all(&data).await;
                    }
                }
                HostOutput::Close { qid } => {
                    self.writers.remove(&qid);
                }
                HostOutput::Event(e) => {
                    self.seen.push(e.clone());
                    self.pending.push_back(e);
                }
            }
        }
        Ok(())
    }

    async fn open(&mut self, qid: Qid) -> Result<(), String> {
        let wr = host_socket::open(self.target, qid, self.tx.clone())
            .await
            .map_err(|e| format!("connect {}: {e}", self.target))?;
        self.writers.insert(qid, wr);
        let now = self.now();
        self.host.handle(now, HostInput::Opened { qid });
        Ok(())
    }
}

/// Events after which a connect will not succeed.
pub fn fatal(e: &HostEvent) -> bool {
    matches!(
        e,
        HostEvent::ConnectFailed { .. }
            | HostEvent::ControllerFailed { .. }
            | HostEvent::ProtocolError { .. }
            | HostEvent::TermReceived { .. }
            | HostEvent::QueueClosed { .. }
    )
}

//! The driver's step loop: wait for what arrived, feed it to the core, run every enabled
//! internal event whose time has come, drain the outputs to the sockets, and keep the
//! connection table in step with the core (peer closes, idle deadlines).

use super::*;

impl Driver {
    pub(super) async fn run(
        mut self,
        mut net: mpsc::Receiver<NetEvent>,
        mut ctl: mpsc::UnboundedReceiver<Control>,
    ) -> Summary {
        let mut deadline = None;
        let mut more = false;
        let busy_poll = std::time::Duration::from_micros(self.opts.limits.busy_poll_us);
        let mut poll_until = tokio::time::Instant::now();
        // The last turn fed nothing: the target is waiting on its peers.
        let mut quiet = false;
        loop {
            let inputs = self.stats.inputs;
            // The clock as the last turn read it: a busy-poll turn reads it once (`tick`
            // below), since each read costs about as much as the turn's `epoll_wait`.
            let busy = more || self.last_wall < poll_until;
            if busy {
                // Internal events are still runnable, or the busy-poll window is open: only
                // let other tasks (the socket readers, via the runtime's I/O poll) run.
                tokio::task::yield_now().await;
            } else {
                self.wait(&mut net, &mut ctl, &mut deadline).await;
            }
            self.tick();
            for _ in 0..BATCH {
                match net.try_recv() {
                    Ok(ev) => self.on_net(ev),
                    Err(_) => break,
                }
            }
            while let Ok(c) = ctl.try_recv() {
                self.control(c, &mut deadline);
            }
            self.read_sockets(busy && quiet);
            self.expire_idle();
            more = self.run_ready();
            self.flush_out();
            quiet = self.stats.inputs == inputs;
            if !quiet && !busy_poll.is_zero() {
                poll_until = self.last_wall + busy_poll;
            }
            if let Some(clean) = self.shutdown_done {
                return self.finish(clean);
            }
        }
    }

    /// Sleeps until a socket event, a control message, the next timer or the shutdown bound.
    pub(super) async fn wait(
        &mut self,
        net: &mut mpsc::Receiver<NetEvent>,
        ctl: &mut mpsc::UnboundedReceiver<Control>,
        deadline: &mut Option<tokio::time::Instant>,
    ) {
        let wake = self.next_wake();
        let bound = *deadline;
        let direct = self.direct_io;
        let conns = &mut self.conns;
        tokio::select! {
            () = std::future::poll_fn(|cx| poll_readable(conns, cx)), if direct => {}
            Some(ev) = net.recv() => self.on_net(ev),
            Some(c) = ctl.recv() => self.control(c, deadline),
            () = sleep_until(wake) => {}
            () = sleep_until(bound), if bound.is_some() => {
                tracing::error!("shutdown did not finish in {SHUTDOWN_TIMEOUT:?}");
                self.shutdown_done = Some(false);
            }
        }
    }

    pub(super) fn control(&mut self, c: Control, deadline: &mut Option<tokio::time::Instant>) {
        if self.on_control(c) {
            *deadline = Some(tokio::time::Instant::now() + SHUTDOWN_TIMEOUT);
        }
    }

    pub(super) fn next_wake(&self) -> Option<tokio::time::Instant> {
        let next = match (self.target.poll_timeout(), self.idle_check) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }?;
        Some(self.start + std::time::Duration::from_nanos(next.0))
    }

    /// Reads the clock: the time every input fed until the next tick carries. Ticked once per
    /// turn of the loop, per socket read that brought bytes, per control message and per
    /// further pass over the due events, not once per input: reading the clock was 3-4% of
    /// the target's CPU time when every input did (docs/runtime.md, "The seventh pass"), and
    /// three reads per busy-poll turn were a sixth of the turn ("The ninth pass").
    pub(super) fn tick(&mut self) -> Instant {
        let wall = tokio::time::Instant::now();
        let ns = u64::try_from(wall.duration_since(self.start).as_nanos()).unwrap_or(u64::MAX);
        self.last_wall = wall;
        self.last = self.last.max(Instant(ns));
        self.last
    }

    /// Records and feeds one input at the last tick, then drains the outputs.
    pub(super) fn feed(&mut self, input: Input) {
        let now = self.last;
        if let Some(rec) = &self.recorder {
            if let Err(e) = rec.record(now, &input) {
                tracing::error!("recording failed, stopping it: {e}");
                self.recorder = None;
            }
        }
        self.stats.inputs += 1;
        let crashed = self.target.violation().is_some();
        self.target.handle(now, input);
        self.drain();
        if !crashed && self.target.violation().is_some() {
            self.on_crash();
        }
        if self.opts.check_invariants && self.stats.invariant_failure.is_none() {
            if let Err(v) = self.target.check_invariants() {
                tracing::error!("invariant broken: {v}");
                self.stats.invariant_failure = Some(v);
            }
        }
    }

    /// The core crashed (a sticky violation): it ignores every later input, so answer the
    /// pending RPCs now, and let a shutdown finish at once.
    pub(super) fn on_crash(&mut self) {
        let v = self.target.violation().cloned();
        let msg = v.map_or_else(String::new, |v| v.to_string());
        tracing::error!("the target crashed (later inputs are ignored): {msg}");
        for (_, p) in std::mem::take(&mut self.rpcs) {
            match p {
                Pending::External { reply, .. } => {
                    let _ = reply.send(Err(crashed_error(&msg)));
                }
                Pending::Shutdown => self.shutdown_done = Some(false),
                Pending::ListenerSync => {}
            }
        }
    }

    /// Runs every internal event that is due, pass after pass, until none is left. Returns
    /// true when the budget ran out with events still runnable. One buffer serves every pass
    /// (`Target::push_due_inputs`), so a pass allocates nothing. The first pass runs at the
    /// turn's tick; each later one reads the clock again, since the passes before it worked.
    pub(super) fn run_ready(&mut self) -> bool {
        let mut budget = EVENT_BUDGET;
        let mut due = std::mem::take(&mut self.due);
        let mut more = true;
        let mut now = self.last;
        while budget > 0 {
            due.clear();
            self.target.push_due_inputs(now, &mut due);
            if due.is_empty() {
                more = false;
                break;
            }
            budget = budget.saturating_sub(due.len());
            for input in due.drain(..) {
                self.feed(input);
            }
            now = self.tick();
        }
        self.due = due;
        if more {
            // Out of budget: let the sockets in, then continue at once.
            tracing::trace!("event budget exhausted; yielding");
        }
        more
    }

    pub(super) fn drain(&mut self) {
        while let Some(out) = self.target.poll_output() {
            if let Some(tap) = &self.opts.output_tap {
                let _ = tap.send(out.clone());
            }
            match out {
                Output::Send { conn, data } => {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        if c.pending.is_empty() {
                            self.dirty.push(conn);
                        }
                        c.pending.push(data);
                    }
                }
                Output::Close { conn } => self.close_conn(conn),
                Output::RpcDone { id, result } => self.on_rpc_done(id, result),
                Output::Event(e) => {
                    tracing::debug!(thread = %e.thread, mark = e.mark.name(), "{}", e.detail);
                    *self.stats.marks.entry(e.mark).or_default() += 1;
                }
            }
        }
    }

    /// Hands every connection's pending PDUs to its socket, one batch per connection, and
    /// the buffers of those written out at once back to the core (`Target::recycle`: the
    /// next reads fill them instead of allocating).
    pub(super) fn flush_out(&mut self) {
        for conn in self.dirty.drain(..) {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.handle.send(&mut c.pending, &mut self.written);
            }
        }
        self.recycle_written();
    }

    fn recycle_written(&mut self) {
        for pdu in self.written.drain(..) {
            self.target.recycle(pdu);
        }
    }

    pub(super) fn close_conn(&mut self, conn: ConnId) {
        if let Some(mut c) = self.conns.remove(&conn) {
            c.handle.send(&mut c.pending, &mut self.written);
            self.recycle_written();
            tracing::debug!(conn = conn.0, "closed by target");
        }
        self.stats.live_conns = self.conns.len();
    }

    pub(super) fn on_net(&mut self, ev: NetEvent) {
        self.tick();
        match ev {
            NetEvent::Accepted {
                trid,
                stream,
                peer,
                permit,
            } => {
                let conn = ConnId(self.next_conn);
                self.next_conn += 1;
                let events = self.net_tx.clone();
                let direct = self.direct_io;
                let handle = tcp::spawn_connection(conn, stream, peer, permit, events, direct);
                let now = self.last;
                let idle_deadline = (self.idle_ns > 0).then(|| Instant(now.0 + self.idle_ns));
                if let Some(d) = idle_deadline {
                    self.idle_check = Some(self.idle_check.map_or(d, |c| c.min(d)));
                }
                self.conns.insert(
                    conn,
                    Conn {
                        handle,
                        pending: Vec::new(),
                        idle_deadline,
                        peer_closed: false,
                        peer,
                        last_bytes: None,
                    },
                );
                self.stats.accepted += 1;
                self.stats.live_conns = self.conns.len();
                let _span = tracing::info_span!("conn", id = conn.0, %peer).entered();
                tracing::info!(%trid, "accepted");
                self.feed(Input::Accept { trid, conn });
            }
            NetEvent::Bytes { conn, data } => {
                if self.conns.contains_key(&conn) {
                    let _span = tracing::trace_span!("conn", id = conn.0).entered();
                    self.feed(Input::Bytes { conn, data });
                }
            }
            NetEvent::PeerClosed { conn } => {
                let _span = tracing::debug_span!("conn", id = conn.0).entered();
                self.on_peer_closed(conn);
            }
        }
    }

    /// Reads the sockets of the connections the driver reads itself and feeds what arrived
    /// (each socket until it has nothing more, at most `READS_PER_TURN` times, so one busy
    /// connection cannot hold the others back). A socket with no readiness news from the
    /// runtime's I/O driver costs no system call, except when the target waits on its peers
    /// (`eager`: a busy-poll turn after one that fed nothing) for a connection that brought
    /// bytes within the busy-poll window (at most `EAGER_READS_MAX` of them): its first read
    /// does not wait for the news (`ConnHandle::read_now`). The news comes with the runtime's
    /// next `epoll_wait` and reached the driver about 400 ns after it, where SPDK reads the
    /// socket as soon as its own `epoll_wait` returns. A target with work in hand reads on
    /// readiness only: eager reads then find PDUs half sent and cost 4 KiB writes at queue
    /// depth 32 a tenth of their rate (docs/runtime.md, "The ninth pass").
    pub(super) fn read_sockets(&mut self, eager: bool) {
        if !self.direct_io {
            return;
        }
        let window = self.opts.limits.busy_poll_us.saturating_mul(1000);
        let hot_since = eager.then(|| Instant(self.last.0.saturating_sub(window)));
        let mut eager_reads = 0;
        let mut after = None;
        while let Some(conn) = self.conn_after(after) {
            after = Some(conn);
            for i in 0..READS_PER_TURN {
                let Some(c) = self.conns.get_mut(&conn) else {
                    break;
                };
                let hot = c.last_bytes.zip(hot_since).is_some_and(|(at, t)| at >= t);
                let read = if i == 0 && hot && eager_reads < EAGER_READS_MAX {
                    eager_reads += 1;
                    c.handle.read_now()
                } else {
                    c.handle.read()
                };
                match read {
                    tcp::Read::Bytes(data) => {
                        let now = self.tick();
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.last_bytes = Some(now);
                        }
                        self.feed(Input::Bytes { conn, data });
                    }
                    tcp::Read::Closed => {
                        self.tick();
                        self.on_peer_closed(conn);
                        break;
                    }
                    tcp::Read::Empty => break,
                }
            }
        }
    }

    /// The first live connection after `after` (the first of all for `None`).
    fn conn_after(&self, after: Option<ConnId>) -> Option<ConnId> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = after.map_or(Unbounded, Excluded);
        self.conns
            .range((from, Unbounded))
            .next()
            .map(|(id, _)| *id)
    }

    pub(super) fn on_peer_closed(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if std::mem::replace(&mut c.peer_closed, true) {
            return;
        }
        c.idle_deadline = None;
        tracing::debug!(conn = conn.0, "peer closed");
        self.feed(Input::PeerClosed { conn });
    }

    /// Connections that are not ENABLED by their deadline are closed as if the peer left.
    /// Scans the connections only once `idle_check` (the earliest deadline any of them may
    /// have) has come, and then sets it to the earliest deadline left.
    pub(super) fn expire_idle(&mut self) {
        let now = self.last;
        if self.idle_check.is_none_or(|at| at > now) {
            return;
        }
        let expired: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.idle_deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for conn in expired {
            if self.target.qpair_state(conn) == Some(QpairState::Enabled) {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.idle_deadline = None;
                }
                continue;
            }
            tracing::info!(
                conn = conn.0,
                "no ICReq/CONNECT before the idle timeout; closing"
            );
            if let Some(c) = self.conns.remove(&conn) {
                drop(c);
                self.stats.live_conns = self.conns.len();
                self.feed(Input::PeerClosed { conn });
            }
        }
        self.idle_check = self.conns.values().filter_map(|c| c.idle_deadline).min();
    }
}

/// Ready once any socket the driver reads itself may have bytes or a close to read.
fn poll_readable(
    conns: &mut BTreeMap<ConnId, Conn>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<()> {
    for c in conns.values_mut() {
        if c.handle.poll_readable(cx).is_ready() {
            return std::task::Poll::Ready(());
        }
    }
    std::task::Poll::Pending
}

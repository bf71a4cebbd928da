//! Draining outputs after every step: target sends and closes go into pipes, RPC answers to the
//! operator, marks into coverage and the trace; host opens become target accepts, host sends and
//! closes go into pipes, host events update the world's view of each host.

use super::{Conn, Failure, OpState, World};
use crate::net::Pipe;
use crate::trace::stream::StreamView;
use crate::trace::LineKind;
use fabcheck_core::host::{HostEvent, HostInput, HostOutput};
use fabcheck_core::nvmf::{ConnId, Input, Output, RpcId, RpcResponse};
use fabcheck_core::wire::Pdu;

impl World<'_> {
    /// Drains every output until target and hosts are silent.
    pub(super) fn drain(&mut self) {
        loop {
            let mut any = false;
            while let Some(o) = self.s.target.poll_output() {
                any = true;
                self.on_target_output(o);
            }
            for h in 0..self.s.hosts.len() {
                while let Some(o) = self.s.hosts[h].host.poll_output() {
                    any = true;
                    self.on_host_output(h, o);
                }
            }
            if !any {
                break;
            }
        }
    }

    fn on_target_output(&mut self, o: Output) {
        match o {
            Output::Send { conn, data } => {
                if let Some(c) = self.s.conns.get_mut(&conn) {
                    if c.host_open && c.target_open {
                        data.parts().for_each(|p| c.to_host.push(p));
                    }
                }
            }
            Output::Close { conn } => self.target_closed(conn),
            Output::RpcDone { id, result } => self.rpc_done(id, result),
            Output::Event(ev) => {
                self.s.marks.hit(ev.mark);
                if self.tracing() {
                    let text = format!("{}: {}", crate::coverage::mark_name(ev.mark), ev.detail);
                    self.note(LineKind::Mark, &ev.thread.to_string(), None, text);
                }
            }
        }
    }

    fn target_closed(&mut self, conn: ConnId) {
        let Some(c) = self.s.conns.get_mut(&conn) else {
            return;
        };
        if !c.target_open {
            return;
        }
        c.target_open = false;
        c.to_target.clear();
        if c.host_open {
            c.to_host.close();
        }
    }

    fn rpc_done(&mut self, id: RpcId, result: Result<RpcResponse, fabcheck_core::nvmf::RpcError>) {
        let Some(i) = self.s.ops.iter().position(|s| *s == OpState::Issued(id)) else {
            return;
        };
        self.s.ops[i] = OpState::Done;
        self.random_op_answered(i);
        if self.tracing() {
            // A random action's RPC is named on the line that issued it.
            let rpc = match &self.sc.operator[i].rpc {
                crate::scenario::OperatorRpc::Random { .. } => "random operator".to_string(),
                other => other.to_string(),
            };
            let text = match &result {
                Ok(_) => format!("rpc {} done: {rpc}", id.0),
                Err(e) => format!("rpc {} failed: {rpc} ({e})", id.0),
            };
            self.note(LineKind::RpcDone, "app", Some("operator"), text);
        }
    }

    fn on_host_output(&mut self, h: usize, o: HostOutput) {
        match o {
            HostOutput::Open { qid } => self.open_conn(h, qid),
            HostOutput::Send { qid, data } => {
                let c = self
                    .s
                    .by_queue
                    .get(&(h, qid))
                    .and_then(|c| self.s.conns.get_mut(c));
                if let Some(c) = c.filter(|c| c.host_open) {
                    c.to_target.push(&data);
                }
            }
            HostOutput::Close { qid } => self.host_closed(h, qid),
            HostOutput::Event(ev) => self.on_host_event(h, ev),
        }
    }

    fn open_conn(&mut self, h: usize, qid: u16) {
        let conn = ConnId(self.s.next_conn);
        self.s.next_conn += 1;
        if self.tracing() {
            let views = (StreamView::new(true, qid), StreamView::new(false, qid));
            self.views.insert(conn, views);
        }
        self.s.conns.insert(
            conn,
            Conn {
                host: h,
                qid,
                to_target: Pipe::default(),
                to_host: Pipe::default(),
                host_open: true,
                target_open: true,
            },
        );
        self.s.by_queue.insert((h, qid), conn);
        self.s.hosts[h].open.insert(qid);
        let trid = self.trid_of(h);
        let text = format!("opens conn {} (q{qid}) to {trid}", conn.0);
        self.note(LineKind::Conn, &format!("host{h}"), Some("target"), text);
        self.feed(Input::Accept { trid, conn });
        self.s.hosts[h]
            .host
            .handle(self.s.now, HostInput::Opened { qid });
    }

    fn host_closed(&mut self, h: usize, qid: u16) {
        let Some(&conn) = self.s.by_queue.get(&(h, qid)) else {
            return;
        };
        if let Some(c) = self.s.conns.get_mut(&conn) {
            c.host_open = false;
            c.to_host.clear();
            if c.target_open {
                c.to_target.close();
            }
        }
        self.host_queue_gone(h, qid, conn);
    }

    fn on_host_event(&mut self, h: usize, ev: HostEvent) {
        self.s.hosts[h].observe(&ev);
        if let HostEvent::ProtocolError { qid, reason } = &ev {
            let reason = format!("q{qid}: {reason}");
            self.fail(Failure::Protocol { host: h, reason });
        }
        if self.tracing() {
            let text = host_event_text(&ev);
            self.note(LineKind::HostEvent, &format!("host{h}"), None, text);
        }
    }

    /// Traces the PDUs in `data` as the receiver will see them.
    pub(super) fn trace_pdus(&mut self, c: ConnId, to_target: bool, data: &[u8]) {
        let Some(conn) = self.s.conns.get(&c) else {
            return;
        };
        let (h, qid) = (conn.host, conn.qid);
        let Some((up, down)) = self.views.get_mut(&c) else {
            return;
        };
        let found = if to_target {
            up.feed(data)
        } else {
            down.feed(data)
        };
        for (pdu, _) in &found {
            if let Some(Pdu::IcResp(r)) = pdu {
                up.set_digests(r.digests);
                down.set_digests(r.digests);
            }
        }
        let host = format!("host{h}");
        let (from, to) = if to_target {
            (host.as_str(), "target")
        } else {
            ("target", host.as_str())
        };
        for (_, text) in found {
            self.note(
                LineKind::Pdu,
                from,
                Some(to),
                format!("[c{} q{qid}] {text}", c.0),
            );
        }
    }

    /// Forgets connections closed on both sides with nothing pending.
    pub(super) fn gc_conns(&mut self) {
        self.s.conns.retain(|_, c| {
            c.host_open || c.target_open || !c.to_host.is_empty() || !c.to_target.is_empty()
        });
    }
}

fn host_event_text(ev: &HostEvent) -> String {
    match ev {
        HostEvent::IcDone { qid } => format!("ic done q{qid}"),
        HostEvent::Connected { qid, cntlid } => format!("connected q{qid} cntlid={cntlid}"),
        HostEvent::ConnectFailed { qid, status } => {
            format!(
                "CONNECT q{qid} failed sct={} sc=0x{:02x}",
                status.sct, status.sc
            )
        }
        HostEvent::Ready { cntlid } => format!("controller {cntlid} ready"),
        HostEvent::CommandFailed { qid, opc, status } => format!(
            "command 0x{opc:02x} on q{qid} failed sct={} sc=0x{:02x}",
            status.sct, status.sc
        ),
        HostEvent::IoDone { tag, status, .. } => {
            format!("I/O {tag} done ok={}", status.is_success())
        }
        HostEvent::Aen(a) => format!(
            "AEN type={} info={} log=0x{:02x}",
            a.event_type, a.info, a.log_page
        ),
        HostEvent::ShutdownComplete => "shutdown complete".into(),
        HostEvent::ResetComplete => "reset complete".into(),
        HostEvent::ProtocolError { qid, reason } => format!("protocol error on q{qid}: {reason}"),
        HostEvent::TermReceived { qid, fes } => format!("TermReq received on q{qid}: {fes:?}"),
        HostEvent::QueueClosed { qid } => format!("queue q{qid} closed"),
        HostEvent::ControllerFailed { reason } => format!("controller failed: {reason}"),
        HostEvent::Rejected { reason } => format!("script step rejected: {reason}"),
    }
}

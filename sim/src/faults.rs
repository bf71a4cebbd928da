//! Fault injection (safety phase only, at most `faults.max` per run): connection resets, hosts
//! that stop their keep-alives, and hosts that drop their admin connection while its CONNECT is
//! unanswered, and device I/Os that stall for `device_stall_ms` (their completion is enabled
//! only then). Each fault kind with a non-zero rate and at least one possible victim rolls one
//! `Fault` choice per step (0 = no fault, so shrinking removes faults by lowering), then a
//! victim choice. PDU splits are rolled at delivery time (`world::apply`).

use super::World;
use crate::chooser::ChoiceKind;
use crate::scenario::Ratio;
use crate::trace::LineKind;
use fabcheck_core::host::{HostAction, HostInput};
use fabcheck_core::nvmf::{ConnId, Input};

impl World<'_> {
    pub(super) fn inject_faults(&mut self) {
        let f = self.sc.faults.clone();
        self.maybe(f.conn_reset, Self::reset_victims, Self::reset_conn);
        self.maybe(
            f.stop_keep_alive,
            Self::keep_alive_victims,
            Self::stop_keep_alive,
        );
        self.maybe(
            f.disconnect_mid_connect,
            Self::connecting_hosts,
            Self::drop_mid_connect,
        );
        self.maybe(f.device_stall, Self::device_ios, Self::stall_device_io);
    }

    /// Device I/Os pending and not stalled yet.
    fn device_ios(&self) -> Vec<u64> {
        self.s
            .target
            .enabled_events()
            .into_iter()
            .filter_map(|e| match e.input {
                Input::Complete(io) if !self.s.stalled.contains_key(&io.0) => Some(io.0),
                _ => None,
            })
            .collect()
    }

    fn stall_device_io(&mut self, io: u64) {
        let ms = self.sc.faults.device_stall_ms;
        let until = self.s.now + fabcheck_core::Duration::from_millis(ms);
        self.s.stalled.insert(io, until);
        let text = format!("device I/O {io} stalls for {ms} ms");
        self.note(LineKind::Fault, "device", None, text);
    }

    /// Rolls `rate` if there is a victim; on a hit picks one and strikes it.
    fn maybe(&mut self, rate: Ratio, victims: fn(&Self) -> Vec<u64>, strike: fn(&mut Self, u64)) {
        if rate.is_never() || self.s.faults_left == 0 {
            return;
        }
        let v = victims(self);
        if v.is_empty() || !rate.hit(self.chooser.pick(ChoiceKind::Fault, rate.den)) {
            return;
        }
        let i = self
            .chooser
            .pick(ChoiceKind::Fault, crate::chooser::len_u32(v.len()));
        self.s.faults_left -= 1;
        strike(self, v[i as usize]);
    }

    fn reset_victims(&self) -> Vec<u64> {
        self.s
            .conns
            .iter()
            .filter(|(_, c)| c.host_open && c.target_open)
            .map(|(id, _)| id.0)
            .collect()
    }

    fn reset_conn(&mut self, id: u64) {
        let conn = ConnId(id);
        let c = self.s.conns.get_mut(&conn).expect("victim exists");
        let (h, qid) = (c.host, c.qid);
        c.to_target.clear();
        c.to_host.clear();
        c.host_open = false;
        c.target_open = false;
        let text = format!("connection reset: conn {id} (host{h} q{qid})");
        self.note(LineKind::Fault, "net", None, text);
        self.host_queue_gone(h, qid, conn);
        self.feed(Input::PeerClosed { conn });
        self.s.hosts[h]
            .host
            .handle(self.s.now, HostInput::Closed { qid });
    }

    fn keep_alive_victims(&self) -> Vec<u64> {
        (0..self.s.hosts.len())
            .filter(|&h| {
                self.s.hosts[h].kept && self.s.hosts[h].keep_alive && self.s.hosts[h].ready
            })
            .map(|h| h as u64)
            .collect()
    }

    fn stop_keep_alive(&mut self, h: u64) {
        let h = h as usize;
        self.s.hosts[h].keep_alive = false;
        self.note(
            LineKind::Fault,
            &format!("host{h}"),
            None,
            "stops sending keep-alives".into(),
        );
        let input = HostInput::Do(HostAction::SetKeepAlive(false));
        self.s.hosts[h].host.handle(self.s.now, input);
    }

    fn connecting_hosts(&self) -> Vec<u64> {
        (0..self.s.hosts.len())
            .filter(|&h| self.s.hosts[h].connecting && self.s.hosts[h].open.contains(&0))
            .map(|h| h as u64)
            .collect()
    }

    fn drop_mid_connect(&mut self, h: u64) {
        let h = h as usize;
        let text = "drops its admin connection mid-CONNECT".to_string();
        self.note(LineKind::Fault, &format!("host{h}"), None, text);
        let input = HostInput::Do(HostAction::Disconnect { qid: 0 });
        self.s.hosts[h].host.handle(self.s.now, input);
    }
}

//! The host ends of a `Router`: adding sans-IO hosts, scripting them, and reading what they
//! reported. Host 0 has short-hand accessors (`host()`, `act`, `events()`), since most host
//! tests drive one host.

use super::router::{HostSlot, Router, TargetEnd};
use crate::host::{Host, HostAction, HostConfig, HostEvent, HostInput, HostOutput, Qid};
use crate::wire::Status;
use std::collections::BTreeMap;

impl<T: TargetEnd> Router<T> {
    /// Adds a sans-IO host; returns its index.
    pub fn add_host(&mut self, config: HostConfig) -> usize {
        self.hosts.push(HostSlot {
            host: Host::new(config),
            conns: BTreeMap::new(),
            outputs: Vec::new(),
            events: Vec::new(),
            closed: Vec::new(),
        });
        self.hosts.len() - 1
    }

    /// Feeds host `h` one input and routes what follows (the target runs no internal work).
    pub fn host_input(&mut self, h: usize, input: HostInput) {
        self.hosts[h].host.handle(self.now, input);
        self.pump();
    }

    /// Gives host `h` a scripted action (the target runs no internal work).
    pub fn host_do(&mut self, h: usize, action: HostAction) {
        self.host_input(h, HostInput::Do(action));
    }

    /// Host 0 takes `action`, then everything ready runs.
    pub fn act(&mut self, action: HostAction) {
        self.act_many(vec![action]);
    }

    /// Host 0 takes all `actions` before anything runs, so their work interleaves.
    pub fn act_many(&mut self, actions: Vec<HostAction>) {
        for action in actions {
            self.hosts[0].host.handle(self.now, HostInput::Do(action));
        }
        self.run_all();
    }

    /// Host 0.
    pub fn host(&self) -> &Host {
        &self.hosts[0].host
    }

    /// Host 0, to feed it by hand (outputs wait for the next `pump`).
    pub fn host_mut(&mut self) -> &mut Host {
        &mut self.hosts[0].host
    }

    /// Events host `h` reported so far.
    pub fn host_events(&self, h: usize) -> &[HostEvent] {
        &self.hosts[h].events
    }

    /// Events host 0 reported so far.
    pub fn events(&self) -> Vec<HostEvent> {
        self.hosts[0].events.clone()
    }

    /// Every output host 0 produced, in order.
    pub fn outputs(&self) -> &[HostOutput] {
        &self.hosts[0].outputs
    }

    /// Queues host 0 asked to close (until reopened), in order.
    pub fn host_closed(&self) -> &[Qid] {
        &self.hosts[0].closed
    }

    /// Every completion host `h` reported for `tag`, in order (exactly one when correct).
    pub fn io_dones(&self, h: usize, tag: u64) -> Vec<(Status, Vec<u8>)> {
        self.hosts[h]
            .events
            .iter()
            .filter_map(|e| match e {
                HostEvent::IoDone {
                    tag: t,
                    status,
                    data,
                } if *t == tag => Some((*status, data.clone())),
                _ => None,
            })
            .collect()
    }

    /// Host 0's first completion for `tag`.
    pub fn io_done(&self, tag: u64) -> Option<(Status, Vec<u8>)> {
        self.io_dones(0, tag).into_iter().next()
    }

    /// The cntlid host `h` reported `Ready` with.
    pub fn ready_cntlid(&self, h: usize) -> Option<u16> {
        self.hosts[h].events.iter().find_map(|e| match e {
            HostEvent::Ready { cntlid } => Some(*cntlid),
            _ => None,
        })
    }

    /// Host 0 connects and initializes, time advancing timer by timer until it is ready
    /// (at most 60 s of virtual time).
    pub fn connect(&mut self) {
        self.host_do(0, HostAction::Connect);
        let deadline = self.now + crate::time::Duration::from_secs(60);
        while !self.host().is_ready() && self.now < deadline {
            let host_due = self.host().poll_timeout();
            let Some(t) = host_due
                .into_iter()
                .chain(self.target.next_deadline())
                .min()
            else {
                break;
            };
            self.advance_to(t);
        }
    }
}

//! Turns real connections into `target_inputs` seed inputs: a simulator run's recording (the
//! sans-IO initiators' byte streams, the operator's RPCs and the interleaving the run chose) or
//! a captured host-to-target byte stream. A shadow `Harness` runs alongside, so every thread
//! run, completion and timer firing becomes the `Step` that picks it.

use super::ops::{FuzzInput, Op, SLOTS};
use super::target_inputs::{scenario_for, Harness};
use fabcheck_core::nvmf::{ConnId, Input};
use fabcheck_core::record::RecordLine;
use std::collections::BTreeMap;

/// Records ops while applying them to a shadow harness.
struct Encoder {
    h: Harness,
    ops: Vec<Op>,
    /// Recorded connection -> slot.
    slots: BTreeMap<ConnId, u8>,
    next_slot: u8,
}

impl Encoder {
    fn push(&mut self, op: Op) {
        // The shadow is the fixed core: a finding here would already fail the corpus test.
        let _ = self.h.apply(&op);
        self.ops.push(op);
    }

    fn slot(&self, conn: ConnId) -> Option<u8> {
        self.slots.get(&conn).copied()
    }

    fn accept(&mut self, conn: ConnId, listener: u8) {
        let slot = self.next_slot % SLOTS;
        self.next_slot += 1;
        self.slots.retain(|_, s| *s != slot);
        self.slots.insert(conn, slot);
        self.push(Op::Accept { slot, listener });
    }

    fn bytes(&mut self, slot: u8, data: &[u8]) {
        for chunk in data.chunks(usize::from(u16::MAX)) {
            self.push(Op::Bytes {
                slot,
                data: chunk.to_vec(),
            });
        }
    }

    fn input(&mut self, input: &Input) {
        match input {
            Input::Accept { trid, conn } => {
                let l = self.h.trids.iter().position(|t| t == trid);
                let l = l.unwrap_or(self.h.trids.len() - 1);
                self.accept(*conn, u8::try_from(l).unwrap_or(u8::MAX));
            }
            Input::Bytes { conn, data } => {
                if let Some(slot) = self.slot(*conn) {
                    self.bytes(slot, data);
                }
            }
            Input::PeerClosed { conn } => {
                if let Some(slot) = self.slot(*conn) {
                    self.push(Op::PeerClosed { slot });
                }
            }
            Input::Rpc { request, .. } => {
                if let Some((kind, a, b)) = super::rpc::encode(&self.h, request) {
                    self.push(Op::Rpc { kind, a, b });
                }
            }
            internal => self.step(internal),
        }
    }

    fn step(&mut self, input: &Input) {
        let events = self.h.target.enabled_events();
        if let Some(i) = events.iter().position(|e| &e.input == input) {
            if let Ok(pick) = u8::try_from(i) {
                self.push(Op::Step { pick });
            }
        }
    }
}

fn encoder(scenario: u8) -> Encoder {
    Encoder {
        h: Harness::new(scenario_for(scenario).target_config()),
        ops: Vec::new(),
        slots: BTreeMap::new(),
        next_slot: 0,
    }
}

/// A seed input from a simulator recording of a run of built-in scenario number `scenario`.
pub fn from_recording(scenario: u8, recording: &[RecordLine]) -> FuzzInput {
    let mut e = encoder(scenario);
    for line in recording {
        if let RecordLine::Input { input, .. } = line {
            e.input(input);
        }
    }
    FuzzInput {
        scenario,
        ops: e.ops,
    }
}

/// A seed input from a captured host-to-target stream: one connection on the first listener,
/// the stream in `chunk`-byte pieces, the target settling after each.
pub fn from_capture(scenario: u8, stream: &[u8], chunk: usize) -> FuzzInput {
    let mut e = encoder(scenario);
    e.accept(ConnId(0), 0);
    for piece in stream.chunks(chunk.max(1)) {
        e.bytes(0, piece);
        e.push(Op::Settle);
    }
    FuzzInput {
        scenario,
        ops: e.ops,
    }
}

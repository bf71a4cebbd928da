//! The `target_inputs` fuzz input: a scenario byte (whose target configuration to start from)
//! then a list of `Op`s, decoded with `arbitrary::Unstructured` in a layout simple enough to
//! write back (`encode`), so a corpus can be made from real connections.
//!
//! Layout: one tag byte per op (`tag % 7`), then its operands: a slot byte, a listener byte,
//! an RPC template byte and two argument bytes, a `u16` little-endian length followed by that
//! many data bytes (fewer if the input ends), or a `u16` of milliseconds.

use arbitrary::{Arbitrary, Result, Unstructured};

/// Connection slots a fuzz input addresses (a slot holds the latest connection accepted on it).
pub const SLOTS: u8 = 6;

/// One step of a `target_inputs` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Accept a new connection into `slot` on listener `listener` (one past the configured
    /// listeners is an unknown address).
    Accept { slot: u8, listener: u8 },
    /// Bytes from the peer on the connection in `slot`.
    Bytes { slot: u8, data: Vec<u8> },
    /// The peer closed the connection in `slot`.
    PeerClosed { slot: u8 },
    /// An RPC built from template `kind` with arguments `a`, `b` (see `target_inputs::rpc`).
    Rpc { kind: u8, a: u8, b: u8 },
    /// Run one of the target's enabled events (thread run, device completion, timer firing).
    Step { pick: u8 },
    /// Let virtual time pass.
    Wait { ms: u16 },
    /// Run thread messages and device completions until none is left (timers do not fire).
    Settle,
}

const TAGS: u8 = 7;

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let tag = u8::arbitrary(u)? % TAGS;
        Ok(match tag {
            0 => Op::Accept {
                slot: u8::arbitrary(u)?,
                listener: u8::arbitrary(u)?,
            },
            1 => {
                let slot = u8::arbitrary(u)?;
                let len = usize::from(u16::arbitrary(u)?).min(u.len());
                Op::Bytes {
                    slot,
                    data: u.bytes(len)?.to_vec(),
                }
            }
            2 => Op::PeerClosed {
                slot: u8::arbitrary(u)?,
            },
            3 => Op::Rpc {
                kind: u8::arbitrary(u)?,
                a: u8::arbitrary(u)?,
                b: u8::arbitrary(u)?,
            },
            4 => Op::Step {
                pick: u8::arbitrary(u)?,
            },
            5 => Op::Wait {
                ms: u16::arbitrary(u)?,
            },
            _ => Op::Settle,
        })
    }
}

impl Op {
    /// Appends the bytes `arbitrary` decodes back into this op.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Op::Accept { slot, listener } => out.extend([0, *slot, *listener]),
            Op::Bytes { slot, data } => {
                let len = u16::try_from(data.len()).expect("encode splits data into u16 chunks");
                out.extend([1, *slot]);
                out.extend(len.to_le_bytes());
                out.extend(data);
            }
            Op::PeerClosed { slot } => out.extend([2, *slot]),
            Op::Rpc { kind, a, b } => out.extend([3, *kind, *a, *b]),
            Op::Step { pick } => out.extend([4, *pick]),
            Op::Wait { ms } => {
                out.push(5);
                out.extend(ms.to_le_bytes());
            }
            Op::Settle => out.push(6),
        }
    }
}

/// A decoded `target_inputs` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzInput {
    /// Index (modulo their number) of the built-in scenario whose target configuration to use.
    pub scenario: u8,
    pub ops: Vec<Op>,
}

impl FuzzInput {
    /// Decodes any byte string (never fails: a short input is a short op list).
    pub fn decode(data: &[u8]) -> FuzzInput {
        let mut u = Unstructured::new(data);
        let scenario = u8::arbitrary(&mut u).unwrap_or(0);
        let mut ops = Vec::new();
        while !u.is_empty() {
            match Op::arbitrary(&mut u) {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        FuzzInput { scenario, ops }
    }

    /// The bytes `decode` turns back into this input.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.scenario];
        for op in &self.ops {
            op.encode(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_is_the_identity() {
        let input = FuzzInput {
            scenario: 2,
            ops: vec![
                Op::Accept {
                    slot: 1,
                    listener: 0,
                },
                Op::Bytes {
                    slot: 1,
                    data: (0..=255).chain(0..44).collect(),
                },
                Op::Rpc {
                    kind: 4,
                    a: 1,
                    b: 200,
                },
                Op::Step { pick: 3 },
                Op::Wait { ms: 0x1234 },
                Op::Settle,
                Op::PeerClosed { slot: 1 },
            ],
        };
        assert_eq!(FuzzInput::decode(&input.encode()), input);
    }

    #[test]
    fn any_bytes_decode_and_short_data_is_cut() {
        let d = FuzzInput::decode(&[9, 1, 0, 0xff, 0xff, 7, 7]);
        assert_eq!(d.scenario, 9);
        assert_eq!(
            d.ops,
            vec![Op::Bytes {
                slot: 0,
                data: vec![7, 7]
            }]
        );
        assert_eq!(FuzzInput::decode(&[]).ops, vec![]);
    }
}

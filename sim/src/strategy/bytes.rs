//! `bytes`: answers from a byte stream, the chooser a coverage-guided fuzzer drives.
//!
//! Each choice among `n <= 256` options takes one byte (`byte % n`); larger choices take two
//! bytes (little-endian `u16 % n`, four bytes beyond 65 536 options). Once the stream runs out
//! every answer is 0, the benign option, exactly as `replay` does when its list runs out. Drop
//! choices are answered 0 without taking a byte: dropping scenario items is the shrinker's job.
//!
//! Invariant kept: the record of a run under `Bytes` replayed by `replay` (the run's
//! `replay_seed()`) asks the same questions and gets the same answers, so every fuzz input is
//! one `fc1:` seed string (`fuzzing::sim_choices` puts the run's seed in front of the stream).
//! `encode` is the inverse: it turns a list of picks (with the option counts they were chosen
//! from) back into the bytes that reproduce them.

use crate::chooser::{Choice, ChoiceKind, Chooser};

/// Chooses from a fuzzer's byte stream.
pub struct Bytes {
    data: Vec<u8>,
    pos: usize,
}

impl Bytes {
    pub fn new(data: &[u8]) -> Self {
        Bytes {
            data: data.to_vec(),
            pos: 0,
        }
    }

    /// How many bytes the choices consumed so far.
    pub fn consumed(&self) -> usize {
        self.pos.min(self.data.len())
    }

    fn take(&mut self, width: usize) -> u32 {
        let mut v = 0u32;
        for i in 0..width {
            let b = self.data.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
            v |= u32::from(b) << (8 * i);
        }
        v
    }
}

/// Bytes per choice among `n` options.
fn width(n: u32) -> usize {
    match n {
        0..=256 => 1,
        257..=65_536 => 2,
        _ => 4,
    }
}

impl Chooser for Bytes {
    fn choose(&mut self, kind: ChoiceKind, n: u32) -> u32 {
        if kind == ChoiceKind::Drop || self.pos >= self.data.len() {
            return 0;
        }
        self.take(width(n)) % n
    }
}

/// The byte stream that makes `Bytes` answer exactly `record` (trailing zero picks omitted).
pub fn encode(record: &[Choice]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = 0;
    for c in record.iter().filter(|c| c.kind != ChoiceKind::Drop) {
        let w = width(c.n);
        out.extend_from_slice(&c.picked.to_le_bytes()[..w]);
        if c.picked != 0 {
            keep = out.len();
        }
    }
    out.truncate(keep);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_per_small_choice_then_zeros() {
        let mut b = Bytes::new(&[7, 255, 3]);
        assert_eq!(b.choose(ChoiceKind::Event, 4), 3);
        assert_eq!(b.choose(ChoiceKind::Drop, 2), 0);
        assert_eq!(b.choose(ChoiceKind::Split, 256), 255);
        assert_eq!(b.choose(ChoiceKind::Fault, 1000), 3);
        assert_eq!(b.consumed(), 3);
        assert_eq!(b.choose(ChoiceKind::Event, 9), 0);
    }

    #[test]
    fn encode_is_the_inverse_of_choosing() {
        let c = |kind, n, picked| Choice { kind, n, picked };
        let record = vec![
            c(ChoiceKind::Event, 5, 4),
            c(ChoiceKind::Drop, 2, 0),
            c(ChoiceKind::Split, 300, 299),
            c(ChoiceKind::Fault, 70_000, 69_999),
            c(ChoiceKind::Event, 3, 0),
        ];
        let bytes = encode(&record);
        let mut b = Bytes::new(&bytes);
        for r in &record {
            assert_eq!(b.choose(r.kind, r.n), r.picked);
        }
        assert_eq!(bytes.len(), 1 + 2 + 4, "trailing zero picks are omitted");
    }
}

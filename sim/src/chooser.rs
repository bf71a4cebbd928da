//! The one choice abstraction every strategy implements (shuttle's `Scheduler`, stateright's
//! `Chooser`), and the `Recorder` that writes every choice down.
//!
//! Invariants kept: a chooser is only asked when there is a real choice (`n >= 2`); every answer
//! is in `0..n`; every answer is recorded in order, and that record (the `picked` values) is the
//! replay input and the shrinking input. Choice 0 is always the benign option (first enabled event
//! in canonical order, no fault, whole delivery, keep the item), so lowering shrinks.

use serde::{Deserialize, Serialize};

/// What a choice decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceKind {
    /// Which enabled event runs next (index into the enabled list).
    Event,
    /// How many bytes of a pipe's pending data to deliver (0 = all).
    Split,
    /// Whether a fault strikes (0 = no) or which victim it strikes.
    Fault,
    /// Whether a scenario item (operator action, host, host step) is dropped (0 = keep). Only
    /// shrinking and replay answer non-zero; exploring strategies always keep.
    Drop,
    /// A value a host script leaves to the seed: the extra virtual ms of a `wait` step
    /// (0..=jitter), the opcode of an `admin_before_connect` without one.
    Script,
}

/// One recorded choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Choice {
    pub kind: ChoiceKind,
    pub n: u32,
    pub picked: u32,
}

/// Every strategy answers the same question: which of `n` options?
pub trait Chooser {
    /// Picks one of `n >= 2` options of `kind`; the answer MUST be `< n`.
    fn choose(&mut self, kind: ChoiceKind, n: u32) -> u32;

    /// Picks the next event among `actors.len()` enabled events; `actors[i]` names who would
    /// act (a thread, a pipe, a host...), so priority-based strategies (PCT) can keep per-actor
    /// priorities. Defaults to a plain `Event` choice.
    fn choose_event(&mut self, actors: &[u64]) -> u32 {
        self.choose(ChoiceKind::Event, len_u32(actors.len()))
    }
}

impl<C: Chooser + ?Sized> Chooser for Box<C> {
    fn choose(&mut self, kind: ChoiceKind, n: u32) -> u32 {
        (**self).choose(kind, n)
    }

    fn choose_event(&mut self, actors: &[u64]) -> u32 {
        (**self).choose_event(actors)
    }
}

/// `usize` to `u32`, saturating (the world never offers 4 billion options).
pub fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Wraps a chooser and records every choice it makes.
pub struct Recorder<C> {
    inner: C,
    record: Vec<Choice>,
}

impl<C: Chooser> Recorder<C> {
    pub fn new(inner: C) -> Self {
        Recorder {
            inner,
            record: Vec::new(),
        }
    }

    /// The choices made so far, in order.
    pub fn record(&self) -> &[Choice] {
        &self.record
    }

    /// Consumes the recorder, returning the record.
    pub fn into_record(self) -> Vec<Choice> {
        self.record
    }

    /// Asks the inner chooser unless there is nothing to choose (`n <= 1` answers 0 unrecorded).
    pub fn pick(&mut self, kind: ChoiceKind, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        let picked = self.inner.choose(kind, n);
        self.push(kind, n, picked)
    }

    /// Like `pick` for an event choice among `actors`.
    pub fn pick_event(&mut self, actors: &[u64]) -> u32 {
        let n = len_u32(actors.len());
        if n <= 1 {
            return 0;
        }
        let picked = self.inner.choose_event(actors);
        self.push(ChoiceKind::Event, n, picked)
    }

    fn push(&mut self, kind: ChoiceKind, n: u32, picked: u32) -> u32 {
        assert!(
            picked < n,
            "chooser answered {picked} of {n}: a strategy broke the Chooser contract"
        );
        self.record.push(Choice { kind, n, picked });
        picked
    }
}

/// The `picked` values of a record with trailing zeros removed: the canonical replay list
/// (a replay answers 0 once its list runs out, so trailing zeros carry no information).
pub fn canonical(record: &[Choice]) -> Vec<u32> {
    let mut picks: Vec<u32> = record.iter().map(|c| c.picked).collect();
    while picks.last() == Some(&0) {
        picks.pop();
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u32);
    impl Chooser for Fixed {
        fn choose(&mut self, _kind: ChoiceKind, n: u32) -> u32 {
            self.0.min(n - 1)
        }
    }

    #[test]
    fn recorder_skips_forced_choices_and_records_the_rest() {
        let mut r = Recorder::new(Fixed(5));
        assert_eq!(r.pick(ChoiceKind::Split, 1), 0);
        assert_eq!(r.pick(ChoiceKind::Split, 3), 2);
        assert_eq!(r.pick_event(&[7]), 0);
        assert_eq!(r.pick_event(&[7, 8, 9, 10, 11, 12, 13]), 5);
        assert_eq!(
            r.record(),
            &[
                Choice {
                    kind: ChoiceKind::Split,
                    n: 3,
                    picked: 2
                },
                Choice {
                    kind: ChoiceKind::Event,
                    n: 7,
                    picked: 5
                },
            ]
        );
    }

    #[test]
    #[should_panic(expected = "broke the Chooser contract")]
    fn recorder_rejects_out_of_range_answers() {
        struct Bad;
        impl Chooser for Bad {
            fn choose(&mut self, _kind: ChoiceKind, n: u32) -> u32 {
                n
            }
        }
        Recorder::new(Bad).pick(ChoiceKind::Event, 2);
    }

    #[test]
    fn canonical_strips_trailing_zeros_only() {
        let c = |picked| Choice {
            kind: ChoiceKind::Event,
            n: 4,
            picked,
        };
        assert_eq!(canonical(&[c(0), c(3), c(0), c(0)]), vec![0, 3]);
        assert_eq!(canonical(&[c(0), c(0)]), Vec::<u32>::new());
    }
}

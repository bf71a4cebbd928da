//! `replay`: answers from a recorded list of picks. A pick too large for the options now on
//! offer is clamped to the last option (shrinking may have shifted the list); once the list
//! runs out every answer is 0, the benign option.

use crate::chooser::{ChoiceKind, Chooser};

/// Replays a list of picks.
pub struct Replay {
    picks: Vec<u32>,
    pos: usize,
}

impl Replay {
    pub fn new(picks: Vec<u32>) -> Self {
        Replay { picks, pos: 0 }
    }

    /// How many picks have been consumed.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl Chooser for Replay {
    fn choose(&mut self, _kind: ChoiceKind, n: u32) -> u32 {
        let v = self.picks.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v.min(n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_clamps_then_defaults_to_zero() {
        let mut r = Replay::new(vec![1, 9, 2]);
        assert_eq!(r.choose(ChoiceKind::Event, 3), 1);
        assert_eq!(r.choose(ChoiceKind::Event, 3), 2);
        assert_eq!(r.choose(ChoiceKind::Drop, 2), 1);
        assert_eq!(r.choose(ChoiceKind::Event, 5), 0);
        assert_eq!(r.consumed(), 4);
    }
}

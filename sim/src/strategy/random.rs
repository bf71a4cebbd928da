//! `random`: every choice uniform over its options, from a pinned `ChaCha8Rng`.
//! Drop choices are always answered 0 (keep): dropping scenario items is the shrinker's job.

use crate::chooser::{ChoiceKind, Chooser};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Uniform random chooser.
pub struct Random {
    rng: ChaCha8Rng,
}

impl Random {
    pub fn new(seed: u64) -> Self {
        Random {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Chooser for Random {
    fn choose(&mut self, kind: ChoiceKind, n: u32) -> u32 {
        match kind {
            ChoiceKind::Drop => 0,
            _ => self.rng.gen_range(0..n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_choices_and_all_options_reached() {
        let picks = |seed| {
            let mut r = Random::new(seed);
            (0..64)
                .map(|_| r.choose(ChoiceKind::Event, 4))
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
        for v in 0..4 {
            assert!(picks(7).contains(&v));
        }
        assert_eq!(Random::new(1).choose(ChoiceKind::Drop, 2), 0);
    }
}

//! `pct:<d>`: Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
//! ASPLOS 2010). Each actor (thread, pipe, host, operator...) gets a random initial priority
//! `>= d`; `d - 1` change points are drawn uniformly from `1..=k` where `k` is the scenario's
//! step bound. At every step the enabled actor with the highest priority runs; when the step
//! number hits the `j`-th change point the running actor's priority drops to `d - j`, below every
//! initial priority. A bug of depth `d` is found with probability at least `1 / (n k^(d-1))`.
//! Non-event choices (splits, faults) are uniform from the same pinned RNG.

use crate::chooser::{ChoiceKind, Chooser};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// PCT chooser with depth `d`.
pub struct Pct {
    rng: ChaCha8Rng,
    depth: u8,
    /// Sorted change points (step numbers, 1-based).
    change_points: Vec<u32>,
    priorities: BTreeMap<u64, u64>,
    step: u32,
}

impl Pct {
    /// `depth >= 1`; `step_bound` is the scenario's bound on event choices.
    pub fn new(seed: u64, depth: u8, step_bound: u32) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = step_bound.max(1);
        let wanted = usize::from(depth.saturating_sub(1)).min(k as usize);
        let mut change_points: Vec<u32> = Vec::with_capacity(wanted);
        while change_points.len() < wanted {
            let p = rng.gen_range(1..=k);
            if !change_points.contains(&p) {
                change_points.push(p);
            }
        }
        change_points.sort_unstable();
        Pct {
            rng,
            depth,
            change_points,
            priorities: BTreeMap::new(),
            step: 0,
        }
    }

    /// The change points drawn for this run.
    pub fn change_points(&self) -> &[u32] {
        &self.change_points
    }

    fn priority(&mut self, actor: u64) -> u64 {
        let depth = u64::from(self.depth);
        let rng = &mut self.rng;
        *self
            .priorities
            .entry(actor)
            .or_insert_with(|| depth + u64::from(rng.gen::<u32>()))
    }

    /// Index of the first event of the highest-priority actor (ties: lower actor id).
    fn best(&mut self, actors: &[u64]) -> usize {
        let mut best = 0;
        let mut best_key = (0u64, u64::MAX);
        for (i, &a) in actors.iter().enumerate() {
            let key = (self.priority(a), u64::MAX - a);
            if i == 0 || key > best_key {
                best = i;
                best_key = key;
            }
        }
        best
    }
}

impl Chooser for Pct {
    fn choose(&mut self, kind: ChoiceKind, n: u32) -> u32 {
        match kind {
            ChoiceKind::Drop => 0,
            _ => self.rng.gen_range(0..n),
        }
    }

    fn choose_event(&mut self, actors: &[u64]) -> u32 {
        self.step += 1;
        let mut i = self.best(actors);
        if let Some(j) = self.change_points.iter().position(|&p| p == self.step) {
            let low = u64::from(self.depth) - 1 - j as u64;
            self.priorities.insert(actors[i], low);
            i = self.best(actors);
        }
        crate::chooser::len_u32(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_one_never_switches_and_runs_one_actor_to_completion() {
        let mut p = Pct::new(3, 1, 100);
        assert!(p.change_points().is_empty());
        let first = p.choose_event(&[10, 20, 30]);
        for _ in 0..50 {
            assert_eq!(p.choose_event(&[10, 20, 30]), first);
        }
    }

    #[test]
    fn change_points_are_distinct_in_range_and_demote_the_running_actor() {
        for seed in 0..50 {
            let p = Pct::new(seed, 4, 10);
            let cps = p.change_points().to_vec();
            assert_eq!(cps.len(), 3);
            assert!(cps.windows(2).all(|w| w[0] < w[1]));
            assert!(cps.iter().all(|&c| (1..=10).contains(&c)));
        }
        let mut p = Pct::new(11, 2, 5);
        let cp = p.change_points()[0];
        let actors = [1, 2];
        let mut picks = Vec::new();
        for _ in 0..5 {
            picks.push(p.choose_event(&actors));
        }
        let before = picks[0];
        let at = (cp - 1) as usize;
        assert!(picks[..at].iter().all(|&x| x == before));
        assert!(picks[at..].iter().all(|&x| x != before));
    }

    #[test]
    fn depth_larger_than_bound_is_capped() {
        assert_eq!(Pct::new(1, 15, 3).change_points().len(), 3);
    }
}

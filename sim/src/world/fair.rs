//! Fairness of the liveness phase: every event that is due now (a thread with messages, a device
//! completion, bytes in a pipe, a poller or host timer past its deadline) runs within
//! `FAIR_BOUND` steps of becoming due, as SPDK's reactor runs every thread, and every expired
//! timed poller of it, on each of its iterations. The chooser (PCT's fixed priorities included)
//! picks freely among the offered events; once a due event has waited `FAIR_BOUND` steps, only
//! the longest-waiting ones are offered. The safety phase is not touched: unfair schedules are
//! how races are found there.
//!
//! Invariant kept: in the liveness phase no actor stays due for more than `FAIR_BOUND` steps
//! plus the number of actors waiting as long as it (ties are offered together).

use std::collections::BTreeMap;

/// How many steps a due event may wait in the liveness phase before it must run.
pub(super) const FAIR_BOUND: u32 = 64;

/// Per actor, how many consecutive liveness steps it was due and did not run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Waits(BTreeMap<u64, u32>);

impl Waits {
    /// Each actor's wait, in actor order (for hashing under a renaming of hosts).
    pub(super) fn entries(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.0.iter().map(|(&a, &w)| (a, w))
    }

    /// The actors that must run next (those that waited longest, at least `FAIR_BOUND` steps),
    /// or `None` if nobody is overdue.
    pub(super) fn overdue(&self, due: &[u64]) -> Option<Vec<u64>> {
        let max = due.iter().filter_map(|a| self.0.get(a)).copied().max()?;
        if max < FAIR_BOUND {
            return None;
        }
        let longest = due.iter().copied().filter(|a| self.0.get(a) == Some(&max));
        Some(longest.collect())
    }

    /// After a step in which `ran` ran: every other actor that was due waited one step more;
    /// an actor no longer due is forgotten (it ran, or nothing is left for it to do).
    pub(super) fn record(&mut self, due: &[u64], ran: u64) {
        let mut next = BTreeMap::new();
        for &a in due.iter().filter(|a| **a != ran) {
            next.insert(a, self.0.get(&a).map_or(1, |w| w + 1));
        }
        self.0 = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PCT's worst case: the chooser always takes the highest-priority actor (here the
    /// lowest id) among those offered. Every actor due on every step still runs within the
    /// bound.
    fn starved_for(actors: &[u64], steps: u32) -> u32 {
        let mut w = Waits::default();
        let mut longest = 0;
        let mut since: BTreeMap<u64, u32> = actors.iter().map(|a| (*a, 0)).collect();
        for _ in 0..steps {
            let offered = w.overdue(actors).unwrap_or_else(|| actors.to_vec());
            let ran = *offered.iter().min().expect("something is offered");
            w.record(actors, ran);
            for (a, s) in &mut since {
                *s = if *a == ran { 0 } else { *s + 1 };
                longest = longest.max(*s);
            }
        }
        longest
    }

    #[test]
    fn a_fixed_priority_chooser_cannot_starve_a_due_thread() {
        let bound = starved_for(&[1, 2, 3], 10_000);
        assert!(bound <= FAIR_BOUND + 2, "waited {bound}");
        assert!(
            bound >= FAIR_BOUND,
            "the bound is what the rule allows: {bound}"
        );
    }

    #[test]
    fn without_overdue_actors_everything_due_is_offered() {
        let mut w = Waits::default();
        w.record(&[1, 2], 1);
        assert_eq!(w.overdue(&[1, 2]), None);
        for _ in 0..FAIR_BOUND {
            w.record(&[1, 2], 1);
        }
        assert_eq!(w.overdue(&[1, 2]), Some(vec![2]));
        w.record(&[1, 2], 2);
        assert_eq!(w.overdue(&[1, 2]), None, "2 ran: its wait is forgotten");
    }
}

//! A read-only view of which lifecycle objects exist, in the shape SPDK keeps them: the qpairs
//! on each poll group's list (`group->qpairs`: from `spdk_nvmf_poll_group_add` until
//! `_nvmf_qpair_destroy` removes them) and the controllers on each subsystem's list
//! (`subsystem->ctrlrs`: from `nvmf_subsystem_add_ctrlr` until `nvmf_subsystem_remove_ctrlr`).
//! The differential harness (docs/differential.md) compares it with real SPDK after every step.
//!
//! Also the model checker's view of what a step changed outside the arenas
//! (`footprint_parts`): arena slots are recorded by the arenas themselves (`arena::record`);
//! everything else is hashed here, each thread queue apart and the rest as one "globals" part.
//!
//! Owns nothing; reads the arenas only.

use super::arena::record::Parts;
use super::Target;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

fn hash_of(v: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

impl Target {
    /// The parts of the state outside the arenas, hashed. Left out: `config` (never written),
    /// `now` (after any step that feeds the target it equals the world's time, which the
    /// checker treats as written by every time jump) and `outputs` (drained by the world after
    /// every step). The destructuring names every field, so a new field must be placed here.
    #[must_use]
    pub fn footprint_parts(&self) -> Parts {
        let Target {
            config: _,
            now: _,
            queues,
            parked,
            current,
            listeners,
            subsystems: _,
            pgs,
            qpairs: _,
            ctrlrs: _,
            reqs: _,
            conns,
            fanouts,
            next_fanout,
            pollers,
            retry_reqs,
            device,
            next_device_io,
            ctrlr_keys,
            next_pg,
            rpcs_pending,
            shutdown,
            outputs: _,
            violation,
            history,
            discovery,
        } = self;
        let a = (parked, current, listeners, pgs, conns, fanouts, next_fanout);
        let b = (
            pollers,
            retry_reqs,
            device,
            next_device_io,
            ctrlr_keys,
            next_pg,
        );
        let c = (rpcs_pending, shutdown, violation, history, discovery);
        Parts {
            globals: hash_of(&(a, b, c)),
            queues: queues.iter().map(hash_of).collect(),
        }
    }
}

impl Target {
    /// Qpairs on each poll group's list, poll group 0 first.
    #[must_use]
    pub fn pg_qpair_counts(&self) -> Vec<usize> {
        self.pgs.iter().map(|pg| pg.qpairs().len()).collect()
    }

    /// `qpair->group` of a connection's qpair: `Some(Some(pg))` while it is on a poll group's
    /// list, `Some(None)` before `spdk_nvmf_poll_group_add` and after
    /// `spdk_nvmf_poll_group_remove`, None once the qpair is freed.
    #[must_use]
    pub fn qpair_group(&self, conn: super::ConnId) -> Option<Option<u16>> {
        let q = self.conns.get(&conn)?;
        self.qpairs.get(*q).map(|q| q.group())
    }

    /// `subsystem->id` of the subsystem named `nqn`: the lowest id free when it was created
    /// (`spdk_nvmf_subsystem_create`), the index of its sgroup in every poll group.
    #[must_use]
    pub fn subsystem_id(&self, nqn: &str) -> Option<u32> {
        self.find_subsystem(nqn).map(|s| s.idx)
    }

    /// Controllers on the list of the subsystem named `nqn` (None when no such subsystem).
    #[must_use]
    pub fn subsystem_ctrlr_count(&self, nqn: &str) -> Option<usize> {
        let s = self.find_subsystem(nqn)?;
        self.subsystems.get(s).map(|s| s.ctrlrs().count())
    }
}

#[cfg(test)]
mod tests {
    use crate::nvmf::{SubsystemConfig, Target, TargetConfig};

    #[test]
    fn a_fresh_target_has_empty_lists() {
        let t = Target::new(TargetConfig {
            poll_groups: 2,
            subsystems: vec![SubsystemConfig::new("nqn.2016-06.io.spdk:cnode1")],
            ..TargetConfig::default()
        });
        assert_eq!(t.pg_qpair_counts(), vec![0, 0]);
        assert_eq!(
            t.subsystem_ctrlr_count("nqn.2016-06.io.spdk:cnode1"),
            Some(0)
        );
        assert_eq!(t.subsystem_ctrlr_count("nqn.none"), None);
    }
}

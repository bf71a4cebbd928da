//! A read-only view of which lifecycle objects exist, in the shape SPDK keeps them: the qpairs
//! on each poll group's list (`group->qpairs`: from `spdk_nvmf_poll_group_add` until
//! `_nvmf_qpair_destroy` removes them) and the controllers on each subsystem's list
//! (`subsystem->ctrlrs`: from `nvmf_subsystem_add_ctrlr` until `nvmf_subsystem_remove_ctrlr`).
//! The differential harness (docs/differential.md) compares it with real SPDK after every step.
//!
//! Owns nothing; reads the arenas only.

use super::Target;

impl Target {
    /// Qpairs on each poll group's list, poll group 0 first.
    #[must_use]
    pub fn pg_qpair_counts(&self) -> Vec<usize> {
        self.pgs.iter().map(|pg| pg.qpairs().len()).collect()
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

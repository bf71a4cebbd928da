//! Hazards: behaviour SPDK really has (read from its source, every switch off) that breaks one
//! of fabcheck's invariants. A hazard is the product working, not a modelling error and not a
//! catalogue bug: the record says which invariant breaks at which site, the SPDK source lines
//! each step of the story corresponds to, and a scenario plus seed string that reaches it.
//!
//! This module owns the list of confirmed hazards and the one rule that matches a finding to
//! a hazard: by invariant and site (never by seed), in one of the hazard's profiles. A safety
//! finding matches when its violation names the hazard's invariant and site; a liveness finding
//! (I8) matches when every line of its quiescence report is one the hazard explains (naming
//! its site, or one of the other sites of the same behaviour it lists). See docs/hazards.md.

use crate::world::Failure;
use fabcheck_core::nvmf::{InvariantId, Spdk};
use serde::Serialize;

/// One SPDK source line a step of a hazard's story corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceLine {
    /// The SPDK tree: `v24.01`, `v24.05`, `v26.05` or `master` (at the profile's commit).
    pub spdk: &'static str,
    /// `lib/nvmf/FILE.c:LINE`.
    pub at: &'static str,
    /// The function the line is in.
    pub function: &'static str,
}

/// The SPDK trees the records cite.
const V2401: &str = "v24.01";
const V2405: &str = "v24.05";
const V2605: &str = "v26.05";
const MASTER: &str = "master";

/// A `SourceLine`, for the records.
const fn line(spdk: &'static str, at: &'static str, function: &'static str) -> SourceLine {
    SourceLine { spdk, at, function }
}

/// One step of a hazard's story with the SPDK lines it corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HazardStep {
    pub what: &'static str,
    pub source: &'static [SourceLine],
}

/// A confirmed hazard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hazard {
    /// `H-<n>-<slug>`.
    pub id: &'static str,
    pub title: &'static str,
    /// The SPDK profiles the hazard was confirmed in (source read, seed replayed).
    pub profiles: &'static [Spdk],
    /// The invariant it breaks.
    pub invariant: InvariantId,
    /// The site the finding names (a violation's site, or the site in a liveness line).
    pub site: &'static str,
    /// For a safety hazard: text the violation's detail must contain ("" for any detail), when
    /// the invariant and site alone would also cover other behaviour.
    pub detail: &'static str,
    /// For a liveness hazard: stuck lines it also explains (besides those naming `site`):
    /// the same behaviour noticed at another site.
    pub stuck: &'static [&'static str],
    /// For a safety hazard: other sites where SPDK does the same thing (the same read of the
    /// same stale state); the seeds reach `site`.
    pub also_at: &'static [&'static str],
    /// The built-in scenario that reaches it with every switch off.
    pub scenario: &'static str,
    /// Seed strings that reach it with every switch off, one per profile.
    pub seeds: &'static [&'static str],
    /// What SPDK does, in one paragraph.
    pub summary: &'static str,
    /// What a caller can do about it.
    pub backstop: &'static str,
    pub steps: &'static [HazardStep],
}

impl Hazard {
    /// Whether `failure`, found in profile `spdk`, is this hazard (invariant + site).
    pub fn matches(&self, failure: &Failure, spdk: Spdk) -> bool {
        if !self.profiles.contains(&spdk) {
            return false;
        }
        match failure {
            Failure::Safety(v) => {
                v.invariant == self.invariant
                    && (v.site == self.site || self.also_at.contains(&v.site.as_str()))
                    && v.detail.contains(self.detail)
            }
            Failure::Liveness { stuck } => {
                self.invariant == InvariantId::I8
                    && !stuck.is_empty()
                    && stuck.iter().all(|l| self.explains(l))
            }
            Failure::Protocol { .. } => false,
        }
    }

    fn names_site(&self, line: &str) -> bool {
        line.contains(&format!("({})", self.site))
    }

    /// A stuck line the hazard leaves behind: one naming its site, or one of its `stuck` texts.
    fn explains(&self, line: &str) -> bool {
        self.names_site(line) || self.stuck.iter().any(|s| line.contains(s))
    }

    /// The one-line verdict `hunt` prints for a finding that is this hazard.
    pub fn verdict(&self) -> String {
        format!(
            "hazard {}, SPDK behaviour, see `fabcheck hazards`: {}",
            self.id, self.title
        )
    }
}

mod found_by_sweep;
mod records;
mod records_host;
mod records_lifetime;
mod records_listener;
mod records_listener_read;

/// Every confirmed hazard, in id order.
pub const HAZARDS: &[Hazard] = &[
    records::QUEUED_CONNECT_OF_DELETED_SUBSYSTEM,
    records::STOP_LISTEN_LATE_QPAIR,
    records::LISTENER_FREED_UNDER_QPAIRS,
    found_by_sweep::SHUTDOWN_SKIPS_CHANGING_SUBSYSTEM,
    found_by_sweep::QID_RETRY_OUTLIVES_CTRLR,
    found_by_sweep::QID_RETRY_ADMIN_GROUP_NULL,
    found_by_sweep::CONNECT_COUNT_OUTLIVES_SUBSYSTEM,
    records_lifetime::FREE_FROM_QPAIR_TO_EXITED_THREAD,
    records_lifetime::CTRLR_DESTRUCT_TO_EXITED_THREAD,
    records_listener::STOPPED_LISTENER_REMOVED_WITH_STOP,
    records_host::REMOVE_HOST_WALK_OUTLIVES_SUBSYSTEM,
    records_host::REMOVE_HOST_POLLER_OUTLIVES_SUBSYSTEM,
    records_listener_read::LISTENER_READ_AFTER_FREE,
];

/// The confirmed hazard `failure` (found in profile `spdk`) is, if any. A liveness finding
/// that two liveness hazards left behind together (each stuck line explained by one of them)
/// is the hazard of its first line.
pub fn known(failure: &Failure, spdk: Spdk) -> Option<&'static Hazard> {
    if let Some(h) = HAZARDS.iter().find(|h| h.matches(failure, spdk)) {
        return Some(h);
    }
    let Failure::Liveness { stuck } = failure else {
        return None;
    };
    let liveness = || {
        HAZARDS
            .iter()
            .filter(|h| h.invariant == InvariantId::I8 && h.profiles.contains(&spdk))
    };
    let all_explained = stuck.iter().all(|l| liveness().any(|h| h.explains(l)));
    if !all_explained {
        return None;
    }
    let first = stuck.first()?;
    liveness().find(|h| h.explains(first))
}

/// A hazard by id.
pub fn hazard(id: &str) -> Option<&'static Hazard> {
    HAZARDS.iter().find(|h| h.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabcheck_core::nvmf::Violation;

    #[test]
    fn records_are_complete_and_ids_unique() {
        let mut ids: Vec<&str> = HAZARDS.iter().map(|h| h.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), HAZARDS.len());
        for h in HAZARDS {
            assert!(h.id.starts_with("H-") && hazard(h.id) == Some(h));
            assert_eq!(
                h.seeds.len(),
                h.profiles.len(),
                "{}: a seed per profile",
                h.id
            );
            for step in h.steps {
                assert!(!step.source.is_empty(), "{}: {}", h.id, step.what);
                for l in step.source {
                    // lib/nvmf, and for the lifetime hazards lib/thread and nvmf_tgt.c.
                    let tree = l.at.starts_with("lib/") || l.at.starts_with("module/");
                    assert!(tree && l.at.contains(".c:"), "{l:?}");
                }
            }
        }
    }

    fn safety(invariant: InvariantId, site: &str) -> Failure {
        Failure::Safety(Violation {
            invariant,
            site: site.to_string(),
            handles: Vec::new(),
            thread: fabcheck_core::nvmf::ThreadId::App,
            detail: String::new(),
        })
    }

    #[test]
    fn safety_findings_match_by_invariant_and_site_only() {
        let late = safety(InvariantId::I13, "nvmf_stop_listen_fini");
        assert_eq!(
            known(&late, Spdk::Master).map(|h| h.id),
            Some(records::STOP_LISTEN_LATE_QPAIR.id)
        );
        let walk = safety(InvariantId::I13, "nvmf_stop_listen_disconnect_qpairs");
        assert!(known(&walk, Spdk::Master).is_none());
        let other = safety(InvariantId::I1, "nvmf_stop_listen_fini");
        assert!(known(&other, Spdk::V24_01).is_none());
    }

    #[test]
    fn a_detail_narrows_a_safety_hazard() {
        let mut plain = safety(InvariantId::I3, "_nvmf_ctrlr_destruct");
        assert!(
            known(&plain, Spdk::Master).is_none(),
            "any other I3 stays a bug"
        );
        if let Failure::Safety(v) = &mut plain {
            v.detail = "controller freed while a qpair parked for a duplicate-qid retry \
                        still references it"
                .into();
        }
        assert_eq!(
            known(&plain, Spdk::Master).map(|h| h.id),
            Some(found_by_sweep::QID_RETRY_OUTLIVES_CTRLR.id)
        );
    }

    #[test]
    fn liveness_lines_left_by_two_hazards_are_known_and_others_are_not() {
        let orphan = "request req#0.1 on conn 1 never answered (nvmf_poll_group_add_subsystem)";
        let survivor = "subsystem nqn.x survives target shutdown in state active \
                        (spdk_nvmf_subsystem_destroy)";
        let both = Failure::Liveness {
            stuck: vec![orphan.into(), survivor.into()],
        };
        assert_eq!(
            known(&both, Spdk::V24_01).map(|h| h.id),
            Some(records::QUEUED_CONNECT_OF_DELETED_SUBSYSTEM.id)
        );
        assert!(known(&both, Spdk::Master).is_none(), "H-4 is v24.01's only");
        let more = Failure::Liveness {
            stuck: vec![orphan.into(), "thread pg0 still has messages".into()],
        };
        assert!(known(&more, Spdk::V24_01).is_none());
    }
}

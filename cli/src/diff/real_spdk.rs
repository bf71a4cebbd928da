//! The "real SPDK" column of a catalogue entry, for `fabcheck bugs --check`: the entry's shrunk
//! story, replayed by the differential harness, must crash the last buggy SPDK tag and run to
//! quiescence on the first fixed one.
//!
//! Owns: the tag -> harness build mapping and the verdict. Only tags with a source snapshot
//! the harness builds (v24.01, v24.05, master at 3230130e6a) can be checked; any other tag is
//! `Unavailable`, as is a tag whose harness is not built (the message says how to build it).

use super::{find_harness, log, Harness};
use crate::export_story::story_for;
use fabcheck_core::nvmf::catalogue::CatalogueEntry;
use fabcheck_core::nvmf::InvariantId;
use std::path::{Path, PathBuf};

/// SPDK tags the harness builds from the source snapshots.
pub const BUILDABLE_TAGS: &[&str] = &["v24.01", "v24.05", "master"];

/// One entry's real-SPDK verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealSpdk {
    /// The story crashes `buggy` and is silent (quiescent) on `fixed`.
    Confirmed { buggy: String, fixed: String },
    /// It does not: each tag's harness verdict (`CRASH`, `QUIESCENT`, `DIVERGED`, ...).
    Refuted {
        buggy: String,
        buggy_verdict: String,
        fixed: String,
        fixed_verdict: String,
    },
    /// A tag cannot be checked here (no snapshot, harness not built, story not replayable).
    Unavailable(String),
    /// The entry breaks an invariant SPDK does not crash on (a counter, a liveness or a state
    /// contract): each tag's harness verdict, for the record.
    NoCrashExpected {
        invariant: String,
        buggy: String,
        fixed: String,
    },
}

impl std::fmt::Display for RealSpdk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RealSpdk::Confirmed { buggy, fixed } => {
                write!(f, "confirmed: crashes {buggy}, silent on {fixed}")
            }
            RealSpdk::Refuted {
                buggy,
                buggy_verdict,
                fixed,
                fixed_verdict,
            } => write!(
                f,
                "REFUTED: {buggy} {buggy_verdict}, {fixed} {fixed_verdict}"
            ),
            RealSpdk::Unavailable(why) => write!(f, "n/a: {why}"),
            RealSpdk::NoCrashExpected {
                invariant,
                buggy,
                fixed,
            } => write!(f, "no crash expected ({invariant}): {buggy}, {fixed}"),
        }
    }
}

/// The column for `entry`, replaying `shrunk_seed` (a seed string that breaks the entry with
/// its switch on) on the harness builds in the default cache.
pub fn real_spdk_check(entry: &CatalogueEntry, shrunk_seed: &str) -> RealSpdk {
    real_spdk_check_with(entry, shrunk_seed, |tag| find_harness(tag, None))
}

/// As `real_spdk_check`, with the harness of each tag found by `harness`.
pub fn real_spdk_check_with(
    entry: &CatalogueEntry,
    shrunk_seed: &str,
    harness: impl Fn(&str) -> Result<Harness, String>,
) -> RealSpdk {
    let Some(buggy) = buggy_build(entry) else {
        let tag = entry.last_buggy;
        return RealSpdk::Unavailable(format!("no SPDK {tag} source snapshot for the harness"));
    };
    let Some(fixed) = fixed_build(entry.first_fixed) else {
        let tag = entry.first_fixed;
        return RealSpdk::Unavailable(format!("no SPDK {tag} source snapshot for the harness"));
    };
    let (hb, hf) = match (harness(buggy), harness(fixed)) {
        (Ok(b), Ok(f)) => (b, f),
        (Err(e), _) | (_, Err(e)) => return RealSpdk::Unavailable(e),
    };
    let story = match story_for(shrunk_seed, None) {
        Ok(s) => s,
        Err(e) => return RealSpdk::Unavailable(format!("cannot export {shrunk_seed}: {}", e.0)),
    };
    let dir = scratch_dir(entry.name);
    let verdicts = replay_on(&dir, &story, &[&hb, &hf]);
    let _ = std::fs::remove_dir_all(&dir);
    match verdicts {
        Ok(v) if replayed(&v[0]) && v[0] != "CRASH" && !is_crash(entry.invariant) => {
            RealSpdk::NoCrashExpected {
                invariant: entry.invariant.code().to_string(),
                buggy: format!("{buggy} {}", v[0]),
                fixed: format!("{fixed} {}", v[1]),
            }
        }
        Ok(v) => column(buggy, &v[0], fixed, &v[1]),
        Err(e) => RealSpdk::Unavailable(e),
    }
}

/// Invariants whose breach is a memory error ASAN reports (a use after free, a double free).
pub fn is_crash(inv: InvariantId) -> bool {
    matches!(
        inv,
        InvariantId::NoDanglingReference
            | InvariantId::QpairDestroyedOnce
            | InvariantId::CtrlrDestroyedOnce
            | InvariantId::RequestEndsOnce
    )
}

/// The build for the buggy side: the last buggy tag when its snapshot is here, else the
/// entry's own profile when the bug is native to it (that release shipped it).
pub fn buggy_build(entry: &CatalogueEntry) -> Option<&'static str> {
    let profile = entry.spdk.name();
    BUILDABLE_TAGS
        .iter()
        .copied()
        .find(|t| *t == entry.last_buggy)
        .or_else(|| {
            let native = entry.profile_note.starts_with("native");
            BUILDABLE_TAGS
                .iter()
                .copied()
                .find(|t| native && *t == profile && entry.first_fixed != profile)
        })
}

/// The harness build that stands for the first fixed tag: the tag itself when its snapshot is
/// here, else the pinned master (3230130e6a, after v26.05), which carries the fix of every
/// release up to v26.05.
pub fn fixed_build(tag: &str) -> Option<&'static str> {
    if let Some(t) = BUILDABLE_TAGS.iter().find(|t| **t == tag) {
        return Some(t);
    }
    let (yy, mm) = tag.strip_prefix('v')?.split_once('.')?;
    let release = (yy.parse::<u32>().ok()?, mm.parse::<u32>().ok()?);
    (release <= (26, 5)).then_some("master")
}

/// Whether the buggy tag's strict replay followed the story (it may then crash or not).
fn replayed(verdict: &str) -> bool {
    verdict != "UNSUPPORTED" && verdict != "DIVERGED"
}

/// The verdict from each tag's harness verdict.
pub fn column(buggy: &str, buggy_verdict: &str, fixed: &str, fixed_verdict: &str) -> RealSpdk {
    if buggy_verdict == "UNSUPPORTED" || fixed_verdict == "UNSUPPORTED" {
        return RealSpdk::Unavailable("the story has steps the harness cannot replay".into());
    }
    if buggy_verdict == "DIVERGED" {
        // A story of another profile (a master-profile scenario on the v24.01 build): its
        // messages are not what this SPDK runs, so neither a crash nor silence says anything.
        return RealSpdk::Unavailable(format!("the story's messages diverge on {buggy}"));
    }
    if buggy_verdict == "CRASH" && fixed_verdict == "QUIESCENT" {
        return RealSpdk::Confirmed {
            buggy: buggy.into(),
            fixed: fixed.into(),
        };
    }
    RealSpdk::Refuted {
        buggy: buggy.into(),
        buggy_verdict: buggy_verdict.into(),
        fixed: fixed.into(),
        fixed_verdict: fixed_verdict.into(),
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fabcheck-real-spdk-{}-{name}", std::process::id()))
}

/// Writes the story and returns each harness's verdict on it.
fn replay_on(dir: &Path, story: &str, harnesses: &[&Harness]) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("story");
    std::fs::write(&path, story).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, h) in harnesses.iter().enumerate() {
        let log_path = dir.join(format!("{i}.log"));
        // The fixed tag's message order may differ from the buggy profile's story (v24.05
        // queues a parked CONNECT where v24.01 re-polls it): it replays leniently, and what
        // counts is that it neither crashes nor hangs.
        let text = h
            .run_with(std::slice::from_ref(&path), &log_path, i > 0)
            .map_err(|e| e.0)?;
        let verdict = log::parse(&text)
            .pop()
            .map(|o| o.verdict)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("the {} harness gave no verdict", h.version))?;
        out.push(verdict);
    }
    Ok(out)
}

//! `fabcheck diff --scenario NAME --runs N --spdk v24.01|master`: random stories of a scenario,
//! each run through the model (`export-story`) and through SPDK's real lib/nvmf (the
//! differential harness, `differential/`), step by step; prints the agreement rate and the
//! first difference of each kind with its step, both sides' view and the seed string.
//!
//! Owns: finding the built harness (and saying how to build it when it is missing), running it
//! over a batch of exported stories, and the summary. The harness log is read by `log`; the
//! "real SPDK" verdict of a catalogue entry (for `fabcheck bugs --check`) is in `real_spdk`.

pub mod log;
// The "real SPDK" column `fabcheck bugs --check --diff` (cli/src/bugs_check.rs) calls.
pub mod real_spdk;

use crate::export_story::story_for;
use crate::Usage;
use clap::Args;
use log::{Difference, Kind, Outcome};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Built-in scenario name (e.g. `churn`); `+BUG` switches a catalogue bug on.
    #[arg(long, default_value = "churn")]
    scenario: String,
    /// Stories to run (seeds FIRST..FIRST+N-1).
    #[arg(long, default_value_t = 100)]
    runs: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    first: u64,
    /// The SPDK to compare with; the model runs the profile of the same name.
    #[arg(long, default_value = "master")]
    spdk: String,
    /// The harness build folder (default: `$FABCHECK_DIFF_CACHE/build/VERSION`, the cache
    /// `differential/build.sh` fills; `$HOME/.cache/fabcheck-diff` when unset).
    #[arg(long)]
    harness: Option<PathBuf>,
    /// Where stories and the harness log go.
    #[arg(long, default_value = "target/differential")]
    out: PathBuf,
    /// Harness processes run side by side (each takes a share of the stories).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Model the fixed code even where this SPDK shipped a catalogue bug (by default the
    /// catalogue bugs of the version's profile are switched on, since that SPDK has them).
    #[arg(long)]
    as_fixed: bool,
}

/// `scenario` with the bugs `profile`'s SPDK shipped switched on (unless `as_fixed`).
fn with_shipped_bugs(scenario: &str, profile: &str, as_fixed: bool) -> String {
    let mut s = scenario.to_string();
    if !as_fixed {
        for bug in shipped_bugs(profile) {
            if !s.split('+').any(|b| b == bug) {
                s = format!("{s}+{bug}");
            }
        }
    }
    s
}

/// The catalogue bugs the SPDK of `profile` shipped: the entries native to that profile (an
/// entry that re-introduces older code into the profile was never in that release), or that
/// name it in `also_shipped_in`, and not already fixed in it (the pinned master carries fixes
/// made after the last release).
pub fn shipped_bugs(profile: &str) -> Vec<&'static str> {
    fabcheck_core::nvmf::catalogue::catalogue()
        .iter()
        .filter(|e| {
            let native = e.spdk.name() == profile && e.profile_note.starts_with("native");
            native || e.also_shipped_in.iter().any(|p| p.name() == profile)
        })
        .filter(|e| e.first_fixed != profile)
        .map(|e| e.name)
        .collect()
}

/// SPDK versions the harness builds, and the model profile each is compared with.
pub const VERSIONS: &[(&str, &str)] = &[("v24.01", "v24.01"), ("master", "master")];

/// A built harness: the binary and its symbol table.
#[derive(Debug, Clone)]
pub struct Harness {
    pub version: String,
    pub bin: PathBuf,
    pub syms: PathBuf,
}

/// The harness folder `differential/build.sh VERSION` writes.
pub fn default_harness_dir(version: &str) -> PathBuf {
    let cache = std::env::var_os("FABCHECK_DIFF_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
            Path::new(&home).join(".cache/fabcheck-diff")
        });
    cache.join("build").join(version)
}

/// The harness for `version` in `dir` (default folder when None), or a message saying it is
/// not built and how to build it.
pub fn find_harness(version: &str, dir: Option<&Path>) -> Result<Harness, String> {
    let dir = dir.map_or_else(|| default_harness_dir(version), Path::to_path_buf);
    let bin = dir.join("fabcheck-diff");
    let syms = dir.join("fabcheck-diff.syms");
    if bin.is_file() && syms.is_file() {
        return Ok(Harness {
            version: version.to_string(),
            bin,
            syms,
        });
    }
    Err(format!(
        "the differential harness for SPDK {version} is not built (no {}): build it with \
         `differential/build.sh {version}` (SPDK's lib/nvmf with ASAN, a few minutes; see \
         docs/differential.md), or pass --harness DIR",
        bin.display()
    ))
}

impl Harness {
    /// Replays `stories` (setup from the first; one forked child per story) and returns the
    /// harness's combined output. The stories must share one configuration.
    pub fn run(&self, stories: &[PathBuf], log: &Path) -> Result<String, Usage> {
        self.run_with(stories, log, false)
    }

    /// As `run`; `lenient` goes on past a message divergence (the harness's `--lenient`).
    pub fn run_with(
        &self,
        stories: &[PathBuf],
        log: &Path,
        lenient: bool,
    ) -> Result<String, Usage> {
        let file = std::fs::File::create(log)
            .map_err(|e| Usage(format!("cannot write {}: {e}", log.display())))?;
        let err = file.try_clone()?;
        Command::new(&self.bin)
            .args(lenient.then_some("--lenient"))
            .arg("--syms")
            .arg(&self.syms)
            .args(stories)
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .status()
            .map_err(|e| Usage(format!("cannot run {}: {e}", self.bin.display())))?;
        Ok(String::from_utf8_lossy(&std::fs::read(log)?).into_owned())
    }
}

/// The seed string of run `i` of `scenario` (which may carry `+BUG`) in profile `profile`.
pub fn seed_for(scenario: &str, profile: &str, i: u64) -> String {
    let (name, bugs) = scenario
        .split_once('+')
        .map_or((scenario, ""), |(n, b)| (n, b));
    let bugs = if bugs.is_empty() {
        String::new()
    } else {
        format!("+{bugs}")
    };
    format!("fc1:{name}@{profile}{bugs}:{i:x}")
}

pub fn diff(a: DiffArgs) -> Result<u8, Usage> {
    let Some(&(version, profile)) = VERSIONS.iter().find(|(v, _)| *v == a.spdk) else {
        return Err(Usage(format!(
            "no differential harness for {:?}: harnesses build from SPDK sources of v24.01 and \
             master only (docs/differential.md)",
            a.spdk
        )));
    };
    if a.runs == 0 || a.jobs == 0 {
        return Err(Usage("--runs and --jobs must be at least 1".into()));
    }
    let harness = find_harness(version, a.harness.as_deref()).map_err(Usage)?;
    let scenario = with_shipped_bugs(&a.scenario, profile, a.as_fixed);
    let work = a.out.join(format!(
        "diff-{}-{version}",
        scenario.replace(['/', '+'], "_")
    ));
    std::fs::create_dir_all(&work)
        .map_err(|e| Usage(format!("cannot create {}: {e}", work.display())))?;
    let mut stories = Vec::new();
    for i in a.first..a.first + a.runs {
        let path = work.join(format!("{i}.story"));
        std::fs::write(&path, story_for(&seed_for(&scenario, profile, i), None)?)?;
        stories.push(path);
    }
    let outcomes = run_jobs(&harness, &stories, &work, a.jobs)?;
    let summary = Summary::of(&outcomes);
    print!(
        "{}",
        summary.render(&format!("{scenario}@{profile}"), version)
    );
    println!("harness logs: {}/harness-*.log", work.display());
    Ok(u8::from(summary.agree != summary.replayed))
}

/// Splits the stories over `jobs` harness processes and reads their logs in story order.
fn run_jobs(
    h: &Harness,
    stories: &[PathBuf],
    work: &Path,
    jobs: usize,
) -> Result<Vec<Outcome>, Usage> {
    let chunk = stories.len().div_ceil(jobs);
    let results: Vec<Result<String, Usage>> = std::thread::scope(|s| {
        let handles: Vec<_> = stories
            .chunks(chunk)
            .enumerate()
            .map(|(j, part)| {
                let log = work.join(format!("harness-{j}.log"));
                s.spawn(move || h.run(part, &log))
            })
            .collect();
        handles
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(Usage("harness thread panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(log::parse(&r?));
    }
    Ok(out)
}

/// Agreement over a batch: counts, and the first story of each kind of difference.
#[derive(Debug, Default)]
pub struct Summary {
    pub stories: usize,
    pub unsupported: usize,
    pub replayed: usize,
    pub agree: usize,
    /// (kind, key) -> (stories with it, the first story's seed and difference).
    pub kinds: BTreeMap<(Kind, String), (usize, String, Difference)>,
    /// The first unsupported step seen, with its seed.
    pub first_unsupported: Option<(String, String)>,
}

impl Summary {
    pub fn of(outcomes: &[Outcome]) -> Summary {
        let mut s = Summary {
            stories: outcomes.len(),
            ..Summary::default()
        };
        for o in outcomes {
            if let Some(u) = &o.unsupported {
                s.unsupported += 1;
                s.first_unsupported
                    .get_or_insert_with(|| (o.seed.clone(), u.clone()));
                continue;
            }
            s.replayed += 1;
            s.agree += usize::from(o.agrees());
            for d in &o.differences {
                let e = s
                    .kinds
                    .entry((d.kind, d.key.clone()))
                    .or_insert_with(|| (0, o.seed.clone(), d.clone()));
                e.0 += 1;
            }
        }
        s
    }

    pub fn render(&self, key: &str, version: &str) -> String {
        let rate = if self.replayed == 0 {
            0.0
        } else {
            100.0 * self.agree as f64 / self.replayed as f64
        };
        let mut out = format!(
            "{key} on SPDK {version}: {} stories, {} unsupported, {}/{} agree ({rate:.1}%)\n",
            self.stories, self.unsupported, self.agree, self.replayed
        );
        let mut kinds: Vec<_> = self.kinds.iter().collect();
        kinds.sort_by_key(|((k, _), (n, ..))| (std::cmp::Reverse(*n), *k));
        for ((kind, k), (n, seed, d)) in kinds {
            let step = d.step.map_or("end".to_string(), |s| format!("step {s}"));
            out.push_str(&format!(
                "  {n:5} x {}: {k}\n          first: {seed} ({step})\n          model: {}\n          SPDK:  {}\n",
                kind.label(),
                d.model,
                d.spdk
            ));
        }
        if let Some((seed, u)) = &self.first_unsupported {
            out.push_str(&format!(
                "  {:5} x unsupported; first: {seed}: {u}\n",
                self.unsupported
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;

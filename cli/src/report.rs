//! Printing: the scenario and bug lists, and the failure block (violation, seed string,
//! shrunk story, replay command) with trace files written under `--out` (create_new: an
//! existing report is never overwritten).

use fabcheck_sim::catalogue;
use fabcheck_sim::scenario::{builtin, builtin_names};
use fabcheck_sim::shrink::Shrunk;
use fabcheck_sim::{RunReport, Scenario};
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `fabcheck scenarios`.
pub fn scenarios() -> u8 {
    for name in builtin_names() {
        let s = builtin(name).expect("listed built-in exists");
        println!("{name}  (spdk {})", s.spdk);
        println!(
            "    {}",
            s.description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "    hosts={} operator_actions={} steps={} required marks: {}",
            s.hosts.len(),
            s.operator.len(),
            s.steps,
            s.required_marks.join(", ")
        );
    }
    0
}

/// `fabcheck bugs [--markdown]`: the core's catalogue, one block per entry (or the table).
pub fn bugs(markdown: bool) -> u8 {
    if markdown {
        print!("{}", catalogue::markdown_table());
        return 0;
    }
    for b in catalogue::entries() {
        println!("{}  {}", b.name, b.title);
        println!(
            "    lived in spdk {}; fix {} ({}), {}; affects {} and earlier; breaks {:?} at {}",
            b.spdk,
            b.short_fix(),
            b.first_fixed,
            b.issue,
            b.last_buggy,
            b.invariant,
            b.site
        );
        println!("    scenarios: {}", b.scenarios.join(", "));
    }
    0
}

/// Loads `--scenario` (a built-in name or a file) and applies `--bug`s.
pub fn load_scenario(name: &str, bugs: &[String]) -> Result<Scenario, crate::Usage> {
    Ok(Scenario::resolve(name)?.with_bugs(bugs)?)
}

/// The replay command for a seed string (`file`: the scenario file, if not built in).
pub fn replay_command(seed: &str, file: Option<&str>) -> String {
    match file {
        Some(f) => format!("cargo run -p fabcheck -- replay '{seed}' --scenario '{f}'"),
        None => format!("cargo run -p fabcheck -- replay '{seed}'"),
    }
}

/// Prints the failure block to stderr and writes the trace files; returns the directory.
pub fn failure_block(
    failing: &RunReport,
    shrunk: Option<&Shrunk>,
    out: &Path,
    file: Option<&str>,
) -> Option<PathBuf> {
    let shown = shrunk.map_or(failing, |s| &s.report);
    let failure = failing.failure.as_ref().expect("a failing run");
    eprintln!("\n=== {failure}");
    eprintln!("seed:        {}", failing.seed);
    if let Some(s) = shrunk {
        eprintln!(
            "shrunk seed: {} ({} runs{})",
            s.seed,
            s.runs,
            if s.minimal {
                ", 1-minimal"
            } else {
                ", budget hit"
            }
        );
    }
    if let Some(t) = &shown.trace {
        eprintln!("story:\n{}", t.story());
        eprintln!("trace hash:  {:016x}", t.hash());
    }
    let seed = shrunk.map_or(failing.seed.to_string(), |s| s.seed.to_string());
    eprintln!("replay:      {}", replay_command(&seed, file));
    match write_files(shown, out) {
        Ok(dir) => {
            eprintln!("trace files: {}", dir.display());
            Some(dir)
        }
        Err(e) => {
            eprintln!("could not write trace files under {}: {e}", out.display());
            None
        }
    }
}

fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(text.as_bytes())
}

fn fresh_dir(out: &Path, base: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    for n in 0..1000 {
        let name = if n == 0 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        let dir = out.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many reports with this name"))
}

/// Writes trace.txt, trace.jsonl, story.txt and trace.mmd into a fresh directory.
pub fn write_files(r: &RunReport, out: &Path) -> std::io::Result<PathBuf> {
    let t = r.trace.clone().unwrap_or_default();
    let base = format!("{}-{:016x}", r.seed.scenario.replace('+', "_"), r.seed.seed);
    let dir = fresh_dir(out, &base)?;
    write_new(&dir.join("trace.txt"), &t.human())?;
    write_new(&dir.join("trace.jsonl"), &t.json_lines())?;
    write_new(&dir.join("story.txt"), &t.story())?;
    write_new(&dir.join("trace.mmd"), &t.mermaid())?;
    Ok(dir)
}

//! Traces: what happened in a run, one `TraceLine` per fact, in order. Three renderings: one
//! line per fact for people (PDUs shown by their meaning, never as hex), JSON lines for
//! machines, and a Mermaid sequence diagram for reports. `story()` keeps only the lines a
//! person needs (host steps, PDUs, RPCs, marks, faults, the violation): the shrunk output.
//!
//! Invariants kept: the trace is a pure function of the run (no addresses, no wall clock), so
//! its FNV-1a hash over the JSON lines is the determinism fingerprint.

use fabcheck_core::Instant;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

pub mod stream;

/// What a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Derived parameters of the run (always first).
    Params,
    /// The event the chooser picked (a thread ran, a timer fired, ...).
    Step,
    /// A scripted host step.
    HostStep,
    /// A PDU arriving (or a fragment, or a FIN).
    Pdu,
    /// A connection opened or closed.
    Conn,
    /// An operator RPC issued.
    Rpc,
    /// An RPC's answer.
    RpcDone,
    /// A target lifecycle mark.
    Mark,
    /// A host event (connected, ready, I/O done, errors).
    HostEvent,
    /// An injected fault.
    Fault,
    /// Safety phase over, liveness phase begins.
    Phase,
    /// The violation that ended the run.
    Violation,
}

/// One fact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceLine {
    /// The step number (0 = before the first step).
    pub step: u32,
    pub at: Instant,
    pub kind: LineKind,
    /// Who acts: "host0", "app", "pg1", "operator", "net", "world".
    pub actor: String,
    /// Who receives, when there is a receiver (PDUs, RPCs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub text: String,
}

impl TraceLine {
    /// The one-line human rendering.
    pub fn human(&self) -> String {
        let to = self
            .to
            .as_ref()
            .map(|t| format!(" -> {t}"))
            .unwrap_or_default();
        format!(
            "#{:<4} {:>13} {}{}: {}",
            self.step,
            self.at.to_string(),
            self.actor,
            to,
            self.text
        )
    }
}

/// A run's trace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub lines: Vec<TraceLine>,
}

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A `std::hash::Hasher` over FNV-1a (deterministic across runs and platforms, unlike
/// `DefaultHasher`'s unspecified algorithm).
#[derive(Debug, Clone, Copy)]
pub struct FnvHasher(pub u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(FNV_BASIS)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a(bytes, self.0);
    }
}

/// FNV-1a offset basis.
pub const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

impl Trace {
    pub fn push(&mut self, line: TraceLine) {
        self.lines.push(line);
    }

    /// One JSON object per line.
    pub fn json_lines(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&serde_json::to_string(l).expect("trace lines serialize"));
            out.push('\n');
        }
        out
    }

    /// Parses JSON lines written by `json_lines`.
    pub fn from_json_lines(text: &str) -> Result<Trace, String> {
        let mut lines = Vec::new();
        for (i, l) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let line = serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1))?;
            lines.push(line);
        }
        Ok(Trace { lines })
    }

    /// The determinism fingerprint: FNV-1a over the JSON lines.
    pub fn hash(&self) -> u64 {
        fnv1a(self.json_lines().as_bytes(), FNV_BASIS)
    }

    /// Every line for people.
    pub fn human(&self) -> String {
        self.render(|_| true)
    }

    /// The lines a person needs to follow the failure.
    pub fn story(&self) -> String {
        self.render(|l| {
            !matches!(
                l.kind,
                LineKind::Step | LineKind::HostEvent | LineKind::Conn
            ) || (l.kind == LineKind::HostEvent && !l.text.starts_with("ic done"))
        })
    }

    fn render(&self, keep: impl Fn(&TraceLine) -> bool) -> String {
        let mut out = String::new();
        for l in self.lines.iter().filter(|l| keep(l)) {
            out.push_str(&l.human());
            out.push('\n');
        }
        out
    }

    /// A Mermaid sequence diagram of the story lines.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("sequenceDiagram\n");
        let mut actors: Vec<&str> = Vec::new();
        for l in &self.lines {
            for a in std::iter::once(l.actor.as_str()).chain(l.to.as_deref()) {
                if !actors.contains(&a) {
                    actors.push(a);
                }
            }
        }
        for a in &actors {
            let _ = writeln!(out, "    participant {}", mermaid_id(a));
        }
        for l in &self.lines {
            mermaid_line(&mut out, l);
        }
        out
    }
}

fn mermaid_id(actor: &str) -> String {
    actor.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
}

fn mermaid_text(text: &str) -> String {
    text.replace([';', '#', ':'], " ")
}

fn mermaid_line(out: &mut String, l: &TraceLine) {
    let a = mermaid_id(&l.actor);
    let text = mermaid_text(&l.text);
    match (&l.to, l.kind) {
        (Some(to), LineKind::Pdu | LineKind::Rpc | LineKind::RpcDone) => {
            let _ = writeln!(out, "    {a}->>{}: {text}", mermaid_id(to));
        }
        (_, LineKind::Mark | LineKind::Fault | LineKind::HostStep | LineKind::Phase) => {
            let _ = writeln!(out, "    Note over {a}: {text}");
        }
        (_, LineKind::Violation) => {
            let _ = writeln!(out, "    Note over {a}: VIOLATION {text}");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(step: u32, kind: LineKind, actor: &str, to: Option<&str>, text: &str) -> TraceLine {
        TraceLine {
            step,
            at: Instant(1_000_100_000),
            kind,
            actor: actor.into(),
            to: to.map(Into::into),
            text: text.into(),
        }
    }

    fn sample() -> Trace {
        let mut t = Trace::default();
        t.push(line(0, LineKind::Params, "world", None, "scenario=x"));
        t.push(line(1, LineKind::Step, "pg0", None, "run"));
        t.push(line(
            1,
            LineKind::Pdu,
            "host0",
            Some("target"),
            "CONNECT qid=0",
        ));
        t.push(line(2, LineKind::Violation, "pg1", None, "I1 at free_aer"));
        t
    }

    #[test]
    fn renders_human_json_mermaid_and_story() {
        let t = sample();
        assert_eq!(
            t.lines[2].human(),
            "#1        1.000100s host0 -> target: CONNECT qid=0"
        );
        assert_eq!(Trace::from_json_lines(&t.json_lines()).unwrap(), t);
        assert!(!t.story().contains(": run"));
        assert!(t.story().contains("CONNECT qid=0"));
        let m = t.mermaid();
        assert!(m.starts_with("sequenceDiagram\n"));
        assert!(m.contains("    host0->>target: CONNECT qid=0\n"));
        assert!(m.contains("Note over pg1: VIOLATION I1 at free_aer"));
    }

    #[test]
    fn hash_changes_with_any_line() {
        let t = sample();
        let mut u = t.clone();
        assert_eq!(t.hash(), u.hash());
        u.lines[1].text.push('!');
        assert_ne!(t.hash(), u.hash());
        assert_eq!(fnv1a(b"a", FNV_BASIS), 0xaf63_dc4c_8601_ec8c);
        assert!(Trace::from_json_lines("{nope").is_err());
    }
}

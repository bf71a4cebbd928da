//! Reads the differential harness's output (`fabcheck-diff`, docs/differential.md) into one
//! `Outcome` per story: the model's verdict, SPDK's verdict, and the first difference of each
//! kind (message, output, RPC answer, objects) with its step and both sides' view.
//!
//! Invariant kept: a story agrees only when nothing differs and the verdicts match (the model
//! clean and SPDK quiescent, or the model reporting a violation and SPDK crashing).

/// What a story's difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A `run` step whose message SPDK does not have at the head of that thread's queue.
    Message,
    /// A device completion SPDK has no I/O for.
    Device,
    /// Bytes or closes on a connection.
    Output,
    /// An RPC answer.
    Rpc,
    /// Qpairs per poll group or controllers per subsystem.
    Objects,
    /// The end of the story: crash, quiescence or the model's verdict disagree.
    Verdict,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Device => "device",
            Kind::Output => "output",
            Kind::Rpc => "rpc",
            Kind::Objects => "objects",
            Kind::Verdict => "verdict",
        }
    }
}

/// One difference: where, what kind, a grouping key, and both views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub kind: Kind,
    /// Groups differences of the same shape across stories (numbers and bytes taken out).
    pub key: String,
    pub step: Option<u32>,
    pub model: String,
    pub spdk: String,
}

/// One story's replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub seed: String,
    /// `clean`, `violation I1 free_aer`, `failure ...`.
    pub model: String,
    /// `QUIESCENT`, `CRASH`, `NOT-QUIESCENT`, `DIVERGED`, `UNSUPPORTED`, `LEAKED`, `LOST-MESSAGE`,
    /// `ORPHANED-QPAIR`.
    pub verdict: String,
    /// The sanitizer's SUMMARY line or the assertion, when SPDK crashed.
    pub crash: Option<String>,
    /// The first difference of each kind, in the order met.
    pub differences: Vec<Difference>,
    /// The step the harness could not replay.
    pub unsupported: Option<String>,
}

impl Outcome {
    pub fn model_clean(&self) -> bool {
        self.model == "clean"
    }

    /// Whether the model's only finding is a breach of a contract SPDK does not crash on (I13,
    /// I14: recorded, the run goes on; `Target::contract_breach`): real SPDK ends such a story
    /// quiescent, so that is agreement (the breach is a hazard, `fabcheck hazards`).
    pub fn model_contract_breach(&self) -> bool {
        use fabcheck_core::nvmf::InvariantId;
        let code = self
            .model
            .strip_prefix("violation ")
            .and_then(|v| v.split_whitespace().next());
        code.is_some_and(|c| [InvariantId::I13.code(), InvariantId::I14.code()].contains(&c))
    }

    /// Whether model and SPDK agree on this story (see the module invariant).
    pub fn agrees(&self) -> bool {
        self.unsupported.is_none() && self.differences.is_empty()
    }

    fn add(&mut self, d: Difference) {
        if !self.differences.iter().any(|x| x.kind == d.kind) {
            self.differences.push(d);
        }
    }

    /// The verdict difference, once the story's lines are all read.
    fn finish(&mut self) {
        let v = self.verdict.as_str();
        let violation = self.model.starts_with("violation");
        let verdict_ok = match v {
            "UNSUPPORTED" | "DIVERGED" => true,
            "CRASH" => violation,
            "QUIESCENT" => self.model_clean() || self.model_contract_breach(),
            // A shutdown story (docs/differential.md, "Target shutdown"): a send to an exited
            // thread lost (v24.01) is the model's I15; a subsystem left unfreed its I8.
            "LOST-MESSAGE" => self.model.starts_with("violation I15 "),
            // A poll group freed with a qpair still on its list: the model's I15 there.
            "ORPHANED-QPAIR" => self
                .model
                .starts_with("violation I15 nvmf_tgt_destroy_poll_group"),
            "LEAKED" => {
                self.model.contains("I8") && self.model.contains("survives target shutdown")
            }
            _ => false,
        };
        if !verdict_ok {
            let spdk = match (&self.crash, v) {
                (Some(c), "CRASH") => format!("CRASH ({c})"),
                _ => v.to_string(),
            };
            self.add(Difference {
                kind: Kind::Verdict,
                key: format!("model {}, SPDK {v}", first_word(&self.model)),
                step: None,
                model: self.model.clone(),
                spdk,
            });
        }
    }
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("")
}

/// Digits out, so differences of one shape share a key.
fn shape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_num = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

/// The step number after `step ` in `line`.
fn step_of(line: &str) -> Option<u32> {
    let at = line.find("step ")? + 5;
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Parses the harness output of a whole run (one or more stories).
pub fn parse(text: &str) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = Vec::new();
    let mut last_sends: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("story ") && !line.starts_with("story done") {
            if let Some(o) = out.last_mut() {
                o.finish();
            }
            out.push(Outcome::default());
            last_sends.clear();
            continue;
        }
        let Some(o) = out.last_mut() else { continue };
        read_line(o, line, &mut last_sends);
    }
    if let Some(o) = out.last_mut() {
        o.finish();
    }
    out
}

fn read_line(o: &mut Outcome, line: &str, last_sends: &mut Vec<String>) {
    let t = line.trim();
    if let Some(s) = line.strip_prefix("seed ") {
        o.seed = s.to_string();
    } else if let Some(s) = line.strip_prefix("model result: ") {
        o.model = s.to_string();
    } else if let Some(rest) = line.strip_prefix("verdict ") {
        o.verdict = rest.rsplit(": ").next().unwrap_or("").to_string();
    } else if line.starts_with("step ") {
        last_sends.clear();
    } else if t.starts_with("conn ") && t.contains(" sends ") {
        last_sends.push(t.trim_end_matches(" (model: same)").to_string());
    } else if let Some(rest) = t.strip_prefix("DIVERGENCE ") {
        o.add(divergence(rest));
    } else if t.starts_with("OUTPUT DIFFERS") {
        o.add(output_difference(t, last_sends));
    } else if let Some(rest) = t.strip_prefix("RPC DIFFERS ") {
        o.add(rpc_difference(rest));
    } else if let Some(rest) = t.strip_prefix("OBJECTS DIFFER ") {
        o.add(objects_difference(rest));
    } else if let Some(rest) = t.strip_prefix("UNSUPPORTED ") {
        o.unsupported = Some(rest.to_string());
    } else if o.crash.is_none() && (t.starts_with("SUMMARY: ") || t.contains("Assertion")) {
        o.crash = Some(t.trim_start_matches("SUMMARY: ").to_string());
    }
}

/// `step N: model runs F on T, SPDK's ...` or `step N: model completes device io ...`.
fn divergence(rest: &str) -> Difference {
    let step = step_of(rest);
    let text = rest.split_once(": ").map_or(rest, |(_, t)| t);
    let (model, spdk) = text.split_once(", ").unwrap_or((text, ""));
    let kind = if model.contains("device io") {
        Kind::Device
    } else {
        Kind::Message
    };
    Difference {
        kind,
        key: shape(text),
        step,
        model: model.to_string(),
        spdk: spdk.to_string(),
    }
}

/// `OUTPUT DIFFERS step N conn C: model sends M bytes: HEX` or `...: the model closes it`.
fn output_difference(t: &str, last_sends: &[String]) -> Difference {
    let step = step_of(t);
    let text = t.split_once(": ").map_or("", |(_, x)| x);
    let conn = t
        .split(" conn ")
        .nth(1)
        .and_then(|x| x.split(':').next())
        .unwrap_or("?");
    let spdk_sent = last_sends
        .iter()
        .find(|s| s.starts_with(&format!("conn {conn} sends")))
        .cloned()
        .unwrap_or_else(|| format!("conn {conn} sends nothing"));
    let (key, spdk) = if text.contains("close") {
        (shape(text), format!("conn {conn}: {text}"))
    } else if spdk_sent.ends_with("sends nothing") {
        ("SPDK sends nothing where the model sends".into(), spdk_sent)
    } else if text.starts_with("model sends 0 bytes") {
        (
            "SPDK sends bytes where the model sends none".into(),
            spdk_sent,
        )
    } else {
        ("SPDK and the model send different bytes".into(), spdk_sent)
    };
    Difference {
        kind: Kind::Output,
        key,
        step,
        model: text.to_string(),
        spdk,
    }
}

/// `step N: model answers 1:ok, SPDK answers 1:error`.
fn rpc_difference(rest: &str) -> Difference {
    let text = rest.split_once(": ").map_or(rest, |(_, t)| t);
    let (model, spdk) = text.split_once(", ").unwrap_or((text, ""));
    Difference {
        kind: Kind::Rpc,
        key: shape(text),
        step: step_of(rest),
        model: model.to_string(),
        spdk: spdk.to_string(),
    }
}

/// `step N: model qpairs 1 0 ctrlrs 1, SPDK qpairs 0 0 ctrlrs 1`.
fn objects_difference(rest: &str) -> Difference {
    let text = rest.split_once(": ").map_or(rest, |(_, t)| t);
    let (model, spdk) = text.split_once(", SPDK ").unwrap_or((text, ""));
    let model = model.trim_start_matches("model ");
    Difference {
        kind: Kind::Objects,
        key: objects_key(model, spdk),
        step: step_of(rest),
        model: model.to_string(),
        spdk: spdk.to_string(),
    }
}

/// Which list differs and in which direction (`qpairs: SPDK more`).
fn objects_key(model: &str, spdk: &str) -> String {
    let (mq, mc) = model.split_once(" ctrlrs").unwrap_or((model, ""));
    let (sq, sc) = spdk.split_once(" ctrlrs").unwrap_or((spdk, ""));
    let dir = |m: &str, s: &str| -> &'static str {
        let total = |x: &str| -> i64 {
            x.split_whitespace()
                .filter_map(|n| n.parse::<i64>().ok())
                .sum()
        };
        match total(s).cmp(&total(m)) {
            std::cmp::Ordering::Greater => "SPDK has more",
            std::cmp::Ordering::Less => "SPDK has fewer",
            std::cmp::Ordering::Equal => "same count, other places",
        }
    };
    if mq != sq {
        format!("qpairs per poll group: {}", dir(mq, sq))
    } else {
        format!("controllers per subsystem: {}", dir(mc, sc))
    }
}

#[cfg(test)]
mod tests;

//! `fabcheck export-story SEED`: writes a story for the differential harness (`differential/`)
//! in the line format of docs/differential.md.
//!
//! The seed is run once with tracing on; its recording (the target's configuration, then every
//! target input with its virtual time) is replayed into a fresh model target so each step can be
//! annotated with what the harness checks: the SPDK function the model runs for `Run(thread)`
//! (the head of that thread's queue) and the poll group the model placed each accepted
//! connection on. The model's own outputs follow each step as `model` lines (for people and for
//! the step-by-step comparison; the harness reads only the lines it acts on).
//!
//! Invariant kept: the export is a pure function of the seed string (same seed, same bytes).

use crate::replay::resolve;
use crate::Usage;
use fabcheck_core::nvmf::{
    BugId, Input, NamespaceConfig, Output, RpcRequest, Target, TargetConfig, ThreadId, Trid,
};
use fabcheck_core::record::RecordLine;
use fabcheck_sim::run;
use std::fmt::Write as _;
use std::path::Path;

/// Format version written on the first line.
const FORMAT: u32 = 1;

/// Runs `seed` and prints its story on stdout (or writes it to `out`).
pub fn export_story(seed: &str, scenario: Option<&Path>, out: Option<&Path>) -> Result<u8, Usage> {
    let text = story_for(seed, scenario)?;
    match out {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Usage(format!("cannot write {}: {e}", p.display())))?,
        None => print!("{text}"),
    }
    Ok(0)
}

/// The story of `seed` as text.
pub fn story_for(seed: &str, scenario: Option<&Path>) -> Result<String, Usage> {
    let (seed, mut sc) = resolve(seed, scenario)?;
    // The harness builds SPDK with asserts: a debug-only assert is a crash in the story.
    sc.debug_asserts = true;
    let report = run(&sc, &seed, true);
    let recording = report.recording.as_ref().expect("traced runs record");
    let result = match &report.failure {
        None => "clean".to_string(),
        Some(fabcheck_sim::Failure::Safety(v)) => format!("violation {:?} {}", v.invariant, v.site),
        Some(f) => format!("failure {}", f.signature()),
    };
    story_text(&seed.to_string(), &result, recording)
}

/// The story text of a recording.
fn story_text(seed: &str, result: &str, rec: &[RecordLine]) -> Result<String, Usage> {
    let Some(RecordLine::Config(config)) = rec.first() else {
        return Err(Usage("the run recorded no configuration".into()));
    };
    let mut s = format!("fabcheck-story {FORMAT}\nseed {seed}\nresult {result}\n");
    write_config(&mut s, config);
    write_added_bdevs(&mut s, rec);
    let mut target = Target::new(config.clone());
    for (i, line) in rec.iter().skip(1).enumerate() {
        let RecordLine::Input { at, input } = line else {
            return Err(Usage("a second configuration in the recording".into()));
        };
        let n = i + 1;
        let head = match input {
            Input::Run(t) => target.queued_messages(*t).first().copied(),
            _ => None,
        };
        target.handle(*at, input.clone());
        let _ = writeln!(s, "step {n} {} {}", at.0, step_text(input, head, &target));
        while let Some(o) = target.poll_output() {
            if let Some(l) = output_text(&o) {
                let _ = writeln!(s, "model {n} {l}");
            }
        }
        let _ = writeln!(s, "model {n} objects {}", objects_text(&target, config));
    }
    s.push_str("end\n");
    Ok(s)
}

fn write_config(s: &mut String, c: &TargetConfig) {
    let retry = c.spdk.retry_parking() && c.bugs.has(BugId::Spdk3095);
    let parking = if retry { "retry" } else { "queue" };
    let _ = writeln!(s, "poll_groups {}\nparking {parking}", c.poll_groups);
    let _ = writeln!(s, "fini {}", fini_order(c));
    for t in &c.listeners {
        let _ = writeln!(s, "listener {}", trid(t));
    }
    for sub in &c.subsystems {
        let _ = writeln!(
            s,
            "subsystem {} cntlid {} {} namespaces {} any_host {} start {}",
            sub.nqn,
            sub.min_cntlid,
            sub.max_cntlid,
            sub.namespaces.len(),
            u8::from(sub.allow_any_host),
            u8::from(sub.start)
        );
        for h in &sub.hosts {
            let _ = writeln!(s, "subsystem_host {} {h}", sub.nqn);
        }
        for t in &sub.listeners {
            let _ = writeln!(s, "subsystem_listener {} {}", sub.nqn, trid(t));
        }
        for ns in &sub.namespaces {
            let _ = writeln!(s, "namespace {} {}", sub.nqn, ns_text(ns));
        }
    }
}

/// The FINI states of `nvmf_tgt.c` in the order this profile's shutdown runs them (core's
/// `shutdown_order`): v24.01 with 2cbc8aec37 stops listening first, v24.01 as released
/// (`spdk-3273`) never does, master stops listening after the subsystem stops.
fn fini_order(c: &TargetConfig) -> &'static str {
    if c.spdk.stops_listening_after_subsystems() {
        "stop_subsystems stop_listen destroy_subsystems destroy_poll_groups destroy_target"
    } else if c.bugs.has(BugId::Spdk3273) {
        "stop_subsystems destroy_subsystems destroy_poll_groups destroy_target"
    } else {
        "stop_listen stop_subsystems destroy_subsystems destroy_poll_groups destroy_target"
    }
}

fn ns_text(ns: &NamespaceConfig) -> String {
    format!("{} {} {}", ns.nsid, ns.blocks, ns.block_size)
}

/// `bdev` lines: the namespaces the story's add_namespace steps add (the harness registers
/// their bdevs at setup, as an operator creates a bdev before adding it).
fn write_added_bdevs(s: &mut String, rec: &[RecordLine]) {
    for line in rec {
        if let RecordLine::Input {
            input:
                Input::Rpc {
                    request: RpcRequest::AddNamespace { nqn, ns },
                    ..
                },
            ..
        } = line
        {
            let _ = writeln!(s, "bdev {nqn} {}", ns_text(ns));
        }
    }
}

/// What exists after a step: qpairs per poll group, then controllers per subsystem in the
/// configuration's order (`-` once a subsystem is gone).
fn objects_text(t: &Target, c: &TargetConfig) -> String {
    let mut s = String::from("qpairs");
    for n in t.pg_qpair_counts() {
        let _ = write!(s, " {n}");
    }
    s.push_str(" ctrlrs");
    for sub in &c.subsystems {
        match t.subsystem_ctrlr_count(&sub.nqn) {
            Some(n) => write!(s, " {n}"),
            None => write!(s, " -"),
        }
        .expect("writing to a String cannot fail");
    }
    s
}

fn trid(t: &Trid) -> String {
    format!("{} {}", t.traddr, t.trsvcid)
}

fn thread(t: ThreadId) -> String {
    t.to_string()
}

fn hex(data: &[u8]) -> String {
    data.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn step_text(input: &Input, head: Option<&str>, target: &Target) -> String {
    match input {
        Input::Accept { trid: t, conn } => {
            let pg = match target.qpair_thread(*conn) {
                Some(ThreadId::PollGroup(n)) => n.to_string(),
                _ => "-".to_string(),
            };
            format!("accept {} {} pg {pg}", conn.0, trid(t))
        }
        Input::Bytes { conn, data } => format!("bytes {} {}", conn.0, hex(data)),
        Input::PeerClosed { conn } => format!("peer_closed {}", conn.0),
        Input::Run(t) => format!("run {} {}", thread(*t), head.unwrap_or("-")),
        Input::Complete(io) => format!("complete {}", io.0),
        Input::Fire(t) => format!("fire {}", format!("{t:?}").replace(' ', "")),
        Input::Rpc { id, request } => format!("rpc {} {}", id.0, rpc_text(request)),
    }
}

fn rpc_text(r: &RpcRequest) -> String {
    match r {
        RpcRequest::PauseSubsystem { nqn, nsid } => format!("pause {nqn} {nsid}"),
        RpcRequest::ResumeSubsystem { nqn } => format!("resume {nqn}"),
        RpcRequest::StopListenAsync { trid: t, nqn } => {
            format!("stop_listen {} {}", trid(t), nqn.as_deref().unwrap_or("-"))
        }
        RpcRequest::SubsystemRemoveListener { nqn, trid: t } => {
            format!("remove_listener {nqn} {}", trid(t))
        }
        RpcRequest::SubsystemAddListener { nqn, trid: t } => {
            format!("add_listener {nqn} {}", trid(t))
        }
        RpcRequest::AddNamespace { nqn, ns } => format!("add_namespace {nqn} {}", ns_text(ns)),
        RpcRequest::RemoveNamespace { nqn, nsid } => format!("remove_namespace {nqn} {nsid}"),
        RpcRequest::DeleteSubsystem { nqn } => format!("delete_subsystem {nqn}"),
        RpcRequest::Shutdown => "shutdown".to_string(),
        RpcRequest::TransportListen { trid: t } => format!("listen {}", trid(t)),
        RpcRequest::StopSubsystem { nqn } => format!("stop {nqn}"),
        RpcRequest::StartSubsystem { nqn } => format!("start {nqn}"),
        RpcRequest::GetQpairs { nqn } => format!("get_qpairs {nqn}"),
        RpcRequest::GetControllers { nqn } => format!("get_controllers {nqn}"),
        RpcRequest::AddHost { nqn, hostnqn } => format!("add_host {nqn} {hostnqn}"),
        RpcRequest::RemoveHost {
            nqn,
            hostnqn,
            timeout_ms: 0,
        } => format!("remove_host {nqn} {hostnqn}"),
        other => format!(
            "unsupported {}",
            format!("{other:?}").replace([' ', '\n'], "")
        ),
    }
}

fn output_text(o: &Output) -> Option<String> {
    Some(match o {
        Output::Send { conn, data } => format!("send {} {}", conn.0, hex(&data.to_vec())),
        Output::Close { conn } => format!("close {}", conn.0),
        Output::RpcDone { id, result } => {
            let r = if result.is_ok() { "ok" } else { "error" };
            format!("rpc_done {} {r}", id.0)
        }
        Output::Event(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW_A: &str = "fc1:seed-3302+spdk-3302:14e3d14bf9586e0f:0.0.1.0.0.0.0.0.0.0.0.1.1";

    #[test]
    fn window_a_story_names_each_step_and_is_deterministic() {
        let text = story_for(WINDOW_A, None).unwrap();
        assert_eq!(text, story_for(WINDOW_A, None).unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "fabcheck-story 1");
        assert_eq!(lines[2], "result violation I1 free_aer");
        assert!(lines.contains(&"parking retry"));
        assert!(lines.contains(&"step 1 0 accept 1 127.0.0.1 4420 pg 0"));
        assert!(lines.contains(&"step 2 0 run pg0 _nvmf_poll_group_add"));
        assert!(lines.contains(&"step 4 0 rpc 1 pause nqn.2016-06.io.spdk:cnode1 0"));
        assert!(lines.contains(&"step 9 0 rpc 2 stop_listen 127.0.0.1 4420 -"));
        assert!(lines.contains(&"step 10 0 run pg0 for_each_channel"));
        // The ICReq the host sent and the ICResp the model answered, as bytes.
        assert!(lines
            .iter()
            .any(|l| l.starts_with("step 3 0 bytes 1 00008000")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("model 3 send 1 01008000")));
        assert_eq!(lines.last(), Some(&"end"));
    }

    #[test]
    fn a_shutdown_story_carries_the_profiles_fini_order_and_its_rpcs() {
        let master = story_for("fc1:shutdown-under-load@master:158df79ac22c328e", None).unwrap();
        assert!(master.lines().any(|l| l
            == "fini stop_subsystems stop_listen destroy_subsystems destroy_poll_groups destroy_target"));
        assert!(master
            .lines()
            .any(|l| l.starts_with("step ") && l.ends_with(" shutdown")));
        assert!(!master.contains("unsupported"));
        let v2401 = story_for("fc1:shutdown-under-load@v24.01:37005d09a7d48745", None).unwrap();
        assert!(v2401
            .lines()
            .any(|l| l.starts_with("fini stop_listen stop_subsystems ")));
        let released = story_for(
            "fc1:shutdown-under-load@v24.01+spdk-3273:37005d09a7d48745",
            None,
        )
        .unwrap();
        assert!(released
            .lines()
            .any(|l| l
                == "fini stop_subsystems destroy_subsystems destroy_poll_groups destroy_target"));
    }

    #[test]
    fn a_recording_without_configuration_is_rejected() {
        assert!(story_text("s", "clean", &[]).is_err());
    }

    #[test]
    fn a_bad_seed_is_a_usage_error() {
        assert!(story_for("not-a-seed", None).is_err());
    }
}

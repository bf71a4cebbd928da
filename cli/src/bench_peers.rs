//! `fabcheck bench` rows for random actors and swarm shapes: each measured next to its
//! scripted, unshaped twin (as many actions per actor) in the same run (one thread, fixed
//! core), with the ratio of the rates, so "the random host and the swarm cost at most 2x" is a
//! number, not a guess.

use crate::hunt::wall_clock;
use crate::Usage;
use fabcheck_sim::scenario::{HostStep, OperatorAction, OperatorRpc};
use fabcheck_sim::sweep::{sweep, SweepConfig};
use fabcheck_sim::Scenario;

/// (runs/s, steps/s) of `runs` runs of `sc` on one thread.
pub(crate) fn rate(sc: &Scenario, runs: u64) -> (f64, f64) {
    let mut cfg = SweepConfig::new(sc.clone(), runs);
    cfg.jobs = 1;
    cfg.determinism_every = 0;
    cfg.stop_on_failure = false;
    let start = wall_clock();
    let r = sweep(&cfg, &|_| {});
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    (r.runs as f64 / secs, r.steps as f64 / secs)
}

/// How many actions a host script takes (a `random` step counts as its action count).
fn action_count(script: &[HostStep]) -> usize {
    script
        .iter()
        .map(|s| match s {
            HostStep::Random { steps } => *steps as usize,
            _ => 1,
        })
        .sum()
}

/// The scripted twin of a random scenario, with as many actions per actor: every host
/// connects, opens queue 1, alternates writes and reads, disconnects; the operator alternates
/// pause and resume of the first subsystem; no shape bounds.
fn scripted_twin(sc: &Scenario) -> Scenario {
    let mut t = sc.clone();
    t.shape = None;
    let nsid = sc
        .subsystems
        .first()
        .and_then(|s| s.namespaces.first())
        .map_or(1, |n| n.nsid);
    for h in &mut t.hosts {
        h.script = scripted_host(action_count(&h.script).max(4), nsid);
    }
    let nqn = sc
        .subsystems
        .first()
        .map(|s| s.nqn.clone())
        .unwrap_or_default();
    let actions: u32 = sc
        .operator
        .iter()
        .map(|a| match a.rpc {
            OperatorRpc::Random { actions } => actions,
            _ => 1,
        })
        .sum();
    t.operator = (0..actions.max(2) as usize)
        .map(|i| OperatorAction {
            from_ms: 0,
            to_ms: None,
            after: i.checked_sub(1),
            rpc: if i % 2 == 0 {
                OperatorRpc::Pause {
                    nqn: nqn.clone(),
                    nsid: 0,
                }
            } else {
                OperatorRpc::Resume { nqn: nqn.clone() }
            },
        })
        .collect();
    t
}

/// `n` actions: connect, open queue 1, alternate writes and reads of `nsid`, disconnect.
fn scripted_host(n: usize, nsid: u32) -> Vec<HostStep> {
    let mut script = vec![HostStep::Connect, HostStep::ConnectIo { qid: 1 }];
    for i in 0..n - 3 {
        script.push(if i % 2 == 0 {
            HostStep::Write {
                qid: 1,
                nsid,
                slba: 0,
                blocks: 1,
            }
        } else {
            HostStep::Read {
                qid: 1,
                nsid,
                slba: 0,
                nlb: 1,
            }
        });
    }
    script.push(HostStep::DisconnectAll);
    script
}

pub(crate) fn row(name: &str, twin: (f64, f64), it: (f64, f64)) {
    println!(
        "| {name} | {:.0} runs/s, {:.0} steps/s | {:.0} runs/s, {:.0} steps/s | {:.2}x | {:.2}x |",
        twin.0,
        twin.1,
        it.0,
        it.1,
        twin.0 / it.0.max(1e-9),
        twin.1 / it.1.max(1e-9)
    );
}

/// Prints the random-actor and swarm rows.
pub fn peers(runs: u64) -> Result<(), Usage> {
    println!(
        "\n| cost of | before (scripted / unshaped twin) | after | runs/s before/after | steps/s before/after |"
    );
    println!("|---|---|---|---|---|");
    let random = Scenario::resolve("random-peers")?;
    let twin = scripted_twin(&random);
    row(
        "random hosts + operator + swarm (random-peers)",
        rate(&twin, runs),
        rate(&random, runs),
    );
    let mut unshaped_random = random.clone();
    unshaped_random.shape = None;
    row(
        "random hosts + operator, no swarm (random-peers)",
        rate(&twin, runs),
        rate(&unshaped_random, runs),
    );
    let churn = Scenario::resolve("churn")?;
    let mut unshaped = churn.clone();
    unshaped.shape = None;
    row(
        "swarm shape (churn)",
        rate(&unshaped, runs),
        rate(&churn, runs),
    );
    Ok(())
}

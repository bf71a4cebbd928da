//! One run from a seed string: derive the scenario's shape and the parameters (printed first), build the chooser (the
//! seed's strategy, or a replay of the seed's choice list), run the safety then the liveness
//! phase, and report.

use crate::catalogue;
use crate::chooser::{canonical, Choice, Chooser};
use crate::coverage::Coverage;
use crate::scenario::Scenario;
use crate::seed::SeedString;
use crate::strategy::Replay;
use crate::trace::Trace;
use crate::world::{Failure, World};
use fabcheck_core::record::RecordLine;

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The seed string that was run.
    pub seed: SeedString,
    /// The derived parameters, one line.
    pub params: String,
    /// Steps taken (both phases).
    pub steps: u32,
    pub failure: Option<Failure>,
    /// Every choice made, in order.
    pub record: Vec<Choice>,
    pub coverage: Coverage,
    /// The trace, when tracing was on.
    pub trace: Option<Trace>,
    /// Every target input as a runtime-style recording, when tracing was on.
    pub recording: Option<Vec<RecordLine>>,
    /// The SPDK profile the run modelled: the scenario's, or the one its seed picked within
    /// the scenario's shape bounds.
    pub spdk: fabcheck_core::nvmf::Spdk,
}

impl RunReport {
    /// A seed string that replays exactly this run from its choice list.
    pub fn replay_seed(&self) -> SeedString {
        self.seed.with_choices(canonical(&self.record))
    }

    /// The trace hash (0 without a trace).
    pub fn trace_hash(&self) -> u64 {
        self.trace.as_ref().map_or(0, Trace::hash)
    }
}

/// The derived parameters of a run, printed before anything else: for a scenario with shape
/// bounds, `sc` is the shaped scenario and the bounds follow the concrete values.
pub fn params(sc: &Scenario, seed: &SeedString) -> String {
    let strategy = match &seed.choices {
        Some(c) => format!("replay({} choices)", c.len()),
        None => seed.strategy().to_string(),
    };
    let bugs = catalogue::names(&sc.bug_set()).join(",");
    let f = &sc.faults;
    let shape = sc.shape.as_ref().map_or(String::new(), |b| {
        let listeners = b.listeners.map_or(String::new(), |_| {
            format!(" listeners={}", sc.listeners.len())
        });
        format!("{listeners} {}", b.describe())
    });
    format!(
        "{seed} scenario={} strategy={strategy} bugs=[{bugs}] spdk={} poll_groups={} \
         hosts={} operator_actions={} steps={} liveness_steps={} faults(conn_reset={} \
         stop_keep_alive={} disconnect_mid_connect={} pdu_split={} max={}){shape}",
        sc.name,
        sc.spdk,
        sc.poll_groups,
        sc.hosts.len(),
        sc.operator.len(),
        sc.steps,
        sc.liveness_steps,
        f.conn_reset,
        f.stop_keep_alive,
        f.disconnect_mid_connect,
        f.pdu_split,
        f.max
    )
}

/// The chooser a seed string asks for.
pub fn chooser_for(sc: &Scenario, seed: &SeedString) -> Box<dyn Chooser> {
    match &seed.choices {
        Some(c) => Box::new(Replay::new(c.clone())),
        None => seed
            .strategy()
            .chooser(seed.seed & ((1 << 60) - 1), sc.steps),
    }
}

/// Runs `seed` on `sc` (the caller resolved `seed.scenario` to `sc`).
pub fn run(sc: &Scenario, seed: &SeedString, trace: bool) -> RunReport {
    run_with(sc, seed, chooser_for(sc, seed), trace)
}

/// Runs with an explicit chooser (exhaustive or fuzz choosers plug in here).
pub fn run_with(
    sc: &Scenario,
    seed: &SeedString,
    chooser: Box<dyn Chooser>,
    trace: bool,
) -> RunReport {
    let shaped = sc.shaped(seed.seed);
    let sc = &shaped;
    let params = params(sc, seed);
    let mut w = World::new(sc, chooser, trace);
    w.note_params(params.clone());
    w.run_safety();
    w.run_liveness();
    let steps = w.steps();
    let recording = w.recording().map(<[RecordLine]>::to_vec);
    let (record, coverage, trace, failure) = w.finish();
    RunReport {
        seed: seed.clone(),
        params,
        steps,
        failure,
        record,
        coverage,
        trace,
        recording,
        spdk: sc.spdk,
    }
}

//! Toy models with known state spaces, and the engine's tests on them.

use crate::model::{Footprint, Model, Property};
use crate::report::{CheckOptions, Outcome};
use crate::{check, check_dfs};

/// Two counters in `0..=n`, each bumped by its own thread; `always x + y < limit`.
struct Grid {
    n: u8,
    limit: u8,
}

impl Model for Grid {
    type State = (u8, u8);
    type Action = u8;

    fn init_states(&self) -> Vec<(u8, u8)> {
        vec![(0, 0)]
    }
    fn actions(&self, s: &(u8, u8), out: &mut Vec<u8>) {
        if s.0 < self.n {
            out.push(0);
        }
        if s.1 < self.n {
            out.push(1);
        }
    }
    fn next_state(&self, s: &(u8, u8), a: &u8) -> Option<(u8, u8)> {
        Some(if *a == 0 {
            (s.0 + 1, s.1)
        } else {
            (s.0, s.1 + 1)
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::<Self>::always("sum below limit", |m, s| s.0 + s.1 < m.limit),
            Property::<Self>::sometimes("x full", |m, s| s.0 == m.n),
        ]
    }
    fn footprint(&self, _: &(u8, u8), a: &u8) -> Option<Footprint> {
        Some(Footprint {
            thread: u64::from(*a),
            reads: vec![],
            writes: vec![u64::from(*a)],
            adds: vec![],
        })
    }
}

/// `k` threads, each runs `[bump own counter, write own id to the shared register, read the
/// register into its own slot]`; terminal states differ by interleaving of the shared ops.
struct Racers {
    k: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RacerState {
    pc: Vec<u8>,
    own: Vec<u8>,
    shared: u8,
    seen: Vec<u8>,
}

impl Model for Racers {
    type State = RacerState;
    type Action = usize;

    fn init_states(&self) -> Vec<RacerState> {
        let z = vec![0; self.k];
        vec![RacerState {
            pc: z.clone(),
            own: z.clone(),
            shared: 9,
            seen: z,
        }]
    }
    fn actions(&self, s: &RacerState, out: &mut Vec<usize>) {
        out.extend((0..self.k).filter(|&t| s.pc[t] < 3));
    }
    fn next_state(&self, s: &RacerState, &t: &usize) -> Option<RacerState> {
        let mut n = s.clone();
        match s.pc[t] {
            0 => n.own[t] += 1,
            1 => n.shared = t as u8,
            _ => n.seen[t] = s.shared,
        }
        n.pc[t] += 1;
        Some(n)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::<Self>::always(
            "nobody reads thread 0's write last",
            |_, s| !(s.seen.iter().all(|&v| v == 0) && s.pc.iter().all(|&p| p == 3)),
        )]
    }
    fn footprint(&self, s: &RacerState, &t: &usize) -> Option<Footprint> {
        let own = 100 + t as u64;
        let (reads, writes) = match s.pc[t] {
            0 => (vec![], vec![own]),
            1 => (vec![], vec![0]),
            _ => (vec![0], vec![own]),
        };
        Some(Footprint {
            thread: t as u64,
            reads,
            writes,
            adds: vec![],
        })
    }
}

/// `k` interchangeable processes, each counting to 3; canonical form sorts them.
struct Herd {
    k: usize,
}

impl Model for Herd {
    type State = Vec<u8>;
    type Action = usize;

    fn init_states(&self) -> Vec<Vec<u8>> {
        vec![vec![0; self.k]]
    }
    fn actions(&self, s: &Vec<u8>, out: &mut Vec<usize>) {
        out.extend((0..self.k).filter(|&i| s[i] < 3));
    }
    fn next_state(&self, s: &Vec<u8>, &i: &usize) -> Option<Vec<u8>> {
        let mut n = s.clone();
        n[i] += 1;
        Some(n)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::<Self>::always(
            "never two at 3 while one at 0",
            |_, s| !(s.iter().filter(|&&v| v == 3).count() >= 2 && s.contains(&0)),
        )]
    }
    fn canonical(&self, s: &Vec<u8>) -> Vec<u8> {
        let mut c = s.clone();
        c.sort_unstable();
        c
    }
}

fn opts() -> CheckOptions {
    CheckOptions {
        collect_terminals: true,
        ..CheckOptions::default()
    }
}

#[test]
fn bfs_and_dfs_count_the_grid_and_verify_it() {
    let m = Grid { n: 6, limit: 100 };
    for r in [check(&m, &opts()), check_dfs(&m, &opts())] {
        assert_eq!(r.outcome, Outcome::Verified);
        assert_eq!(r.states, 49);
        assert_eq!(r.terminals.len(), 1);
    }
    let r = check(&m, &opts());
    assert_eq!(r.depth, 12);
    assert_eq!(r.transitions, 2 * 6 * 7);
}

#[test]
fn a_never_reached_sometimes_fails_the_check() {
    let m = Grid { n: 0, limit: 100 };
    assert_eq!(check(&m, &opts()).outcome, Outcome::Verified); // x == n holds at once
    struct Never;
    impl Model for Never {
        type State = u8;
        type Action = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, s: &u8, out: &mut Vec<u8>) {
            if *s < 3 {
                out.push(1);
            }
        }
        fn next_state(&self, s: &u8, a: &u8) -> Option<u8> {
            Some(s + a)
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![Property::<Self>::sometimes("reaches 7", |_, s| *s == 7)]
        }
    }
    assert_eq!(
        check(&Never, &opts()).outcome,
        Outcome::Unreached(vec!["reaches 7".to_string()])
    );
    assert_eq!(
        check_dfs(&Never, &opts()).outcome,
        Outcome::Unreached(vec!["reaches 7".to_string()])
    );
}

#[test]
fn bfs_counterexamples_are_shortest_and_replayable() {
    let m = Grid { n: 6, limit: 5 };
    let r = check(&m, &opts());
    assert_eq!(r.outcome, Outcome::Violated);
    let path = &r.violations[0].path;
    assert_eq!(path.len(), 5, "x + y = 5 needs exactly 5 bumps");
    let mut s = path.init;
    for (a, next) in &path.steps {
        s = m.next_state(&s, a).unwrap();
        assert_eq!(&s, next);
    }
    assert_eq!(s.0 + s.1, 5);
    let d = check_dfs(&m, &opts());
    assert_eq!(d.outcome, Outcome::Violated);
    assert!(d.violations[0].path.len() >= 5);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let m = crate::twopc::TwoPhaseSys { rms: 4 };
    let one = check(&m, &opts());
    for threads in [2, 3, 8] {
        let r = check(&m, &CheckOptions { threads, ..opts() });
        assert_eq!(
            (r.states, r.transitions, r.depth),
            (one.states, one.transitions, one.depth)
        );
        assert_eq!(r.terminals, one.terminals);
        assert_eq!(r.outcome, Outcome::Verified);
    }
    let bad = Grid { n: 40, limit: 30 };
    let base = check(&bad, &opts());
    for threads in [2, 4] {
        let r = check(&bad, &CheckOptions { threads, ..opts() });
        assert_eq!(r.states, base.states);
        let (a, b) = (&r.violations[0].path, &base.violations[0].path);
        assert_eq!(
            a.last(),
            b.last(),
            "the same counterexample on {threads} threads"
        );
        assert_eq!(
            a.steps.iter().map(|s| s.0).collect::<Vec<_>>(),
            b.steps.iter().map(|s| s.0).collect::<Vec<_>>()
        );
    }
}

#[test]
fn bounds_make_the_run_incomplete_never_verified() {
    let m = Grid { n: 6, limit: 100 };
    let depth = check(
        &m,
        &CheckOptions {
            max_depth: Some(3),
            ..opts()
        },
    );
    assert!(matches!(depth.outcome, Outcome::Incomplete(ref w) if w.contains("depth")));
    assert_eq!(depth.states, 10, "levels 0..=3 of the grid");
    let dfs = check_dfs(
        &m,
        &CheckOptions {
            max_depth: Some(3),
            ..opts()
        },
    );
    assert!(matches!(dfs.outcome, Outcome::Incomplete(_)));
    let states = check(
        &m,
        &CheckOptions {
            max_states: Some(20),
            ..opts()
        },
    );
    assert!(matches!(states.outcome, Outcome::Incomplete(ref w) if w.contains("state bound")));
    let time = check(
        &m,
        &CheckOptions {
            time_limit: Some(std::time::Duration::ZERO),
            ..opts()
        },
    );
    assert!(matches!(time.outcome, Outcome::Incomplete(ref w) if w.contains("time")));
    let enough = check(
        &m,
        &CheckOptions {
            max_depth: Some(12),
            ..opts()
        },
    );
    assert_eq!(
        enough.outcome,
        Outcome::Verified,
        "a bound that cuts nothing proves"
    );
}

#[test]
fn fingerprint_widths_agree() {
    let m = crate::twopc::TwoPhaseSys { rms: 3 };
    let a = check(&m, &opts());
    let b = check(
        &m,
        &CheckOptions {
            fp128: true,
            ..opts()
        },
    );
    assert_eq!((a.states, b.states), (288, 288));
}

/// `Racers` without its planted property, to compare terminal and reachable states exactly.
struct Quiet(Racers);

impl Model for Quiet {
    type State = RacerState;
    type Action = usize;
    fn init_states(&self) -> Vec<RacerState> {
        self.0.init_states()
    }
    fn actions(&self, s: &RacerState, out: &mut Vec<usize>) {
        self.0.actions(s, out);
    }
    fn next_state(&self, s: &RacerState, a: &usize) -> Option<RacerState> {
        self.0.next_state(s, a)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![]
    }
    fn footprint(&self, s: &RacerState, a: &usize) -> Option<Footprint> {
        self.0.footprint(s, a)
    }
}

#[test]
fn sleep_sets_keep_terminal_states_and_save_transitions() {
    for k in 2..=4 {
        let m = Quiet(Racers { k });
        let full = check_dfs(&m, &opts());
        let por = check_dfs(
            &m,
            &CheckOptions {
                por: true,
                ..opts()
            },
        );
        assert_eq!(full.terminals, por.terminals, "k={k}");
        assert!(full.terminals.len() > 1, "the races give several outcomes");
        assert_eq!(full.states, por.states, "sleep sets keep every state");
        assert!(
            por.transitions < full.transitions,
            "k={k}: {} !< {}",
            por.transitions,
            full.transitions
        );
        assert_eq!(full.outcome, Outcome::Verified);
        assert_eq!(por.outcome, Outcome::Verified);
    }
    let g = Grid { n: 5, limit: 100 };
    let por = check_dfs(
        &g,
        &CheckOptions {
            por: true,
            ..opts()
        },
    );
    assert_eq!((por.states, por.terminals.len()), (36, 1));
    assert_eq!(
        por.transitions, 35,
        "independent counters: one edge into each state"
    );
}

#[test]
fn planted_race_is_found_with_and_without_sleep_sets() {
    let m = Racers { k: 3 };
    for por in [false, true] {
        let r = check_dfs(&m, &CheckOptions { por, ..opts() });
        assert_eq!(r.outcome, Outcome::Violated, "por={por}");
        let last = r.violations[0].path.last();
        assert!(last.seen.iter().all(|&v| v == 0));
    }
    assert_eq!(check(&m, &opts()).outcome, Outcome::Violated);
}

#[test]
fn symmetry_reduces_states_and_keeps_violations() {
    let m = Herd { k: 4 };
    let full = check(&m, &opts());
    let sym = check(
        &m,
        &CheckOptions {
            symmetry: true,
            ..opts()
        },
    );
    assert_eq!(full.outcome, Outcome::Violated);
    assert_eq!(sym.outcome, Outcome::Violated);
    assert_eq!(full.violations[0].path.len(), sym.violations[0].path.len());
    let mut s = sym.violations[0].path.init.clone();
    for (a, next) in &sym.violations[0].path.steps {
        s = m.next_state(&s, a).unwrap();
        assert_eq!(&s, next, "a symmetric counterexample is a real path");
    }
    let tp = crate::twopc::TwoPhaseSys { rms: 5 };
    let full = check(&tp, &opts());
    let sym = check(
        &tp,
        &CheckOptions {
            symmetry: true,
            ..opts()
        },
    );
    let dfs = check_dfs(
        &tp,
        &CheckOptions {
            symmetry: true,
            ..opts()
        },
    );
    // A true canonical form: BFS and DFS store the same number of orbits.
    assert_eq!(full.states, 8_832);
    assert_eq!(sym.states, dfs.states);
    assert!(
        sym.states < 665,
        "below Stateright's order-dependent 665: {}",
        sym.states
    );
    assert_eq!(sym.outcome, Outcome::Verified);
}

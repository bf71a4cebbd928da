//! Depth-first search (one thread) with an optional depth bound and optional sleep-set
//! partial-order reduction (`por`). The stack is the counterexample when an `always` property
//! fails. A depth bound that cuts a state with successors makes the run incomplete (a state
//! first met deep may also be reachable shallower, so a bounded DFS proves nothing).

use crate::bfs::{finish, Shared};
use crate::fingerprint::Fp;
use crate::model::Model;
use crate::por::{child_sleep, contains, intersect, Slept};
use crate::report::{CheckOptions, Path, Report, Violation};
use crate::visited::Insert;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

struct Frame<M: Model> {
    state: M::State,
    via: Option<M::Action>,
    items: Vec<Slept<M>>,
    pos: usize,
    /// Asleep here: inherited, plus the siblings explored so far (POR only).
    sleep: Vec<Slept<M>>,
    /// When re-exploring a cached state, only these actions.
    only: Option<Vec<M::Action>>,
}

struct Dfs<'a, 's, M: Model, F> {
    sh: &'s Shared<'a, M, F>,
    stack: Vec<Frame<M>>,
    sleeps: BTreeMap<u128, Vec<Slept<M>>>,
    incomplete: Option<String>,
    depth: u64,
    found: Option<(usize, Path<M>)>,
}

impl<M: Model, F: Fp + Into<u128>> Dfs<'_, '_, M, F> {
    fn items(&self, state: &M::State) -> Vec<Slept<M>> {
        let mut actions = Vec::new();
        self.sh.model.actions(state, &mut actions);
        let por = self.sh.opts.por;
        actions
            .into_iter()
            .map(|action| Slept {
                footprint: por
                    .then(|| self.sh.model.footprint(state, &action))
                    .flatten(),
                action,
            })
            .collect()
    }

    /// Pushes a frame for `state` unless a bound stops it there.
    fn open(&mut self, state: M::State, fp: F, via: Option<M::Action>, sleep: Vec<Slept<M>>) {
        self.open_only(state, fp, via, sleep, None, true);
    }

    fn open_only(
        &mut self,
        state: M::State,
        fp: F,
        via: Option<M::Action>,
        sleep: Vec<Slept<M>>,
        only: Option<Vec<M::Action>>,
        first: bool,
    ) {
        let items = self.items(&state);
        if items.is_empty() {
            if first {
                self.sh.terminal(fp);
            }
            return;
        }
        let depth = self.stack.len() as u64;
        let cut = self.sh.opts.max_depth.is_some_and(|d| depth >= d);
        if cut || !self.sh.model.within_bounds(&state) {
            let why = if cut {
                format!("depth bound {depth} reached with successors left")
            } else {
                "a state is outside the model's own bounds".to_string()
            };
            self.incomplete.get_or_insert(why);
            return;
        }
        self.depth = self.depth.max(depth);
        self.stack.push(Frame {
            state,
            via,
            items,
            pos: 0,
            sleep,
            only,
        });
    }

    fn path(&self, last: (M::Action, M::State)) -> Path<M> {
        let mut steps: Vec<(M::Action, M::State)> = self.stack[1..]
            .iter()
            .map(|f| {
                (
                    f.via.clone().expect("non-root frames have an action"),
                    f.state.clone(),
                )
            })
            .collect();
        steps.push(last);
        Path {
            init: self.stack[0].state.clone(),
            steps,
        }
    }

    /// A state met for the first time: count, check, open.
    fn fresh(&mut self, action: M::Action, next: M::State, fp: F, sleep: Vec<Slept<M>>) {
        self.sh.states.fetch_add(1, Relaxed);
        if let Some(&p) = self.sh.failing(&next).first() {
            self.found = Some((p, self.path((action, next))));
            return;
        }
        if self.sh.opts.por {
            self.sleeps.insert(fp.into(), sleep.clone());
        }
        self.open(next, fp, Some(action), sleep);
    }

    /// A cached state met again: re-explore what its stored sleep set skipped but `sleep` wants.
    fn again(&mut self, action: M::Action, next: M::State, fp: F, sleep: Vec<Slept<M>>) {
        let Some(stored) = self.sleeps.get(&fp.into()) else {
            return;
        };
        let missing: Vec<M::Action> = stored
            .iter()
            .filter(|s| !contains(&sleep, &s.action))
            .map(|s| s.action.clone())
            .collect();
        if missing.is_empty() {
            return;
        }
        let narrowed = intersect(stored, &sleep);
        self.sleeps.insert(fp.into(), narrowed.clone());
        self.open_only(next, fp, Some(action), narrowed, Some(missing), false);
    }

    /// One step of the search: the next action of the top frame, or pop it.
    fn step(&mut self) {
        let sh = self.sh;
        let top = self.stack.last_mut().expect("step needs a frame");
        let Some(item) = top.items.get(top.pos).cloned() else {
            self.stack.pop();
            return;
        };
        top.pos += 1;
        let skip = (sh.opts.por && contains(&top.sleep, &item.action))
            || top.only.as_ref().is_some_and(|o| !o.contains(&item.action));
        if skip {
            return;
        }
        let Some(next) = sh.model.next_state(&top.state, &item.action) else {
            return;
        };
        sh.transitions.fetch_add(1, Relaxed);
        sh.note_sometimes(&next);
        let sleep = if sh.opts.por {
            let s = child_sleep(&top.sleep, &item);
            top.sleep.push(item.clone());
            s
        } else {
            Vec::new()
        };
        let fp = sh.fingerprint(&next);
        match sh.visited.insert(fp, F::ZERO, 0) {
            Insert::New => self.fresh(item.action, next, fp, sleep),
            _ if sh.opts.por => self.again(item.action, next, fp, sleep),
            _ => {}
        }
    }

    fn search_from(&mut self, init: M::State) {
        let fp = self.sh.fingerprint(&init);
        if self.sh.visited.insert(fp, F::ZERO, 0) != Insert::New {
            return;
        }
        self.sh.states.fetch_add(1, Relaxed);
        self.sh.note_sometimes(&init);
        if let Some(&p) = self.sh.failing(&init).first() {
            let path = Path {
                init,
                steps: Vec::new(),
            };
            self.found = Some((p, path));
            return;
        }
        self.open(init, fp, None, Vec::new());
        let mut n = 0u64;
        while !self.stack.is_empty() && self.found.is_none() && self.incomplete_budget() {
            self.step();
            n += 1;
            if n & 4095 == 0 {
                self.sh.progress(self.depth);
            }
        }
    }

    fn incomplete_budget(&mut self) -> bool {
        match self.sh.out_of_budget() {
            Some(why) => {
                self.incomplete = Some(why);
                false
            }
            None => true,
        }
    }
}

/// Depth-first check of `model`.
pub fn run<M: Model, F: Fp + Into<u128>>(model: &M, opts: &CheckOptions) -> Report<M> {
    let sh = Shared::<M, F>::new(model, opts);
    let mut dfs = Dfs {
        sh: &sh,
        stack: Vec::new(),
        sleeps: BTreeMap::new(),
        incomplete: None,
        depth: 0,
        found: None,
    };
    for init in model.init_states() {
        dfs.search_from(init);
        if dfs.found.is_some() || dfs.incomplete.is_some() && sh.out_of_budget().is_some() {
            break;
        }
    }
    let (depth, incomplete) = (dfs.depth, dfs.incomplete.take());
    let mut report = finish::<M, F>(&sh, depth, incomplete, &[]);
    if let Some((p, path)) = dfs.found.take() {
        report.violations.push(Violation {
            property: sh.props[p].name.clone(),
            path,
        });
        report.outcome = crate::report::Outcome::Violated;
    }
    report
}

//! Level-synchronous breadth-first search on N threads.
//!
//! Each level's frontier is expanded in chunks claimed by the workers; new states go to a list
//! per chunk with their order key (level, parent position, action index), so each list is in key
//! order. After the level, the lists are concatenated in chunk order (the whole next frontier
//! is then in key order, with no sort), and only the entry holding the smallest key of each
//! fingerprint survives: the visited table keeps that smallest key, and an insert that lowers
//! a key marks the entry it replaced stale. So the next frontier, every recorded parent and
//! therefore every counterexample are the same for any thread count.
//! Properties are checked when a state is expanded; a level that finds a violation is finished
//! and the search stops, so the counterexample is a shortest one.

use crate::fingerprint::Fp;
use crate::model::{Expectation, Model, Property};
use crate::report::{verdict, CheckOptions, Path, Progress, Report, Violation};
use crate::visited::{Insert, Visited};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

/// Wall time, only to bound and measure the search (never reaches a model's decision).
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_clock() -> Instant {
    Instant::now()
}

const LEVEL_SHIFT: u32 = 48;
const PARENT_SHIFT: u32 = 16;

fn key(level: u64, parent: usize, action: usize) -> u64 {
    assert!(
        level < 1 << 16 && parent < 1 << 32 && action < 1 << 16,
        "search too wide"
    );
    level << LEVEL_SHIFT | (parent as u64) << PARENT_SHIFT | action as u64
}

/// Everything the workers share.
pub(crate) struct Shared<'a, M: Model, F> {
    pub model: &'a M,
    pub opts: &'a CheckOptions,
    pub props: Vec<Property<M>>,
    pub reached: Vec<AtomicBool>,
    pub visited: Visited<F>,
    pub states: AtomicU64,
    pub transitions: AtomicU64,
    pub stop: AtomicBool,
    pub started: Instant,
    pub terminals: Mutex<Vec<u128>>,
}

impl<'a, M: Model, F: Fp + Into<u128>> Shared<'a, M, F> {
    pub fn new(model: &'a M, opts: &'a CheckOptions) -> Self {
        let props = model.properties();
        let reached = props.iter().map(|_| AtomicBool::new(false)).collect();
        Shared {
            model,
            opts,
            props,
            reached,
            visited: Visited::default(),
            states: AtomicU64::new(0),
            transitions: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            started: wall_clock(),
            terminals: Mutex::new(Vec::new()),
        }
    }

    pub fn fingerprint(&self, s: &M::State) -> F {
        if self.opts.symmetry {
            F::of(&Canonical(self.model, s))
        } else {
            F::of(s)
        }
    }

    /// Marks every not-yet-reached `sometimes` property that holds in `s`.
    pub fn note_sometimes(&self, s: &M::State) {
        for (p, r) in self.props.iter().zip(&self.reached) {
            if p.expectation == Expectation::Sometimes
                && !r.load(Relaxed)
                && (p.holds)(self.model, s)
            {
                r.store(true, Relaxed);
            }
        }
    }

    /// The `always` properties that fail in `s`.
    pub fn failing(&self, s: &M::State) -> Vec<usize> {
        (0..self.props.len())
            .filter(|&i| {
                let p = &self.props[i];
                p.expectation == Expectation::Always && !(p.holds)(self.model, s)
            })
            .collect()
    }

    pub fn terminal(&self, fp: F) {
        if self.opts.collect_terminals {
            self.terminals.lock().expect("poisoned").push(fp.into());
        }
    }

    pub fn progress(&self, depth: u64) {
        if let Some(p) = &self.opts.progress {
            p(Progress {
                states: self.states.load(Relaxed),
                transitions: self.transitions.load(Relaxed),
                depth,
            });
        }
    }

    pub fn sometimes(&self) -> Vec<(String, bool)> {
        self.props
            .iter()
            .zip(&self.reached)
            .filter(|(p, _)| p.expectation == Expectation::Sometimes)
            .map(|(p, r)| (p.name.clone(), r.load(Relaxed)))
            .collect()
    }

    /// Why the search must stop now, if it must.
    pub fn out_of_budget(&self) -> Option<String> {
        let states = self.states.load(Relaxed);
        if let Some(max) = self.opts.max_states.filter(|&m| states >= m) {
            return Some(format!("state bound reached ({states} >= {max} states)"));
        }
        let t = self.opts.time_limit?;
        (self.started.elapsed() >= t).then(|| format!("time bound reached ({t:?})"))
    }
}

/// What one worker gathered in one level.
struct Local<M: Model, F> {
    /// New states per chunk (the chunk's first frontier position, its discoveries in key order).
    chunks: Vec<(usize, Vec<Entry<M, F>>)>,
    /// Entries pushed earlier whose key a smaller one replaced: (fingerprint, old key).
    stale: Vec<(F, u64)>,
    /// New states and transitions not yet added to the shared counters.
    fresh: u64,
    steps: u64,
    violations: Vec<(usize, u64, F)>,
    incomplete: Option<String>,
}

/// One frontier entry: its key, fingerprint and state.
type Entry<M, F> = (u64, F, <M as Model>::State);

fn expand_one<M: Model, F: Fp + Into<u128>>(
    sh: &Shared<'_, M, F>,
    level: u64,
    idx: usize,
    entry: &Entry<M, F>,
    local: &mut Local<M, F>,
    succ: &mut Vec<(M::Action, M::State)>,
    out: &mut Vec<Entry<M, F>>,
) {
    let (k, fp, state) = entry;
    for (p, prop) in sh.props.iter().enumerate() {
        if prop.expectation == Expectation::Always && !(prop.holds)(sh.model, state) {
            local.violations.push((p, *k, *fp));
        }
    }
    sh.note_sometimes(state);
    succ.clear();
    sh.model.successors(state, succ);
    local.steps += succ.len() as u64;
    if succ.is_empty() {
        sh.terminal(*fp);
        return;
    }
    let at_depth_bound = sh.opts.max_depth.is_some_and(|d| level >= d);
    if at_depth_bound || !sh.model.within_bounds(state) {
        let why = if at_depth_bound {
            format!("depth bound {level} reached with successors left")
        } else {
            "a state is outside the model's own bounds".to_string()
        };
        local.incomplete.get_or_insert(why);
        return;
    }
    for (a, (_, next)) in succ.drain(..).enumerate() {
        sh.note_sometimes(&next);
        let nfp = sh.fingerprint(&next);
        let nk = key(level + 1, idx, a);
        match sh.visited.insert(nfp, *fp, nk) {
            Insert::New => {
                local.fresh += 1;
                out.push((nk, nfp, next));
            }
            Insert::Improved(old) => {
                local.stale.push((nfp, old));
                out.push((nk, nfp, next));
            }
            Insert::Seen => {}
        }
    }
}

fn worker<M: Model, F: Fp + Into<u128>>(
    sh: &Shared<'_, M, F>,
    level: u64,
    frontier: &[Entry<M, F>],
    cursor: &AtomicUsize,
    chunk: usize,
) -> Local<M, F> {
    let mut local = Local {
        chunks: Vec::new(),
        stale: Vec::new(),
        fresh: 0,
        steps: 0,
        violations: Vec::new(),
        incomplete: None,
    };
    let mut succ = Vec::new();
    loop {
        let start = cursor.fetch_add(chunk, Relaxed);
        if start >= frontier.len() || sh.stop.load(Relaxed) {
            return local;
        }
        if let Some(why) = sh.out_of_budget() {
            sh.stop.store(true, Relaxed);
            local.incomplete = Some(why);
            return local;
        }
        let end = (start + chunk).min(frontier.len());
        let mut out = Vec::new();
        for (i, e) in frontier[start..end].iter().enumerate() {
            expand_one(sh, level, start + i, e, &mut local, &mut succ, &mut out);
        }
        local.chunks.push((start, out));
        sh.states
            .fetch_add(std::mem::take(&mut local.fresh), Relaxed);
        sh.transitions
            .fetch_add(std::mem::take(&mut local.steps), Relaxed);
        sh.progress(level);
    }
}

/// Expands one level on the configured threads; returns the merged worker results.
fn level<M: Model, F: Fp + Into<u128>>(
    sh: &Shared<'_, M, F>,
    level: u64,
    frontier: &[Entry<M, F>],
) -> Vec<Local<M, F>> {
    let threads = sh.opts.threads.max(1);
    let chunk = (frontier.len() / (threads * 64)).clamp(1, 1024);
    let cursor = AtomicUsize::new(0);
    if threads == 1 {
        return vec![worker(sh, level, frontier, &cursor, chunk)];
    }
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| worker(sh, level, frontier, &cursor, chunk)))
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("a checker thread panicked"))
            .collect()
    })
}

/// The next frontier: every chunk's new states in chunk order (so in key order), without the
/// entries whose key was replaced (one per fingerprint: the one the visited table kept).
fn merge<M: Model, F: Fp>(locals: &mut [Local<M, F>]) -> Vec<Entry<M, F>> {
    let mut chunks: Vec<(usize, Vec<Entry<M, F>>)> = locals
        .iter_mut()
        .flat_map(|l| std::mem::take(&mut l.chunks))
        .collect();
    chunks.sort_unstable_by_key(|c| c.0);
    let mut stale: Vec<(F, u64)> = locals
        .iter_mut()
        .flat_map(|l| std::mem::take(&mut l.stale))
        .collect();
    stale.sort_unstable();
    let mut next = Vec::with_capacity(chunks.iter().map(|c| c.1.len()).sum());
    for (_, c) in chunks {
        if stale.is_empty() {
            next.extend(c);
        } else {
            next.extend(
                c.into_iter()
                    .filter(|e| stale.binary_search(&(e.1, e.0)).is_err()),
            );
        }
    }
    next
}

/// The smallest-key violation of each property found in a level.
fn first_violations<M: Model, F: Fp>(locals: &[Local<M, F>]) -> Vec<(usize, F)> {
    let mut all: Vec<(usize, u64, F)> = locals
        .iter()
        .flat_map(|l| l.violations.iter().copied())
        .collect();
    all.sort_unstable_by_key(|&(p, k, _)| (p, k));
    all.dedup_by_key(|v| v.0);
    all.into_iter().map(|(p, _, fp)| (p, fp)).collect()
}

/// The initial frontier (deduplicated, in order).
fn initial<M: Model, F: Fp + Into<u128>>(sh: &Shared<'_, M, F>) -> Vec<Entry<M, F>> {
    let mut out = Vec::new();
    for (i, s) in sh.model.init_states().into_iter().enumerate() {
        let fp = sh.fingerprint(&s);
        let k = key(0, 0, i);
        if sh.visited.insert(fp, fp, k) == Insert::New {
            sh.states.fetch_add(1, Relaxed);
            out.push((k, fp, s));
        }
    }
    out
}

/// The path to `fp`: parents back to an initial state, then the actions forward.
pub(crate) fn path_to<M: Model, F: Fp + Into<u128>>(sh: &Shared<'_, M, F>, fp: F) -> Path<M> {
    let mut actions = Vec::new();
    let mut cur = fp;
    let init = loop {
        let (parent, k) = sh
            .visited
            .get(cur)
            .expect("every stored state has a parent");
        if k >> LEVEL_SHIFT == 0 {
            break (k & 0xFFFF) as usize;
        }
        actions.push((k & 0xFFFF) as usize);
        cur = parent;
    };
    let init = sh.model.init_states().swap_remove(init);
    let mut path = Path {
        init,
        steps: Vec::new(),
    };
    let mut succ = Vec::new();
    for a in actions.into_iter().rev() {
        succ.clear();
        sh.model.successors(path.last(), &mut succ);
        path.steps.push(succ.swap_remove(a));
    }
    path
}

/// Breadth-first check of `model`.
pub fn run<M: Model, F: Fp + Into<u128>>(model: &M, opts: &CheckOptions) -> Report<M> {
    let sh = Shared::<M, F>::new(model, opts);
    let mut frontier = initial(&sh);
    let mut depth = 0;
    let mut incomplete = None;
    let mut found = Vec::new();
    while !frontier.is_empty() {
        let mut locals = level(&sh, depth, &frontier);
        incomplete = incomplete.or_else(|| locals.iter().find_map(|l| l.incomplete.clone()));
        found = first_violations(&locals);
        frontier = merge(&mut locals);
        if !found.is_empty() || sh.stop.load(Relaxed) {
            break;
        }
        if !frontier.is_empty() {
            depth += 1;
        }
    }
    if incomplete.is_none() && !frontier.is_empty() && found.is_empty() {
        incomplete = sh.out_of_budget();
    }
    finish(&sh, depth, incomplete, &found)
}

pub(crate) fn finish<M: Model, F: Fp + Into<u128>>(
    sh: &Shared<'_, M, F>,
    depth: u64,
    incomplete: Option<String>,
    found: &[(usize, F)],
) -> Report<M> {
    let violations: Vec<Violation<M>> = found
        .iter()
        .map(|&(p, fp)| Violation {
            property: sh.props[p].name.clone(),
            path: path_to(sh, fp),
        })
        .collect();
    let sometimes = sh.sometimes();
    let mut terminals = std::mem::take(&mut *sh.terminals.lock().expect("poisoned"));
    terminals.sort_unstable();
    Report {
        outcome: verdict(!violations.is_empty(), incomplete, &sometimes),
        states: sh.states.load(Relaxed),
        transitions: sh.transitions.load(Relaxed),
        depth,
        elapsed: sh.started.elapsed(),
        sometimes,
        violations,
        terminals,
    }
}

/// A state hashed as its symmetry class (`Model::hash_canonical`).
struct Canonical<'a, M: Model>(&'a M, &'a M::State);

impl<M: Model> std::hash::Hash for Canonical<'_, M> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.hash_canonical(self.1, h);
    }
}

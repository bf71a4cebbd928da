//! Host symmetry for the model checker (`fabcheck explore --symmetry on`): which hosts of a
//! scenario are interchangeable, and a canonical hash of a world state under renaming them.
//!
//! Two hosts are interchangeable when their scenario entries are equal but for the host NQN
//! (same subsystem, listener, keep-alive, AERs and script) and neither NQN appears anywhere
//! else in the scenario. Renaming host `i` to `p[i]` moves its slot to `p[i]`, maps every host
//! index the world keeps (connections, the per-queue table, the fairness waits, a protocol
//! failure) and replaces its NQN by host `p[i]`'s everywhere the NQN's bytes are hashed (the
//! target's controllers and buffers, the host's own state, the pipes' pending bytes).
//! Connection ids, cntlids and arena slots are not renamed: they are handed out in the order
//! events happen, so the renamed state of a reachable state is the state the same events reach
//! with the hosts' roles swapped, with the same ids.
//!
//! The canonical hash of a state is the hash of its renaming with the smallest 64-bit hash
//! (ties: the first permutation in a fixed order), so every member of an orbit gets the same
//! representative up to a 64-bit collision of two renamings (which only costs a missed merge).
//! Equal canonical hashes mean equal renamed contents, so states are merged only with a
//! renaming of themselves.
//!
//! Invariant kept (soundness over reduction): a state where a host NQN's distinguishing bytes
//! are cut across two hashed writes (a PDU split inside a CONNECT's data: a buffer ends inside
//! the name, or a pipe's pending bytes go on from inside it) cannot be renamed faithfully, so it
//! is hashed as itself under a different tag and merged with nothing else. Every byte string is
//! one write (strings, `Vec<u8>` buffers; pipes are written whole here), so a name inside one
//! is seen whole.
//! Assumption, tested by the class count in `models/tests/models4_symmetry.rs`: the core's
//! decisions do not depend on the lexical order of host NQNs.

use super::state::{hash_host, hash_operator};
use super::{Failure, WorldState};
use crate::scenario::Scenario;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// The largest group renamed as a whole (its permutations are enumerated); a larger group is
/// cut in groups of at most this size (a subgroup of the symmetries: sound, less reduction).
const MAX_GROUP: usize = 5;

/// The interchangeable hosts of a scenario and the renamings among them.
#[derive(Debug, Clone)]
pub struct HostSymmetry {
    groups: Vec<Vec<usize>>,
    /// Every host's NQN bytes, by host index.
    names: Vec<Vec<u8>>,
    /// The names in a group, with the first and last byte position where they differ.
    renamed: Vec<(Vec<u8>, usize, usize)>,
    /// Every permutation of the hosts that maps each group to itself (identity first).
    perms: Vec<Vec<usize>>,
}

impl HostSymmetry {
    /// The symmetry of `sc`'s hosts (trivial when no two hosts are interchangeable).
    #[must_use]
    pub fn of(sc: &Scenario) -> HostSymmetry {
        let names: Vec<Vec<u8>> = sc.hosts.iter().map(|h| h.hostnqn.clone().into()).collect();
        let groups = groups(sc);
        let mut renamed = Vec::new();
        for g in &groups {
            let first = &names[g[0]];
            let differs = |i: usize| g.iter().any(|&h| names[h][i] != first[i]);
            let d = (0..first.len()).find(|&i| differs(i)).unwrap_or(0);
            let e = (0..first.len()).rev().find(|&i| differs(i)).unwrap_or(0);
            renamed.extend(g.iter().map(|&h| (names[h].clone(), d, e)));
        }
        let perms = permutations(sc.hosts.len(), &groups);
        HostSymmetry {
            groups,
            names,
            renamed,
            perms,
        }
    }

    /// The groups of interchangeable hosts (each of two or more hosts).
    #[must_use]
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// Hashes `s`'s canonical representative into `h` (see the module docs).
    pub fn hash_canonical<H: Hasher>(&self, s: &WorldState, h: &mut H) {
        if self.perms.len() <= 1 {
            return s.hash(h);
        }
        let mut best: Option<(u64, usize)> = None;
        for (i, p) in self.perms.iter().enumerate() {
            let mut r = self.renaming(DefaultHasher::new(), p);
            s.hash_renamed(p, &mut r);
            if r.cut {
                0u8.hash(h);
                return s.hash(h);
            }
            let v = r.inner.finish();
            if best.is_none_or(|(b, _)| v < b) {
                best = Some((v, i));
            }
        }
        let p = &self.perms[best.map_or(0, |(_, i)| i)];
        1u8.hash(h);
        let mut r = self.renaming(h, p);
        s.hash_renamed(p, &mut r);
    }

    fn renaming<H: Hasher>(&self, inner: H, p: &[usize]) -> Renaming<'_, H> {
        let map = (0..p.len())
            .filter(|&i| p[i] != i)
            .map(|i| (self.names[i].as_slice(), self.names[p[i]].as_slice()))
            .collect();
        Renaming {
            inner,
            map,
            names: &self.renamed,
            cut: false,
            pipe: false,
        }
    }
}

/// The groups of interchangeable hosts of `sc`.
fn groups(sc: &Scenario) -> Vec<Vec<usize>> {
    let mut rest = sc.clone();
    rest.hosts.clear();
    let elsewhere = format!("{rest:?}");
    let ok = |i: usize| {
        let n = &sc.hosts[i].hostnqn;
        !n.is_empty() && !elsewhere.contains(n.as_str())
    };
    let same = |i: usize, j: usize| {
        let mut a = sc.hosts[i].clone();
        a.hostnqn.clone_from(&sc.hosts[j].hostnqn);
        a == sc.hosts[j] && sc.hosts[i].hostnqn.len() == sc.hosts[j].hostnqn.len()
    };
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in (0..sc.hosts.len()).filter(|&i| ok(i)) {
        match out
            .iter_mut()
            .find(|g| same(g[0], i) && g.len() < MAX_GROUP)
        {
            Some(g) => g.push(i),
            None => out.push(vec![i]),
        }
    }
    out.retain(|g| g.len() > 1);
    let names: Vec<&[u8]> = out
        .iter()
        .flatten()
        .map(|&h| sc.hosts[h].hostnqn.as_bytes())
        .collect();
    if names.iter().any(|a| names.iter().any(|b| border(a, b))) {
        return Vec::new();
    }
    out
}

/// Whether a proper suffix of `a` is a prefix of `b` (occurrences could overlap).
fn border(a: &[u8], b: &[u8]) -> bool {
    (1..a.len().min(b.len())).any(|k| a[a.len() - k..] == b[..k])
}

/// Every permutation of `0..n` that maps each group to itself, identity first.
fn permutations(n: usize, groups: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut out = vec![(0..n).collect::<Vec<usize>>()];
    for g in groups {
        let mut next = Vec::new();
        for base in &out {
            for order in orders(g.len()) {
                let mut p = base.clone();
                for (k, &o) in order.iter().enumerate() {
                    p[g[k]] = g[o];
                }
                next.push(p);
            }
        }
        out = next;
    }
    out
}

/// Every ordering of `0..k`, identity first (lexicographic).
fn orders(k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for first in 0..k {
        for rest in orders(k - 1) {
            let mut o = vec![first];
            o.extend(rest.into_iter().map(|r| if r >= first { r + 1 } else { r }));
            out.push(o);
        }
    }
    out
}

/// A hasher that replaces host NQNs in every byte string written through it, and notices an
/// NQN's distinguishing bytes cut across two writes.
struct Renaming<'a, H> {
    inner: H,
    map: Vec<(&'a [u8], &'a [u8])>,
    names: &'a [(Vec<u8>, usize, usize)],
    cut: bool,
    /// A pipe's pending bytes are being written.
    pipe: bool,
}

impl<H: Hasher> Renaming<'_, H> {
    /// Whether `bytes` ends with a proper piece of a name that holds one of the bytes where the
    /// names of its group differ, or, for a pipe's pending bytes (which go on where the
    /// receiver's buffer stopped), starts with one.
    fn cut_piece(&self, bytes: &[u8]) -> bool {
        self.names.iter().any(|(n, d, e)| {
            let l = n.len();
            (1..l.min(bytes.len() + 1)).any(|k| {
                (k > *d && bytes.ends_with(&n[..k]))
                    || (self.pipe && l - k <= *e && bytes.starts_with(&n[l - k..]))
            })
        })
    }

    fn replace(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        let mut i = 0;
        while i < bytes.len() {
            let hit = self
                .map
                .iter()
                .find(|(from, _)| bytes[i..].starts_with(from));
            match hit {
                Some((from, to)) => {
                    out.get_or_insert_with(|| bytes[..i].to_vec())
                        .extend_from_slice(to);
                    i += from.len();
                }
                None => {
                    if let Some(o) = out.as_mut() {
                        o.push(bytes[i]);
                    }
                    i += 1;
                }
            }
        }
        out
    }
}

impl<H: Hasher> Hasher for Renaming<'_, H> {
    fn finish(&self) -> u64 {
        self.inner.finish()
    }
    fn write(&mut self, bytes: &[u8]) {
        if !self.cut && self.cut_piece(bytes) {
            self.cut = true;
        }
        match self.replace(bytes) {
            Some(r) => self.inner.write(&r),
            None => self.inner.write(bytes),
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.inner.write_u8(i);
    }
    fn write_u16(&mut self, i: u16) {
        self.inner.write_u16(i);
    }
    fn write_u32(&mut self, i: u32) {
        self.inner.write_u32(i);
    }
    fn write_u64(&mut self, i: u64) {
        self.inner.write_u64(i);
    }
    fn write_u128(&mut self, i: u128) {
        self.inner.write_u128(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.inner.write_usize(i);
    }
}

/// Host-indexed actor classes (`enabled.rs`: a host's script step, a host's timer).
const HOST_ACTOR_CLASSES: [u64; 2] = [6, 7];

impl WorldState {
    /// Hashes the state as `Hash` does, with host `i` renamed to `p[i]` (the NQNs are renamed
    /// by `h`); pipes are hashed as one byte string each, so an NQN in them is seen whole.
    fn hash_renamed<H: Hasher>(&self, p: &[usize], h: &mut Renaming<'_, H>) {
        self.now.hash(h);
        self.target.hash_state(h);
        let mut inv = vec![0; p.len()];
        for (i, &j) in p.iter().enumerate() {
            inv[j] = i;
        }
        for &i in &inv {
            hash_host(&self.hosts[i], h);
        }
        self.conns.len().hash(h);
        for (c, k) in &self.conns {
            (c, p[k.host], k.qid, k.host_open, k.target_open).hash(h);
            h.pipe = true;
            k.to_target.hash_whole(h);
            k.to_host.hash_whole(h);
            h.pipe = false;
        }
        let mut by_queue: Vec<_> = self
            .by_queue
            .iter()
            .map(|(&(host, qid), c)| ((p[host], qid), *c))
            .collect();
        by_queue.sort_unstable();
        by_queue.hash(h);
        hash_operator(self, h);
        (self.next_conn, self.next_rpc, self.stage, self.faults_left).hash(h);
        match &self.failure {
            Some(Failure::Protocol { host, reason }) => (1u8, p[*host], reason).hash(h),
            other => (0u8, other.as_ref().map(ToString::to_string)).hash(h),
        }
        let mut waits: Vec<(u64, u32)> = self
            .waits
            .entries()
            .map(|(a, w)| {
                let (class, id) = (a >> 40, a & 0xFF_FFFF_FFFF);
                match usize::try_from(id) {
                    Ok(i) if HOST_ACTOR_CLASSES.contains(&class) && i < p.len() => {
                        (class << 40 | p[i] as u64, w)
                    }
                    _ => (a, w),
                }
            })
            .collect();
        waits.sort_unstable();
        waits.hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_stay_inside_groups() {
        let p = permutations(4, &[vec![1, 3]]);
        assert_eq!(p, vec![vec![0, 1, 2, 3], vec![0, 3, 2, 1]]);
        assert_eq!(permutations(3, &[vec![0, 1, 2]]).len(), 6);
        assert_eq!(orders(3)[0], vec![0, 1, 2]);
    }

    #[test]
    fn names_are_replaced_whole_and_cut_pieces_are_noticed() {
        let names = vec![(b"nqn:host1".to_vec(), 8, 8), (b"nqn:host2".to_vec(), 8, 8)];
        let mut r = Renaming {
            inner: DefaultHasher::new(),
            map: vec![
                (&b"nqn:host1"[..], &b"nqn:host2"[..]),
                (&b"nqn:host2"[..], &b"nqn:host1"[..]),
            ],
            names: &names,
            cut: false,
            pipe: false,
        };
        assert_eq!(
            r.replace(b"a nqn:host1 b nqn:host2"),
            Some(b"a nqn:host2 b nqn:host1".to_vec())
        );
        assert_eq!(r.replace(b"nothing"), None);
        assert!(!r.cut_piece(b"x nqn:host1"));
        assert!(!r.cut_piece(b"x nqn:ho"), "the shared prefix names nobody");
        assert!(
            !r.cut_piece(b"1 and more"),
            "a buffer may start with anything"
        );
        r.pipe = true;
        assert!(
            r.cut_piece(b"1 and more"),
            "a pipe going on after the distinguishing byte"
        );
        assert!(!border(b"nqn:host1", b"nqn:host2"));
        assert!(border(b"abab", b"abab"));
    }
}

//! What makes every policy O(log n) per pick and per load change: load counts that journal
//! their changes ([`Loads`]), eligible sets that carry an identity ([`Eligible`]), and a min
//! tree over backend indices ([`MinTree`]) that a policy keeps in step with both ([`Ranked`]).
//!
//! A policy never scans the fleet at a pick: it applies the few load changes since its last
//! pick to its tree (O(log n) each) and descends the tree (O(log n)). The tree is rebuilt
//! (O(n)) only when the eligible set changes — a health transition, an ejection, a scaling
//! step — or when the policy fell so far behind that the journal was cut.

use std::sync::atomic::{AtomicU64, Ordering};

/// Identities of load vectors and eligible sets: only compared for equality (never shape a
/// result), unique within the process so that a policy never mistakes one set for another.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Per-backend counts (a balancer's in-flight requests, a pool's occupancy) that remember
/// which backends changed, so that indexes over them catch up in O(changes · log n).
#[derive(Debug)]
pub struct Loads {
    values: Vec<u32>,
    /// Backends changed since position `base` of the change sequence.
    journal: Vec<u32>,
    /// Number of changes dropped from the journal's front.
    base: u64,
    id: u64,
}

impl Clone for Loads {
    /// A copy is a different vector (it will change on its own): a new identity.
    fn clone(&self) -> Self {
        Loads {
            values: self.values.clone(),
            journal: Vec::new(),
            base: 0,
            id: fresh_id(),
        }
    }
}

impl Loads {
    /// `n` zero counts.
    pub fn new(n: usize) -> Self {
        Loads::from(vec![0; n])
    }

    /// The counts as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[u32] {
        &self.values
    }

    #[inline]
    fn changed(&mut self, i: usize) {
        // Bounded: once the journal outgrows the fleet, an index that still needs it is better
        // off rebuilding, and one that kept up loses nothing.
        if self.journal.len() >= self.values.len().max(32) * 2 {
            self.base += self.journal.len() as u64;
            self.journal.clear();
        }
        self.journal.push(i as u32);
    }

    /// Adds one to backend `i`'s count.
    #[inline]
    pub fn inc(&mut self, i: usize) {
        self.values[i] += 1;
        self.changed(i);
    }

    /// Sets backend `i`'s count.
    #[inline]
    pub fn set(&mut self, i: usize, v: u32) {
        self.values[i] = v;
        self.changed(i);
    }

    /// The position after the last change, and the changes from `from` on, or `None` if
    /// some of them were dropped (or `from` is another vector's position).
    #[inline]
    fn since(&self, id: u64, from: u64) -> Option<&[u32]> {
        if id != self.id || from < self.base {
            return None;
        }
        self.journal.get((from - self.base) as usize..)
    }

    #[inline]
    fn end(&self) -> u64 {
        self.base + self.journal.len() as u64
    }
}

impl From<Vec<u32>> for Loads {
    fn from(values: Vec<u32>) -> Self {
        Loads {
            values,
            journal: Vec::new(),
            base: 0,
            id: fresh_id(),
        }
    }
}

impl From<&[u32]> for Loads {
    fn from(values: &[u32]) -> Self {
        Loads::from(values.to_vec())
    }
}

impl std::ops::Deref for Loads {
    type Target = [u32];
    #[inline]
    fn deref(&self) -> &[u32] {
        &self.values
    }
}

impl PartialEq<Vec<u32>> for Loads {
    fn eq(&self, other: &Vec<u32>) -> bool {
        self.values == *other
    }
}

/// A set of backend indices, ascending, with an identity that changes whenever the set does
/// (a policy compares identities in O(1), not contents, to know whether its state still
/// applies; an unchanged set keeps its identity, as if compared by content).
#[derive(Clone, Debug)]
pub struct Eligible {
    ids: Vec<u32>,
    id: u64,
    spare: Vec<u32>,
}

impl Eligible {
    /// Replaces the set (`ids` ascending); O(n), on eligibility changes only.
    pub fn replace(&mut self, ids: impl IntoIterator<Item = u32>) {
        self.spare.clear();
        self.spare.extend(ids);
        debug_assert!(self.spare.is_sorted());
        if self.id == 0 || self.spare != self.ids {
            std::mem::swap(&mut self.spare, &mut self.ids);
            self.id = fresh_id();
        }
    }

    /// Its identity.
    #[inline]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The position of backend `b` in the set, if it is in it.
    #[inline]
    pub fn position(&self, b: u32) -> Option<usize> {
        self.ids.binary_search(&b).ok()
    }
}

impl From<Vec<u32>> for Eligible {
    fn from(ids: Vec<u32>) -> Self {
        let mut e = Eligible {
            ids: Vec::new(),
            id: 0,
            spare: Vec::new(),
        };
        e.replace(ids);
        e
    }
}

impl From<&[u32]> for Eligible {
    fn from(ids: &[u32]) -> Self {
        Eligible::from(ids.to_vec())
    }
}

impl std::ops::Deref for Eligible {
    type Target = [u32];
    #[inline]
    fn deref(&self) -> &[u32] {
        &self.ids
    }
}

impl<'a> IntoIterator for &'a Eligible {
    type Item = &'a u32;
    type IntoIter = std::slice::Iter<'a, u32>;
    fn into_iter(self) -> Self::IntoIter {
        self.ids.iter()
    }
}

impl PartialEq<[u32]> for Eligible {
    fn eq(&self, other: &[u32]) -> bool {
        self.ids == other
    }
}

impl<const N: usize> PartialEq<[u32; N]> for Eligible {
    fn eq(&self, other: &[u32; N]) -> bool {
        self.ids == other
    }
}

/// A key of a [`MinTree`]: totally ordered, with a greatest value for absent leaves.
pub trait Key: Copy + Ord + std::fmt::Debug {
    /// The key of a leaf that is not in the set (greater than every other).
    const ABSENT: Self;
}

impl Key for u64 {
    const ABSENT: u64 = u64::MAX;
}

/// A load per unit of weight, `load / weight`, compared exactly (by cross-multiplication).
#[derive(Clone, Copy, Debug)]
pub struct Ratio {
    pub load: u64,
    pub weight: u64,
}

impl Ord for Ratio {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.load) * u128::from(other.weight))
            .cmp(&(u128::from(other.load) * u128::from(self.weight)))
    }
}

impl PartialOrd for Ratio {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ratio {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Ratio {}

impl Key for Ratio {
    /// 1/0: more than any load per positive weight.
    const ABSENT: Ratio = Ratio { load: 1, weight: 0 };
}

/// A tournament tree over `n` leaves: the least key, and the first leaf at or after a
/// position whose key is at most a bound, both in O(log n). Absent leaves hold [`Key::ABSENT`].
#[derive(Clone, Debug)]
pub struct MinTree<K = u64> {
    /// Leaves at `size..2·size`; node `k` holds the least key below it.
    node: Vec<K>,
    size: usize,
}

impl<K: Key> Default for MinTree<K> {
    fn default() -> Self {
        MinTree::new(0)
    }
}

impl<K: Key> MinTree<K> {
    /// A tree of `n` absent leaves.
    pub fn new(n: usize) -> Self {
        let size = n.max(1).next_power_of_two();
        MinTree {
            node: vec![K::ABSENT; 2 * size],
            size,
        }
    }

    /// Sets every leaf at once (O(n)).
    pub fn fill(&mut self, n: usize, mut key: impl FnMut(usize) -> K) {
        let size = n.max(1).next_power_of_two();
        if size != self.size {
            *self = MinTree::new(n);
        }
        for i in 0..self.size {
            self.node[self.size + i] = if i < n { key(i) } else { K::ABSENT };
        }
        for k in (1..self.size).rev() {
            self.node[k] = self.node[2 * k].min(self.node[2 * k + 1]);
        }
    }

    /// Sets leaf `i`'s key.
    #[inline]
    pub fn set(&mut self, i: usize, key: K) {
        let mut k = self.size + i;
        if self.node[k] == key {
            return;
        }
        self.node[k] = key;
        while k > 1 {
            k /= 2;
            let m = self.node[2 * k].min(self.node[2 * k + 1]);
            if self.node[k] == m {
                break;
            }
            self.node[k] = m;
        }
    }

    /// The least key.
    #[inline]
    pub fn min(&self) -> K {
        self.node[1]
    }

    /// The first leaf at or after `start` whose key is at most `bound`.
    pub fn first_at_most(&self, start: usize, bound: K) -> Option<usize> {
        if start >= self.size {
            return None;
        }
        // Climb from the leaf until a right sibling subtree (or the leaf itself) qualifies,
        // then descend to its first qualifying leaf.
        let mut k = self.size + start;
        if self.node[k] > bound {
            loop {
                // Move to the next subtree to the right at this level.
                while k & 1 == 1 {
                    k /= 2;
                    if k <= 1 {
                        return None;
                    }
                }
                k += 1;
                if self.node[k] <= bound {
                    break;
                }
            }
        }
        while k < self.size {
            k = if self.node[2 * k] <= bound {
                2 * k
            } else {
                2 * k + 1
            };
        }
        Some(k - self.size)
    }

    /// The first leaf at or after `start`, cyclically, whose key is the least.
    #[inline]
    pub fn first_min_from(&self, start: usize) -> usize {
        let m = self.min();
        self.first_at_most(start, m)
            .or_else(|| self.first_at_most(0, m))
            .unwrap_or(0)
    }
}

/// A [`MinTree`] over one eligible set, kept in step with a [`Loads`] through its journal.
#[derive(Clone, Debug)]
pub struct Ranked<K = u64> {
    pub tree: MinTree<K>,
    /// Whether each backend is in the set the tree was built for.
    member: Vec<bool>,
    eligible: u64,
    loads: u64,
    cursor: u64,
    /// When it was last used (to evict the least recently used of several).
    pub used: u64,
}

impl<K: Key> Default for Ranked<K> {
    fn default() -> Self {
        Ranked {
            tree: MinTree::default(),
            member: Vec::new(),
            eligible: 0,
            loads: 0,
            cursor: 0,
            used: 0,
        }
    }
}

impl<K: Key> Ranked<K> {
    /// Brings the tree up to date with `eligible` and `loads`, keying backend `b` by `key(b)`;
    /// returns whether it had to be rebuilt.
    #[inline]
    pub fn sync(
        &mut self,
        eligible: &Eligible,
        loads: &Loads,
        mut key: impl FnMut(usize) -> K,
    ) -> bool {
        if self.eligible == eligible.id()
            && let Some(changes) = loads.since(self.loads, self.cursor)
        {
            for &b in changes {
                let b = b as usize;
                if self.member[b] {
                    self.tree.set(b, key(b));
                }
            }
            self.cursor = loads.end();
            return false;
        }
        let n = loads.len();
        self.member.clear();
        self.member.resize(n, false);
        for &b in eligible.iter() {
            self.member[b as usize] = true;
        }
        let member = &self.member;
        self.tree
            .fill(n, |b| if member[b] { key(b) } else { K::ABSENT });
        self.eligible = eligible.id();
        self.loads = loads.id;
        self.cursor = loads.end();
        true
    }

    /// Re-keys backend `b` if it is in the set (a change the loads do not journal: a latency
    /// estimate).
    #[inline]
    pub fn rekey(&mut self, b: usize, key: K) {
        if self.member.get(b).copied().unwrap_or(false) {
            self.tree.set(b, key);
        }
    }

    /// Whether it was built for `eligible`.
    #[inline]
    pub fn is_for(&self, eligible: &Eligible) -> bool {
        self.eligible == eligible.id()
    }
}

/// Up to three [`Ranked`] trees, one per eligible set a policy is asked about (the whole set,
/// and, zone-aware, the local and the remote part), so that alternating between them does not
/// rebuild.
#[derive(Clone, Debug)]
pub struct RankedSets<K = u64> {
    sets: Vec<Ranked<K>>,
    clock: u64,
}

impl<K: Key> Default for RankedSets<K> {
    fn default() -> Self {
        RankedSets {
            sets: Vec::new(),
            clock: 0,
        }
    }
}

impl<K: Key> RankedSets<K> {
    /// The tree for `eligible`, up to date with `loads`.
    #[inline]
    pub fn get(
        &mut self,
        eligible: &Eligible,
        loads: &Loads,
        key: impl FnMut(usize) -> K,
    ) -> &MinTree<K> {
        self.clock += 1;
        let i = match self.sets.iter().position(|r| r.is_for(eligible)) {
            Some(i) => i,
            None if self.sets.len() < 3 => {
                self.sets.push(Ranked::default());
                self.sets.len() - 1
            }
            None => (0..self.sets.len())
                .min_by_key(|&i| self.sets[i].used)
                .unwrap_or(0),
        };
        let r = &mut self.sets[i];
        r.used = self.clock;
        r.sync(eligible, loads, key);
        &r.tree
    }

    /// Re-keys backend `b` in every tree that has it.
    #[inline]
    pub fn rekey(&mut self, b: usize, key: K) {
        for r in &mut self.sets {
            r.rekey(b, key);
        }
    }
}

/// The key of a non-negative float: its bits, which order as the values do.
#[inline]
pub fn float_key(x: f64) -> u64 {
    debug_assert!(x >= 0.0, "{x}");
    (x + 0.0).to_bits()
}

/// Picks the least-keyed backend of `eligible`, ties going to the first at or after position
/// `*next` cyclically (then `*next` moves past it): what a cyclic scan with a strict `<`
/// does, in O(log n).
#[inline]
pub fn least_from<K: Key>(tree: &MinTree<K>, eligible: &Eligible, next: &mut usize) -> usize {
    let n = eligible.len();
    let start = eligible[*next % n] as usize;
    let b = tree.first_min_from(start);
    let pos = eligible.position(b as u32).unwrap_or(0);
    *next = pos + 1;
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::argmin_from;

    #[test]
    fn the_tree_finds_the_first_leaf_at_most_a_bound() {
        let keys = [5u64, 3, 9, 3, 7, 1, 4];
        let mut t = MinTree::new(keys.len());
        t.fill(keys.len(), |i| keys[i]);
        assert_eq!(t.min(), 1);
        for start in 0..10 {
            for bound in 0..10 {
                let want = (start..keys.len()).find(|&i| keys[i] <= bound);
                assert_eq!(t.first_at_most(start, bound), want, "{start} {bound}");
            }
        }
        t.set(5, 8);
        assert_eq!(t.min(), 3);
        assert_eq!(t.first_min_from(2), 3);
        assert_eq!(t.first_min_from(4), 1);
    }

    #[test]
    fn least_from_reproduces_the_cyclic_scan() {
        // Random loads and eligible subsets: the tree's pick and the scan's agree pick by pick.
        let mut rng = sim_core::StreamKey::new(3, 0).stream("test");
        for n in [1usize, 2, 3, 7, 16, 33] {
            let mut loads = Loads::new(n);
            let mut sets = RankedSets::default();
            let mut next_tree = 0;
            let mut next_scan = 0;
            let mut eligible = Eligible::from((0..n as u32).collect::<Vec<_>>());
            for step in 0..2000 {
                if step % 97 == 0 {
                    let ids: Vec<u32> = (0..n as u32).filter(|_| rng.below(3) > 0).collect();
                    if !ids.is_empty() {
                        eligible.replace(ids);
                    }
                }
                let values = loads.as_slice().to_vec();
                let t = sets.get(&eligible, &loads, |b| u64::from(values[b]));
                let b = least_from(t, &eligible, &mut next_tree);
                let i = argmin_from(loads.as_slice(), &eligible, next_scan);
                next_scan = i + 1;
                assert_eq!(b, eligible[i] as usize, "n = {n}, step {step}");
                loads.inc(b);
                let other = rng.below(n as u32) as usize;
                if loads[other] > 0 && rng.below(2) == 0 {
                    let v = loads[other] - 1;
                    loads.set(other, v);
                }
            }
        }
    }
}

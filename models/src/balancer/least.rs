//! Least-loaded policies over this balancer's own in-flight counts: full scan (least
//! connections, HAProxy `leastconn` / NGINX `least_conn`) and sampled (power of d choices,
//! Envoy `LEAST_REQUEST`).

use super::index::{RankedSets, least_from};
use super::{Balance, LoadView};
use sim_core::Stream;

/// Fewest in-flight requests; ties broken round robin (as HAProxy and NGINX do). The counts
/// are kept in a min tree (HAProxy keeps an ordered tree too): O(log n) per pick and change.
#[derive(Clone, Debug, Default)]
pub struct LeastConnections {
    next: usize,
    ranked: RankedSets,
}

impl Balance for LeastConnections {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let in_flight = view.in_flight;
        let tree = (self.ranked).get(view.eligible, in_flight, |b| u64::from(in_flight[b]));
        least_from(tree, view.eligible, &mut self.next)
    }
}

/// Samples `choices` distinct backends uniformly and picks the one with the fewest in-flight
/// requests; among equals, the one sampled first.
#[derive(Clone, Debug)]
pub struct LeastRequest {
    choices: usize,
    /// A permutation of `0..n`; a partial Fisher–Yates shuffle of its prefix draws the sample
    /// without allocating, and any permutation is as good a starting point as another.
    perm: Perm,
}

/// A permutation of `0..len` that goes back to the identity in O(1) (a new epoch: entries
/// stamped with an older one read as the identity), so that a set whose size changes — a
/// zone's local and remote parts in turn — costs O(d) per draw, not O(n).
#[derive(Clone, Debug)]
pub(crate) struct Perm {
    len: usize,
    value: Vec<u32>,
    stamp: Vec<u32>,
    epoch: u32,
}

impl Perm {
    /// The identity on `0..len`.
    pub(crate) fn identity(len: usize) -> Self {
        Perm {
            len,
            value: vec![0; len],
            stamp: vec![0; len],
            epoch: 1,
        }
    }

    /// Its length.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Becomes the identity on `0..len`.
    #[inline]
    pub(crate) fn reset(&mut self, len: usize) {
        if self.value.len() < len {
            self.value.resize(len, 0);
            self.stamp.resize(len, 0);
        }
        self.len = len;
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.fill(0);
            self.epoch = 1;
        }
    }

    /// Entry `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> u32 {
        debug_assert!(i < self.len);
        if self.stamp[i] == self.epoch {
            self.value[i]
        } else {
            i as u32
        }
    }

    /// Swaps entries `i` and `j`.
    #[inline]
    pub(crate) fn swap(&mut self, i: usize, j: usize) {
        let (a, b) = (self.get(i), self.get(j));
        (self.value[i], self.stamp[i]) = (b, self.epoch);
        (self.value[j], self.stamp[j]) = (a, self.epoch);
    }
}

impl LeastRequest {
    /// d = `choices` (capped at `n`) among `n` backends.
    pub fn new(choices: usize, n: usize) -> Self {
        LeastRequest {
            choices: choices.clamp(1, n.max(1)),
            perm: Perm::identity(n),
        }
    }
}

impl Balance for LeastRequest {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        let n = view.eligible.len();
        if self.perm.len() != n {
            // The eligible set changed size (a health transition, or a zone's other part in
            // turn): the identity again, in O(1).
            self.perm.reset(n);
        }
        let mut best = usize::MAX;
        let mut best_v = u32::MAX;
        for k in 0..self.choices.min(n) {
            let j = k + rng.below((n - k) as u32) as usize;
            self.perm.swap(k, j);
            let b = view.eligible[self.perm.get(k) as usize] as usize;
            if view.in_flight[b] < best_v {
                best = b;
                best_v = view.in_flight[b];
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_permutation_is_a_vec_permutation_reset_in_o1() {
        let mut rng = sim_core::StreamKey::new(4, 0).stream("test");
        let mut p = Perm::identity(5);
        let mut v: Vec<u32> = (0..5).collect();
        for _ in 0..5000 {
            if rng.below(20) == 0 {
                let n = 1 + rng.below(40) as usize;
                p.reset(n);
                v = (0..n as u32).collect();
            }
            let (i, j) = (rng.below(v.len() as u32), rng.below(v.len() as u32));
            p.swap(i as usize, j as usize);
            v.swap(i as usize, j as usize);
            assert!((0..v.len()).all(|k| p.get(k) == v[k]));
        }
    }
}

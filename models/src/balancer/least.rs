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
    perm: Vec<u32>,
}

impl LeastRequest {
    /// d = `choices` (capped at `n`) among `n` backends.
    pub fn new(choices: usize, n: usize) -> Self {
        LeastRequest {
            choices: choices.clamp(1, n.max(1)),
            perm: (0..n as u32).collect(),
        }
    }
}

impl Balance for LeastRequest {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        let n = view.eligible.len();
        if self.perm.len() != n {
            // The eligible set changed size (a health transition, rare): positions anew.
            self.perm.clear();
            self.perm.extend(0..n as u32);
        }
        let mut best = usize::MAX;
        let mut best_v = u32::MAX;
        for k in 0..self.choices.min(n) {
            let j = k + rng.below((n - k) as u32) as usize;
            self.perm.swap(k, j);
            let b = view.eligible[self.perm[k] as usize] as usize;
            if view.in_flight[b] < best_v {
                best = b;
                best_v = view.in_flight[b];
            }
        }
        best
    }
}

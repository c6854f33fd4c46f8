//! Weighted least-loaded policies: least connections with weights (NGINX `least_conn`, HAProxy
//! `leastconn`) and Envoy's `LEAST_REQUEST` with all its options (sampling with replacement,
//! weights, `active_request_bias`).

use super::index::{RankedSets, Ratio, float_key, least_from};
use super::least::Perm;
use super::weighted::EligibleCache;
use super::{Balance, LoadView};
use sim_core::Stream;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Smallest in-flight/weight among the eligible backends, compared as integer cross products
/// (`a.in_flight × b.weight < b.in_flight × a.weight`, NGINX's test); ties broken round robin
/// (HAProxy and NGINX with equal weights). The ratios are kept in a min tree: O(log n) per pick
/// and per load change.
#[derive(Clone, Debug)]
pub struct WeightedLeastConnections {
    weights: Vec<u32>,
    next: usize,
    ranked: RankedSets<Ratio>,
}

impl WeightedLeastConnections {
    /// With `weights[b]` for backend `b` (each > 0).
    pub fn new(weights: Vec<u32>) -> Self {
        WeightedLeastConnections {
            weights,
            next: 0,
            ranked: RankedSets::default(),
        }
    }
}

impl Balance for WeightedLeastConnections {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let (in_flight, weights) = (view.in_flight, &self.weights);
        let tree = self.ranked.get(view.eligible, in_flight, |b| Ratio {
            load: u64::from(in_flight[b]),
            weight: u64::from(weights[b]),
        });
        least_from(tree, view.eligible, &mut self.next)
    }
}

/// Envoy `LEAST_REQUEST` (`load_balancer_impl.cc`, `LeastRequestLoadBalancer`).
///
/// - Equal weights among the eligible backends (or none given): sample `choices` backends and
///   keep the first with the fewest in-flight requests. Envoy samples *with* replacement
///   (`random() % hosts` per choice); `replacement: false` samples distinct backends, as hasim's
///   plain `LeastRequest` does.
/// - Unequal weights: Envoy's earliest-deadline-first weighted round robin
///   (`EdfScheduler::pickAndAdd`) where a backend re-enters the schedule after its pick with the
///   effective weight `weight / (in_flight + 1)^active_request_bias`, computed at that moment
///   (before the new request is counted, as Envoy's `rq_active` is incremented later); deadlines
///   advance by 1/weight, ties go to the earlier insertion. The schedule is rebuilt when the
///   eligible set changes (Envoy rebuilds on host-set changes). Envoy also starts the schedule at
///   a random offset; hasim does not. Envoy keeps the entries in a heap; hasim scans them
///   (O(n) per pick, no allocation), which picks the same entry.
#[derive(Clone, Debug)]
pub struct EnvoyLeastRequest {
    choices: usize,
    replacement: bool,
    weights: Option<Vec<u32>>,
    bias: f64,
    perm: Perm,
    cache: EligibleCache,
    /// Unequal weights among the eligible backends: EDF mode.
    edf: bool,
    /// EDF entries, one per eligible position: (deadline's bits, insertion order, position),
    /// earliest first (the order breaks ties: FIFO among equal deadlines).
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    edf_now: f64,
    next_order: u64,
}

impl EnvoyLeastRequest {
    /// `choices` ≥ 1 samples; `weights[b]` > 0 per backend if given; `bias` ≥ 0.
    pub fn new(choices: usize, replacement: bool, weights: Option<Vec<u32>>, bias: f64) -> Self {
        EnvoyLeastRequest {
            choices: choices.max(1),
            replacement,
            weights,
            bias,
            perm: Perm::identity(0),
            cache: EligibleCache::default(),
            edf: false,
            heap: BinaryHeap::new(),
            edf_now: 0.0,
            next_order: 0,
        }
    }

    /// Envoy's `hostWeight`: weight / (active + 1)^bias.
    #[inline]
    fn host_weight(&self, b: usize, in_flight: u32) -> f64 {
        let w = self.weights.as_ref().map_or(1, |w| w[b]) as f64;
        let active = f64::from(in_flight) + 1.0;
        if self.bias == 1.0 {
            w / active
        } else if self.bias == 0.0 {
            w
        } else {
            w / libm::pow(active, self.bias)
        }
    }

    fn rebuild(&mut self, view: &LoadView<'_>) {
        let n = view.eligible.len();
        self.perm.reset(n);
        self.edf = self.weights.as_ref().is_some_and(|w| {
            let first = w[view.eligible[0] as usize];
            view.eligible.iter().any(|&b| w[b as usize] != first)
        });
        if self.edf {
            self.edf_now = 0.0;
            self.heap.clear();
            for (i, &b) in view.eligible.iter().enumerate() {
                let w = self.host_weight(b as usize, view.in_flight[b as usize]);
                let entry = (float_key(self.edf_now + 1.0 / w), self.next_order, i as u32);
                self.heap.push(Reverse(entry));
                self.next_order += 1;
            }
        }
    }
}

impl Balance for EnvoyLeastRequest {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        if self.cache.changed(view.eligible) {
            self.rebuild(view);
        }
        let n = view.eligible.len();
        if self.edf {
            // The earliest deadline, first inserted among equals: O(log n).
            let Some(Reverse((d, _, best))) = self.heap.pop() else {
                unreachable!("invariant: one EDF entry per eligible backend")
            };
            self.edf_now = f64::from_bits(d);
            let b = view.eligible[best as usize] as usize;
            let w = self.host_weight(b, view.in_flight[b]);
            let entry = (float_key(self.edf_now + 1.0 / w), self.next_order, best);
            self.heap.push(Reverse(entry));
            self.next_order += 1;
            return b;
        }
        let mut best = usize::MAX;
        let mut best_v = u32::MAX;
        if self.replacement {
            for _ in 0..self.choices {
                let b = view.eligible[rng.below(n as u32) as usize] as usize;
                if best == usize::MAX || view.in_flight[b] < best_v {
                    best = b;
                    best_v = view.in_flight[b];
                }
            }
        } else {
            for k in 0..self.choices.min(n) {
                let j = k + rng.below((n - k) as u32) as usize;
                self.perm.swap(k, j);
                let b = view.eligible[self.perm.get(k) as usize] as usize;
                if best == usize::MAX || view.in_flight[b] < best_v {
                    best = b;
                    best_v = view.in_flight[b];
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::LeastRequest;
    use super::*;
    use crate::balancer::test_view;
    use sim_core::{SimTime, StreamKey};

    fn view(in_flight: &[u32], eligible: &[u32]) -> LoadView<'static> {
        test_view(in_flight, in_flight, eligible, SimTime::ZERO, 0)
    }

    #[test]
    fn weighted_least_connections_divides_by_weight() {
        let mut rng = StreamKey::new(1, 0).stream("test");
        let mut p = WeightedLeastConnections::new(vec![1, 4, 2]);
        // 2/1, 5/4, 3/2: backend 1 has the least per unit of weight.
        assert_eq!(p.pick(&view(&[2, 5, 3], &[0, 1, 2]), &mut rng), 1);
        // 1/1 = 4/4 = 2/2: a three-way tie goes round robin, starting after the last pick.
        let v = view(&[1, 4, 2], &[0, 1, 2]);
        let seq: Vec<usize> = (0..4).map(|_| p.pick(&v, &mut rng)).collect();
        assert_eq!(seq, vec![2, 0, 1, 2]);
        // Ineligible backends never win, however idle.
        assert_eq!(p.pick(&view(&[0, 9, 9], &[1, 2]), &mut rng), 1);
    }

    #[test]
    fn weighted_least_connections_follows_weights_under_load() {
        // Requests that never end: picks fill backends in proportion to their weights.
        let mut rng = StreamKey::new(1, 0).stream("test");
        let mut p = WeightedLeastConnections::new(vec![1, 2, 3]);
        let mut in_flight = vec![0u32; 3];
        for _ in 0..600 {
            let b = p.pick(&view(&in_flight, &[0, 1, 2]), &mut rng);
            in_flight[b] += 1;
        }
        assert_eq!(in_flight, vec![100, 200, 300]);
    }

    #[test]
    fn defaults_reproduce_plain_least_request_exactly() {
        let in_flight = [3, 1, 4, 1, 5, 9, 2, 6];
        let all: Vec<u32> = (0..8).collect();
        let v = view(&in_flight, &all);
        let mut a = LeastRequest::new(2, 8);
        let mut b = EnvoyLeastRequest::new(2, false, Some(vec![7; 8]), 1.0);
        let mut ra = StreamKey::new(5, 0).stream("test");
        let mut rb = StreamKey::new(5, 0).stream("test");
        for _ in 0..1000 {
            assert_eq!(a.pick(&v, &mut ra), b.pick(&v, &mut rb));
        }
    }

    #[test]
    fn with_replacement_the_worst_wins_when_drawn_twice() {
        // d = 2 with replacement over 4 backends: the most loaded wins only when both draws
        // hit it, P = 1/16; without replacement it never wins.
        let in_flight = [1, 2, 3, 9];
        let all = [0, 1, 2, 3];
        let v = view(&in_flight, &all);
        let mut rng = StreamKey::new(1, 0).stream("test");
        let mut p = EnvoyLeastRequest::new(2, true, None, 1.0);
        let picks = 16_000;
        let worst = (0..picks).filter(|_| p.pick(&v, &mut rng) == 3).count() as f64;
        // sd = √(16000·(1/16)·(15/16)) ≈ 30.6.
        assert!((worst - 1000.0).abs() < 5.0 * 30.6, "{worst}");
        // Backend 0 wins whenever drawn at least once: 1 − (3/4)² = 7/16.
        let mut p = EnvoyLeastRequest::new(2, true, None, 1.0);
        let best = (0..picks).filter(|_| p.pick(&v, &mut rng) == 0).count() as f64;
        // sd = √(16000·(7/16)·(9/16)) ≈ 62.7.
        assert!((best - 7000.0).abs() < 5.0 * 62.7, "{best}");
    }

    #[test]
    fn unequal_weights_use_edf_with_the_active_request_bias() {
        let mut rng = StreamKey::new(1, 0).stream("test");
        let all = [0, 1];
        // Idle backends, bias 1: effective weights 3 and 1, EDF gives 3 picks to 1. (Deadlines
        // are floats, so the order within a lap may shift by a tie; the counts may not.)
        let idle = [0, 0];
        let mut p = EnvoyLeastRequest::new(2, false, Some(vec![3, 1]), 1.0);
        let seq: Vec<usize> = (0..400)
            .map(|_| p.pick(&view(&idle, &all), &mut rng))
            .collect();
        let light = seq.iter().filter(|&&b| b == 1).count();
        assert!((99..=101).contains(&light), "{light}");
        assert!(
            seq.windows(5).all(|w| w.contains(&1)),
            "b waits at most 4 picks"
        );
        // Busy heavy backend: 3/(5+1) = 0.5 vs 1/(0+1) = 1, so the light one gets 2 of 3 picks.
        let busy = [5, 0];
        let mut p = EnvoyLeastRequest::new(2, false, Some(vec![3, 1]), 1.0);
        let seq: Vec<usize> = (0..300)
            .map(|_| p.pick(&view(&busy, &all), &mut rng))
            .collect();
        let light = seq.iter().filter(|&&b| b == 1).count();
        assert!((199..=201).contains(&light), "{light}");
        // Bias 0 ignores load: back to 3:1.
        let mut p = EnvoyLeastRequest::new(2, false, Some(vec![3, 1]), 0.0);
        let seq: Vec<usize> = (0..400)
            .map(|_| p.pick(&view(&busy, &all), &mut rng))
            .collect();
        let light = seq.iter().filter(|&&b| b == 1).count();
        assert!((99..=101).contains(&light), "{light}");
        // Bias 2: 3/36 vs 1: the light backend gets 12 of 13 picks.
        let mut p = EnvoyLeastRequest::new(2, false, Some(vec![3, 1]), 2.0);
        let seq: Vec<usize> = (0..1300)
            .map(|_| p.pick(&view(&busy, &all), &mut rng))
            .collect();
        let light = seq.iter().filter(|&&b| b == 1).count();
        assert!((1199..=1201).contains(&light), "{light}");
    }
}

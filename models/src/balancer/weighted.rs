//! Static weights, blind to load: NGINX's smooth weighted round robin, HAProxy's `static-rr`
//! (its map-based interleaved weighted round robin) and weighted random (AWS ALB
//! `weighted_random` with fixed weights). Weights are indexed by backend; only the eligible
//! backends take part, the others' weights are ignored.

use super::{Balance, Eligible, LoadView};
use sim_core::Stream;

/// Remembers the eligible set a policy last built its state for, so that the state is rebuilt
/// only when the set changes (a health transition: rare). It compares the sets' identities:
/// O(1), where comparing contents cost O(n) per pick.
#[derive(Clone, Debug, Default)]
pub(crate) struct EligibleCache {
    seen: u64,
}

impl EligibleCache {
    /// True (and remembers `eligible`) when `eligible` differs from the set seen last.
    #[inline]
    pub(crate) fn changed(&mut self, eligible: &Eligible) -> bool {
        if self.seen == eligible.id() {
            return false;
        }
        self.seen = eligible.id();
        true
    }
}

/// NGINX's smooth weighted round robin (`ngx_http_upstream_get_peer`): at each pick every
/// eligible backend's current weight grows by its weight, the largest current weight wins (the
/// first in index order among equals) and loses the total. With weights 5, 1, 1 the cycle is
/// a a b a c a a: the heavy backend's turns are spread out, never bunched.
///
/// NGINX also lowers a peer's *effective* weight after a failed attempt and lets it recover by
/// one per pick; hasim's balancers do not retry, so the effective weight is the weight. Backends
/// that are not eligible keep their current weight untouched, as NGINX skips down peers.
#[derive(Clone, Debug)]
pub struct SmoothWeightedRoundRobin {
    weights: Vec<u32>,
    current: Vec<i64>,
}

impl SmoothWeightedRoundRobin {
    /// With `weights[b]` for backend `b` (each > 0).
    pub fn new(weights: Vec<u32>) -> Self {
        let n = weights.len();
        SmoothWeightedRoundRobin {
            weights,
            current: vec![0; n],
        }
    }
}

impl Balance for SmoothWeightedRoundRobin {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let mut total = 0i64;
        let mut best = view.eligible[0] as usize;
        let mut best_v = i64::MIN;
        for &b in view.eligible {
            let b = b as usize;
            let w = i64::from(self.weights[b]);
            self.current[b] += w;
            total += w;
            if self.current[b] > best_v {
                best = b;
                best_v = self.current[b];
            }
        }
        self.current[best] -= total;
        best
    }
}

/// HAProxy's `static-rr` (`lb_map.c`, `recalc_server_map`): a map of `total weight` slots is
/// filled once, slot by slot, by giving every backend `score += weight`, taking the first
/// backend with the largest `(score + total) / total` (integer division) and subtracting the
/// total from its score; picks then walk the map cyclically. Coarser than NGINX's smooth variant:
/// with weights 5, 1, 1 the cycle is a a a b a a c (bursts of the heavy backend).
///
/// The map is not stored: its slots are generated as they are walked, the scores restarting
/// from zero at each lap, which yields the same sequence in O(n) per pick and no memory. When
/// the eligible set changes HAProxy recomputes the map; here the lap restarts.
#[derive(Clone, Debug)]
pub struct WeightedRoundRobin {
    weights: Vec<u32>,
    score: Vec<i64>,
    /// Slot of the lap about to be served, and the lap's length (total eligible weight).
    slot: u64,
    total: u64,
    cache: EligibleCache,
}

impl WeightedRoundRobin {
    /// With `weights[b]` for backend `b` (each > 0).
    pub fn new(weights: Vec<u32>) -> Self {
        let n = weights.len();
        WeightedRoundRobin {
            weights,
            score: vec![0; n],
            slot: 0,
            total: 0,
            cache: EligibleCache::default(),
        }
    }
}

impl Balance for WeightedRoundRobin {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        if self.cache.changed(view.eligible) {
            self.total = view
                .eligible
                .iter()
                .map(|&b| u64::from(self.weights[b as usize]))
                .sum();
            self.slot = 0;
        }
        if self.slot == 0 {
            for &b in view.eligible {
                self.score[b as usize] = 0;
            }
        }
        let tot = self.total as i64;
        let mut best = view.eligible[0] as usize;
        if tot > 1 {
            let mut max = i64::MIN;
            for &b in view.eligible {
                let b = b as usize;
                self.score[b] += i64::from(self.weights[b]);
                let v = (self.score[b] + tot) / tot;
                if v > max {
                    max = v;
                    best = b;
                }
            }
            self.score[best] -= tot;
        }
        self.slot = (self.slot + 1) % self.total.max(1);
        best
    }
}

/// A backend drawn with probability proportional to its weight (AWS ALB `weighted_random`
/// with fixed weights). Cumulative weights of the eligible backends are built once per eligible
/// set; a pick is one uniform draw and a binary search, O(log n), after a memcmp of the eligible
/// set against the one the table was built for.
#[derive(Clone, Debug)]
pub struct WeightedRandom {
    weights: Vec<u32>,
    /// Cumulative weights over the eligible backends, in their order.
    cumulative: Vec<u64>,
    cache: EligibleCache,
}

impl WeightedRandom {
    /// With `weights[b]` for backend `b` (each > 0).
    pub fn new(weights: Vec<u32>) -> Self {
        WeightedRandom {
            weights,
            cumulative: Vec::new(),
            cache: EligibleCache::default(),
        }
    }
}

impl Balance for WeightedRandom {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        if self.cache.changed(view.eligible) {
            self.cumulative.clear();
            let mut sum = 0u64;
            for &b in view.eligible {
                sum += u64::from(self.weights[b as usize]);
                self.cumulative.push(sum);
            }
        }
        let total = self.cumulative.last().copied().unwrap_or(1).max(1);
        let x = below_u64(rng, total);
        // The first position whose cumulative weight exceeds x.
        let i = self.cumulative.partition_point(|&c| c <= x);
        view.eligible[i.min(view.eligible.len() - 1)] as usize
    }
}

/// Uniform integer in `0..n` (n ≥ 1) without modulo bias; one 64-bit draw when `n` fits in 32
/// bits (the usual case), rejection sampling otherwise.
#[inline]
pub(crate) fn below_u64(rng: &mut Stream, n: u64) -> u64 {
    if let Ok(small) = u32::try_from(n) {
        return u64::from(rng.below(small));
    }
    let zone = u64::MAX - (u64::MAX % n + 1) % n;
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return x % n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_view;
    use sim_core::{SimTime, StreamKey};

    fn run<P: Balance>(p: &mut P, eligible: &[u32], n: usize, picks: usize) -> Vec<usize> {
        let zeros = vec![0; n];
        let mut rng = StreamKey::new(1, 0).stream("test");
        let view = test_view(&zeros, &zeros, eligible, SimTime::ZERO, 0);
        (0..picks).map(|_| p.pick(&view, &mut rng)).collect()
    }

    #[test]
    fn smooth_wrr_is_nginx_sequence() {
        let mut p = SmoothWeightedRoundRobin::new(vec![5, 1, 1]);
        let seq = run(&mut p, &[0, 1, 2], 3, 21);
        let cycle = [0, 0, 1, 0, 2, 0, 0];
        assert_eq!(seq, cycle.repeat(3));
    }

    #[test]
    fn smooth_wrr_ignores_ineligible_backends() {
        // Backend 0 (weight 5) is out: 1 and 2 share 1:2, smoothly.
        let mut p = SmoothWeightedRoundRobin::new(vec![5, 1, 2]);
        assert_eq!(run(&mut p, &[1, 2], 3, 6), vec![2, 1, 2, 2, 1, 2]);
    }

    #[test]
    fn static_rr_is_haproxy_map() {
        // recalc_server_map by hand for 5, 1, 1 (tot 7): a a a b a a c.
        let mut p = WeightedRoundRobin::new(vec![5, 1, 1]);
        let seq = run(&mut p, &[0, 1, 2], 3, 21);
        assert_eq!(seq, [0, 0, 0, 1, 0, 0, 2].repeat(3));
        // Equal weights are plain round robin.
        let mut p = WeightedRoundRobin::new(vec![3, 3, 3]);
        assert_eq!(run(&mut p, &[0, 1, 2], 3, 6), vec![0, 1, 2, 0, 1, 2]);
        // A single eligible backend takes everything.
        let mut p = WeightedRoundRobin::new(vec![3, 1]);
        assert_eq!(run(&mut p, &[1], 2, 3), vec![1, 1, 1]);
    }

    #[test]
    fn wrr_shares_equal_the_weights_per_lap() {
        for w in [vec![5, 1, 1], vec![3, 2, 7, 1], vec![1, 1]] {
            let total: u32 = w.iter().sum();
            let n = w.len();
            let all: Vec<u32> = (0..n as u32).collect();
            let seqs = [
                run(
                    &mut SmoothWeightedRoundRobin::new(w.clone()),
                    &all,
                    n,
                    total as usize,
                ),
                run(
                    &mut WeightedRoundRobin::new(w.clone()),
                    &all,
                    n,
                    total as usize,
                ),
            ];
            for seq in seqs {
                for (b, &wb) in w.iter().enumerate() {
                    assert_eq!(
                        seq.iter().filter(|&&x| x == b).count(),
                        wb as usize,
                        "{w:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn weighted_random_shares_follow_the_weights() {
        let picks = 60_000;
        let mut p = WeightedRandom::new(vec![1, 2, 3]);
        let seq = run(&mut p, &[0, 1, 2], 3, picks);
        for (b, share) in [(0usize, 1.0 / 6.0), (1, 2.0 / 6.0), (2, 3.0 / 6.0)] {
            let c = seq.iter().filter(|&&x| x == b).count() as f64;
            let expected = picks as f64 * share;
            // 5 binomial standard deviations: sd = √(n·p·(1−p)) ≤ √(60000/4) ≈ 122.5.
            assert!((c - expected).abs() < 5.0 * 122.5, "{b}: {c} vs {expected}");
        }
        // Ineligible backends are never drawn, and the shares renormalise among the rest.
        let seq = run(&mut p, &[0, 2], 3, picks);
        assert!(!seq.contains(&1));
        let zeros = seq.iter().filter(|&&x| x == 0).count() as f64;
        // p = 1/4: sd = √(60000·¼·¾) ≈ 106.1.
        assert!((zeros - picks as f64 / 4.0).abs() < 5.0 * 106.1, "{zeros}");
    }

    #[test]
    fn below_u64_is_in_range() {
        let mut rng = StreamKey::new(3, 0).stream("test");
        for n in [1u64, 7, u64::from(u32::MAX) + 5, u64::MAX / 3] {
            for _ in 0..100 {
                assert!(below_u64(&mut rng, n) < n);
            }
        }
    }
}

//! Static weights, blind to load: NGINX's smooth weighted round robin, HAProxy's `static-rr`
//! (its map-based interleaved weighted round robin) and weighted random (AWS ALB
//! `weighted_random` with fixed weights). Weights are indexed by backend; only the eligible
//! backends take part, the others' weights are ignored.

use super::index::MinTree;
use super::kinetic::Tournament;
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
///
/// O(log n) per pick: the current weights of an eligible set are lines over the pick count in a
/// [`Tournament`] (a pick is one tick and one line shifted down by the total), the same
/// arithmetic as NGINX's scan, so the same choices. A state per eligible set (the whole set,
/// or a zone's local and remote parts) holds its backends' current weights; building one is
/// O(n), on eligibility changes only.
#[derive(Clone, Debug)]
pub struct SmoothWeightedRoundRobin {
    weights: Vec<u32>,
    /// Current weights of the backends no state holds.
    current: Vec<i64>,
    /// The state holding each backend's current weight, or `FREE`.
    owner: Vec<u8>,
    states: Vec<Smooth>,
    clock: u64,
}

/// One eligible set's current weights, as lines over its own pick count.
#[derive(Clone, Debug, Default)]
struct Smooth {
    /// The set's identity; 0 once it holds nothing.
    eligible: u64,
    ids: Vec<u32>,
    total: i64,
    lines: Tournament,
    used: u64,
}

/// Eligible sets a weighted policy keeps state for at once (whole, zone-local, zone-remote).
const MAX_SETS: usize = 3;
const FREE: u8 = u8::MAX;
/// Picks after which a state restates its lines (keeps `a + t·w` far from overflow).
const RESTATE_TICKS: u64 = if cfg!(test) { 1000 } else { 1 << 24 };

impl SmoothWeightedRoundRobin {
    /// With `weights[b]` for backend `b` (each > 0).
    pub fn new(weights: Vec<u32>) -> Self {
        let n = weights.len();
        SmoothWeightedRoundRobin {
            weights,
            current: vec![0; n],
            owner: vec![FREE; n],
            states: Vec::new(),
            clock: 0,
        }
    }

    /// Writes state `s`'s current weights back and frees its backends.
    fn release(&mut self, s: usize) {
        let st = &mut self.states[s];
        if st.eligible == 0 {
            return;
        }
        for (i, &b) in st.ids.iter().enumerate() {
            self.current[b as usize] = st.lines.value(i);
            self.owner[b as usize] = FREE;
        }
        st.eligible = 0;
    }

    /// A state for `eligible`, built from the backends' current weights (O(n)).
    #[cold]
    fn take(&mut self, eligible: &Eligible) -> usize {
        let s = if self.states.len() < MAX_SETS {
            self.states.push(Smooth::default());
            self.states.len() - 1
        } else {
            (0..self.states.len())
                .min_by_key(|&s| self.states[s].used)
                .unwrap_or(0)
        };
        self.release(s);
        for &b in eligible {
            let o = self.owner[b as usize];
            if o != FREE {
                self.release(usize::from(o));
            }
        }
        let (weights, current) = (&self.weights, &self.current);
        let st = &mut self.states[s];
        st.ids.clear();
        st.ids.extend_from_slice(eligible);
        st.total = eligible
            .iter()
            .map(|&b| i64::from(weights[b as usize]))
            .sum();
        (st.lines)
            .build((st.ids.iter()).map(|&b| (current[b as usize], i64::from(weights[b as usize]))));
        st.eligible = eligible.id();
        for &b in eligible {
            self.owner[b as usize] = s as u8;
        }
        s
    }
}

impl Balance for SmoothWeightedRoundRobin {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        self.clock += 1;
        let id = view.eligible.id();
        let s = match self.states.iter().position(|st| st.eligible == id) {
            Some(s) => s,
            None => self.take(view.eligible),
        };
        let st = &mut self.states[s];
        st.used = self.clock;
        if st.lines.time() >= RESTATE_TICKS {
            let old = std::mem::take(&mut st.lines);
            let w = &self.weights;
            (st.lines)
                .build((0..old.len()).map(|i| (old.value(i), i64::from(w[st.ids[i] as usize]))));
        }
        st.lines.tick();
        let Some(p) = st.lines.best() else {
            unreachable!("invariant: an eligible set is never empty")
        };
        st.lines.shift(p, -st.total);
        st.ids[p] as usize
    }
}

/// HAProxy's `static-rr` (`lb_map.c`, `recalc_server_map`): a map of `total weight` slots is
/// filled once, slot by slot, by giving every backend `score += weight`, taking the first
/// backend with the largest `(score + total) / total` (integer division) and subtracting the
/// total from its score; picks then walk the map cyclically. Coarser than NGINX's smooth variant:
/// with weights 5, 1, 1 the cycle is a a a b a a c (bursts of the heavy backend).
///
/// The map is not stored: its slots are generated as they are walked, the scores restarting
/// from zero at each lap. When the eligible set changes HAProxy recomputes the map; here the
/// lap restarts.
///
/// O(log n) per pick: at slot `t` of a lap, `(score + total) / total` is
/// `⌊t·weight / total⌋ − picks + 1`, which changes only when a backend picks (−1) or when its
/// `⌊t·weight / total⌋` steps up (+1, `weight` times per lap: as many steps as picks). A
/// [`Lap`] keeps the backends by that lead and by the slot of their next step, in two trees.
#[derive(Clone, Debug)]
pub struct WeightedRoundRobin {
    weights: Vec<u32>,
    /// One lap state per eligible set recently picked from.
    laps: Vec<Lap>,
    active: usize,
    /// Slot of the lap about to be served, and the lap's length (total eligible weight).
    slot: u64,
    total: u64,
    cache: EligibleCache,
    clock: u64,
}

impl WeightedRoundRobin {
    /// With `weights[b]` for backend `b` (each > 0).
    pub fn new(weights: Vec<u32>) -> Self {
        WeightedRoundRobin {
            weights,
            laps: Vec::new(),
            active: 0,
            slot: 0,
            total: 0,
            cache: EligibleCache::default(),
            clock: 0,
        }
    }

    /// The lap state of `eligible`, built if it has none (O(n)).
    fn lap_of(&mut self, eligible: &Eligible) -> usize {
        if let Some(i) = self.laps.iter().position(|l| l.eligible == eligible.id()) {
            return i;
        }
        let i = if self.laps.len() < MAX_SETS {
            self.laps.push(Lap::default());
            self.laps.len() - 1
        } else {
            (0..self.laps.len())
                .min_by_key(|&i| self.laps[i].used)
                .unwrap_or(0)
        };
        self.laps[i].build(eligible, &self.weights);
        i
    }
}

impl Balance for WeightedRoundRobin {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        self.clock += 1;
        if self.cache.changed(view.eligible) {
            self.active = self.lap_of(view.eligible);
            self.total = self.laps[self.active].total;
            self.slot = 0;
        }
        let lap = &mut self.laps[self.active];
        lap.used = self.clock;
        if self.slot == 0 {
            lap.restart();
        }
        let best = if self.total > 1 {
            lap.pick(self.slot + 1)
        } else {
            lap.ids[0] as usize
        };
        self.slot = (self.slot + 1) % self.total.max(1);
        best
    }
}

/// A lap of [`WeightedRoundRobin`] over one eligible set, by position in the set.
#[derive(Clone, Debug, Default)]
struct Lap {
    eligible: u64,
    ids: Vec<u32>,
    weight: Vec<u64>,
    total: u64,
    /// `⌊t·weight / total⌋` at the current slot `t`.
    steps: Vec<u64>,
    /// Steps minus picks: the pick goes to the greatest, the first among equals.
    lead: Vec<i64>,
    /// Keyed by `LEAD_BIAS − lead`, so that the least key is the greatest lead.
    by_lead: MinTree<u64>,
    /// Keyed by the slot of the next step.
    by_step: MinTree<u64>,
    /// Positions changed since the lap started (what a restart undoes).
    touched: Vec<u32>,
    is_touched: Vec<bool>,
    used: u64,
}

const LEAD_BIAS: i64 = 1 << 40;

impl Lap {
    fn build(&mut self, eligible: &Eligible, weights: &[u32]) {
        self.eligible = eligible.id();
        self.ids.clear();
        self.ids.extend_from_slice(eligible);
        self.weight.clear();
        (self.weight).extend(eligible.iter().map(|&b| u64::from(weights[b as usize])));
        self.total = self.weight.iter().sum();
        let n = self.ids.len();
        self.steps.clear();
        self.steps.resize(n, 0);
        self.lead.clear();
        self.lead.resize(n, 0);
        self.by_lead.fill(n, |_| LEAD_BIAS as u64);
        let (weight, total) = (&self.weight, self.total);
        self.by_step.fill(n, |p| next_step(0, weight[p], total));
        self.touched.clear();
        self.is_touched.clear();
        self.is_touched.resize(n, false);
    }

    /// Back to slot 0: every score zero (O(positions changed since)).
    fn restart(&mut self) {
        for &p in &self.touched {
            let p = p as usize;
            self.steps[p] = 0;
            self.lead[p] = 0;
            self.is_touched[p] = false;
            self.by_lead.set(p, LEAD_BIAS as u64);
            self.by_step
                .set(p, next_step(0, self.weight[p], self.total));
        }
        self.touched.clear();
    }

    #[inline]
    fn touch(&mut self, p: usize) {
        if !self.is_touched[p] {
            self.is_touched[p] = true;
            self.touched.push(p as u32);
        }
        self.by_lead.set(p, (LEAD_BIAS - self.lead[p]) as u64);
    }

    /// The backend of slot `t` (1-based: scores have grown `t` times this lap).
    #[inline]
    fn pick(&mut self, t: u64) -> usize {
        while self.by_step.min() <= t {
            let Some(p) = self.by_step.first_at_most(0, t) else {
                unreachable!("invariant: the least key is at most t")
            };
            self.steps[p] += 1;
            self.lead[p] += 1;
            (self.by_step).set(p, next_step(self.steps[p], self.weight[p], self.total));
            self.touch(p);
        }
        let Some(p) = self.by_lead.first_at_most(0, self.by_lead.min()) else {
            unreachable!("invariant: a lap is never empty")
        };
        self.lead[p] -= 1;
        self.touch(p);
        self.ids[p] as usize
    }
}

/// The first slot `t` with `⌊t·weight / total⌋ > steps`: `⌈(steps + 1)·total / weight⌉`.
#[inline]
fn next_step(steps: u64, weight: u64, total: u64) -> u64 {
    if weight == 0 {
        return u64::MAX - 1;
    }
    match (steps + 1).checked_mul(total) {
        Some(x) => x.div_ceil(weight),
        None => {
            let x = u128::from(steps + 1) * u128::from(total);
            u64::try_from(x.div_ceil(u128::from(weight))).unwrap_or(u64::MAX - 1)
        }
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

    /// The O(n) definitions these policies had (NGINX's scan; HAProxy's map generated slot by
    /// slot), kept as the reference their indexed versions must reproduce pick for pick.
    #[derive(Default)]
    struct Reference {
        current: Vec<i64>,
        score: Vec<i64>,
        slot: u64,
        total: u64,
        seen: Vec<u32>,
    }

    impl Reference {
        fn smooth(&mut self, weights: &[u32], eligible: &[u32]) -> usize {
            self.current.resize(weights.len(), 0);
            let mut total = 0i64;
            let mut best = eligible[0] as usize;
            let mut best_v = i64::MIN;
            for &b in eligible {
                let b = b as usize;
                let w = i64::from(weights[b]);
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

        fn static_rr(&mut self, weights: &[u32], eligible: &[u32]) -> usize {
            self.score.resize(weights.len(), 0);
            if self.seen != eligible {
                self.seen = eligible.to_vec();
                self.total = eligible
                    .iter()
                    .map(|&b| u64::from(weights[b as usize]))
                    .sum();
                self.slot = 0;
            }
            if self.slot == 0 {
                for &b in eligible {
                    self.score[b as usize] = 0;
                }
            }
            let tot = self.total as i64;
            let mut best = eligible[0] as usize;
            if tot > 1 {
                let mut max = i64::MIN;
                for &b in eligible {
                    let b = b as usize;
                    self.score[b] += i64::from(weights[b]);
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

    #[test]
    fn indexed_weighted_round_robins_reproduce_the_scans() {
        // Random weights, random eligible sets, sets alternating as a zone's local and remote
        // parts do (more of them than the policies keep state for): pick for pick the same.
        let mut rng = StreamKey::new(11, 0).stream("test");
        for case in 0..60u32 {
            let n = [1usize, 2, 3, 5, 8, 17, 40][case as usize % 7];
            let big = case % 5 == 4;
            let weights: Vec<u32> = (0..n)
                .map(|_| {
                    if big {
                        1 + rng.below(1_000_000)
                    } else {
                        1 + rng.below(9)
                    }
                })
                .collect();
            let zeros = vec![0u32; n];
            let mut sets: Vec<Vec<u32>> = Vec::new();
            for _ in 0..1 + case % 5 {
                let ids: Vec<u32> = (0..n as u32).filter(|_| rng.below(3) > 0).collect();
                sets.push(if ids.is_empty() { vec![0] } else { ids });
            }
            sets.push((0..n as u32).collect());
            let mut smooth = SmoothWeightedRoundRobin::new(weights.clone());
            let mut static_rr = WeightedRoundRobin::new(weights.clone());
            let (mut r_smooth, mut r_static) = (Reference::default(), Reference::default());
            let mut set = sets.len() - 1;
            for step in 0..3000 {
                match rng.below(100) {
                    0..4 => set = rng.below(sets.len() as u32) as usize,
                    4..6 => set = sets.len() - 1,
                    _ => {}
                }
                let view = test_view(&zeros, &zeros, &sets[set], SimTime::ZERO, 0);
                let mut r = StreamKey::new(1, 0).stream("unused");
                assert_eq!(
                    smooth.pick(&view, &mut r),
                    r_smooth.smooth(&weights, &sets[set]),
                    "smooth, case {case}, step {step}, weights {weights:?}"
                );
                assert_eq!(
                    static_rr.pick(&view, &mut r),
                    r_static.static_rr(&weights, &sets[set]),
                    "static, case {case}, step {step}, weights {weights:?}"
                );
            }
        }
    }

    #[test]
    fn smooth_wrr_does_logarithmic_work_per_pick() {
        // 4 096 backends with random weights 1..=100: over many laps, the certificates repaired
        // per pick stay below a few (measured: 0.83; a scan would touch 4 096 backends).
        let mut rng = StreamKey::new(12, 0).stream("test");
        let n = 4096;
        let weights: Vec<u32> = (0..n).map(|_| 1 + rng.below(100)).collect();
        let mut t = Tournament::default();
        let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
        t.build(weights.iter().map(|&w| (0, i64::from(w))));
        let picks = 400_000u64;
        for _ in 0..picks {
            t.tick();
            let p = t.best().unwrap();
            t.shift(p, -total);
        }
        let per_pick = t.repairs as f64 / picks as f64;
        assert!(per_pick < 4.0, "{per_pick} repairs per pick");
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

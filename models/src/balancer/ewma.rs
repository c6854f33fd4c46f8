//! Latency-aware policies: they learn each backend's response time from the requests this
//! balancer sent it (through [`Balance::on_complete`]), every outcome counting (a timeout after
//! its full wait, a refusal at once), as a real proxy times every response.
//!
//! The balancer is told the time of completions, not of picks, so a pick reads the estimates
//! as of the last completion it saw. For comparisons between backends this changes nothing
//! (decay is a common factor); where Finagle also re-stamps the estimate when it reads it (see
//! [`PeakEwma`]), hasim stamps it at that last completion time.

use super::index::{RankedSets, float_key, least_from};
use super::{Balance, LoadView};
use sim_core::{SimDuration, SimTime, Stream};

/// Power of two choices on cost = peak-EWMA latency × (in-flight + 1): Finagle's
/// `p2cPeakEwma` (`PeakEwma.scala`, `Metric`), as ported to Linkerd2-proxy and Tower.
///
/// - On a response after `rtt` at time `t`: with `w = exp(−(t − stamp)/decay)`, the estimate
///   jumps to `rtt` if `rtt` exceeds it (the peak), else becomes `estimate·w + rtt·(1 − w)`;
///   `stamp = t`.
/// - Reading a backend's cost first decays its estimate towards zero (`observe(0)`: estimate
///   ×= `exp(−(now − stamp)/decay)`, `stamp = now`), then returns estimate × (in-flight + 1).
/// - A pick draws two distinct eligible backends and keeps the cheaper, the first drawn on a
///   tie (Tower's `aload <= bload`).
/// - A backend with no response yet starts at `default_rtt` (Linkerd's 30 ms; Finagle starts
///   at 0 with a penalty instead). Defaults: `decay` 10 s (Finagle `decayTime`, Linkerd
///   `EWMA_DECAY`), `default_rtt` 30 ms (Linkerd `EWMA_DEFAULT_RTT`).
#[derive(Clone, Debug)]
pub struct PeakEwma {
    decay_ns: f64,
    estimate: Vec<f64>,
    stamp: Vec<u64>,
    /// The latest completion time this balancer has seen: the time picks are read at.
    clock: u64,
}

impl PeakEwma {
    /// Over `n` backends.
    pub fn new(decay: SimDuration, default_rtt: SimDuration, n: usize) -> Self {
        PeakEwma {
            decay_ns: decay.0.max(1) as f64,
            estimate: vec![default_rtt.0 as f64; n],
            stamp: vec![0; n],
            clock: 0,
        }
    }

    /// Finagle's `Metric.get`: decay to the clock, then weigh by the pending requests.
    #[inline]
    fn cost(&mut self, b: usize, in_flight: u32) -> f64 {
        let td = self.clock.saturating_sub(self.stamp[b]) as f64;
        self.estimate[b] *= libm::exp(-td / self.decay_ns);
        self.stamp[b] = self.clock;
        self.estimate[b] * (f64::from(in_flight) + 1.0)
    }

    /// The current estimate for backend `b`, in ns.
    pub fn estimate(&self, b: usize) -> f64 {
        self.estimate[b]
    }
}

impl Balance for PeakEwma {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        let n = view.eligible.len();
        if n == 1 {
            return view.eligible[0] as usize;
        }
        let i = rng.below(n as u32) as usize;
        let mut j = rng.below(n as u32 - 1) as usize;
        if j >= i {
            j += 1;
        }
        let (a, b) = (view.eligible[i] as usize, view.eligible[j] as usize);
        let ca = self.cost(a, view.in_flight[a]);
        let cb = self.cost(b, view.in_flight[b]);
        if ca <= cb { a } else { b }
    }

    #[inline]
    fn on_complete(&mut self, backend: usize, latency: SimDuration, now: SimTime) {
        self.clock = self.clock.max(now.0);
        let rtt = latency.0 as f64;
        let td = now.0.saturating_sub(self.stamp[backend]) as f64;
        let w = libm::exp(-td / self.decay_ns);
        let e = &mut self.estimate[backend];
        *e = if rtt > *e {
            rtt
        } else {
            *e * w + rtt * (1.0 - w)
        };
        self.stamp[backend] = now.0;
    }
}

/// Least response time: the eligible backend with the lowest `average × (in-flight + 1)`, by
/// full scan, round robin among ties. After NGINX Plus `least_time` ("least average response
/// time and least number of active connections"), whose averaging is not documented: hasim
/// models a time-weighted moving average, `w = exp(−Δt/decay)` between a backend's responses,
/// `average = average·w + rtt·(1 − w)`, starting from `default_rtt`. Unlike [`PeakEwma`] it
/// neither jumps to peaks nor decays while idle, and it compares every backend — through a
/// min tree of the costs, O(log n) per pick, per load change and per completion.
#[derive(Clone, Debug)]
pub struct LeastResponseTime {
    decay_ns: f64,
    average: Vec<f64>,
    stamp: Vec<u64>,
    next: usize,
    ranked: RankedSets,
    /// Backends whose average changed since the last pick (their cost is re-keyed then, when
    /// their in-flight count is known).
    dirty: Vec<u32>,
}

impl LeastResponseTime {
    /// Over `n` backends.
    pub fn new(decay: SimDuration, default_rtt: SimDuration, n: usize) -> Self {
        LeastResponseTime {
            decay_ns: decay.0.max(1) as f64,
            average: vec![default_rtt.0 as f64; n],
            stamp: vec![0; n],
            next: 0,
            ranked: RankedSets::default(),
            dirty: Vec::new(),
        }
    }
}

impl Balance for LeastResponseTime {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let (in_flight, average) = (view.in_flight, &self.average);
        let cost = |b: usize| float_key(average[b] * (f64::from(in_flight[b]) + 1.0));
        for b in self.dirty.drain(..) {
            self.ranked.rekey(b as usize, cost(b as usize));
        }
        let tree = self.ranked.get(view.eligible, in_flight, cost);
        least_from(tree, view.eligible, &mut self.next)
    }

    #[inline]
    fn on_complete(&mut self, backend: usize, latency: SimDuration, now: SimTime) {
        let td = now.0.saturating_sub(self.stamp[backend]) as f64;
        let w = libm::exp(-td / self.decay_ns);
        let a = &mut self.average[backend];
        *a = *a * w + latency.0 as f64 * (1.0 - w);
        self.stamp[backend] = now.0;
        self.dirty.push(backend as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_view;
    use sim_core::StreamKey;

    const MS: u64 = 1_000_000;

    fn view(in_flight: &[u32], eligible: &[u32]) -> LoadView<'static> {
        test_view(in_flight, in_flight, eligible, SimTime::ZERO, 0)
    }

    #[test]
    fn peak_ewma_jumps_to_peaks_and_decays_towards_lower_samples() {
        let ten_s = SimDuration::from_secs(10);
        let mut p = PeakEwma::new(ten_s, SimDuration::from_millis(30), 2);
        assert_eq!(p.estimate(0), 30.0 * MS as f64);
        // A slower response is taken as is.
        p.on_complete(0, SimDuration::from_millis(100), SimTime(1_000 * MS));
        assert_eq!(p.estimate(0), 100.0 * MS as f64);
        // A faster one 10 s later (one time constant) moves it 1 − 1/e of the way.
        p.on_complete(0, SimDuration::from_millis(20), SimTime(11_000 * MS));
        let w = libm::exp(-1.0);
        let expected = 100.0 * MS as f64 * w + 20.0 * MS as f64 * (1.0 - w);
        assert!((p.estimate(0) - expected).abs() < 1.0, "{}", p.estimate(0));
    }

    #[test]
    fn peak_ewma_reads_decay_the_estimate_towards_zero() {
        let mut p = PeakEwma::new(SimDuration::from_secs(10), SimDuration::from_millis(30), 2);
        // Backend 1 answered slowly at t = 0+; backend 0 is read 10 s later: both have decayed
        // by e, so the comparison is unchanged but the stored value is lower.
        p.on_complete(1, SimDuration::from_millis(50), SimTime(0));
        p.on_complete(1, SimDuration::from_millis(50), SimTime(10_000 * MS));
        let c0 = p.cost(0, 0);
        assert!(
            (c0 - 30.0 * MS as f64 * libm::exp(-1.0)).abs() < 1.0,
            "{c0}"
        );
        assert!((p.cost(1, 1) - 100.0 * MS as f64).abs() < 1.0);
    }

    #[test]
    fn peak_ewma_prefers_the_faster_of_two_and_weighs_pending_requests() {
        let mut rng = StreamKey::new(1, 0).stream("test");
        let mut p = PeakEwma::new(SimDuration::from_secs(10), SimDuration::from_millis(30), 2);
        p.on_complete(0, SimDuration::from_millis(300), SimTime(0));
        p.on_complete(1, SimDuration::from_millis(100), SimTime(0));
        // 300 ms × 1 vs 100 ms × 1: backend 1, whichever order they are drawn in.
        for _ in 0..10 {
            assert_eq!(p.pick(&view(&[0, 0], &[0, 1]), &mut rng), 1);
        }
        // 300 ms × 1 vs 100 ms × 4: backend 0.
        for _ in 0..10 {
            assert_eq!(p.pick(&view(&[0, 3], &[0, 1]), &mut rng), 0);
        }
        // A single eligible backend is taken without a draw.
        assert_eq!(p.pick(&view(&[0, 3], &[1]), &mut rng), 1);
    }

    #[test]
    fn peak_ewma_samples_two_distinct_backends() {
        // Equal estimates: the cost is in-flight + 1, so the most loaded of 4 never wins, and
        // the idle one wins whenever drawn: P = 1 − C(3,2)/C(4,2) = 1/2.
        let mut rng = StreamKey::new(2, 0).stream("test");
        let mut p = PeakEwma::new(SimDuration::from_secs(10), SimDuration::from_millis(30), 4);
        let in_flight = [0, 1, 2, 3];
        let all = [0, 1, 2, 3];
        let picks = 4000;
        let seq: Vec<usize> = (0..picks)
            .map(|_| p.pick(&view(&in_flight, &all), &mut rng))
            .collect();
        assert!(!seq.contains(&3));
        let idle = seq.iter().filter(|&&b| b == 0).count() as f64;
        // sd = √(4000·½·½) ≈ 31.6.
        assert!((idle - 2000.0).abs() < 5.0 * 31.6, "{idle}");
    }

    #[test]
    fn least_response_time_averages_and_scans_all() {
        let mut rng = StreamKey::new(1, 0).stream("test");
        let ten_s = SimDuration::from_secs(10);
        let mut p = LeastResponseTime::new(ten_s, SimDuration::from_millis(30), 3);
        // No responses yet: equal averages, so the in-flight counts decide, ties round robin.
        let all = [0, 1, 2];
        assert_eq!(p.pick(&view(&[2, 1, 2], &all), &mut rng), 1);
        let seq: Vec<usize> = (0..3)
            .map(|_| p.pick(&view(&[0, 0, 0], &all), &mut rng))
            .collect();
        assert_eq!(seq, vec![2, 0, 1]);
        // Backend 2 answered slowly after a long gap (w ≈ 0): its average is ≈ 1 s.
        p.on_complete(2, SimDuration::from_secs(1), SimTime(1_000_000 * MS));
        assert!((p.average[2] - 1e9).abs() < 1.0);
        for _ in 0..5 {
            assert_ne!(p.pick(&view(&[0, 0, 0], &all), &mut rng), 2);
        }
        // 30 ms × 40 > 1 s × 1: load outweighs a slow average.
        assert_eq!(p.pick(&view(&[39, 39, 0], &all), &mut rng), 2);
        // A fast response one time constant later pulls it 1 − 1/e of the way, no peak rule.
        p.on_complete(2, SimDuration::from_millis(10), SimTime(1_010_000 * MS));
        let w = libm::exp(-1.0);
        assert!((p.average[2] - (1e9 * w + 1e7 * (1.0 - w))).abs() < 1.0);
    }
}

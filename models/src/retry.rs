//! Retries: backoff with the four jitter modes, and the two ways real clients limit retries
//! across requests (Envoy's concurrency budget, gRPC's token throttling). Pure state machines;
//! [`crate::System`] asks them and schedules the timers.

use crate::spec::{BackoffSpec, BudgetSpec, Jitter};
use sim_core::{SimDuration, Stream};

impl BackoffSpec {
    /// min(max, base·2^k), in integer nanoseconds (no platform `powi`).
    fn cap(&self, k: u32) -> f64 {
        let grown = self.base.0.saturating_mul(1u64 << k.min(62));
        grown.min(self.max.0) as f64
    }

    /// The wait before retry `k` (0 for the first retry). `prev` is the previous wait
    /// (decorrelated jitter only; pass `base` for the first).
    pub fn delay(&self, k: u32, prev: SimDuration, rng: &mut Stream) -> SimDuration {
        let (base, max) = (self.base.0 as f64, self.max.0 as f64);
        let t = self.cap(k);
        let d = match self.jitter {
            Jitter::None => t,
            Jitter::Full => rng.uniform() * t,
            Jitter::Equal => t / 2.0 + rng.uniform() * t / 2.0,
            Jitter::Decorrelated => {
                let hi = 3.0 * (prev.0 as f64).max(base);
                (base + rng.uniform() * (hi - base)).min(max)
            }
        };
        SimDuration(d as u64)
    }

    /// The mean of [`BackoffSpec::delay`] for retry `k` where it has a closed form (every mode
    /// but decorrelated, whose mean depends on the previous draw; for `k = 0` it is 2·base
    /// when 3·base ≤ max).
    pub fn mean(&self, k: u32) -> Option<f64> {
        let (base, max) = (self.base.0 as f64, self.max.0 as f64);
        let t = self.cap(k);
        match self.jitter {
            Jitter::None => Some(t),
            Jitter::Full => Some(t / 2.0),
            Jitter::Equal => Some(0.75 * t),
            Jitter::Decorrelated if k == 0 && 3.0 * base <= max => Some(2.0 * base),
            Jitter::Decorrelated => None,
        }
    }
}

/// A client's retry budget and its running state.
#[derive(Clone, Debug)]
pub struct Budget {
    spec: BudgetSpec,
    tokens: f64,
}

impl Budget {
    /// A budget at its starting state.
    pub fn new(spec: BudgetSpec) -> Self {
        let tokens = match spec {
            BudgetSpec::Throttle { max_tokens, .. } => max_tokens,
            BudgetSpec::Envoy { .. } => 0.0,
        };
        Budget { spec, tokens }
    }

    /// May one more retry start, given the client's requests and retries in flight?
    pub fn allows(&self, active: u64, retries_active: u64) -> bool {
        match self.spec {
            BudgetSpec::Envoy {
                percent,
                min_concurrency,
            } => {
                let limit = (percent / 100.0 * active as f64).max(min_concurrency as f64);
                ((retries_active + 1) as f64) <= limit
            }
            BudgetSpec::Throttle { max_tokens, .. } => self.tokens > max_tokens / 2.0,
        }
    }

    /// An attempt ended: successes refill a throttle, failures drain it.
    pub fn attempt_ended(&mut self, succeeded: bool) {
        if let BudgetSpec::Throttle {
            max_tokens,
            token_ratio,
        } = self.spec
        {
            self.tokens = if succeeded {
                (self.tokens + token_ratio).min(max_tokens)
            } else {
                (self.tokens - 1.0).max(0.0)
            };
        }
    }

    /// Tokens left (throttle only).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::StreamKey;

    fn spec(jitter: Jitter) -> BackoffSpec {
        BackoffSpec {
            base: SimDuration::from_millis(25),
            max: SimDuration::from_millis(250),
            jitter,
        }
    }

    /// Each mode's sample mean over n draws matches its formula within 4 standard errors; the
    /// standard error comes from the mode's own variance (uniform on a width w: w²/12).
    #[test]
    fn jitter_means_match_their_formulas() {
        let n = 200_000u32;
        for jitter in [Jitter::None, Jitter::Full, Jitter::Equal] {
            let b = spec(jitter);
            let mut rng = StreamKey::new(7, 0).stream("backoff");
            for k in 0..6 {
                let sum: f64 = (0..n).map(|_| b.delay(k, b.base, &mut rng).0 as f64).sum();
                let mean = sum / n as f64;
                let t = (25e6 * (1u64 << k) as f64).min(250e6);
                let width = match jitter {
                    Jitter::None => 0.0,
                    Jitter::Full => t,
                    _ => t / 2.0,
                };
                let se = width / 12f64.sqrt() / (n as f64).sqrt();
                let want = b.mean(k).unwrap();
                assert!(
                    (mean - want).abs() <= 4.0 * se + 1.0,
                    "{jitter:?} k={k}: {mean} vs {want} (se {se})"
                );
            }
        }
    }

    /// Decorrelated jitter's first retry is uniform on [base, 3·base): mean 2·base; later ones
    /// stay within [base, max] and their chain's mean settles below max.
    #[test]
    fn decorrelated_jitter_stays_in_bounds_and_has_its_first_mean() {
        let b = spec(Jitter::Decorrelated);
        let mut rng = StreamKey::new(8, 0).stream("backoff");
        let n = 200_000;
        let first: f64 = (0..n)
            .map(|_| b.delay(0, b.base, &mut rng).0 as f64)
            .sum::<f64>()
            / n as f64;
        let se = (2.0 * 25e6) / 12f64.sqrt() / (n as f64).sqrt();
        assert!((first - 50e6).abs() <= 4.0 * se, "{first}");
        let mut prev = b.base;
        for k in 0..10_000 {
            let d = b.delay(k, prev, &mut rng);
            assert!(d >= b.base && d <= b.max, "{d:?}");
            prev = d;
        }
    }

    #[test]
    fn no_jitter_doubles_up_to_the_cap() {
        let b = spec(Jitter::None);
        let mut rng = StreamKey::new(1, 0).stream("x");
        let got: Vec<u64> = (0..6)
            .map(|k| b.delay(k, b.base, &mut rng).as_millis_f64() as u64)
            .collect();
        assert_eq!(got, [25, 50, 100, 200, 250, 250]);
    }

    #[test]
    fn envoy_budget_is_a_share_of_active_requests_with_a_floor() {
        let b = Budget::new(BudgetSpec::Envoy {
            percent: 20.0,
            min_concurrency: 3,
        });
        assert!(b.allows(0, 2));
        assert!(!b.allows(0, 3));
        assert!(b.allows(100, 19));
        assert!(!b.allows(100, 20));
    }

    /// gRFC A6: with 10 tokens and ratio 0.1, retries stop once five failures have drained it
    /// to 5, and 10 successes bring one token back.
    #[test]
    fn grpc_throttle_drains_on_failures_and_refills_on_successes() {
        let mut b = Budget::new(BudgetSpec::Throttle {
            max_tokens: 10.0,
            token_ratio: 0.1,
        });
        for _ in 0..4 {
            b.attempt_ended(false);
            assert!(b.allows(0, 0));
        }
        b.attempt_ended(false);
        assert!(!b.allows(0, 0), "{}", b.tokens());
        for _ in 0..11 {
            b.attempt_ended(true);
        }
        assert!(b.allows(0, 0), "{}", b.tokens());
        for _ in 0..1000 {
            b.attempt_ended(true);
        }
        assert_eq!(b.tokens(), 10.0);
    }
}

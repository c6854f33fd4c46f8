//! Slow start (Envoy `slow_start_config`; HAProxy `slowstart`, AWS ALB slow start): a backend
//! that rejoins rotation (its health checks pass again, or its ejection ends) gets its weight
//! scaled by max(min_weight, (t / window)^(1/aggression)), t the time since it rejoined, until
//! the window has passed, so a cold replica is not flooded at once.
//!
//! It works with any policy whose next pick moves on after a refusal (round robin, random,
//! weighted round robin and random, least request): the policy picks, and a ramping backend is
//! accepted with probability equal to its factor, else the policy picks again. For random
//! picks this is exactly a weight scaled by the factor (share f·w / (f·w + Σ others)); for
//! round robin it holds over each cycle; for least request it thins a ramping backend's wins as
//! Envoy's weighted mode does. Backends present at the start are not ramping (Envoy does not
//! slow-start the hosts of a new cluster either).

use crate::spec::SlowStartSpec;
use sim_core::{SimTime, Stream};

/// Refused picks before one is accepted regardless: with factors ≥ 1%, 0.99^10000 ≈ 2·10⁻⁴⁴,
/// so it only guarantees termination.
const MAX_TRIES: u32 = 10_000;

/// Per-backend rejoin times and the acceptance draws.
#[derive(Clone, Debug)]
pub struct SlowStart {
    spec: SlowStartSpec,
    /// Per backend: when it last rejoined rotation (`None`: in rotation since the start).
    joined: Vec<Option<SimTime>>,
    /// Acceptance draws (`balancer/NAME/slow_start`).
    rng: Stream,
}

impl SlowStart {
    /// For `n` backends, none ramping.
    pub fn new(spec: SlowStartSpec, n: usize, rng: Stream) -> Self {
        SlowStart {
            spec,
            joined: vec![None; n],
            rng,
        }
    }

    /// Backend `b` rejoined rotation at `now`.
    pub fn rejoined(&mut self, b: usize, now: SimTime) {
        self.joined[b] = Some(now);
    }

    /// The factor backend `b`'s weight is scaled by at `now` (1 outside the window).
    pub fn factor(&self, b: usize, now: SimTime) -> f64 {
        let Some(t0) = self.joined[b] else {
            return 1.0;
        };
        let t = now.0.saturating_sub(t0.0);
        let w = self.spec.window.0;
        if t >= w {
            return 1.0;
        }
        // Envoy counts at least one unit of time, so the ramp never starts at exactly zero.
        let time_factor = t.max(1) as f64 / w as f64;
        libm::pow(time_factor, 1.0 / self.spec.aggression).max(self.spec.min_weight)
    }

    /// Picks with `pick` until a backend is accepted: a ramping one with probability equal to its
    /// factor. Outside every window this is one pick and no draw.
    #[inline]
    pub fn pick(&mut self, now: SimTime, mut pick: impl FnMut() -> usize) -> usize {
        for _ in 0..MAX_TRIES {
            let b = pick();
            let f = self.factor(b, now);
            if f >= 1.0 || self.rng.chance(f) {
                return b;
            }
        }
        pick()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{SimDuration, StreamKey};

    fn slow(aggression: f64) -> SlowStart {
        let spec = SlowStartSpec {
            window: SimDuration::from_secs(30),
            aggression,
            min_weight: 0.1,
        };
        SlowStart::new(spec, 2, StreamKey::new(1, 0).stream("test"))
    }

    #[test]
    fn the_factor_follows_envoys_formula() {
        let s_at = |s: &SlowStart, t: u64| s.factor(0, SimTime(t * 1_000_000_000));
        let mut s = slow(1.0);
        assert_eq!(s_at(&s, 5), 1.0, "never rejoined: full weight");
        s.rejoined(0, SimTime::ZERO);
        assert_eq!(s_at(&s, 0), 0.1, "the floor");
        assert_eq!(s_at(&s, 15), 0.5);
        assert_eq!(s_at(&s, 30), 1.0);
        assert_eq!(
            s.factor(1, SimTime(1)),
            1.0,
            "other backends are not ramping"
        );
        let mut s = slow(2.0);
        s.rejoined(0, SimTime::ZERO);
        assert_eq!(s_at(&s, 15), libm::sqrt(0.5));
    }
}

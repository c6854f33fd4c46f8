//! Token-bucket rate limiting (RFC 2697 style; Envoy's `local_ratelimit`): a bucket of `burst`
//! tokens refilled at `rate_per_s`; a request takes one token or is rejected. Over any interval
//! of length t it admits at most burst + rate·t requests.

use crate::spec::TokenBucketSpec;
use sim_core::SimTime;

/// A token bucket and its level.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Tokens per nanosecond.
    rate_per_ns: f64,
    burst: f64,
    tokens: f64,
    last: SimTime,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(spec: TokenBucketSpec) -> Self {
        TokenBucket {
            rate_per_ns: spec.rate_per_s / 1e9,
            burst: spec.burst as f64,
            tokens: spec.burst as f64,
            last: SimTime::ZERO,
        }
    }

    /// Takes a token at `now` if there is one.
    #[inline]
    pub fn take(&mut self, now: SimTime) -> bool {
        let elapsed = now.0.saturating_sub(self.last.0) as f64;
        self.tokens = (self.tokens + elapsed * self.rate_per_ns).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests every millisecond against 100/s with a burst of 10: the first 10 pass, then one
    /// every 10 ms; over any window, admitted ≤ burst + rate·t.
    #[test]
    fn admits_the_burst_then_the_rate() {
        let mut b = TokenBucket::new(TokenBucketSpec {
            rate_per_s: 100.0,
            burst: 10,
        });
        let admitted: Vec<u64> = (0..1000u64)
            .filter(|&ms| b.take(SimTime(ms * 1_000_000)))
            .collect();
        assert_eq!(&admitted[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        // Then at most one per 10 ms: 10 + 100/s × 1 s in all, give or take the token in
        // progress.
        assert!((108..=110).contains(&admitted.len()), "{}", admitted.len());
        for w in admitted.windows(12) {
            let t = (w[11] - w[0]) as f64 / 1000.0;
            assert!(12.0 <= 10.0 + 100.0 * t + 1.0, "{w:?}");
        }
    }
}

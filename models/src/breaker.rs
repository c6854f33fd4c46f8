//! Circuit breaker (resilience4j semantics, Hystrix's time buckets): closed, it counts the
//! outcomes of calls over a sliding window and opens when, with at least `minimum_calls` in
//! the window, the failure rate reaches the threshold; open, every call fails at once until
//! `open_duration` has passed; then the next call finds it half-open, and `half_open_calls`
//! trial calls decide: their failure rate at or above the threshold opens it again, below
//! closes it with an empty window. Results of calls permitted before the last transition are
//! ignored (each permit carries the breaker's epoch), so a slow call from before an opening
//! cannot close a breaker it never tested.

use crate::spec::{BreakerSpec, BreakerWindow};
use sim_core::{SimDuration, SimTime};

/// A breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; outcomes are counted.
    Closed,
    /// Calls fail at once.
    Open,
    /// A few trial calls pass; the rest fail at once.
    HalfOpen,
}

impl BreakerState {
    /// The name used in reports and traces.
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// A circuit breaker and its window.
#[derive(Clone, Debug)]
pub struct Breaker {
    spec: BreakerSpec,
    state: BreakerState,
    opened_at: SimTime,
    epoch: u32,
    /// Count window: the last n outcomes (true = failed), a ring. Time window: per bucket,
    /// (calls, failures) packed as [calls, failures] pairs.
    ring: Vec<u32>,
    /// Count window: next slot and slots filled. Time window: index of the current bucket.
    head: u64,
    filled: u32,
    calls: u32,
    failures: u32,
    trials_started: u32,
    trials_done: u32,
    trials_failed: u32,
    /// Times it opened.
    pub openings: u64,
}

impl Breaker {
    /// A closed breaker with an empty window.
    pub fn new(spec: BreakerSpec) -> Self {
        let ring = match spec.window {
            BreakerWindow::Count(n) => vec![0; n as usize],
            BreakerWindow::Time { buckets, .. } => vec![0; 2 * buckets as usize],
        };
        Breaker {
            spec,
            state: BreakerState::Closed,
            opened_at: SimTime::ZERO,
            epoch: 0,
            ring,
            head: 0,
            filled: 0,
            calls: 0,
            failures: 0,
            trials_started: 0,
            trials_done: 0,
            trials_failed: 0,
            openings: 0,
        }
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Asks to make a call at `now`: `Some(epoch)` to pass to [`Breaker::record`], or `None`
    /// when the breaker refuses it.
    pub fn permit(&mut self, now: SimTime) -> Option<u32> {
        if self.state == BreakerState::Open && now.since(self.opened_at) >= self.spec.open_duration
        {
            self.transition(BreakerState::HalfOpen, now);
        }
        match self.state {
            BreakerState::Closed => Some(self.epoch),
            BreakerState::Open => None,
            BreakerState::HalfOpen if self.trials_started < self.spec.half_open_calls => {
                self.trials_started += 1;
                Some(self.epoch)
            }
            BreakerState::HalfOpen => None,
        }
    }

    /// The call permitted in `epoch` ended at `now`.
    pub fn record(&mut self, now: SimTime, epoch: u32, failed: bool) {
        if epoch != self.epoch {
            return;
        }
        let threshold = self.spec.failure_rate_threshold;
        match self.state {
            BreakerState::Closed => {
                self.push(now, failed);
                if self.calls >= self.spec.minimum_calls.max(1)
                    && self.failures as f64 >= threshold * self.calls as f64
                {
                    self.transition(BreakerState::Open, now);
                }
            }
            BreakerState::HalfOpen => {
                self.trials_done += 1;
                self.trials_failed += failed as u32;
                if self.trials_done == self.spec.half_open_calls {
                    let rate = self.trials_failed as f64 / self.trials_done as f64;
                    let next = if rate >= threshold {
                        BreakerState::Open
                    } else {
                        BreakerState::Closed
                    };
                    self.transition(next, now);
                }
            }
            BreakerState::Open => {}
        }
    }

    fn transition(&mut self, to: BreakerState, now: SimTime) {
        self.state = to;
        self.epoch = self.epoch.wrapping_add(1);
        self.ring.fill(0);
        (self.head, self.filled, self.calls, self.failures) = (0, 0, 0, 0);
        (self.trials_started, self.trials_done, self.trials_failed) = (0, 0, 0);
        if to == BreakerState::Open {
            self.opened_at = now;
            self.openings += 1;
        }
    }

    fn push(&mut self, now: SimTime, failed: bool) {
        match self.spec.window {
            BreakerWindow::Count(n) => {
                let slot = (self.head % n as u64) as usize;
                if self.filled == n {
                    self.calls -= 1;
                    self.failures -= self.ring[slot];
                } else {
                    self.filled += 1;
                }
                self.ring[slot] = failed as u32;
                self.calls += 1;
                self.failures += failed as u32;
                self.head += 1;
            }
            BreakerWindow::Time { length, buckets } => {
                let width = (length.0 / buckets as u64).max(1);
                let bucket = now.0 / width;
                // Clear the buckets that time has passed since the last call (at most all).
                let n = buckets as u64;
                if self.filled == 0 {
                    self.head = bucket;
                    self.filled = 1;
                }
                let stale = bucket.saturating_sub(self.head).min(n);
                for i in 1..=stale {
                    let b = ((self.head + i) % n) as usize;
                    self.calls -= self.ring[2 * b];
                    self.failures -= self.ring[2 * b + 1];
                    self.ring[2 * b] = 0;
                    self.ring[2 * b + 1] = 0;
                }
                self.head = self.head.max(bucket);
                let b = (self.head % n) as usize;
                self.ring[2 * b] += 1;
                self.ring[2 * b + 1] += failed as u32;
                self.calls += 1;
                self.failures += failed as u32;
            }
        }
    }

    /// Calls and failures in the window now (for tests and traces).
    pub fn window(&self) -> (u32, u32) {
        (self.calls, self.failures)
    }

    /// How long it stays open.
    pub fn open_duration(&self) -> SimDuration {
        self.spec.open_duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(window: BreakerWindow) -> BreakerSpec {
        BreakerSpec {
            window,
            minimum_calls: 4,
            failure_rate_threshold: 0.5,
            open_duration: SimDuration::from_secs(10),
            half_open_calls: 2,
        }
    }

    #[test]
    fn a_count_window_forgets_the_oldest_call() {
        let mut b = Breaker::new(spec(BreakerWindow::Count(4)));
        let t = SimTime(0);
        for failed in [true, false, false, false, false] {
            let e = b.permit(t).unwrap();
            b.record(t, e, failed);
        }
        assert_eq!(b.window(), (4, 0));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_time_window_forgets_old_buckets() {
        let mut b = Breaker::new(spec(BreakerWindow::Time {
            length: SimDuration::from_secs(10),
            buckets: 10,
        }));
        let s = |x: u64| SimTime(x * 1_000_000_000);
        for (at, failed) in [(0, true), (1, false), (5, false), (10, false), (11, false)] {
            let e = b.permit(s(at)).unwrap();
            b.record(s(at), e, failed);
        }
        // At 11 s the buckets of 0 s and 1 s have left the window.
        assert_eq!(b.window(), (3, 0));
        let e = b.permit(s(100)).unwrap();
        b.record(s(100), e, true);
        assert_eq!(b.window(), (1, 1));
    }
}

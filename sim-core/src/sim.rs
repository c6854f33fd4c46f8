//! The run loop: pop the earliest event, advance the clock, hand the event to the model.

use crate::queue::{EventQueue, TimerId};
use crate::time::{SimDuration, SimTime};

/// A simulation model: a closed event type and a handler.
pub trait Model {
    /// Everything that can happen in this model.
    type Event;

    /// Reacts to `event` at `now`, scheduling future events through `sched`.
    fn handle(&mut self, now: SimTime, event: Self::Event, sched: &mut Scheduler<Self::Event>);

    /// Called instead of [`Self::handle`] when the run stops because the clock has not moved
    /// for [`STALL_EVENTS`] events: `event` is the next one. The model remembers which of its
    /// components it belongs to, so that the error names it; the kernel knows no components.
    fn stalled(&mut self, now: SimTime, event: &Self::Event) {
        let _ = (now, event);
    }
}

/// Events at one instant after which a run is stopped as stalled ([`StopReason::Stalled`]):
/// far more than any real burst (every replica of the largest allowed topology failing at
/// once is ~10⁵ events), and reached in well under a second when a zero-time loop spins.
pub const STALL_EVENTS: u64 = 20_000_000;

/// The clock and the future event list, as seen by a model.
pub struct Scheduler<E> {
    queue: EventQueue<E>,
    now: SimTime,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    /// A scheduler at time zero with nothing pending.
    pub fn new() -> Self {
        Scheduler {
            queue: EventQueue::with_capacity(1024),
            now: SimTime::ZERO,
        }
    }

    /// The current virtual time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at instant `at`, which must not be in the past.
    #[inline]
    pub fn at(&mut self, at: SimTime, event: E) {
        assert!(
            at >= self.now,
            "invariant: event scheduled in the past ({at:?} < now {:?})",
            self.now
        );
        self.queue.schedule(at, event);
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn after(&mut self, delay: SimDuration, event: E) {
        self.queue.schedule(self.now.after(delay), event);
    }

    /// Schedules a cancellable `event` after `delay`.
    #[inline]
    pub fn timer_after(&mut self, delay: SimDuration, event: E) -> TimerId {
        self.queue.schedule_timer(self.now.after(delay), event)
    }

    /// Schedules a cancellable `event` after `delay`, a length the model uses again and again
    /// for timeouts that are usually cancelled (deadlines, per-try timeouts): such timers wait in
    /// a FIFO lane per length instead of the heap. Same order of events as [`Self::timer_after`].
    #[inline]
    pub fn timeout_after(&mut self, delay: SimDuration, event: E) -> TimerId {
        self.queue.schedule_timeout(self.now, delay, event)
    }

    /// Cancels a timer; false if it already fired or was cancelled.
    #[inline]
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.queue.cancel(id)
    }

    /// Live pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// When a run stops.
#[derive(Clone, Copy, Debug)]
pub struct Until {
    /// Events strictly after this instant are not processed; the run ends at the horizon.
    pub horizon: SimTime,
    /// Stop after this many events (a guard against runaway models).
    pub max_events: u64,
}

impl Until {
    /// Stop at `horizon`, with no event limit.
    pub fn horizon(horizon: SimTime) -> Self {
        Until {
            horizon,
            max_events: u64::MAX,
        }
    }
}

/// Why a run stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StopReason {
    /// The next event lies beyond the horizon.
    Horizon,
    /// The event limit was reached.
    MaxEvents,
    /// No event was left.
    Drained,
    /// Virtual time did not advance for [`STALL_EVENTS`] events: the model loops at one
    /// instant (see [`Model::stalled`]).
    Stalled,
}

/// What the run loop did.
#[derive(Clone, Copy, Debug)]
pub struct RunStats {
    /// Events handled.
    pub events: u64,
    /// Virtual time at the stop: the horizon if it was reached, else the last event's time.
    pub end: SimTime,
    /// Why the loop stopped.
    pub reason: StopReason,
}

/// Runs `model` until a stop condition holds. Can be called again to continue.
pub fn run<M: Model>(model: &mut M, sched: &mut Scheduler<M::Event>, until: Until) -> RunStats {
    let mut events = 0u64;
    // Events handled at the current instant: a guard against a model that never lets the
    // clock advance.
    let mut same_instant = 0u64;
    let reason = loop {
        if events >= until.max_events {
            break StopReason::MaxEvents;
        }
        let Some((t, ev)) = sched.queue.pop_until(until.horizon) else {
            // Entries left (live or cancelled) all lie beyond the horizon.
            break match sched.queue.peek_time() {
                None => StopReason::Drained,
                Some(_) => StopReason::Horizon,
            };
        };
        assert!(
            t >= sched.now,
            "invariant: time ran backwards ({t:?} < {:?})",
            sched.now
        );
        if t == sched.now {
            same_instant += 1;
            if same_instant > STALL_EVENTS {
                model.stalled(t, &ev);
                break StopReason::Stalled;
            }
        } else {
            same_instant = 1;
        }
        sched.now = t;
        events += 1;
        model.handle(t, ev, sched);
    };
    if reason == StopReason::Horizon {
        sched.now = until.horizon;
    }
    RunStats {
        events,
        end: sched.now,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pings itself every 10 ns, recording times.
    struct Ticker(Vec<u64>);
    impl Model for Ticker {
        type Event = ();
        fn handle(&mut self, now: SimTime, _: (), s: &mut Scheduler<()>) {
            self.0.push(now.0);
            s.after(SimDuration(10), ());
        }
    }

    #[test]
    fn stops_at_horizon_and_at_max_events() {
        let mut m = Ticker(vec![]);
        let mut s = Scheduler::new();
        s.at(SimTime(0), ());
        let r = run(&mut m, &mut s, Until::horizon(SimTime(35)));
        assert_eq!(m.0, vec![0, 10, 20, 30]);
        assert_eq!(r.reason, StopReason::Horizon);
        assert_eq!(r.end, SimTime(35));
        let r = run(
            &mut m,
            &mut s,
            Until {
                horizon: SimTime::MAX,
                max_events: 2,
            },
        );
        assert_eq!(r.reason, StopReason::MaxEvents);
        assert_eq!(m.0, vec![0, 10, 20, 30, 40, 50]);
    }

    #[test]
    fn a_model_that_never_advances_the_clock_is_stopped_and_told() {
        /// Reschedules itself with no delay, from t = 7 on.
        struct Spin(Option<(SimTime, u8)>);
        impl Model for Spin {
            type Event = u8;
            fn handle(&mut self, _: SimTime, e: u8, s: &mut Scheduler<u8>) {
                s.after(SimDuration::ZERO, e);
            }
            fn stalled(&mut self, now: SimTime, e: &u8) {
                self.0 = Some((now, *e));
            }
        }
        let mut s = Scheduler::new();
        s.at(SimTime(7), 3);
        let mut m = Spin(None);
        let r = run(&mut m, &mut s, Until::horizon(SimTime(100)));
        assert_eq!(r.reason, StopReason::Stalled);
        assert_eq!(r.events, STALL_EVENTS);
        assert_eq!(m.0, Some((SimTime(7), 3)));
        // A burst below the guard at one instant is fine.
        struct Burst(u64);
        impl Model for Burst {
            type Event = ();
            fn handle(&mut self, _: SimTime, _: (), s: &mut Scheduler<()>) {
                self.0 += 1;
                if self.0 < 1000 {
                    s.after(SimDuration::ZERO, ());
                }
            }
        }
        let mut s = Scheduler::new();
        s.at(SimTime(0), ());
        let r = run(&mut Burst(0), &mut s, Until::horizon(SimTime(100)));
        assert_eq!((r.reason, r.events), (StopReason::Drained, 1000));
    }

    #[test]
    fn a_cancelled_timer_past_the_horizon_does_not_lose_the_event_behind_it() {
        struct Nop(u32);
        impl Model for Nop {
            type Event = u32;
            fn handle(&mut self, _: SimTime, e: u32, _: &mut Scheduler<u32>) {
                self.0 += e;
            }
        }
        let mut s = Scheduler::new();
        let t = s.timer_after(SimDuration(5), 100);
        s.at(SimTime(20), 1);
        s.cancel(t);
        let mut m = Nop(0);
        run(&mut m, &mut s, Until::horizon(SimTime(10)));
        assert_eq!(m.0, 0);
        run(&mut m, &mut s, Until::horizon(SimTime(30)));
        assert_eq!(m.0, 1);
    }

    #[test]
    #[should_panic(expected = "scheduled in the past")]
    fn scheduling_in_the_past_is_an_invariant_violation() {
        struct Bad;
        impl Model for Bad {
            type Event = ();
            fn handle(&mut self, _: SimTime, _: (), s: &mut Scheduler<()>) {
                s.at(SimTime(1), ());
            }
        }
        let mut s = Scheduler::new();
        s.at(SimTime(5), ());
        run(&mut Bad, &mut s, Until::horizon(SimTime(100)));
    }
}

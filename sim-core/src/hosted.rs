//! Models hosted inside another model's run loop, with event types of their own.
//!
//! A host (the whole topology) keeps one event queue. A hosted model (a store) has its own,
//! possibly larger, event type: putting it in the host's event enum would make every queue
//! entry bigger. Instead its pending events wait in an [`EventSlots`] table and the host's
//! queue holds only `(owner, slot)`, wrapped in a host event. Order is the host queue's:
//! `(time, insertion sequence)`, so a hosted model's events fire exactly in the order they
//! would in a loop of its own.

use crate::sim::Scheduler;
use crate::time::{SimDuration, SimTime};

/// What a model needs of a scheduler to plan its own events: the clock, `at` and `after`.
/// [`Scheduler`] is one; [`HostedScheduler`] is another.
pub trait Schedule<E> {
    /// The current virtual time.
    fn now(&self) -> SimTime;
    /// Schedules `event` at `at`, which must not be in the past.
    fn at(&mut self, at: SimTime, event: E);
    /// Schedules `event` after `delay`.
    fn after(&mut self, delay: SimDuration, event: E);
}

impl<E> Schedule<E> for Scheduler<E> {
    #[inline]
    fn now(&self) -> SimTime {
        Scheduler::now(self)
    }
    #[inline]
    fn at(&mut self, at: SimTime, event: E) {
        Scheduler::at(self, at, event)
    }
    #[inline]
    fn after(&mut self, delay: SimDuration, event: E) {
        Scheduler::after(self, delay, event)
    }
}

/// A hosted model's pending events, each in a slot until it fires: a slab with a free list,
/// so that no event allocates once the table has grown to the model's pending work.
pub struct EventSlots<E> {
    slots: Vec<Option<E>>,
    free: Vec<u32>,
}

impl<E> Default for EventSlots<E> {
    fn default() -> Self {
        EventSlots {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<E> EventSlots<E> {
    fn put(&mut self, e: E) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(e);
                i
            }
            None => {
                self.slots.push(Some(e));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// The event in `slot`, which fires now; the slot is free again.
    pub fn take(&mut self, slot: u32) -> E {
        let e = self.slots[slot as usize]
            .take()
            .unwrap_or_else(|| panic!("invariant: hosted event slot {slot} fired twice"));
        self.free.push(slot);
        e
    }

    /// Events waiting.
    pub fn pending(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// The scheduler a hosted model sees: its events go to its slots, and `wrap(owner, slot)` into
/// the host's queue.
pub struct HostedScheduler<'a, H, E> {
    host: &'a mut Scheduler<H>,
    slots: &'a mut EventSlots<E>,
    owner: u32,
    wrap: fn(u32, u32) -> H,
}

impl<'a, H, E> HostedScheduler<'a, H, E> {
    /// Model `owner`'s view of `host`: its events wait in `slots` and reach it through the host
    /// event `wrap(owner, slot)`.
    pub fn new(
        host: &'a mut Scheduler<H>,
        slots: &'a mut EventSlots<E>,
        owner: u32,
        wrap: fn(u32, u32) -> H,
    ) -> Self {
        HostedScheduler {
            host,
            slots,
            owner,
            wrap,
        }
    }
}

impl<H, E> Schedule<E> for HostedScheduler<'_, H, E> {
    #[inline]
    fn now(&self) -> SimTime {
        self.host.now()
    }
    #[inline]
    fn at(&mut self, at: SimTime, event: E) {
        let slot = self.slots.put(event);
        self.host.at(at, (self.wrap)(self.owner, slot));
    }
    #[inline]
    fn after(&mut self, delay: SimDuration, event: E) {
        let slot = self.slots.put(event);
        self.host.after(delay, (self.wrap)(self.owner, slot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Model, Until, run};

    /// A guest that pings itself with a payload too big for the host's event type.
    struct Guest(Vec<(u64, [u64; 4])>);
    impl Guest {
        fn handle(&mut self, now: SimTime, e: [u64; 4], s: &mut dyn Schedule<[u64; 4]>) {
            self.0.push((now.0, e));
            if e[0] < 3 {
                s.after(SimDuration(7), [e[0] + 1, 0, 0, e[3]]);
            }
        }
    }

    #[derive(Clone, Copy)]
    enum HostEvent {
        Tick,
        Guest(u32, u32),
    }
    struct Host {
        ticks: Vec<u64>,
        guests: Vec<(Guest, EventSlots<[u64; 4]>)>,
    }
    impl Model for Host {
        type Event = HostEvent;
        fn handle(&mut self, now: SimTime, e: HostEvent, s: &mut Scheduler<HostEvent>) {
            match e {
                HostEvent::Tick => {
                    self.ticks.push(now.0);
                    s.after(SimDuration(5), HostEvent::Tick);
                }
                HostEvent::Guest(g, slot) => {
                    let (guest, slots) = &mut self.guests[g as usize];
                    let ev = slots.take(slot);
                    guest.handle(
                        now,
                        ev,
                        &mut HostedScheduler::new(s, slots, g, HostEvent::Guest),
                    );
                }
            }
        }
    }

    /// Two guests and the host share one clock; each guest sees its own events in order, with
    /// its own payloads, and a freed slot is reused.
    #[test]
    fn hosted_models_share_the_clock_and_keep_their_order() {
        let mut host = Host {
            ticks: vec![],
            guests: vec![
                (Guest(vec![]), EventSlots::default()),
                (Guest(vec![]), EventSlots::default()),
            ],
        };
        let mut s = Scheduler::new();
        s.at(SimTime(0), HostEvent::Tick);
        for g in 0..2u32 {
            let (_, slots) = &mut host.guests[g as usize];
            HostedScheduler::new(&mut s, slots, g, HostEvent::Guest)
                .at(SimTime(g as u64), [0, 0, 0, 100 + g as u64]);
        }
        run(&mut host, &mut s, Until::horizon(SimTime(30)));
        assert_eq!(host.ticks, vec![0, 5, 10, 15, 20, 25, 30]);
        for g in 0..2u64 {
            let seen = &host.guests[g as usize].0.0;
            let times: Vec<u64> = seen.iter().map(|x| x.0).collect();
            assert_eq!(times, vec![g, g + 7, g + 14, g + 21]);
            assert!(seen.iter().all(|x| x.1[3] == 100 + g));
            assert_eq!(host.guests[g as usize].1.pending(), 0);
            assert_eq!(host.guests[g as usize].1.slots.len(), 1, "one slot, reused");
        }
    }
}

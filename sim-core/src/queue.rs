//! The future event list: a 4-ary min-heap ordered by `(time, insertion sequence)`, with
//! cancellable timers. Four children per node halve the heap's depth against a binary heap and
//! keep siblings in one cache line, which matters once 10⁵ events are pending.
//!
//! Cancellation is lazy: a cancelled timer stays in the heap, marked dead in a slot table, and
//! is skipped when it reaches the top. When dead entries outnumber live ones the heap is rebuilt
//! without them (O(n), amortised O(1) per cancel), so a timeout that is almost always cancelled
//! costs O(1) to cancel and memory stays bounded by twice the pending work.

use crate::time::SimTime;

/// A handle to a cancellable timer, returned by [`EventQueue::schedule_timer`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

const NO_TIMER: u32 = u32::MAX;

struct Entry<E> {
    time: SimTime,
    seq: u64,
    timer: u32,
    event: E,
}

impl<E> Entry<E> {
    #[inline(always)]
    fn key(&self) -> (SimTime, u64) {
        (self.time, self.seq)
    }
}

/// A 4-ary min-heap on `(time, seq)`; keys are unique, so the order is total.
struct Heap<E> {
    v: Vec<Entry<E>>,
}

impl<E> Heap<E> {
    #[inline]
    fn push(&mut self, e: Entry<E>) {
        let mut i = self.v.len();
        self.v.push(e);
        let key = self.v[i].key();
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.v[parent].key() <= key {
                break;
            }
            self.v.swap(i, parent);
            i = parent;
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Entry<E>> {
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = std::mem::replace(&mut self.v[0], last);
        self.sift_down(0);
        Some(top)
    }

    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let n = self.v.len();
        let key = self.v[i].key();
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let mut best = first;
            let mut best_key = self.v[first].key();
            for c in first + 1..(first + 4).min(n) {
                let k = self.v[c].key();
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            if best_key >= key {
                break;
            }
            self.v.swap(i, best);
            i = best;
        }
    }

    #[inline]
    fn peek(&self) -> Option<&Entry<E>> {
        self.v.first()
    }

    fn len(&self) -> usize {
        self.v.len()
    }

    /// Keeps the entries for which `keep` is true and restores the heap order (O(n)).
    fn retain(&mut self, keep: impl FnMut(&Entry<E>) -> bool) {
        self.v.retain(keep);
        for i in (0..self.v.len().div_ceil(4)).rev() {
            self.sift_down(i);
        }
    }
}

#[derive(Clone, Copy)]
struct Slot {
    generation: u32,
    state: SlotState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Pending,
    Cancelled,
}

/// Pending events of type `E`, popped in `(time, sequence)` order.
pub struct EventQueue<E> {
    heap: Heap<E>,
    next_seq: u64,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    cancelled: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `n` pending events before it reallocates.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Heap {
                v: Vec::with_capacity(n),
            },
            next_seq: 0,
            slots: Vec::new(),
            free_slots: Vec::new(),
            cancelled: 0,
        }
    }

    /// Schedules `event` at `time`. It cannot be cancelled.
    #[inline]
    pub fn schedule(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            time,
            seq,
            timer: NO_TIMER,
            event,
        });
    }

    /// Schedules `event` at `time` and returns a handle that can cancel it.
    #[inline]
    pub fn schedule_timer(&mut self, time: SimTime, event: E) -> TimerId {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    state: SlotState::Free,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        debug_assert!(s.state == SlotState::Free);
        s.state = SlotState::Pending;
        let id = TimerId {
            slot,
            generation: s.generation,
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            time,
            seq,
            timer: slot,
            event,
        });
        id
    }

    /// Cancels a timer. Returns false if it already fired or was already cancelled.
    #[inline]
    pub fn cancel(&mut self, id: TimerId) -> bool {
        let Some(s) = self.slots.get_mut(id.slot as usize) else {
            return false;
        };
        if s.generation != id.generation || s.state != SlotState::Pending {
            return false;
        }
        s.state = SlotState::Cancelled;
        self.cancelled += 1;
        if self.cancelled > 64 && self.cancelled * 2 > self.heap.len() {
            self.purge_cancelled();
        }
        true
    }

    fn purge_cancelled(&mut self) {
        let slots = &mut self.slots;
        let free = &mut self.free_slots;
        self.heap.retain(|e| {
            if e.timer == NO_TIMER {
                return true;
            }
            let s = &mut slots[e.timer as usize];
            if s.state == SlotState::Cancelled {
                s.state = SlotState::Free;
                s.generation = s.generation.wrapping_add(1);
                free.push(e.timer);
                false
            } else {
                true
            }
        });
        self.cancelled = 0;
    }

    /// Removes and returns the earliest live event, skipping cancelled timers.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            let e = self.heap.pop()?;
            if e.timer == NO_TIMER {
                return Some((e.time, e.event));
            }
            let s = &mut self.slots[e.timer as usize];
            let live = s.state == SlotState::Pending;
            s.state = SlotState::Free;
            s.generation = s.generation.wrapping_add(1);
            self.free_slots.push(e.timer);
            if live {
                return Some((e.time, e.event));
            }
            self.cancelled -= 1;
        }
    }

    /// The time of the earliest entry (possibly a cancelled one), without removing it.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    /// Live pending events.
    pub fn len(&self) -> usize {
        self.heap.len() - self.cancelled
    }

    /// True when no live event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries physically held, live or cancelled (for memory-bound tests).
    pub fn physical_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_fire_in_insertion_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(5), 'a');
        q.schedule(SimTime(3), 'b');
        q.schedule(SimTime(5), 'c');
        q.schedule_timer(SimTime(5), 'd');
        q.schedule(SimTime(1), 'e');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['e', 'b', 'a', 'c', 'd']);
    }

    #[test]
    fn cancelled_timers_never_fire_and_stale_handles_are_harmless() {
        let mut q = EventQueue::new();
        let a = q.schedule_timer(SimTime(10), 1);
        let b = q.schedule_timer(SimTime(20), 2);
        assert!(q.cancel(a));
        assert!(!q.cancel(a), "double cancel");
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((SimTime(20), 2)));
        assert!(!q.cancel(b), "already fired");
        // The slot of `a` is reused; the old handle must not cancel the new timer.
        let c = q.schedule_timer(SimTime(30), 3);
        assert!(!q.cancel(a));
        assert!(q.pop().is_some());
        assert!(!q.cancel(c));
        assert!(q.pop().is_none());
    }

    /// Random interleavings of schedule, schedule_timer, cancel and pop against a sorted
    /// reference: the heap must pop exactly the reference's order, purges included.
    #[test]
    fn matches_a_sorted_reference_under_random_operations() {
        use std::collections::BTreeMap;
        let mut rng = crate::rng::StreamKey::new(5, 0).stream("queue-ref");
        let mut q = EventQueue::new();
        let mut reference: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut timers: Vec<(TimerId, (u64, u64))> = Vec::new();
        let (mut seq, mut now) = (0u64, 0u64);
        for step in 0..200_000u32 {
            match rng.below(10) {
                0..=3 => {
                    let t = now + rng.below(1_000) as u64;
                    q.schedule(SimTime(t), step);
                    reference.insert((t, seq), step);
                    seq += 1;
                }
                4..=5 => {
                    let t = now + rng.below(1_000) as u64;
                    let id = q.schedule_timer(SimTime(t), step);
                    reference.insert((t, seq), step);
                    timers.push((id, (t, seq)));
                    seq += 1;
                }
                6..=7 if !timers.is_empty() => {
                    let (id, k) = timers.swap_remove(rng.below(timers.len() as u32) as usize);
                    assert_eq!(q.cancel(id), reference.remove(&k).is_some());
                }
                _ => {
                    let got = q.pop();
                    let want = reference.pop_first();
                    assert_eq!(
                        got.map(|(t, e)| (t.0, e)),
                        want.map(|((t, _), e)| (t, e)),
                        "step {step}"
                    );
                    if let Some(((t, _), _)) = want {
                        now = t;
                    }
                }
            }
            assert_eq!(q.len(), reference.len());
        }
    }

    #[test]
    fn memory_stays_bounded_when_most_timers_are_cancelled() {
        // A million timeouts, each cancelled right after it is set (the common case).
        let mut q = EventQueue::new();
        let mut now = 0u64;
        for i in 0..1_000_000u64 {
            now += 1;
            q.schedule(SimTime(now + 5), i);
            let t = q.schedule_timer(SimTime(now + 1_000_000), i);
            assert!(q.cancel(t));
            if let Some((t, _)) = q.pop() {
                assert!(t.0 >= now);
            }
        }
        assert!(
            q.physical_len() < 200,
            "heap holds {} entries",
            q.physical_len()
        );
        assert!(q.slots.len() < 200, "slot table holds {}", q.slots.len());
    }
}

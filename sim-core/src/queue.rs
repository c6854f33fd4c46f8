//! The future event list, ordered by `(time, insertion sequence)`: a short sorted array while
//! few events are pending, a 4-ary min-heap past that (see [`Heap`]), with cancellable timers and
//! FIFO lanes for timeouts of a fixed length. Four children per node halve the heap's depth
//! against a binary heap and keep siblings in one cache line.
//!
//! Cancellation is lazy: a cancelled timer stays where it is, marked dead in a slot table, and
//! is skipped when it reaches the top. When dead entries outnumber live ones they are swept out
//! (O(n), amortised O(1) per cancel), so a timeout that is almost always cancelled costs O(1) to
//! cancel and memory stays bounded by a constant times the pending work.
//!
//! Lanes: timeouts of one length set at a clock that never runs backwards expire in the order
//! they were set, so they form a FIFO queue. A lane pushes in O(1) and keeps only its front in
//! the heap; its cancelled entries are dropped in a batch when the front reaches the top, without
//! ever entering the heap. Deadlines and per-try timeouts (almost always cancelled) live there,
//! and the heap shrinks to the work that really ends at random times. A lane's entries carry
//! their global sequence numbers and its front is its minimum, so events pop in exactly the order
//! one heap would give: lanes change speed, never results.

use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;

/// A handle to a cancellable timer, returned by [`EventQueue::schedule_timer`] and
/// [`EventQueue::schedule_timeout`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

const NO_TIMER: u32 = u32::MAX;
/// Distinct timeout lengths given lanes; further lengths go to the heap.
const MAX_LANES: usize = 16;
/// Cancelled lane entries tolerated before a sweep (also at most half of the lanes' entries).
const LANE_SWEEP_MIN: usize = 1024;

/// `(time, seq)` packed so that one integer comparison orders entries.
#[inline(always)]
fn key(time: SimTime, seq: u64) -> u128 {
    (time.0 as u128) << 64 | seq as u128
}

#[inline(always)]
fn key_time(k: u128) -> SimTime {
    SimTime((k >> 64) as u64)
}

enum Payload<E> {
    /// The event itself.
    Event(E),
    /// The front of this lane.
    Lane(u32),
}

struct Entry<E> {
    key: u128,
    timer: u32,
    payload: Payload<E>,
}

/// Entries in `key` order; keys are unique, so the order is total. Few pending entries (the
/// common case: a web tier keeps a few dozen) are kept sorted, latest first: the earliest pops
/// off the end in O(1), and an insertion is a binary search and one short memmove, cheaper than
/// a heap's sift-down at this size. Past `SORTED_MAX` the
/// entries become a 4-ary heap (O(log n) both ways), and below `SORTED_MIN` sorted again; the
/// gap between the two keeps a queue that hovers near one size from switching back and forth.
/// The pop order is the same either way.
struct Heap<E> {
    /// Descending by key.
    sorted: Vec<Entry<E>>,
    /// Used instead of `sorted` while `is_heap`.
    v: Vec<Entry<E>>,
    is_heap: bool,
}

const SORTED_MAX: usize = 64;
const SORTED_MIN: usize = 24;

impl<E> Heap<E> {
    fn with_capacity(n: usize) -> Self {
        Heap {
            sorted: Vec::with_capacity(n.min(SORTED_MAX + 1)),
            v: Vec::new(),
            is_heap: false,
        }
    }

    #[inline]
    fn push(&mut self, e: Entry<E>) {
        if !self.is_heap {
            if self.sorted.len() < SORTED_MAX {
                let at = self.sorted.partition_point(|x| x.key > e.key);
                self.sorted.insert(at, e);
                return;
            }
            // Reversed, the array ascends: a valid min-heap as it stands.
            self.v = std::mem::take(&mut self.sorted);
            self.v.reverse();
            self.is_heap = true;
        }
        let mut i = self.v.len();
        let key = e.key;
        self.v.push(e);
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.v[parent].key <= key {
                break;
            }
            self.v.swap(i, parent);
            i = parent;
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Entry<E>> {
        if !self.is_heap {
            return self.sorted.pop();
        }
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = std::mem::replace(&mut self.v[0], last);
        self.sift_down(0);
        if self.v.len() < SORTED_MIN {
            self.make_sorted();
        }
        Some(top)
    }

    fn make_sorted(&mut self) {
        self.v.sort_unstable_by_key(|e| std::cmp::Reverse(e.key));
        self.sorted = std::mem::take(&mut self.v);
        self.is_heap = false;
    }

    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let n = self.v.len();
        let key = self.v[i].key;
        loop {
            let first = 4 * i + 1;
            if first + 4 <= n {
                // Four children (the common case): a branch-free tournament, one bounds check.
                let c = &self.v[first..first + 4];
                let (a, ka) = if c[1].key < c[0].key {
                    (1, c[1].key)
                } else {
                    (0, c[0].key)
                };
                let (b, kb) = if c[3].key < c[2].key {
                    (3, c[3].key)
                } else {
                    (2, c[2].key)
                };
                let (best, best_key) = if kb < ka { (b, kb) } else { (a, ka) };
                if best_key >= key {
                    break;
                }
                self.v.swap(i, first + best);
                i = first + best;
                continue;
            }
            if first >= n {
                break;
            }
            let mut best = first;
            let mut best_key = self.v[first].key;
            for c in first + 1..n {
                let k = self.v[c].key;
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
        if self.is_heap {
            self.v.first()
        } else {
            self.sorted.last()
        }
    }

    fn len(&self) -> usize {
        if self.is_heap {
            self.v.len()
        } else {
            self.sorted.len()
        }
    }

    /// Keeps the entries for which `keep` is true and restores the order (O(n)).
    fn retain(&mut self, keep: impl FnMut(&Entry<E>) -> bool) {
        if !self.is_heap {
            self.sorted.retain(keep);
            return;
        }
        self.v.retain(keep);
        for i in (0..self.v.len().div_ceil(4)).rev() {
            self.sift_down(i);
        }
        if self.v.len() < SORTED_MIN {
            self.make_sorted();
        }
    }
}

#[derive(Clone, Copy)]
struct Slot {
    generation: u32,
    state: SlotState,
    /// Its timer waits in a lane (else in the heap).
    in_lane: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Pending,
    Cancelled,
}

struct LaneEntry<E> {
    time: SimTime,
    seq: u64,
    slot: u32,
    event: E,
}

/// Timeouts of one length, in expiry order.
struct Lane<E> {
    delay: u64,
    q: VecDeque<LaneEntry<E>>,
}

/// Pending events of type `E`, popped in `(time, sequence)` order.
pub struct EventQueue<E> {
    heap: Heap<E>,
    lanes: Vec<Lane<E>>,
    next_seq: u64,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    /// Cancelled timers still in the heap.
    cancelled: usize,
    /// Entries held by lanes, and how many of them are cancelled.
    lane_len: usize,
    lane_cancelled: usize,
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
            heap: Heap::with_capacity(n),
            lanes: Vec::new(),
            next_seq: 0,
            slots: Vec::new(),
            free_slots: Vec::new(),
            cancelled: 0,
            lane_len: 0,
            lane_cancelled: 0,
        }
    }

    #[inline]
    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Schedules `event` at `time`. It cannot be cancelled.
    #[inline]
    pub fn schedule(&mut self, time: SimTime, event: E) {
        let seq = self.take_seq();
        self.heap.push(Entry {
            key: key(time, seq),
            timer: NO_TIMER,
            payload: Payload::Event(event),
        });
    }

    /// A pending slot and its handle.
    #[inline]
    fn new_slot(&mut self, in_lane: bool) -> (u32, TimerId) {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    state: SlotState::Free,
                    in_lane: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        debug_assert!(s.state == SlotState::Free);
        s.state = SlotState::Pending;
        s.in_lane = in_lane;
        (
            slot,
            TimerId {
                slot,
                generation: s.generation,
            },
        )
    }

    /// Returns a slot whose timer fired or was swept out; its old handles go stale.
    #[inline]
    fn free_slot(slots: &mut [Slot], free: &mut Vec<u32>, slot: u32) {
        let s = &mut slots[slot as usize];
        s.state = SlotState::Free;
        s.generation = s.generation.wrapping_add(1);
        free.push(slot);
    }

    /// Schedules `event` at `time` and returns a handle that can cancel it.
    #[inline]
    pub fn schedule_timer(&mut self, time: SimTime, event: E) -> TimerId {
        let (slot, id) = self.new_slot(false);
        let seq = self.take_seq();
        self.heap.push(Entry {
            key: key(time, seq),
            timer: slot,
            payload: Payload::Event(event),
        });
        id
    }

    /// Schedules `event` at `now + delay`, cancellable, in the lane of timeouts of length
    /// `delay` (see the module's documentation). `now` must never decrease between calls; the
    /// heap takes the timer when it would (or when every lane is taken by another length).
    #[inline]
    pub fn schedule_timeout(&mut self, now: SimTime, delay: SimDuration, event: E) -> TimerId {
        let time = now.after(delay);
        let lane = match self.lanes.iter().position(|l| l.delay == delay.0) {
            Some(l) => l,
            None if self.lanes.len() < MAX_LANES => {
                self.lanes.push(Lane {
                    delay: delay.0,
                    q: VecDeque::new(),
                });
                self.lanes.len() - 1
            }
            None => return self.schedule_timer(time, event),
        };
        if self.lanes[lane].q.back().is_some_and(|b| b.time > time) {
            return self.schedule_timer(time, event);
        }
        let (slot, id) = self.new_slot(true);
        let seq = self.take_seq();
        let q = &mut self.lanes[lane].q;
        let first = q.is_empty();
        q.push_back(LaneEntry {
            time,
            seq,
            slot,
            event,
        });
        self.lane_len += 1;
        if first {
            self.heap.push(Entry {
                key: key(time, seq),
                timer: NO_TIMER,
                payload: Payload::Lane(lane as u32),
            });
        }
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
        if s.in_lane {
            self.lane_cancelled += 1;
            if self.lane_cancelled > LANE_SWEEP_MIN && self.lane_cancelled * 2 > self.lane_len {
                self.sweep_lanes();
            }
        } else {
            self.cancelled += 1;
            if self.cancelled > 64 && self.cancelled * 2 > self.heap.len() {
                self.sweep_heap();
            }
        }
        true
    }

    /// Drops the heap's cancelled timers.
    fn sweep_heap(&mut self) {
        let slots = &mut self.slots;
        let free = &mut self.free_slots;
        self.heap.retain(|e| {
            if e.timer == NO_TIMER || slots[e.timer as usize].state != SlotState::Cancelled {
                return true;
            }
            Self::free_slot(slots, free, e.timer);
            false
        });
        self.cancelled = 0;
    }

    /// Drops the lanes' cancelled timers and puts each non-empty lane's (new) front in the heap.
    fn sweep_lanes(&mut self) {
        let slots = &mut self.slots;
        let free = &mut self.free_slots;
        self.heap.retain(|e| !matches!(e.payload, Payload::Lane(_)));
        self.lane_len = 0;
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            lane.q.retain(|e| {
                if slots[e.slot as usize].state == SlotState::Cancelled {
                    Self::free_slot(slots, free, e.slot);
                    false
                } else {
                    true
                }
            });
            self.lane_len += lane.q.len();
            if let Some(f) = lane.q.front() {
                self.heap.push(Entry {
                    key: key(f.time, f.seq),
                    timer: NO_TIMER,
                    payload: Payload::Lane(i as u32),
                });
            }
        }
        self.lane_cancelled = 0;
    }

    /// Removes and returns the earliest live event, skipping cancelled timers.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_until(SimTime::MAX)
    }

    /// Removes and returns the earliest live event if it is due no later than `horizon`;
    /// cancelled timers due by then are dropped on the way, later entries stay.
    #[inline]
    pub fn pop_until(&mut self, horizon: SimTime) -> Option<(SimTime, E)> {
        loop {
            if key_time(self.heap.peek()?.key) > horizon {
                return None;
            }
            let e = self.heap.pop()?;
            match e.payload {
                Payload::Event(ev) => {
                    if e.timer == NO_TIMER {
                        return Some((key_time(e.key), ev));
                    }
                    let live = self.slots[e.timer as usize].state == SlotState::Pending;
                    Self::free_slot(&mut self.slots, &mut self.free_slots, e.timer);
                    if live {
                        return Some((key_time(e.key), ev));
                    }
                    self.cancelled -= 1;
                }
                Payload::Lane(l) => {
                    if let Some(x) = self.pop_lane(l) {
                        return Some(x);
                    }
                }
            }
        }
    }

    /// Takes lane `l`'s front (whose heap entry was just popped), drops the cancelled entries
    /// behind it and puts the next live one's entry in the heap. The front's event if it was live.
    #[inline]
    fn pop_lane(&mut self, l: u32) -> Option<(SimTime, E)> {
        let (slots, free) = (&mut self.slots, &mut self.free_slots);
        let q = &mut self.lanes[l as usize].q;
        let f = q
            .pop_front()
            .expect("invariant: a lane with an entry in the heap is not empty");
        let live = slots[f.slot as usize].state == SlotState::Pending;
        Self::free_slot(slots, free, f.slot);
        let mut dropped = 0usize;
        while let Some(n) = q.front() {
            if slots[n.slot as usize].state != SlotState::Cancelled {
                break;
            }
            Self::free_slot(slots, free, n.slot);
            q.pop_front();
            dropped += 1;
        }
        let next = q.front().map(|n| key(n.time, n.seq));
        self.lane_len -= 1 + dropped;
        self.lane_cancelled -= dropped + !live as usize;
        if let Some(k) = next {
            self.heap.push(Entry {
                key: k,
                timer: NO_TIMER,
                payload: Payload::Lane(l),
            });
        }
        live.then_some((f.time, f.event))
    }

    /// The time of the earliest entry (possibly a cancelled one), without removing it.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| key_time(e.key))
    }

    /// Live pending events.
    pub fn len(&self) -> usize {
        let fronts = self.lanes.iter().filter(|l| !l.q.is_empty()).count();
        self.heap.len() - fronts - self.cancelled + self.lane_len - self.lane_cancelled
    }

    /// True when no live event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries physically held, live or cancelled, heap and lanes (for memory-bound tests).
    pub fn physical_len(&self) -> usize {
        self.heap.len() + self.lane_len
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

    /// Random interleavings of schedule, schedule_timer, schedule_timeout (lanes of three
    /// lengths, some equal to plain events' times), cancel and pop against a sorted reference:
    /// the queue must pop exactly the reference's order, sweeps included.
    #[test]
    fn matches_a_sorted_reference_under_random_operations() {
        use std::collections::BTreeMap;
        let mut rng = crate::rng::StreamKey::new(5, 0).stream("queue-ref");
        let mut q = EventQueue::new();
        let mut reference: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut timers: Vec<(TimerId, (u64, u64))> = Vec::new();
        let (mut seq, mut now) = (0u64, 0u64);
        for step in 0..400_000u32 {
            match rng.below(13) {
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
                10..=11 => {
                    let d = [100u64, 250, 700][rng.below(3) as usize];
                    let id = q.schedule_timeout(SimTime(now), SimDuration(d), step);
                    reference.insert((now + d, seq), step);
                    timers.push((id, (now + d, seq)));
                    seq += 1;
                }
                6..=7 | 12 if !timers.is_empty() => {
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

    /// The queue grows past `SORTED_MAX` and shrinks below `SORTED_MIN` again and again
    /// (sorted ring ↔ heap), with cancellations swept in both forms: the same order as a
    /// sorted reference throughout.
    #[test]
    fn switching_between_sorted_and_heap_keeps_the_order() {
        use std::collections::BTreeMap;
        let mut rng = crate::rng::StreamKey::new(6, 0).stream("queue-switch");
        let mut q = EventQueue::new();
        let mut reference: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let (mut seq, mut now, mut step) = (0u64, 0u64, 0u32);
        let mut timers = Vec::new();
        for round in 0..300 {
            let target = if round % 2 == 0 {
                40 + rng.below(200)
            } else {
                rng.below(20)
            };
            while q.len() != target as usize {
                step += 1;
                if q.len() < target as usize {
                    let t = now + rng.below(1_000) as u64;
                    if rng.chance(0.3) {
                        timers.push((q.schedule_timer(SimTime(t), step), (t, seq)));
                    } else {
                        q.schedule(SimTime(t), step);
                    }
                    reference.insert((t, seq), step);
                    seq += 1;
                } else if !timers.is_empty() && rng.chance(0.3) {
                    let (id, k) = timers.swap_remove(rng.below(timers.len() as u32) as usize);
                    assert_eq!(q.cancel(id), reference.remove(&k).is_some());
                } else {
                    let got = q.pop().map(|(t, e)| (t.0, e));
                    let want = reference.pop_first().map(|((t, _), e)| (t, e));
                    assert_eq!(got, want, "round {round}");
                    now = want.unwrap().0;
                }
                assert_eq!(q.len(), reference.len());
            }
        }
    }

    #[test]
    fn pop_until_leaves_later_events_and_drops_earlier_cancelled_ones() {
        let mut q = EventQueue::new();
        let a = q.schedule_timeout(SimTime(0), SimDuration(5), 'a');
        let b = q.schedule_timer(SimTime(6), 'b');
        q.schedule(SimTime(20), 'c');
        q.cancel(a);
        q.cancel(b);
        assert_eq!(q.pop_until(SimTime(10)), None);
        assert_eq!(
            q.physical_len(),
            1,
            "the cancelled timers due by 10 are gone"
        );
        assert_eq!(q.peek_time(), Some(SimTime(20)));
        assert_eq!(q.pop_until(SimTime(20)), Some((SimTime(20), 'c')));
    }

    #[test]
    fn more_lengths_than_lanes_fall_back_to_the_heap_in_order() {
        let mut q = EventQueue::new();
        for d in (1..=40u64).rev() {
            q.schedule_timeout(SimTime(0), SimDuration(d), d);
        }
        let order: Vec<u64> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, (1..=40).collect::<Vec<_>>());
        assert!(q.lanes.len() <= MAX_LANES);
    }

    #[test]
    fn lanes_stay_bounded_when_most_timeouts_are_cancelled() {
        // A million deadlines, each cancelled soon after it is set, with a long timeout.
        let mut q = EventQueue::new();
        let mut now = 0u64;
        for i in 0..1_000_000u64 {
            now += 1;
            q.schedule(SimTime(now + 5), i);
            let t = q.schedule_timeout(SimTime(now), SimDuration(10_000_000), i);
            assert!(q.cancel(t));
            if let Some((t, _)) = q.pop() {
                assert!(t.0 >= now);
            }
        }
        assert!(
            q.physical_len() < 2 * LANE_SWEEP_MIN + 200,
            "queue holds {} entries",
            q.physical_len()
        );
        assert!(q.slots.len() < 2 * LANE_SWEEP_MIN + 200);
        assert_eq!(q.len(), 0);
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

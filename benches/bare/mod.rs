//! The yardstick shared by the benches: M/M/1 (λ = 0.9, μ = 1) as a bare hand-written event
//! loop.

use sim_core::StreamKey;

/// M/M/1 as a bare hand-written event loop: std's BinaryHeap of (time, seq, kind), a FIFO of
/// arrival times, the same RNG and libm; no kernel, no models, no statistics beyond the mean.
pub fn bare_event_loop(n: u64) -> f64 {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    let key = StreamKey::new(1, 0);
    let (mut a, mut s) = (key.stream("a"), key.stream("s"));
    let mut heap = BinaryHeap::new();
    let mut queue = VecDeque::new();
    let mut seq = 0u64;
    let (mut arrived, mut done, mut sum) = (0u64, 0u64, 0u64);
    let mut busy = false;
    heap.push(Reverse((0u64, 0u64, true)));
    while let Some(Reverse((t, _, is_arrival))) = heap.pop() {
        if is_arrival {
            arrived += 1;
            if arrived < n {
                seq += 1;
                let gap = (-1e9 / 0.9 * libm::log(a.uniform_open0())) as u64;
                heap.push(Reverse((t + gap, seq, true)));
            }
            queue.push_back(t);
            if !busy {
                busy = true;
                seq += 1;
                heap.push(Reverse((
                    t + (-1e9 * libm::log(s.uniform_open0())) as u64,
                    seq,
                    false,
                )));
            }
        } else {
            let t0 = queue.pop_front().unwrap_or(t);
            sum += t - t0;
            done += 1;
            if queue.is_empty() {
                busy = false;
            } else {
                seq += 1;
                heap.push(Reverse((
                    t + (-1e9 * libm::log(s.uniform_open0())) as u64,
                    seq,
                    false,
                )));
            }
        }
    }
    sum as f64 / done as f64
}

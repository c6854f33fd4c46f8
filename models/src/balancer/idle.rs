//! Join-idle-queue (Lu, Xie, Kliot, Geller, Larus and Greenberg, "Join-Idle-Queue: A novel load
//! balancing algorithm for dynamically scalable web services", Performance Evaluation 68(11),
//! 2011): idle servers register in the dispatcher's I-queue; a request goes to the server at the
//! head of the I-queue if there is one, else to a uniformly random server (JIQ-Random).
//!
//! In the paper a server reports its own idleness. Here the balancer infers it from its own view,
//! as the rest of hasim's policies do: a backend joins the I-queue when this balancer's in-flight
//! count for it falls to zero (and at start, when all are idle), and leaves it when picked. An
//! entry can go stale (the random fallback sent the backend work, or health checks removed it):
//! stale entries are dropped when they reach the head, so each pick costs O(1) amortised, and a
//! dropped backend joins again the next time its count falls to zero.

use super::{Balance, LoadView};
use sim_core::Stream;
use std::collections::VecDeque;

/// JIQ-Random over this balancer's own in-flight counts.
#[derive(Clone, Debug)]
pub struct JoinIdleQueue {
    /// The I-queue: backends believed idle, in the order they became idle.
    idle: VecDeque<u32>,
    /// Per backend: it is in `idle` (each backend at most once, so `idle` never outgrows `n`).
    queued: Vec<bool>,
}

impl JoinIdleQueue {
    /// For `n` backends, all idle at start, in index order.
    pub fn new(n: usize) -> Self {
        JoinIdleQueue {
            idle: (0..n as u32).collect(),
            queued: vec![true; n],
        }
    }
}

impl Balance for JoinIdleQueue {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        while let Some(b) = self.idle.pop_front() {
            self.queued[b as usize] = false;
            if view.in_flight[b as usize] == 0 && view.eligible.binary_search(&b).is_ok() {
                return b as usize;
            }
        }
        view.eligible[rng.below(view.eligible.len() as u32) as usize] as usize
    }

    #[inline]
    fn on_idle(&mut self, backend: usize) {
        if !self.queued[backend] {
            self.queued[backend] = true;
            self.idle.push_back(backend as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_view;
    use sim_core::{SimTime, StreamKey};

    #[test]
    fn idle_backends_first_in_the_order_they_became_idle_then_random() {
        let mut p = JoinIdleQueue::new(3);
        let mut rng = StreamKey::new(1, 0).stream("test");
        let mut in_flight = [0u32; 3];
        let mut pick = |p: &mut JoinIdleQueue, in_flight: &mut [u32; 3]| {
            let view = test_view(&in_flight[..], &in_flight[..], &[0, 1, 2], SimTime::ZERO, 0);
            let b = p.pick(&view, &mut rng);
            in_flight[b] += 1;
            b
        };
        // All idle at start: each gets one request, in index order.
        assert_eq!(
            (0..3)
                .map(|_| pick(&mut p, &mut in_flight))
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        // Backend 2 then 0 finish: they are served in that order.
        for b in [2, 0] {
            in_flight[b] -= 1;
            p.on_idle(b);
        }
        assert_eq!(pick(&mut p, &mut in_flight), 2);
        assert_eq!(pick(&mut p, &mut in_flight), 0);
        // The I-queue is empty: random picks cover every backend.
        let mut seen = [false; 3];
        for _ in 0..60 {
            seen[pick(&mut p, &mut in_flight)] = true;
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn stale_and_ineligible_entries_are_skipped() {
        let mut p = JoinIdleQueue::new(3);
        let mut rng = StreamKey::new(1, 0).stream("test");
        // Backend 0 is busy (the random fallback sent it work while it was queued), backend 1
        // is not eligible: the head of the queue that is really usable is 2.
        let view = test_view(&[1, 0, 0], &[1, 0, 0], &[0, 2], SimTime::ZERO, 0);
        assert_eq!(p.pick(&view, &mut rng), 2);
        assert!(p.idle.is_empty() && p.queued == [false; 3]);
    }
}

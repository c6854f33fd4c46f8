//! HAProxy `balance first`: pack the load onto the first servers.

use super::index::RankedSets;
use super::{Balance, LoadView};
use sim_core::Stream;

/// The lowest-index eligible backend with fewer than `maxconn` of this balancer's requests in
/// flight (HAProxy `first`: servers by increasing id, the next one used once a server reaches
/// its `maxconn`). When every eligible backend is full, HAProxy queues the request in the
/// backend until a slot frees; hasim's balancers do not queue, so it goes to the least loaded
/// backend (the lowest index among equals). Both are found in a min tree of the counts:
/// O(log n) per pick and per load change.
#[derive(Clone, Debug)]
pub struct FirstAvailable {
    maxconn: u32,
    ranked: RankedSets,
}

impl FirstAvailable {
    /// With `maxconn` ≥ 1 slots per backend.
    pub fn new(maxconn: u32) -> Self {
        FirstAvailable {
            maxconn,
            ranked: RankedSets::default(),
        }
    }
}

impl Balance for FirstAvailable {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let in_flight = view.in_flight;
        let tree = self
            .ranked
            .get(view.eligible, in_flight, |b| u64::from(in_flight[b]));
        let (least, maxconn) = (tree.min(), u64::from(self.maxconn));
        // The first with a free slot if there is one, else the first of the least loaded.
        let bound = if least < maxconn { maxconn - 1 } else { least };
        tree.first_at_most(0, bound)
            .unwrap_or(view.eligible[0] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_view;
    use sim_core::{SimTime, StreamKey};

    #[test]
    fn fills_the_first_backends_first() {
        let mut rng = StreamKey::new(1, 0).stream("test");
        let mut p = FirstAvailable::new(2);
        let mut in_flight = vec![0u32; 3];
        let mut seq = Vec::new();
        for _ in 0..9 {
            let v = test_view(&in_flight, &in_flight, &[0, 1, 2], SimTime::ZERO, 0);
            let b = p.pick(&v, &mut rng);
            in_flight[b] += 1;
            seq.push(b);
        }
        // Two each in index order, then the overflow goes to the least loaded, lowest first.
        assert_eq!(seq, vec![0, 0, 1, 1, 2, 2, 0, 1, 2]);
        // An ineligible first backend is skipped.
        let v = test_view(&[0, 0, 0], &[0, 0, 0], &[1, 2], SimTime::ZERO, 0);
        assert_eq!(p.pick(&v, &mut rng), 1);
    }
}

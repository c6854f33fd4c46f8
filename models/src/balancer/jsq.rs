//! Join the shortest queue: the replica with the fewest requests queued or in service, with
//! global knowledge no real balancer has. It is the theoretical yardstick for the others.

use super::{Balance, LoadView, argmin_from};
use sim_core::Stream;

/// Fewest requests at the replica (global); ties broken round robin.
#[derive(Clone, Debug, Default)]
pub struct JoinShortestQueue {
    next: usize,
}

impl Balance for JoinShortestQueue {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let i = argmin_from(view.occupancy, view.eligible, self.next);
        self.next = i + 1;
        view.eligible[i] as usize
    }
}

//! Join the shortest queue: the replica with the fewest requests queued or in service, with
//! global knowledge no real balancer has. It is the theoretical yardstick for the others.

use super::index::{RankedSets, least_from};
use super::{Balance, LoadView};
use sim_core::Stream;

/// Fewest requests at the replica (global); ties broken round robin. The occupancies are
/// kept in a min tree, in step with the pool's journal of changes: O(log n) per pick and change.
#[derive(Clone, Debug, Default)]
pub struct JoinShortestQueue {
    next: usize,
    ranked: RankedSets,
}

impl Balance for JoinShortestQueue {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let occupancy = view.occupancy;
        let tree = (self.ranked).get(view.eligible, occupancy, |b| u64::from(occupancy[b]));
        least_from(tree, view.eligible, &mut self.next)
    }
}

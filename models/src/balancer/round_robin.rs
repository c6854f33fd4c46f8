//! Round robin: backends in cyclic order, blind to load.

use super::{Balance, LoadView};
use sim_core::Stream;

/// Cyclic order over the backends.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    next: usize,
}

impl Balance for RoundRobin {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let i = self.next % view.eligible.len();
        self.next = i + 1;
        view.eligible[i] as usize
    }
}

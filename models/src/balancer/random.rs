//! Random: a uniformly random backend (Envoy `RANDOM`).

use super::{Balance, LoadView};
use sim_core::Stream;

/// Uniformly random backend.
#[derive(Clone, Debug, Default)]
pub struct Random;

impl Balance for Random {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        view.eligible[rng.below(view.eligible.len() as u32) as usize] as usize
    }
}

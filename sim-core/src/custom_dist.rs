//! Distributions written outside hasim: a user's sampler behind [`crate::Dist::Custom`], the one
//! arm of `Dist` dispatched dynamically. The kernel only draws from it; naming and validating
//! it is the caller's business.

use crate::rng::Stream;
use crate::time::SimDuration;
use std::fmt;
use std::sync::Arc;

/// A distribution of durations a user writes: service times, gaps between arrivals, times to
/// failure. Its draws must come from `rng` only (it has no mutable state: it is shared by
/// every component that uses it), so a run stays a function of its seed.
pub trait CustomDistribution: fmt::Debug + Send + Sync {
    /// One draw.
    fn sample(&self, rng: &mut Stream) -> SimDuration;

    /// Its mean: budgets (events per simulated second) and reports use it.
    fn mean(&self) -> SimDuration;
}

/// A user's distribution as plain data: the name it was registered under, its parameters as
/// written (canonical text) and the sampler.
#[derive(Clone)]
pub struct CustomDist {
    /// The name it was registered under.
    pub name: String,
    /// Its parameters, in a canonical text form.
    pub params: String,
    sampler: Arc<dyn CustomDistribution>,
}

impl CustomDist {
    /// A distribution named `name` with parameters `params`, drawn by `sampler`.
    pub fn new(name: String, params: String, sampler: Arc<dyn CustomDistribution>) -> Self {
        CustomDist {
            name,
            params,
            sampler,
        }
    }

    /// One draw, in nanoseconds.
    pub fn sample_ns(&self, rng: &mut Stream) -> f64 {
        self.sampler.sample(rng).0 as f64
    }

    /// The mean, in nanoseconds.
    pub fn mean_ns(&self) -> f64 {
        self.sampler.mean().0 as f64
    }
}

impl fmt::Debug for CustomDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custom(name: {:?}, params: {})", self.name, self.params)
    }
}

/// Equal when they name the same registered distribution with the same parameters.
impl PartialEq for CustomDist {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.params == other.params
    }
}

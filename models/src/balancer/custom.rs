//! User-defined balancing policies: a type the user writes, implementing [`CustomPolicy`], held
//! behind one arm of [`super::Policy`] (`Policy::Custom`). Only that arm pays for dynamic
//! dispatch; the built-in policies keep their static match.
//!
//! A custom policy sees what a real balancer sees ([`PolicyView`]: the eligible backends, its
//! instance's in-flight count of each), its own state (each balancer instance — the shared one,
//! or each caller's with `per_client` — gets its own value from the factory), and the
//! instance's policy stream (`balancer/NAME/policy`, or `balancer/NAME/client/C/policy`), the
//! very stream a built-in policy of that balancer would draw from. A policy that draws only
//! from that stream is deterministic, and comparing it with a built-in one is a comparison on
//! common random numbers: nothing else in the run draws differently.

use super::{Balance, LoadView};
use sim_core::{SimDuration, SimTime, Stream};
use std::fmt;
use std::sync::Arc;

/// A balancing policy written outside hasim. Implement it, derive `Clone` and `Debug`, and
/// register a factory for it under a name (`scenarios::Extensions::policy`).
///
/// Determinism: draw random numbers only from the `rng` given to [`CustomPolicy::pick`], keep
/// state only in `self`, and never iterate over a `HashMap`; then a run is a function of the
/// scenario and the seed, as `--check-determinism` verifies.
pub trait CustomPolicy: CloneCustomPolicy + fmt::Debug + Send + Sync {
    /// The chosen backend: an element of [`PolicyView::eligible`] (anything else stops the run
    /// with an invariant error naming the policy).
    fn pick(&mut self, view: &PolicyView<'_>, rng: &mut Stream) -> usize;

    /// A request this instance sent to `backend` ended at `now`, `latency` after it was sent,
    /// whatever its outcome.
    fn on_complete(&mut self, _backend: usize, _latency: SimDuration, _now: SimTime) {}

    /// This instance's in-flight count of `backend` fell to zero.
    fn on_idle(&mut self, _backend: usize) {}
}

/// Cloning a boxed [`CustomPolicy`]: implemented for every `Clone` policy, so a user only
/// derives `Clone`.
pub trait CloneCustomPolicy {
    /// A boxed copy of `self`.
    fn clone_box(&self) -> Box<dyn CustomPolicy>;
}

impl<T: CustomPolicy + Clone + 'static> CloneCustomPolicy for T {
    fn clone_box(&self) -> Box<dyn CustomPolicy> {
        Box::new(self.clone())
    }
}

/// What a custom policy may look at when it picks.
pub struct PolicyView<'a> {
    view: &'a LoadView<'a>,
}

impl PolicyView<'_> {
    /// The backends it may send to, ascending; never empty. A backend is an index into the
    /// target pool's replicas.
    #[inline]
    pub fn eligible(&self) -> &[u32] {
        self.view.eligible
    }

    /// This balancer instance's requests in flight at `backend`.
    #[inline]
    pub fn in_flight(&self, backend: usize) -> u32 {
        self.view.in_flight[backend]
    }

    /// How many backends the balancer has (eligible or not).
    #[inline]
    pub fn backends(&self) -> usize {
        self.view.in_flight.len()
    }

    /// The time of the pick.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.view.now
    }
}

/// Builds one balancer instance's policy for a number of backends.
pub type PolicyFactory = dyn Fn(usize) -> Box<dyn CustomPolicy> + Send + Sync;

/// A custom policy as validated plain data: its registered name, its parameters as written
/// (for reports and equality) and the factory its validator returned.
#[derive(Clone)]
pub struct CustomPolicySpec {
    /// The name it was registered under.
    pub name: String,
    /// Its parameters, in a canonical text form (sorted by key).
    pub params: String,
    factory: Arc<PolicyFactory>,
}

impl CustomPolicySpec {
    /// A spec named `name`, with parameters `params`, built by `factory`.
    pub fn new(name: String, params: String, factory: Arc<PolicyFactory>) -> Self {
        CustomPolicySpec {
            name,
            params,
            factory,
        }
    }

    /// A fresh instance over `backends` backends.
    pub fn build(&self, backends: usize) -> Custom {
        Custom {
            name: self.name.clone(),
            policy: (self.factory)(backends),
        }
    }
}

impl fmt::Debug for CustomPolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custom(name: {:?}, params: {})", self.name, self.params)
    }
}

/// Two specs are equal when they name the same registered policy with the same parameters.
impl PartialEq for CustomPolicySpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.params == other.params
    }
}

/// One balancer instance's custom policy.
pub struct Custom {
    name: String,
    policy: Box<dyn CustomPolicy>,
}

impl Clone for Custom {
    fn clone(&self) -> Self {
        Custom {
            name: self.name.clone(),
            policy: self.policy.clone_box(),
        }
    }
}

impl fmt::Debug for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custom({:?}: {:?})", self.name, self.policy)
    }
}

impl Balance for Custom {
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        let b = self.policy.pick(&PolicyView { view }, rng);
        // User code: a pick outside the eligible set would send work to a backend the balancer
        // does not route to (down, ejected, not a member); stop with the policy's name.
        assert!(
            u32::try_from(b).is_ok_and(|b| view.eligible.position(b).is_some()),
            "invariant: custom policy `{}` picked backend {b}, which is not eligible ({:?})",
            self.name,
            &view.eligible[..]
        );
        b
    }

    fn on_complete(&mut self, backend: usize, latency: SimDuration, now: SimTime) {
        self.policy.on_complete(backend, latency, now);
    }

    fn on_idle(&mut self, backend: usize) {
        self.policy.on_idle(backend);
    }
}

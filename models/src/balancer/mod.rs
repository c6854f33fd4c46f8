//! Load balancers: a [`Balancer`] owns its policy, its own in-flight counts per backend (what a
//! real balancer sees) and its random stream. A new policy is one small type implementing
//! [`Balance`] in its own file plus one arm of [`Policy`].

mod jsq;
mod least;
mod random;
mod round_robin;

pub use jsq::JoinShortestQueue;
pub use least::{LeastConnections, LeastRequest};
pub use random::Random;
pub use round_robin::RoundRobin;

use crate::spec::PolicySpec;
use sim_core::Stream;

/// What a policy may look at when it picks a backend.
pub struct LoadView<'a> {
    /// This balancer's own in-flight requests per backend.
    pub in_flight: &'a [u32],
    /// Requests queued or in service at each replica: global knowledge, for JSQ only.
    pub occupancy: &'a [u32],
}

/// A balancing policy: picks a backend index in `0..view.in_flight.len()`.
pub trait Balance {
    /// The chosen backend.
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize;
}

/// The policies, as a closed enum (static dispatch in the event loop).
#[derive(Clone, Debug)]
pub enum Policy {
    /// See [`RoundRobin`].
    RoundRobin(RoundRobin),
    /// See [`Random`].
    Random(Random),
    /// See [`LeastConnections`].
    LeastConnections(LeastConnections),
    /// See [`LeastRequest`].
    LeastRequest(LeastRequest),
    /// See [`JoinShortestQueue`].
    JoinShortestQueue(JoinShortestQueue),
}

impl Policy {
    /// The policy described by `spec`, for `n` backends.
    pub fn new(spec: PolicySpec, n: usize) -> Policy {
        match spec {
            PolicySpec::RoundRobin => Policy::RoundRobin(RoundRobin::default()),
            PolicySpec::Random => Policy::Random(Random),
            PolicySpec::LeastConnections => Policy::LeastConnections(LeastConnections::default()),
            PolicySpec::LeastRequest { choices } => {
                Policy::LeastRequest(LeastRequest::new(choices as usize, n))
            }
            PolicySpec::JoinShortestQueue => {
                Policy::JoinShortestQueue(JoinShortestQueue::default())
            }
        }
    }
}

impl Balance for Policy {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize {
        match self {
            Policy::RoundRobin(p) => p.pick(view, rng),
            Policy::Random(p) => p.pick(view, rng),
            Policy::LeastConnections(p) => p.pick(view, rng),
            Policy::LeastRequest(p) => p.pick(view, rng),
            Policy::JoinShortestQueue(p) => p.pick(view, rng),
        }
    }
}

/// The index of the smallest value, scanning cyclically from `start`, so that ties go to the
/// first backend at or after `start` (round robin among ties when `start` advances).
#[inline]
pub(crate) fn argmin_from(values: &[u32], start: usize) -> usize {
    let n = values.len();
    let mut best = start % n;
    let mut best_v = values[best];
    for k in 1..n {
        let i = (start + k) % n;
        if values[i] < best_v {
            best = i;
            best_v = values[i];
        }
    }
    best
}

/// A balancer instance.
#[derive(Clone, Debug)]
pub struct Balancer {
    /// Its name.
    pub name: String,
    /// Its policy.
    pub policy: Policy,
    /// In-flight requests it has sent to each backend and not yet seen end.
    pub in_flight: Vec<u32>,
    /// Its random stream (`balancer/NAME/policy`).
    pub rng: Stream,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::StreamKey;

    fn picks(spec: PolicySpec, in_flight: &[u32], occupancy: &[u32], n: usize) -> Vec<usize> {
        let mut p = Policy::new(spec, in_flight.len());
        let mut rng = StreamKey::new(1, 0).stream("test");
        let view = LoadView {
            in_flight,
            occupancy,
        };
        (0..n).map(|_| p.pick(&view, &mut rng)).collect()
    }

    #[test]
    fn round_robin_cycles() {
        assert_eq!(
            picks(PolicySpec::RoundRobin, &[0; 3], &[0; 3], 7),
            vec![0, 1, 2, 0, 1, 2, 0]
        );
    }

    #[test]
    fn least_connections_prefers_the_least_loaded_and_rotates_ties() {
        assert_eq!(
            picks(PolicySpec::LeastConnections, &[3, 1, 2], &[0; 3], 3),
            vec![1, 1, 1]
        );
        assert_eq!(
            picks(PolicySpec::LeastConnections, &[1, 0, 0, 1], &[0; 4], 4),
            vec![1, 2, 1, 2]
        );
    }

    #[test]
    fn jsq_uses_global_occupancy_not_local_counts() {
        assert_eq!(
            picks(PolicySpec::JoinShortestQueue, &[0, 9, 9], &[5, 0, 7], 2),
            vec![1, 1]
        );
    }

    #[test]
    fn least_request_samples_distinct_backends() {
        // With d = n the sample is every backend, so the pick is the global minimum.
        let p = picks(
            PolicySpec::LeastRequest { choices: 4 },
            &[4, 3, 0, 5],
            &[0; 4],
            50,
        );
        assert!(p.iter().all(|&i| i == 2));
        // With d = 2 the most loaded backend can never win: it loses to any other sample.
        let p = picks(
            PolicySpec::LeastRequest { choices: 2 },
            &[1, 2, 3, 9],
            &[0; 4],
            2000,
        );
        assert!(!p.contains(&3));
        // ... and the least loaded one wins whenever sampled: P = 1 - C(3,2)/C(4,2) = 1/2.
        let zeros = p.iter().filter(|&&i| i == 0).count();
        assert!((1000i64 - zeros as i64).abs() < 5 * 23, "{zeros}"); // sd = sqrt(2000/4) ≈ 22.4
    }

    #[test]
    fn random_covers_all_backends_evenly() {
        let p = picks(PolicySpec::Random, &[0; 4], &[0; 4], 40_000);
        for b in 0..4 {
            let c = p.iter().filter(|&&i| i == b).count() as i64;
            assert!((c - 10_000).abs() < 5 * 87, "{b}: {c}"); // sd = sqrt(40000·¼·¾) ≈ 86.6
        }
    }
}

//! Load balancers: a [`Balancer`] owns its policy, its own in-flight counts per backend (what a
//! real balancer sees) and its random stream. A new policy is one small type implementing
//! [`Balance`] in its own file plus one arm of [`Policy`]. A balancer is one shared instance,
//! or, client-side (`per_client`), one instance per caller ([`instances`]).

mod custom;
mod dns;
mod ewma;
mod first;
mod hash;
mod health;
mod idle;
mod index;
mod instances;
mod jsq;
mod kinetic;
mod least;
mod least_weighted;
mod outlier;
mod random;
mod round_robin;
mod slow_start;
mod weighted;
mod zone;

pub use custom::{
    CloneCustomPolicy, Custom, CustomPolicy, CustomPolicySpec, PolicyFactory, PolicyView,
};
pub use dns::DnsRoundRobin;
pub use ewma::{LeastResponseTime, PeakEwma};
pub use first::FirstAvailable;
pub use hash::{Keys, Maglev, RingHash};
pub use health::{Health, Transition};
pub use idle::JoinIdleQueue;
pub use index::{Eligible, Loads};
pub use instances::{Instances, instances};
pub use jsq::JoinShortestQueue;
pub use least::{LeastConnections, LeastRequest};
pub use least_weighted::{EnvoyLeastRequest, WeightedLeastConnections};
pub use outlier::Outlier;
pub use random::Random;
pub use round_robin::RoundRobin;
pub use slow_start::SlowStart;
pub use weighted::{SmoothWeightedRoundRobin, WeightedRandom, WeightedRoundRobin};
pub use zone::Zone;

use crate::spec::PolicySpec;
use sim_core::{SimDuration, SimTime, Stream};

/// What a policy may look at when it picks a backend.
pub struct LoadView<'a> {
    /// This balancer's own in-flight requests per backend.
    pub in_flight: &'a Loads,
    /// Requests queued or in service at each replica: global knowledge, for JSQ only.
    pub occupancy: &'a Loads,
    /// The backends the balancer may send to, ascending: those its health checks consider
    /// healthy, or all of them (no checks, or too few healthy: panic mode). Never empty.
    pub eligible: &'a Eligible,
    /// The time of the pick (slow start, DNS TTLs).
    pub now: SimTime,
    /// The client whose request this is (per-client state: DNS caches).
    pub client: u32,
}

/// A balancing policy: picks a backend index among `view.eligible` (only [`DnsRoundRobin`] may
/// pick outside it: a client's cached DNS answer outlives the record).
pub trait Balance {
    /// The chosen backend (an element of `view.eligible`).
    fn pick(&mut self, view: &LoadView<'_>, rng: &mut Stream) -> usize;

    /// A request this balancer sent to `backend` ended at `now`, `latency` after it was sent,
    /// whatever its outcome. Latency-aware policies learn from it; the others ignore it.
    #[inline]
    fn on_complete(&mut self, _backend: usize, _latency: SimDuration, _now: SimTime) {}

    /// This balancer's in-flight count of `backend` fell to zero: as far as it can tell, the
    /// backend is idle. Join-idle-queue learns from it; the others ignore it.
    #[inline]
    fn on_idle(&mut self, _backend: usize) {}
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
    /// See [`SmoothWeightedRoundRobin`].
    SmoothWeightedRoundRobin(SmoothWeightedRoundRobin),
    /// See [`WeightedRoundRobin`].
    WeightedRoundRobin(WeightedRoundRobin),
    /// See [`WeightedRandom`].
    WeightedRandom(WeightedRandom),
    /// See [`WeightedLeastConnections`].
    WeightedLeastConnections(WeightedLeastConnections),
    /// See [`EnvoyLeastRequest`].
    EnvoyLeastRequest(EnvoyLeastRequest),
    /// See [`PeakEwma`].
    PeakEwma(PeakEwma),
    /// See [`LeastResponseTime`].
    LeastResponseTime(LeastResponseTime),
    /// See [`FirstAvailable`].
    FirstAvailable(FirstAvailable),
    /// See [`RingHash`].
    RingHash(RingHash),
    /// See [`Maglev`].
    Maglev(Maglev),
    /// See [`JoinIdleQueue`].
    JoinIdleQueue(JoinIdleQueue),
    /// See [`DnsRoundRobin`].
    DnsRoundRobin(DnsRoundRobin),
    /// A user's policy (see [`Custom`]): the one arm dispatched dynamically.
    Custom(Custom),
}

impl Policy {
    /// The policy described by `spec`, for `n` backends.
    pub fn new(spec: &PolicySpec, n: usize) -> Policy {
        match spec.clone() {
            PolicySpec::RoundRobin => Policy::RoundRobin(RoundRobin::default()),
            PolicySpec::Random => Policy::Random(Random),
            PolicySpec::LeastConnections => Policy::LeastConnections(LeastConnections::default()),
            PolicySpec::LeastRequest { choices } => {
                Policy::LeastRequest(LeastRequest::new(choices as usize, n))
            }
            PolicySpec::JoinShortestQueue => {
                Policy::JoinShortestQueue(JoinShortestQueue::default())
            }
            PolicySpec::SmoothWeightedRoundRobin { weights } => {
                Policy::SmoothWeightedRoundRobin(SmoothWeightedRoundRobin::new(weights))
            }
            PolicySpec::WeightedRoundRobin { weights } => {
                Policy::WeightedRoundRobin(WeightedRoundRobin::new(weights))
            }
            PolicySpec::WeightedRandom { weights } => {
                Policy::WeightedRandom(WeightedRandom::new(weights))
            }
            PolicySpec::WeightedLeastConnections { weights } => {
                Policy::WeightedLeastConnections(WeightedLeastConnections::new(weights))
            }
            PolicySpec::LeastRequestOptions {
                choices,
                replacement,
                weights,
                active_request_bias,
            } => Policy::EnvoyLeastRequest(EnvoyLeastRequest::new(
                choices as usize,
                replacement,
                weights,
                active_request_bias,
            )),
            PolicySpec::PeakEwma { decay, default_rtt } => {
                Policy::PeakEwma(PeakEwma::new(decay, default_rtt, n))
            }
            PolicySpec::LeastResponseTime { decay, default_rtt } => {
                Policy::LeastResponseTime(LeastResponseTime::new(decay, default_rtt, n))
            }
            PolicySpec::FirstAvailable { maxconn } => {
                Policy::FirstAvailable(FirstAvailable::new(maxconn))
            }
            PolicySpec::RingHash {
                keys,
                minimum_ring_size,
            } => Policy::RingHash(RingHash::new(&keys, minimum_ring_size)),
            PolicySpec::Maglev { keys, table_size } => {
                Policy::Maglev(Maglev::new(&keys, table_size))
            }
            PolicySpec::JoinIdleQueue => Policy::JoinIdleQueue(JoinIdleQueue::new(n)),
            PolicySpec::DnsRoundRobin { ttl } => Policy::DnsRoundRobin(DnsRoundRobin::new(ttl)),
            PolicySpec::Custom(c) => Policy::Custom(c.build(n)),
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
            Policy::SmoothWeightedRoundRobin(p) => p.pick(view, rng),
            Policy::WeightedRoundRobin(p) => p.pick(view, rng),
            Policy::WeightedRandom(p) => p.pick(view, rng),
            Policy::WeightedLeastConnections(p) => p.pick(view, rng),
            Policy::EnvoyLeastRequest(p) => p.pick(view, rng),
            Policy::PeakEwma(p) => p.pick(view, rng),
            Policy::LeastResponseTime(p) => p.pick(view, rng),
            Policy::FirstAvailable(p) => p.pick(view, rng),
            Policy::RingHash(p) => p.pick(view, rng),
            Policy::Maglev(p) => p.pick(view, rng),
            Policy::JoinIdleQueue(p) => p.pick(view, rng),
            Policy::DnsRoundRobin(p) => p.pick(view, rng),
            Policy::Custom(p) => p.pick(view, rng),
        }
    }

    #[inline]
    fn on_complete(&mut self, backend: usize, latency: SimDuration, now: SimTime) {
        match self {
            Policy::PeakEwma(p) => p.on_complete(backend, latency, now),
            Policy::LeastResponseTime(p) => p.on_complete(backend, latency, now),
            Policy::Custom(p) => p.on_complete(backend, latency, now),
            Policy::RoundRobin(_)
            | Policy::Random(_)
            | Policy::LeastConnections(_)
            | Policy::LeastRequest(_)
            | Policy::JoinShortestQueue(_)
            | Policy::SmoothWeightedRoundRobin(_)
            | Policy::WeightedRoundRobin(_)
            | Policy::WeightedRandom(_)
            | Policy::WeightedLeastConnections(_)
            | Policy::EnvoyLeastRequest(_)
            | Policy::FirstAvailable(_)
            | Policy::RingHash(_)
            | Policy::Maglev(_)
            | Policy::JoinIdleQueue(_)
            | Policy::DnsRoundRobin(_) => {}
        }
    }

    #[inline]
    fn on_idle(&mut self, backend: usize) {
        match self {
            Policy::JoinIdleQueue(p) => p.on_idle(backend),
            Policy::Custom(p) => p.on_idle(backend),
            _ => {}
        }
    }
}

/// The position in `among` of the backend with the smallest value, scanning `among` cyclically
/// from position `start`, so that ties go to the first at or after `start` (round robin among
/// ties when `start` advances): the O(n) rule the indexed policies reproduce, kept as their
/// reference in tests.
#[cfg(test)]
pub(crate) fn argmin_from(values: &[u32], among: &[u32], start: usize) -> usize {
    let n = among.len();
    let mut best = start % n;
    let mut best_v = values[among[best] as usize];
    for k in 1..n {
        let i = (start + k) % n;
        let v = values[among[i] as usize];
        if v < best_v {
            best = i;
            best_v = v;
        }
    }
    best
}

impl Balancer {
    /// A request was sent to `backend`: its in-flight count goes up.
    #[inline]
    pub fn sent(&mut self, backend: usize) {
        self.in_flight.inc(backend);
    }

    /// A request sent to `backend` ended: its in-flight count goes down; the policy hears
    /// when the backend becomes idle. Panics (an invariant) if the count is already zero.
    #[inline]
    pub fn ended(&mut self, backend: usize, now: SimTime) {
        let c = self.in_flight[backend];
        assert!(
            c > 0,
            "invariant: a balancer's in-flight count would go below zero (t = {now})"
        );
        self.in_flight.set(backend, c - 1);
        if c == 1 {
            self.policy.on_idle(backend);
        }
    }

    /// Recomputes the eligible set: backends that pass their health checks and are not ejected,
    /// or all of them when fewer than the panic threshold are (or none is).
    pub fn refresh_eligible(&mut self) {
        let Some(members) = self.members.as_ref() else {
            return self.refresh_all();
        };
        // Only members exist for it (provisioned and warm, registered): panic mode routes to
        // all members, never to a replica it does not know; none at all leaves the set empty.
        let usable = |b: usize| {
            self.health.as_ref().is_none_or(|h| h.healthy[b])
                && self.outlier.as_ref().is_none_or(|o| !o.ejected[b])
        };
        let n = members.iter().filter(|m| **m).count();
        let up = (0..members.len())
            .filter(|&b| members[b] && usable(b))
            .count();
        let panic = up == 0 || (up as f64) < self.panic_threshold * n as f64;
        let mut eligible = std::mem::replace(&mut self.eligible, Eligible::from(Vec::new()));
        eligible.replace(
            (0..members.len() as u32)
                .filter(|&b| members[b as usize] && (panic || usable(b as usize))),
        );
        self.eligible = eligible;
        if let Some(z) = self.zone.as_mut() {
            z.split(&self.eligible);
        }
    }

    fn refresh_all(&mut self) {
        let n = self.in_flight.len();
        let usable = |b: usize| {
            self.health.as_ref().is_none_or(|h| h.healthy[b])
                && self.outlier.as_ref().is_none_or(|o| !o.ejected[b])
        };
        let up = (0..n).filter(|&b| usable(b)).count();
        let mut eligible = std::mem::replace(&mut self.eligible, Eligible::from(Vec::new()));
        if up == 0 || (up as f64) < self.panic_threshold * n as f64 {
            eligible.replace(0..n as u32);
        } else {
            eligible.replace((0..n as u32).filter(|&b| usable(b as usize)));
        }
        self.eligible = eligible;
        if let Some(z) = self.zone.as_mut() {
            z.split(&self.eligible);
        }
    }
}

/// A balancer instance: the only one of a shared balancer, or one caller's of a per-client one
/// (see [`instances`]).
#[derive(Clone, Debug)]
pub struct Balancer {
    /// Its name.
    pub name: String,
    /// Its policy.
    pub policy: Policy,
    /// In-flight requests it has sent to each backend and not yet seen end (changed through
    /// [`Balancer::sent`] and [`Balancer::ended`]).
    pub in_flight: Loads,
    /// Backends it may send to (see [`LoadView::eligible`]).
    pub eligible: Eligible,
    /// Its active health checks' state, if it checks.
    pub health: Option<Health>,
    /// Its health-check stream (`balancer/NAME/health`): probe phases and jitter.
    pub health_rng: Option<Stream>,
    /// Its passive outlier detection, if any.
    pub outlier: Option<Outlier>,
    /// Usable fraction below which it routes to all backends (panic mode).
    pub panic_threshold: f64,
    /// Its random stream (`balancer/NAME/policy`).
    pub rng: Stream,
    /// Its zone, if it routes zone-aware.
    pub zone: Option<Zone>,
    /// Slow start of rejoining backends, if any.
    pub slow_start: Option<SlowStart>,
    /// Backends that exist for it (autoscaling: provisioned and warm; discovery: registered);
    /// `None`: all of them, always.
    pub members: Option<Vec<bool>>,
}

/// One eligible set per content (leaked: tests only), so that consecutive test views of the
/// same set look unchanged to the policies, as the balancer's own set does.
#[cfg(test)]
fn interned(ids: &[u32]) -> &'static Eligible {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    thread_local! {
        static SETS: RefCell<BTreeMap<Vec<u32>, &'static Eligible>> = RefCell::default();
    }
    SETS.with(|s| {
        *(s.borrow_mut().entry(ids.to_vec()))
            .or_insert_with(|| Box::leak(Box::new(Eligible::from(ids))))
    })
}

/// A view of fresh copies of `in_flight`, `occupancy` and `eligible` (leaked: tests only).
#[cfg(test)]
pub(crate) fn test_view(
    in_flight: &[u32],
    occupancy: &[u32],
    eligible: &[u32],
    now: SimTime,
    client: u32,
) -> LoadView<'static> {
    LoadView {
        in_flight: Box::leak(Box::new(Loads::from(in_flight))),
        occupancy: Box::leak(Box::new(Loads::from(occupancy))),
        eligible: interned(eligible),
        now,
        client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::StreamKey;

    fn picks(spec: PolicySpec, in_flight: &[u32], occupancy: &[u32], n: usize) -> Vec<usize> {
        let mut p = Policy::new(&spec, in_flight.len());
        let mut rng = StreamKey::new(1, 0).stream("test");
        let all = Eligible::from((0..in_flight.len() as u32).collect::<Vec<_>>());
        let (in_flight, occupancy) = (Loads::from(in_flight), Loads::from(occupancy));
        let view = LoadView {
            in_flight: &in_flight,
            occupancy: &occupancy,
            eligible: &all,
            now: SimTime::ZERO,
            client: 0,
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

    /// Every policy, with parameters where it has them, for 4 backends.
    fn every_policy() -> Vec<PolicySpec> {
        let w = vec![5, 1, 3, 2];
        let (decay, rtt) = (SimDuration::from_secs(10), SimDuration::from_millis(30));
        vec![
            PolicySpec::RoundRobin,
            PolicySpec::Random,
            PolicySpec::LeastConnections,
            PolicySpec::LeastRequest { choices: 2 },
            PolicySpec::JoinShortestQueue,
            PolicySpec::SmoothWeightedRoundRobin { weights: w.clone() },
            PolicySpec::WeightedRoundRobin { weights: w.clone() },
            PolicySpec::WeightedRandom { weights: w.clone() },
            PolicySpec::WeightedLeastConnections { weights: w.clone() },
            PolicySpec::LeastRequestOptions {
                choices: 3,
                replacement: true,
                weights: None,
                active_request_bias: 1.0,
            },
            PolicySpec::LeastRequestOptions {
                choices: 2,
                replacement: false,
                weights: Some(w),
                active_request_bias: 0.5,
            },
            PolicySpec::PeakEwma {
                decay,
                default_rtt: rtt,
            },
            PolicySpec::LeastResponseTime {
                decay,
                default_rtt: rtt,
            },
            PolicySpec::FirstAvailable { maxconn: 1 },
            PolicySpec::RingHash {
                keys: crate::spec::KeySpec::Zipf { n: 100, s: 1.0 },
                minimum_ring_size: 64,
            },
            PolicySpec::Maglev {
                keys: crate::spec::KeySpec::Uniform { n: 100 },
                table_size: 251,
            },
            PolicySpec::JoinIdleQueue,
            PolicySpec::DnsRoundRobin {
                ttl: SimDuration::from_secs(30),
            },
        ]
    }

    #[test]
    fn every_policy_picks_only_eligible_backends_and_uses_them_all() {
        let eligible = Eligible::from(vec![1u32, 3]);
        for spec in every_policy() {
            let mut p = Policy::new(&spec, 4);
            let mut rng = StreamKey::new(1, 0).stream("test");
            let mut in_flight = Loads::new(4);
            let mut used = [0u32; 4];
            for t in 0..400u64 {
                let view = LoadView {
                    in_flight: &in_flight,
                    occupancy: &in_flight,
                    eligible: &eligible,
                    // One pick a second: DNS answers (30 s) expire along the way.
                    now: SimTime(t * 1_000_000_000),
                    client: 0,
                };
                let b = p.pick(&view, &mut rng);
                used[b] += 1;
                // Requests end in turn, so load-aware policies see load come and go.
                in_flight.inc(b);
                if t % 2 == 1 {
                    for &e in eligible.iter() {
                        if in_flight[e as usize] > 0 {
                            in_flight.set(e as usize, in_flight[e as usize] - 1);
                            p.on_complete(e as usize, SimDuration::from_millis(20), SimTime(t));
                            if in_flight[e as usize] == 0 {
                                p.on_idle(e as usize);
                            }
                        }
                    }
                }
            }
            assert_eq!((used[0], used[2]), (0, 0), "{spec:?}: {used:?}");
            assert!(used[1] > 0 && used[3] > 0, "{spec:?}: {used:?}");
        }
    }

    #[test]
    fn the_completion_hook_reaches_latency_aware_policies() {
        for spec in [
            PolicySpec::PeakEwma {
                decay: SimDuration::from_secs(10),
                default_rtt: SimDuration::from_millis(30),
            },
            PolicySpec::LeastResponseTime {
                decay: SimDuration::from_secs(10),
                default_rtt: SimDuration::from_millis(30),
            },
        ] {
            let mut p = Policy::new(&spec, 2);
            let mut rng = StreamKey::new(1, 0).stream("test");
            // Backend 0 answered in 2 s long after start: it now costs far more than backend 1.
            p.on_complete(0, SimDuration::from_secs(2), SimTime(1_000_000_000_000));
            let idle = Loads::new(2);
            let view = LoadView {
                in_flight: &idle,
                occupancy: &idle,
                eligible: &Eligible::from(vec![0, 1]),
                now: SimTime::ZERO,
                client: 0,
            };
            for _ in 0..20 {
                assert_eq!(p.pick(&view, &mut rng), 1, "{spec:?}");
            }
        }
    }

    #[test]
    fn eligible_backends_skip_unhealthy_and_ejected_unless_too_few_remain() {
        use crate::spec::{HealthCheckSpec, OutlierSpec};
        use sim_core::SimDuration;
        let spec = HealthCheckSpec {
            interval: SimDuration::from_secs(2),
            timeout: SimDuration::from_secs(1),
            unhealthy_threshold: 1,
            healthy_threshold: 1,
            jitter: SimDuration::ZERO,
        };
        let outlier = OutlierSpec {
            consecutive_errors: 1,
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(300),
            max_ejection_percent: 1.0,
        };
        let mut lb = Balancer {
            name: "lb".into(),
            policy: Policy::new(&PolicySpec::RoundRobin, 4),
            in_flight: Loads::new(4),
            eligible: Eligible::from(vec![0, 1, 2, 3]),
            health: Some(Health::new(spec, 4)),
            rng: sim_core::StreamKey::new(1, 0).stream("test"),
            health_rng: None,
            outlier: Some(Outlier::new(outlier, 4)),
            panic_threshold: 0.5,
            zone: None,
            slow_start: None,
            members: None,
        };
        let probe = |lb: &mut Balancer, b: usize| lb.health.as_mut().map(|h| h.probe(b, false));
        probe(&mut lb, 1);
        lb.refresh_eligible();
        assert_eq!(lb.eligible, [0, 2, 3]);
        lb.outlier.as_mut().map(|o| o.response(3, false));
        lb.refresh_eligible();
        assert_eq!(
            lb.eligible,
            [0, 2],
            "2 of 4 usable: at the threshold, not below"
        );
        probe(&mut lb, 0);
        lb.refresh_eligible();
        assert_eq!(
            lb.eligible,
            [0, 1, 2, 3],
            "1 of 4 usable is below 50%: panic, route to all"
        );
        lb.panic_threshold = 0.0;
        lb.refresh_eligible();
        assert_eq!(lb.eligible, [2], "no panic threshold: only the usable one");
    }
}

//! Client-side balancing: which instance of a balancer a caller's request goes through.
//!
//! A balancer is one instance shared by every caller (a proxy behind a VIP), unless it is
//! `per_client` (gRPC, Finagle, an Envoy sidecar: the balancer is a library in the caller). Then
//! every caller that sends to it has its own instance — each client, and each dependency hop (a
//! hop is one caller, shared by the replicas of its calling pool) — and each instance sees only
//! its own caller's requests: its own in-flight counts (least-request and least-connections
//! count only their own requests), its own policy state (round-robin position, EWMA estimates,
//! smooth-WRR current weights, idle queue), its own random streams
//! (`balancer/NAME/client/CLIENT/policy`, `balancer/NAME/hop/HOP/policy`, and `…/health`,
//! `…/zone`, `…/slow_start`), its own outlier detection and slow start. Join-shortest-queue
//! still reads the replicas' global occupancy: that is its definition, not a balancer's view.
//!
//! Active health checks are per instance too: each caller probes every backend itself, as gRPC
//! client-side health checking does (one `Health.Watch` stream per subchannel of each channel)
//! and as every Envoy sidecar does. A shared checker feeding every client would be a control
//! plane (xDS with EDS health), which is a shared balancer's behaviour. So each instance marks a
//! crashed replica down at its own probe phase: detection is spread over the interval, and
//! probe traffic grows with callers × backends.
//!
//! Numbering: balancer `b`'s first instance is instance `b` (a shared balancer has only that
//! one), so without per-client balancers nothing is numbered differently from before; the other
//! instances follow all the balancers, in caller order. Memory is O(callers × backends), all of
//! it allocated here, at construction.

use super::{Balancer, Health, Outlier, Policy, SlowStart, Zone};
use crate::spec::{BalancerSpec, Spec, Target};
use crate::system::{CallerId, InstanceId};
use sim_core::StreamKey;

const NONE: u32 = u32::MAX;

/// Who owns each balancer instance, and which instance each caller uses.
#[derive(Clone, Debug)]
pub struct Instances {
    /// Per instance: the balancer it is an instance of.
    owner: Vec<u32>,
    /// Per caller (clients, then hops): its own instance of the per-client balancer it sends
    /// to, or `NONE`.
    of_caller: Vec<u32>,
    /// Number of balancers (instances `0..balancers` are their first instances).
    balancers: usize,
}

impl Instances {
    /// The instance of balancer `b` that decides for `caller`'s requests: the caller's own if
    /// `b` is per-client, else `b`'s only instance. O(1).
    #[inline]
    pub fn of(&self, b: usize, caller: CallerId) -> usize {
        match self.of_caller.get(caller.ix()) {
            Some(&i) if i != NONE && self.owner[i as usize] == b as u32 => i as usize,
            _ => b,
        }
    }

    /// The balancer instance `i` belongs to (`NONE` for `NONE`: an attempt no balancer routed).
    #[inline]
    pub fn owner(&self, i: InstanceId) -> u32 {
        if i == InstanceId::NONE {
            NONE
        } else {
            self.owner[i.ix()]
        }
    }

    /// Number of balancers (not instances).
    pub fn balancers(&self) -> usize {
        self.balancers
    }
}

impl Balancer {
    /// An instance of balancer `b` over `n` backends, its streams named `{streams}/policy` etc.
    fn new(b: &BalancerSpec, n: usize, members: bool, key: &StreamKey, streams: &str) -> Self {
        Balancer {
            name: b.name.clone(),
            policy: Policy::new(&b.policy, n),
            in_flight: super::Loads::new(n),
            eligible: super::Eligible::from((0..n as u32).collect::<Vec<_>>()),
            health: b.health_check.clone().map(|h| Health::new(h, n)),
            health_rng: b
                .health_check
                .as_ref()
                .map(|_| key.stream(&format!("{streams}/health"))),
            outlier: b.outlier_detection.clone().map(|o| Outlier::new(o, n)),
            panic_threshold: b.panic_threshold,
            rng: key.stream(&format!("{streams}/policy")),
            zone: b
                .zone_aware
                .clone()
                .map(|z| Zone::new(z, key.stream(&format!("{streams}/zone")))),
            slow_start: b
                .slow_start
                .map(|s| SlowStart::new(s, n, key.stream(&format!("{streams}/slow_start")))),
            // Set by `refresh_members` when its pool scales or has a registry.
            members: members.then(|| vec![true; n]),
        }
    }
}

/// Every balancer instance of `spec`, with the streams of `key`, and who uses which.
pub fn instances(spec: &Spec, key: &StreamKey) -> (Vec<Balancer>, Instances) {
    // Callers in `System` order: clients, then hops; how streams name them.
    let callers: Vec<(Target, String)> = (spec.clients.iter())
        .map(|c| (c.target, format!("client/{}", c.name)))
        .chain((spec.hops.iter()).map(|h| (h.target, format!("hop/{}", h.name))))
        .collect();
    let shape = |b: &BalancerSpec| match b.target {
        Target::Pool(p) => {
            let pool = &spec.pools[p];
            let scaled = pool.autoscale.is_some() || pool.discovery.is_some();
            (pool.replicas as usize, scaled)
        }
        Target::Balancer(_) => (1, false),
    };
    let first_caller = |b: usize| callers.iter().position(|(t, _)| *t == Target::Balancer(b));
    let mut lbs: Vec<Balancer> = Vec::with_capacity(spec.balancers.len());
    let mut of_caller = vec![NONE; callers.len()];
    for (b, bs) in spec.balancers.iter().enumerate() {
        let (n, scaled) = shape(bs);
        let first = first_caller(b).filter(|_| bs.per_client);
        let streams = match first {
            Some(c) => format!("balancer/{}/{}", bs.name, callers[c].1),
            None => format!("balancer/{}", bs.name),
        };
        lbs.push(Balancer::new(bs, n, scaled, key, &streams));
        if let Some(c) = first {
            of_caller[c] = b as u32;
        }
    }
    let mut owner: Vec<u32> = (0..spec.balancers.len() as u32).collect();
    for (c, (target, name)) in callers.iter().enumerate() {
        let Target::Balancer(b) = *target else {
            continue;
        };
        let bs = &spec.balancers[b];
        if !bs.per_client || of_caller[c] != NONE {
            continue;
        }
        let (n, scaled) = shape(bs);
        let streams = format!("balancer/{}/{name}", bs.name);
        of_caller[c] = lbs.len() as u32;
        owner.push(b as u32);
        lbs.push(Balancer::new(bs, n, scaled, key, &streams));
    }
    let instances = Instances {
        owner,
        of_caller,
        balancers: spec.balancers.len(),
    };
    (lbs, instances)
}

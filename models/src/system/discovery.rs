//! Registry-based service discovery (Consul TTL checks, Eureka leases), as a child module of
//! `system`. The registry belongs to the pool: a replica registers itself, and every balancer in
//! front of the pool reads the same registry (the balancers' own watch delay is not modelled;
//! fold it into `registration_delay`).
//!
//! A replica that starts serving (at time zero, after a repair, after its warm-up) becomes
//! registered `registration_delay` later, then renews every `heartbeat` from the instant it
//! registered (at time zero, at a random phase: replicas that started at arbitrary moments).
//! Heartbeats are not events: a crash at c finds the last one at h = the latest renewal ≤ c,
//! and the registration expires at h + ttl, so a dead replica stays registered for a time in
//! (ttl − heartbeat, ttl]. Scale-in deregisters at once (graceful shutdown).

use super::*;
use crate::record::Record;
use crate::spec::{DiscoverySpec, Spec};
use sim_core::{Observer, Scheduler, SimTime, StreamKey, TimerId};

/// Registration state of every replica of pools with discovery.
pub(super) struct Discovery {
    /// Per pool, its registry's settings.
    spec: Vec<Option<DiscoverySpec>>,
    /// Per replica: visible in its pool's registry (always true without discovery).
    registered: Vec<bool>,
    /// Per replica: when its current registration began (heartbeats every `heartbeat` from it).
    since: Vec<SimTime>,
    /// Per replica: its pending registration, or the expiry of its registration.
    register: Vec<Option<TimerId>>,
    expire: Vec<Option<TimerId>>,
    /// Per replica: its pool has discovery.
    on: Vec<bool>,
}

impl Discovery {
    pub(super) fn new(spec: &Spec, key: &StreamKey) -> Discovery {
        let mut d = Discovery {
            spec: spec.pools.iter().map(|p| p.discovery).collect(),
            registered: Vec::new(),
            since: Vec::new(),
            register: Vec::new(),
            expire: Vec::new(),
            on: Vec::new(),
        };
        for p in &spec.pools {
            let n = p.replicas as usize;
            let initial = p.autoscale.map_or(p.replicas, |a| a.initial) as usize;
            d.on.extend((0..n).map(|_| p.discovery.is_some()));
            d.registered
                .extend((0..n).map(|i| p.discovery.is_none() || i < initial));
            match p.discovery {
                Some(s) => {
                    // Registered before time zero, at a uniformly random heartbeat phase.
                    let mut rng = key.stream(&format!("pool/{}/discovery", p.name));
                    let hb = s.heartbeat.0;
                    d.since.extend((0..n).map(|_| {
                        let phase = ((rng.uniform_open0() * hb as f64) as u64).min(hb - 1);
                        SimTime(phase)
                    }));
                }
                None => d.since.extend((0..n).map(|_| SimTime::ZERO)),
            }
        }
        let n = d.on.len();
        d.register = vec![None; n];
        d.expire = vec![None; n];
        d
    }

    /// Some pool has a registry.
    pub(super) fn any(&self) -> bool {
        self.spec.iter().any(Option::is_some)
    }

    /// Replica `r` is visible to the balancers (registered, or its pool has no registry).
    #[inline]
    pub(super) fn visible(&self, r: usize) -> bool {
        self.registered[r]
    }

    /// When the registration of a replica that registered at `since` and died at `now`
    /// expires: `ttl` after its last heartbeat (heartbeats at since, since + hb, …).
    pub(super) fn expiry(since: SimTime, now: SimTime, s: &DiscoverySpec) -> SimTime {
        // At time zero a heartbeat phase may lie ahead of now: the last renewal was one period
        // before it.
        let (hb, since, now) = (s.heartbeat.0 as i128, since.0 as i128, now.0 as i128);
        let last = since + (now - since).div_euclid(hb) * hb;
        // last > now − heartbeat and ttl ≥ heartbeat: never in the past.
        SimTime((last + s.ttl.0 as i128).clamp(now, u64::MAX as i128) as u64)
    }
}

impl<O: Observer<Record>> System<O> {
    fn set_registered(&mut self, now: SimTime, r: ReplicaId, registered: bool) {
        if self.discovery.registered[r.ix()] == registered {
            return;
        }
        self.discovery.registered[r.ix()] = registered;
        self.observer.record(
            now,
            &Record::Registered {
                replica: r.0,
                registered,
            },
        );
        let p = self.service.replicas[r].pool as usize;
        self.refresh_members(p);
    }

    /// Replica `r` started serving (repair, warm-up end): it registers after the delay.
    pub(super) fn discovery_started(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        let i = r.ix();
        // A draining replica that is repaired stays out of the registry.
        if !self.discovery.on[i] || self.scaling.slot[i] != super::scaling::Slot::Active {
            return;
        }
        let p = self.service.replicas[i].pool as usize;
        let Some(s) = self.discovery.spec[p] else {
            return;
        };
        if let Some(t) = self.discovery.register[i].take() {
            sched.cancel(t);
        }
        if s.registration_delay.0 == 0 {
            self.registered_now(now, r, sched);
        } else {
            self.discovery.register[i] = Some(sched.timer_after(
                s.registration_delay,
                Event::Discovery(DiscoveryEvent::Register(r)),
            ));
        }
    }

    /// The registration of replica `r` goes through: a new lease, renewed from now on.
    pub(super) fn registered_now(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        let i = r.ix();
        self.discovery.register[i] = None;
        if let Some(t) = self.discovery.expire[i].take() {
            sched.cancel(t);
        }
        self.discovery.since[i] = now;
        self.set_registered(now, r, true);
    }

    /// Replica `r` crashed: a pending registration never happens; a registration expires `ttl`
    /// after the last heartbeat.
    pub(super) fn discovery_crashed(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        let i = r.ix();
        if !self.discovery.on[i] {
            return;
        }
        if let Some(t) = self.discovery.register[i].take() {
            sched.cancel(t);
        }
        let p = self.service.replicas[i].pool as usize;
        let Some(s) = self.discovery.spec[p] else {
            return;
        };
        if self.discovery.registered[i] && self.discovery.expire[i].is_none() {
            let at = Discovery::expiry(self.discovery.since[i], now, &s);
            self.discovery.expire[i] =
                Some(sched.timer_after(at.since(now), Event::Discovery(DiscoveryEvent::Expire(r))));
        }
    }

    /// The registration of replica `r` expired.
    pub(super) fn expired(&mut self, now: SimTime, r: ReplicaId) {
        self.discovery.expire[r.ix()] = None;
        self.set_registered(now, r, false);
    }

    /// Replica `r` is being scaled in: it deregisters at once.
    pub(super) fn discovery_leave(&mut self, r: ReplicaId, sched: &mut Scheduler<Event>) {
        let i = r.ix();
        if !self.discovery.on[i] {
            return;
        }
        for t in [
            self.discovery.register[i].take(),
            self.discovery.expire[i].take(),
        ]
        .into_iter()
        .flatten()
        {
            sched.cancel(t);
        }
        // The balancers are refreshed by the caller.
        if self.discovery.registered[i] {
            self.discovery.registered[i] = false;
            let now = sched.now();
            self.observer.record(
                now,
                &Record::Registered {
                    replica: r.0,
                    registered: false,
                },
            );
        }
    }

    /// A registration goes through or expires.
    pub(super) fn on_discovery_event(
        &mut self,
        now: SimTime,
        e: DiscoveryEvent,
        sched: &mut Scheduler<Event>,
    ) {
        match e {
            DiscoveryEvent::Register(r) => self.registered_now(now, r, sched),
            DiscoveryEvent::Expire(r) => self.expired(now, r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    #[test]
    fn a_registration_expires_ttl_after_the_last_heartbeat() {
        let s = DiscoverySpec {
            registration_delay: SimDuration::from_secs(5),
            ttl: SimDuration::from_secs(30),
            heartbeat: SimDuration::from_secs(10),
        };
        let t = |x: u64| SimTime(x * 1_000_000_000);
        assert_eq!(Discovery::expiry(t(3), t(3), &s), t(33));
        assert_eq!(Discovery::expiry(t(3), t(12), &s), t(33));
        assert_eq!(Discovery::expiry(t(3), t(13), &s), t(43));
        // Phase ahead of the crash (time zero): the renewal one period before the phase.
        assert_eq!(Discovery::expiry(t(7), t(2), &s), t(27));
    }
}

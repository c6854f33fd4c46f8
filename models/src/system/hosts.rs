//! Hosts and racks: failure domains under a pool's replicas. A host or rack that fails takes
//! down every replica on it at once (correlated failures) and brings back, at its repair, those
//! nothing else holds down. Each domain has its own crash/repair process and stream
//! (`pool/NAME/host/H/failures`, `pool/NAME/rack/K/failures`); a replica's own process runs on
//! regardless (it may fail while its host is down), so a replica is up exactly while it, its
//! host and its rack are: the availabilities multiply (product form). A failure costs
//! O(replicas on the domain); nothing per request looks at hosts.

use super::*;
use crate::spec::FailureSpec;

/// One host or rack.
pub(super) struct Domain {
    /// Replicas on it (global indices).
    members: Vec<u32>,
    failures: FailureSpec,
    rng: Stream,
}

/// Every hosted pool's hosts and racks, and per replica what holds it down.
#[derive(Default)]
pub(super) struct Hosts {
    /// Domains that fail (hosts and racks without a failure process are left out).
    domains: Vec<Domain>,
    /// Per replica (empty when no pool has hosts): domains down under it now.
    domain_down: Vec<u32>,
    /// Per replica (empty when no pool has hosts): its own crash holds it down now.
    own_down: Vec<bool>,
    /// Per replica (empty when no pool has hosts): its pool runs on hosts.
    hosted: Vec<bool>,
}

impl Hosts {
    pub(super) fn new(spec: &Spec, key: &StreamKey) -> Self {
        if spec.pools.iter().all(|p| p.fleet.hosts.is_none()) {
            return Hosts::default();
        }
        let n_replicas: u32 = spec.pools.iter().map(|p| p.replicas).sum();
        let mut h = Hosts {
            domains: Vec::new(),
            domain_down: vec![0; n_replicas as usize],
            own_down: vec![false; n_replicas as usize],
            hosted: vec![false; n_replicas as usize],
        };
        let mut first = 0u32;
        for p in &spec.pools {
            let n = p.replicas;
            if let Some(hs) = &p.fleet.hosts {
                for r in first..first + n {
                    h.hosted[r as usize] = true;
                }
                let on_host = |host: u32| {
                    (0..n)
                        .filter(|&i| hs.host_of(i, n) == host)
                        .map(|i| first + i)
                        .collect::<Vec<u32>>()
                };
                if let Some(f) = &hs.failures {
                    for host in 0..hs.hosts {
                        h.domains.push(Domain {
                            members: on_host(host),
                            failures: f.clone(),
                            rng: key.stream(&format!("pool/{}/host/{host}/failures", p.name)),
                        });
                    }
                }
                if let Some(f) = &hs.rack_failures {
                    for rack in 0..hs.racks {
                        let members = (0..hs.hosts)
                            .filter(|&x| hs.rack_of(x) == Some(rack))
                            .flat_map(on_host)
                            .collect::<Vec<u32>>();
                        h.domains.push(Domain {
                            members,
                            failures: f.clone(),
                            rng: key.stream(&format!("pool/{}/rack/{rack}/failures", p.name)),
                        });
                    }
                }
            }
            first += n;
        }
        h
    }

    /// True when replica `r`'s pool runs on hosts.
    #[inline]
    pub(super) fn hosted(&self, r: ReplicaId) -> bool {
        self.hosted.get(r.ix()).copied().unwrap_or(false)
    }

    /// True when no host or rack holds replica `r` down.
    #[inline]
    pub(super) fn holds_none(&self, r: ReplicaId) -> bool {
        self.domain_down.get(r.ix()).is_none_or(|&d| d == 0)
    }

    /// True when replica `r` is down by its own crash (as opposed to its host's or rack's).
    pub(super) fn own_down(&self, r: u32) -> Option<bool> {
        self.own_down.get(r as usize).copied()
    }
}

impl<O: Observer<Record>> System<O> {
    /// Every failing host's and rack's first crash.
    pub(super) fn start_hosts(&mut self, sched: &mut Scheduler<Event>) {
        for (d, dom) in self.hosts.domains.iter_mut().enumerate() {
            let ttf = dom.failures.time_to_failure.sample(&mut dom.rng);
            sched.after(ttf, Event::Fault(FaultEvent::DomainDown(d as u32)));
        }
    }

    /// A hosted replica's own crash: down now if it was up; its repair starts either way.
    pub(super) fn hosted_crash(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        self.hosts.own_down[r.ix()] = true;
        if self.service.replicas[r].is_up {
            self.on_crash(now, r, sched);
        } else {
            self.needs_repair(r, sched);
        }
    }

    /// A hosted replica's own repair: up again unless its host or rack is down; its next own
    /// crash is scheduled either way.
    pub(super) fn hosted_repair(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        self.hosts.own_down[r.ix()] = false;
        if self.hosts.holds_none(r) && self.faults.held_down[r.ix()] == 0 {
            self.on_repair(now, r, sched);
        } else {
            self.schedule_crash(r, sched);
        }
    }

    /// Host or rack `d` fails (`down`) or is repaired.
    pub(super) fn on_domain(
        &mut self,
        now: SimTime,
        d: u32,
        down: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let members = std::mem::take(&mut self.hosts.domains[d as usize].members);
        for &m in &members {
            let r = ReplicaId(m);
            let held = &mut self.hosts.domain_down[r.ix()];
            if down {
                *held += 1;
                if *held == 1 && self.service.replicas[r].is_up {
                    self.take_down(now, r, sched);
                    self.discovery_crashed(now, r, sched);
                }
            } else {
                *held = dec(*held, now, "domains holding a replica down");
                if *held == 0
                    && !self.hosts.own_down[r.ix()]
                    && self.faults.held_down[r.ix()] == 0
                    && !self.service.replicas[r].is_up
                {
                    // Its own crash process ran on meanwhile: its next crash is scheduled.
                    self.bring_up(now, r);
                    self.observer
                        .record(now, &Record::ReplicaUp { replica: r.0 });
                    self.member_changed(now, r, true, sched);
                    self.discovery_started(now, r, sched);
                }
            }
        }
        let dom = &mut self.hosts.domains[d as usize];
        dom.members = members;
        let (next, e) = if down {
            let ttr = dom.failures.time_to_repair.sample(&mut dom.rng);
            (ttr, FaultEvent::DomainUp(d))
        } else {
            let ttf = dom.failures.time_to_failure.sample(&mut dom.rng);
            (ttf, FaultEvent::DomainDown(d))
        };
        sched.after(next, Event::Fault(e));
    }
}

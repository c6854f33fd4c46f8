//! The whole topology as one [`Model`]: clients issue requests, balancers route them, replicas
//! queue and serve them, failures crash and repair replicas. This file owns the request life
//! cycle and its invariant: every offered request is succeeded, failed or still in flight.

use crate::balancer::{Balance, Balancer, Health, LoadView, Policy, Transition};
use crate::pool::{Pool, Replica};
use crate::record::{Outcome, Record};
use crate::spec::{FaultKind, Spec, Target};
use crate::stats::TimeWeighted;
use sim_core::{
    Dist, Model, Observer, RunStats, Scheduler, SimDuration, SimTime, Stream, StreamKey, TimerId,
    Until,
};

/// Everything that can happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Client `0` issues its next request.
    Arrival(u32),
    /// The client of request `0` gives up.
    Timeout(u32),
    /// Request `0` finishes service.
    Done(u32),
    /// Replica `0` (global index) crashes.
    Crash(u32),
    /// Replica `0` comes back.
    Repair(u32),
    /// The warm-up period ends.
    WarmupEnd,
    /// A time-series window ends: sample every replica.
    Sample,
    /// Balancer `0` probes its backend `1`.
    Probe(u32, u32),
    /// Balancer `0`'s probe of backend `1` timed out (the replica was down).
    ProbeTimedOut(u32, u32),
    /// Balancer `0` returns ejected backend `1` to rotation.
    Uneject(u32, u32),
    /// Scheduled fault `0` begins: its replica goes down.
    FaultStart(u32),
    /// Scheduled fault `0` ends: its replica comes back unless another holds it down.
    FaultEnd(u32),
}

const NONE: u32 = u32::MAX;

/// `x − 1`, asserting that a count never goes below zero, in every build: release builds wrap
/// silently on underflow, and a wrapped count would corrupt every figure after it.
#[inline]
fn dec<T: Copy + PartialEq + std::ops::Sub<Output = T> + From<u8> + std::fmt::Display>(
    x: T,
    now: SimTime,
    what: &str,
) -> T {
    assert!(
        x != T::from(0u8),
        "invariant: {what} would go below zero (t = {now})"
    );
    x - T::from(1u8)
}

struct Client {
    interarrival: Dist,
    rng: Stream,
    timeout: Option<SimDuration>,
    target: Target,
}

#[derive(Clone, Copy)]
struct Request {
    /// Sequence number of the request in the run (0, 1, 2, …): its name in traces.
    seq: u64,
    client: u32,
    arrived: SimTime,
    started: SimTime,
    service: SimDuration,
    replica: u32,
    /// The balancer that chose the replica, and the backend slot it counted the request in.
    balancer: u32,
    slot: u32,
    /// Position in the replica's `in_service` list while in service.
    pos: u32,
    timeout: Option<TimerId>,
    done: Option<TimerId>,
    /// The client still waits for an outcome.
    client_waiting: bool,
    /// The request is queued or in service at a replica.
    at_server: bool,
}

/// Whole-run request counts (not windowed), for the conservation invariant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conservation {
    /// Requests issued.
    pub offered: u64,
    /// Requests that succeeded.
    pub succeeded: u64,
    /// Requests that failed (any reason).
    pub failed: u64,
    /// Requests whose client still waits.
    pub in_flight: u64,
}

/// One replica's integer statistics over the window.
#[derive(Clone, Debug)]
pub struct ReplicaSummary {
    /// Pool name.
    pub pool: String,
    /// Index within the pool.
    pub index: u32,
    /// Workers.
    pub workers: u32,
    /// ∫ busy workers dt (worker·ns).
    pub busy_area: u128,
    /// ∫ queue length dt (request·ns).
    pub queue_area: u128,
    /// ∫ up dt (ns).
    pub up_area: u128,
    /// Requests completed.
    pub served: u64,
    /// Crashes.
    pub crashes: u64,
}

/// What the models know at the end of a run; `reports` turns it into figures.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Length of the statistics window (horizon − warm-up), ns.
    pub window_ns: u64,
    /// ∫ [every pool has a replica up] dt over the window (ns).
    pub service_up_area: u128,
    /// Per replica, in pool order.
    pub replicas: Vec<ReplicaSummary>,
    /// Whole-run request counts.
    pub conservation: Conservation,
    /// The kernel's account of the run.
    pub run: RunStats,
    /// Some balancer checks its backends' health.
    pub health_checked: bool,
}

/// The running topology, emitting [`Record`]s to `O`.
pub struct System<O> {
    clients: Vec<Client>,
    balancers: Vec<Balancer>,
    /// Per balancer: its pool (if its backends are a pool's replicas) or the next balancer.
    balancer_target: Vec<Target>,
    pools: Vec<Pool>,
    replicas: Vec<Replica>,
    requests: Vec<Request>,
    free_requests: Vec<u32>,
    /// Reused buffer for the requests a crash fails (no allocation per crash).
    scratch: Vec<u32>,
    pools_down: u32,
    service_up: TimeWeighted,
    counts: Conservation,
    warmup: SimTime,
    horizon: SimTime,
    max_events: u64,
    /// Time-series window (zero = no sampling).
    window: SimDuration,
    /// When the current time-series window began.
    window_start: SimTime,
    /// Per replica: (busy, queued, up) areas at the last sample, in the frame of the replica's
    /// statistics (which restart at the end of warm-up), and the area carried over a restart.
    sample_base: Vec<[u128; 3]>,
    sample_carry: Vec<[u128; 3]>,
    /// Faults at fixed times.
    scheduled: Vec<crate::spec::ScheduledFault>,
    /// Per replica, scheduled faults holding it down now.
    held_down: Vec<u32>,
    /// Per replica, the product of the open slowdowns' factors, and how many are open.
    slow: Vec<(f64, u32)>,
    observer: O,
}

impl<O: Observer<Record>> System<O> {
    /// Builds the topology of `spec` with the random streams of `key`.
    pub fn new(spec: &Spec, key: StreamKey, observer: O) -> Self {
        let clients = spec
            .clients
            .iter()
            .map(|c| Client {
                interarrival: c.arrivals.interarrival(),
                rng: key.stream(&format!("client/{}/arrivals", c.name)),
                timeout: c.timeout,
                target: c.target,
            })
            .collect();
        let mut pools = Vec::new();
        let mut replicas = Vec::new();
        for (p, ps) in spec.pools.iter().enumerate() {
            let (pool, mut rs) = Pool::new(ps, replicas.len() as u32, &key);
            for r in &mut rs {
                r.pool = p as u32;
            }
            pools.push(pool);
            replicas.extend(rs);
        }
        let balancers = spec
            .balancers
            .iter()
            .map(|b| {
                let n = match b.target {
                    Target::Pool(p) => spec.pools[p].replicas as usize,
                    Target::Balancer(_) => 1,
                };
                Balancer {
                    name: b.name.clone(),
                    policy: Policy::new(&b.policy, n),
                    in_flight: vec![0; n],
                    eligible: (0..n as u32).collect(),
                    health: b.health_check.clone().map(|h| Health::new(h, n)),
                    health_rng: b
                        .health_check
                        .as_ref()
                        .map(|_| key.stream(&format!("balancer/{}/health", b.name))),
                    outlier: b
                        .outlier_detection
                        .clone()
                        .map(|o| crate::balancer::Outlier::new(o, n)),
                    panic_threshold: b.panic_threshold,
                    rng: key.stream(&format!("balancer/{}/policy", b.name)),
                }
            })
            .collect();
        let mut service_up = TimeWeighted::default();
        service_up.set(SimTime::ZERO, 1);
        let n_replicas = replicas.len();
        for f in &spec.faults {
            let r: &mut Replica = &mut replicas[f.replica as usize];
            r.can_fail = true;
        }
        System {
            clients,
            balancers,
            balancer_target: spec.balancers.iter().map(|b| b.target).collect(),
            pools,
            replicas,
            requests: Vec::with_capacity(1024),
            free_requests: Vec::with_capacity(1024),
            scratch: Vec::new(),
            pools_down: 0,
            service_up,
            counts: Conservation::default(),
            warmup: SimTime(spec.warmup.0),
            horizon: SimTime(spec.horizon.0),
            max_events: spec.max_events,
            window: spec.window,
            window_start: SimTime::ZERO,
            sample_base: vec![[0; 3]; n_replicas],
            sample_carry: vec![[0; 3]; n_replicas],
            scheduled: spec.faults.clone(),
            held_down: vec![0; n_replicas],
            slow: vec![(1.0, 0); n_replicas],
            observer,
        }
    }

    /// Schedules the first arrivals, failures and the end of warm-up.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        for (i, c) in self.clients.iter_mut().enumerate() {
            let gap = c.interarrival.sample(&mut c.rng);
            sched.after(gap, Event::Arrival(i as u32));
        }
        for r in 0..self.replicas.len() {
            self.schedule_crash(r as u32, sched);
        }
        if self.warmup > SimTime::ZERO {
            sched.at(self.warmup, Event::WarmupEnd);
        }
        if self.window > SimDuration::ZERO {
            sched.at(self.next_sample(SimTime::ZERO), Event::Sample);
        }
        for (i, f) in self.scheduled.iter().enumerate() {
            sched.at(SimTime(f.at.0), Event::FaultStart(i as u32));
            sched.at(
                SimTime(f.at.0.saturating_add(f.duration.0)),
                Event::FaultEnd(i as u32),
            );
        }
        for (b, lb) in self.balancers.iter_mut().enumerate() {
            let (Some(h), Some(rng)) = (&lb.health, lb.health_rng.as_mut()) else {
                continue;
            };
            // Each backend's first probe at a uniformly random phase of the interval, as a
            // balancer started at an arbitrary moment would.
            let interval = h.spec.interval.0;
            for backend in 0..h.healthy.len() as u32 {
                let phase = ((rng.uniform_open0() * interval as f64) as u64).min(interval - 1);
                sched.at(SimTime(phase), Event::Probe(b as u32, backend));
            }
        }
    }

    /// A probe: a live replica passes at once; a crashed one fails when the timeout runs out.
    /// Probes start on a fixed cadence (plus jitter), whatever their results.
    fn on_probe(&mut self, now: SimTime, b: u32, backend: u32, sched: &mut Scheduler<Event>) {
        let lb = &mut self.balancers[b as usize];
        let (Some(h), Some(rng), Target::Pool(p)) = (
            &lb.health,
            lb.health_rng.as_mut(),
            self.balancer_target[b as usize],
        ) else {
            return;
        };
        let spec = &h.spec;
        let jitter = if spec.jitter.0 > 0 {
            (rng.uniform_open0() * spec.jitter.0 as f64) as u64
        } else {
            0
        };
        sched.at(
            SimTime(now.0 + spec.interval.0 + jitter),
            Event::Probe(b, backend),
        );
        let timeout = spec.timeout;
        let r = self.pools[p].first_replica + backend;
        if self.replicas[r as usize].is_up {
            self.on_probe_result(now, b, backend, true);
        } else {
            sched.after(timeout, Event::ProbeTimedOut(b, backend));
        }
    }

    fn on_probe_result(&mut self, now: SimTime, b: u32, backend: u32, passed: bool) {
        let lb = &mut self.balancers[b as usize];
        let Some(h) = lb.health.as_mut() else {
            return;
        };
        let Some(t) = h.probe(backend as usize, passed) else {
            return;
        };
        lb.refresh_eligible();
        self.record_health(now, b, backend, t == Transition::Healthy);
    }

    /// Tells the observer that balancer `b` now considers its backend healthy or not.
    fn record_health(&mut self, now: SimTime, b: u32, backend: u32, healthy: bool) {
        if let Target::Pool(p) = self.balancer_target[b as usize] {
            let replica = self.pools[p].first_replica + backend;
            let rec = Record::HealthChange {
                balancer: b,
                replica,
                healthy,
            };
            self.observer.record(now, &rec);
        }
    }

    /// The end of the window that starts at `t`, clipped to the horizon.
    fn next_sample(&self, t: SimTime) -> SimTime {
        SimTime(t.0.saturating_add(self.window.0).min(self.horizon.0))
    }

    fn areas(r: &Replica, now: SimTime) -> [u128; 3] {
        [
            r.busy.area_until(now).0,
            r.queued.area_until(now).0,
            r.up_level.area_until(now).0,
        ]
    }

    /// Reports each replica's mean state over the window ending now. Reads state only, so the
    /// trajectory is the same with or without sampling.
    fn on_sample(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let len = (now.0 - self.window_start.0).max(1) as f64;
        for (i, r) in self.replicas.iter().enumerate() {
            let a = Self::areas(r, now);
            let (base, carry) = (&mut self.sample_base[i], &mut self.sample_carry[i]);
            let mean = |k: usize| (carry[k] + a[k] - base[k]) as f64 / len;
            let rec = Record::ReplicaSample {
                replica: i as u32,
                in_service: mean(0),
                queued: mean(1),
                up: mean(2),
            };
            *base = a;
            *carry = [0; 3];
            self.observer.record(now, &rec);
        }
        self.window_start = now;
        if now < self.horizon {
            sched.at(self.next_sample(now), Event::Sample);
        }
    }

    /// Runs from time zero to the horizon and returns the end-of-run summary and the observer.
    pub fn run(mut self) -> (Summary, O) {
        let mut sched = Scheduler::new();
        self.start(&mut sched);
        let until = Until {
            horizon: self.horizon,
            max_events: self.max_events,
        };
        let stats = sim_core::run(&mut self, &mut sched, until);
        let summary = self.summary(stats);
        (summary, self.observer)
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// Whole-run request counts.
    pub fn conservation(&self) -> Conservation {
        self.counts
    }

    fn summary(&mut self, run: RunStats) -> Summary {
        let end = run.end;
        self.check_invariants();
        let replicas = self
            .replicas
            .iter()
            .map(|r| {
                let pool = &self.pools[r.pool as usize];
                ReplicaSummary {
                    pool: pool.name.clone(),
                    index: r.index,
                    workers: pool.workers,
                    busy_area: r.busy.area_until(end).0,
                    queue_area: r.queued.area_until(end).0,
                    up_area: r.up_level.area_until(end).0,
                    served: r.served,
                    crashes: r.crashes,
                }
            })
            .collect();
        let (service_up_area, window_ns) = self.service_up.area_until(end);
        Summary {
            window_ns,
            service_up_area,
            replicas,
            conservation: self.counts,
            run,
            health_checked: self
                .balancers
                .iter()
                .any(|b| b.health.is_some() || b.outlier.is_some()),
        }
    }

    /// Requests in = out + in flight, and the bookkeeping agrees with the request table.
    pub fn check_invariants(&self) {
        let c = self.counts;
        assert_eq!(
            c.offered,
            c.succeeded + c.failed + c.in_flight,
            "invariant: requests offered = succeeded + failed + in flight ({c:?})"
        );
        let waiting = self.requests.iter().filter(|r| r.client_waiting).count() as u64;
        assert_eq!(
            waiting, c.in_flight,
            "invariant: in-flight count matches the request table"
        );
        for (p, pool) in self.pools.iter().enumerate() {
            let up = self
                .replicas
                .iter()
                .filter(|r| r.pool == p as u32 && r.is_up)
                .count() as u32;
            assert_eq!(up, pool.up, "invariant: pool `{}` up-count", pool.name);
        }
    }

    fn schedule_crash(&mut self, r: u32, sched: &mut Scheduler<Event>) {
        let rep = &mut self.replicas[r as usize];
        let pool = &self.pools[rep.pool as usize];
        if let (Some(f), Some(rng)) = (&pool.failures, rep.failure_rng.as_mut()) {
            let ttf = f.time_to_failure.sample(rng);
            sched.after(ttf, Event::Crash(r));
        }
    }

    fn new_request(&mut self, req: Request) -> u32 {
        match self.free_requests.pop() {
            Some(i) => {
                self.requests[i as usize] = req;
                i
            }
            None => {
                self.requests.push(req);
                (self.requests.len() - 1) as u32
            }
        }
    }

    #[inline]
    fn release_if_done(&mut self, id: u32) {
        let r = &self.requests[id as usize];
        if !r.client_waiting && !r.at_server {
            self.free_requests.push(id);
        }
    }

    fn on_arrival(&mut self, now: SimTime, c: u32, sched: &mut Scheduler<Event>) {
        let client = &mut self.clients[c as usize];
        let gap = client.interarrival.sample(&mut client.rng);
        sched.after(gap, Event::Arrival(c));
        let (timeout, target) = (client.timeout, client.target);
        let seq = self.counts.offered;
        let id = self.new_request(Request {
            seq,
            client: c,
            arrived: now,
            started: now,
            service: SimDuration::ZERO,
            replica: NONE,
            balancer: NONE,
            slot: NONE,
            pos: NONE,
            timeout: None,
            done: None,
            client_waiting: true,
            at_server: false,
        });
        self.counts.offered += 1;
        self.counts.in_flight += 1;
        self.observer.record(
            now,
            &Record::Offered {
                client: c,
                request: seq,
            },
        );
        if let Some(t) = timeout {
            self.requests[id as usize].timeout = Some(sched.timer_after(t, Event::Timeout(id)));
        }
        let replica = self.route(target, id);
        self.deliver(now, id, replica, sched);
    }

    /// Follows balancers down to a replica, counting the request in the deciding balancer.
    fn route(&mut self, mut target: Target, id: u32) -> u32 {
        loop {
            match target {
                Target::Pool(p) => return self.pools[p].first_replica,
                Target::Balancer(b) => match self.balancer_target[b] {
                    Target::Balancer(next) => target = Target::Balancer(next),
                    Target::Pool(p) => {
                        let pool = &self.pools[p];
                        let lb = &mut self.balancers[b];
                        let view = LoadView {
                            in_flight: &lb.in_flight,
                            occupancy: &pool.occupancy,
                            eligible: &lb.eligible,
                        };
                        let slot = lb.policy.pick(&view, &mut lb.rng);
                        lb.in_flight[slot] += 1;
                        let req = &mut self.requests[id as usize];
                        req.balancer = b as u32;
                        req.slot = slot as u32;
                        return pool.first_replica + slot as u32;
                    }
                },
            }
        }
    }

    fn deliver(&mut self, now: SimTime, id: u32, r: u32, sched: &mut Scheduler<Event>) {
        let rep = &mut self.replicas[r as usize];
        let pool = &mut self.pools[rep.pool as usize];
        // Drawn before anything can fail the request, so the stream stays aligned across variants.
        let mut service = pool.service.sample(&mut pool.service_rng);
        let slow = self.slow[r as usize].0;
        if slow != 1.0 {
            service = SimDuration((service.0 as f64 * slow).round() as u64);
        }
        let req = &mut self.requests[id as usize];
        req.service = service;
        req.replica = r;
        if !rep.is_up {
            self.finish_client(now, id, Outcome::Refused, sched);
            self.release_if_done(id);
        } else if (rep.in_service.len() as u32) < pool.workers {
            pool.occupancy[rep.index as usize] += 1;
            req.at_server = true;
            self.start_service(now, id, sched);
        } else if (rep.queue.len() as u32) < pool.queue_capacity {
            pool.occupancy[rep.index as usize] += 1;
            req.at_server = true;
            rep.queue.push_back(id);
            rep.queued.set(now, rep.queue.len() as u64);
        } else {
            self.finish_client(now, id, Outcome::Rejected, sched);
            self.release_if_done(id);
        }
    }

    fn start_service(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) {
        let req = &mut self.requests[id as usize];
        let rep = &mut self.replicas[req.replica as usize];
        req.started = now;
        req.pos = rep.in_service.len() as u32;
        rep.in_service.push(id);
        rep.busy.set(now, rep.in_service.len() as u64);
        // Only a crash cancels service, so replicas that never fail skip the timer table.
        if rep.can_fail {
            req.done = Some(sched.timer_after(req.service, Event::Done(id)));
        } else {
            sched.after(req.service, Event::Done(id));
        }
    }

    /// Tells the client how its request ended (once), and the balancer that it ended.
    fn finish_client(
        &mut self,
        now: SimTime,
        id: u32,
        outcome: Outcome,
        sched: &mut Scheduler<Event>,
    ) {
        let req = &mut self.requests[id as usize];
        if !req.client_waiting {
            return;
        }
        req.client_waiting = false;
        if let Some(t) = req.timeout.take() {
            sched.cancel(t);
        }
        if req.balancer != NONE {
            let lb = &mut self.balancers[req.balancer as usize];
            let c = &mut lb.in_flight[req.slot as usize];
            *c = dec(*c, now, "a balancer's in-flight count");
            lb.policy
                .on_complete(req.slot as usize, now.since(req.arrived), now);
            let slot = req.slot as usize;
            if let Some(o) = lb.outlier.as_mut()
                && let Some(t) = o.response(slot, outcome == Outcome::Succeeded)
            {
                lb.refresh_eligible();
                let b = req.balancer;
                sched.after(t, Event::Uneject(b, slot as u32));
                self.record_health(now, b, slot as u32, false);
            }
        }
        let req = &mut self.requests[id as usize];
        self.counts.in_flight = dec(self.counts.in_flight, now, "requests in flight");
        let waited = if outcome == Outcome::Succeeded {
            req.started.since(req.arrived)
        } else {
            SimDuration::ZERO
        };
        if outcome == Outcome::Succeeded {
            self.counts.succeeded += 1;
        } else {
            self.counts.failed += 1;
        }
        let rec = Record::Finished {
            request: req.seq,
            replica: req.replica,
            client: req.client,
            arrived: req.arrived,
            outcome,
            latency: now.since(req.arrived),
            waited,
        };
        self.observer.record(now, &rec);
    }

    fn on_done(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) {
        let req = &mut self.requests[id as usize];
        req.done = None;
        req.at_server = false;
        let (r, pos) = (req.replica, req.pos as usize);
        let rep = &mut self.replicas[r as usize];
        rep.in_service.swap_remove(pos);
        if let Some(&moved) = rep.in_service.get(pos) {
            self.requests[moved as usize].pos = pos as u32;
        }
        rep.served += 1;
        let occ = &mut self.pools[rep.pool as usize].occupancy[rep.index as usize];
        *occ = dec(*occ, now, "a replica's occupancy");
        let next = rep.queue.pop_front();
        if next.is_some() {
            rep.queued.set(now, rep.queue.len() as u64);
        }
        rep.busy.set(now, rep.in_service.len() as u64);
        self.finish_client(now, id, Outcome::Succeeded, sched);
        self.release_if_done(id);
        if let Some(n) = next {
            self.start_service(now, n, sched);
        }
    }

    fn on_timeout(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) {
        self.requests[id as usize].timeout = None;
        // The server keeps working on it: the client has gone, the work has not.
        self.finish_client(now, id, Outcome::TimedOut, sched);
        self.release_if_done(id);
    }

    fn on_crash(&mut self, now: SimTime, r: u32, sched: &mut Scheduler<Event>) {
        let rep = &mut self.replicas[r as usize];
        assert!(
            rep.is_up,
            "invariant: replica {r} crashed while down (t = {now})"
        );
        rep.is_up = false;
        rep.crashes += 1;
        let mut lost = std::mem::take(&mut self.scratch);
        lost.extend(rep.in_service.drain(..).chain(rep.queue.drain(..)));
        rep.busy.set(now, 0);
        rep.queued.set(now, 0);
        rep.up_level.set(now, 0);
        let pool = &mut self.pools[rep.pool as usize];
        pool.occupancy[rep.index as usize] = 0;
        pool.up = dec(pool.up, now, "a pool's up-count");
        if pool.up == 0 {
            self.pools_down += 1;
            self.service_up.set(now, 0);
        }
        // The crash first, then what it failed: observers attribute the losses to it.
        self.observer
            .record(now, &Record::ReplicaDown { replica: r });
        for &id in &lost {
            let req = &mut self.requests[id as usize];
            if let Some(t) = req.done.take() {
                sched.cancel(t);
            }
            req.at_server = false;
            self.finish_client(now, id, Outcome::Crashed, sched);
            self.release_if_done(id);
        }
        lost.clear();
        self.scratch = lost;
        let rep = &mut self.replicas[r as usize];
        let pool = &self.pools[rep.pool as usize];
        if let (Some(f), Some(rng)) = (&pool.failures, rep.failure_rng.as_mut()) {
            let ttr = f.time_to_repair.sample(rng);
            sched.after(ttr, Event::Repair(r));
        }
    }

    fn on_repair(&mut self, now: SimTime, r: u32, sched: &mut Scheduler<Event>) {
        let rep = &mut self.replicas[r as usize];
        assert!(
            !rep.is_up,
            "invariant: replica {r} repaired while up (t = {now})"
        );
        rep.is_up = true;
        rep.up_level.set(now, 1);
        let pool = &mut self.pools[rep.pool as usize];
        pool.up += 1;
        if pool.up == 1 {
            self.pools_down = dec(self.pools_down, now, "pools down");
            if self.pools_down == 0 {
                self.service_up.set(now, 1);
            }
        }
        self.observer.record(now, &Record::ReplicaUp { replica: r });
        self.schedule_crash(r, sched);
    }

    fn on_warmup_end(&mut self, now: SimTime) {
        for (i, r) in self.replicas.iter_mut().enumerate() {
            // Carry the window's area so far across the restart of the replica's statistics.
            let a = Self::areas(r, now);
            let (carry, base) = (&mut self.sample_carry[i], &self.sample_base[i]);
            for ((c, now), b) in carry.iter_mut().zip(a).zip(base) {
                *c += now - b;
            }
            self.sample_base[i] = [0; 3];
            r.restart_stats(now);
        }
        self.service_up.restart(now);
        self.observer.record(now, &Record::WarmupEnded);
    }
}

impl<O: Observer<Record>> Model for System<O> {
    type Event = Event;

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::Arrival(c) => self.on_arrival(now, c, sched),
            Event::Done(id) => self.on_done(now, id, sched),
            Event::Timeout(id) => self.on_timeout(now, id, sched),
            Event::Crash(r) => self.on_crash(now, r, sched),
            Event::Repair(r) => self.on_repair(now, r, sched),
            Event::WarmupEnd => self.on_warmup_end(now),
            Event::Sample => self.on_sample(now, sched),
            Event::Probe(b, backend) => self.on_probe(now, b, backend, sched),
            Event::Uneject(b, backend) => {
                let lb = &mut self.balancers[b as usize];
                if let Some(o) = lb.outlier.as_mut() {
                    o.return_to_rotation(backend as usize);
                    lb.refresh_eligible();
                    self.record_health(now, b, backend, true);
                }
            }
            Event::FaultStart(i) => {
                let f = &self.scheduled[i as usize];
                let r = f.replica;
                match f.kind {
                    FaultKind::Down => {
                        self.held_down[r as usize] += 1;
                        if self.replicas[r as usize].is_up {
                            self.on_crash(now, r, sched);
                        }
                    }
                    FaultKind::Slow { factor } => {
                        let s = &mut self.slow[r as usize];
                        *s = (s.0 * factor, s.1 + 1);
                        let factor = s.0;
                        self.observer
                            .record(now, &Record::ReplicaSlow { replica: r, factor });
                    }
                }
            }
            Event::FaultEnd(i) => {
                let f = &self.scheduled[i as usize];
                let r = f.replica;
                match f.kind {
                    FaultKind::Down => {
                        let held = &mut self.held_down[r as usize];
                        *held = dec(*held, now, "faults holding a replica down");
                        if *held == 0 && !self.replicas[r as usize].is_up {
                            self.on_repair(now, r, sched);
                        }
                    }
                    FaultKind::Slow { factor } => {
                        let s = &mut self.slow[r as usize];
                        let open = dec(s.1, now, "slowdowns of a replica");
                        // Back to exactly 1 when none is open: no rounding drift.
                        *s = if open == 0 {
                            (1.0, 0)
                        } else {
                            (s.0 / factor, open)
                        };
                        let factor = s.0;
                        self.observer
                            .record(now, &Record::ReplicaSlow { replica: r, factor });
                    }
                }
            }
            Event::ProbeTimedOut(b, backend) => self.on_probe_result(now, b, backend, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Arrivals, BalancerSpec, ClientSpec, FailureSpec, PolicySpec, PoolSpec};

    #[derive(Default)]
    struct Count {
        outcomes: [u64; 5],
        down: u64,
        up: u64,
        last: SimTime,
    }
    impl Observer<Record> for Count {
        fn record(&mut self, now: SimTime, r: &Record) {
            assert!(now >= self.last, "records arrive in time order");
            self.last = now;
            match *r {
                Record::Finished { outcome, .. } => self.outcomes[outcome as usize] += 1,
                Record::ReplicaDown { .. } => self.down += 1,
                Record::ReplicaUp { .. } => self.up += 1,
                _ => {}
            }
        }
    }

    fn stressed(policy: PolicySpec) -> Spec {
        Spec {
            name: "stress".into(),
            horizon: SimDuration::from_secs(2_000),
            warmup: SimDuration::ZERO,
            max_events: u64::MAX,
            window: SimDuration::ZERO,
            faults: Vec::new(),
            clients: vec![ClientSpec {
                name: "c".into(),
                arrivals: Arrivals::Poisson { rate_per_s: 50.0 },
                timeout: Some(SimDuration::from_millis(300)),
                target: Target::Balancer(0),
            }],
            balancers: vec![BalancerSpec {
                name: "lb".into(),
                policy,
                target: Target::Pool(0),
                health_check: None,
                outlier_detection: None,
                panic_threshold: 0.5,
            }],
            pools: vec![PoolSpec {
                name: "web".into(),
                replicas: 3,
                workers: 2,
                queue_capacity: Some(3),
                service: Dist::exponential(SimDuration::from_millis(100)).unwrap(),
                failures: Some(FailureSpec {
                    time_to_failure: Dist::exponential(SimDuration::from_secs(60)).unwrap(),
                    time_to_repair: Dist::exponential(SimDuration::from_secs(10)).unwrap(),
                }),
            }],
        }
    }

    /// Overload, timeouts, small queues and crashes together: every outcome happens, every
    /// request is accounted for, and the balancer's counts return to the in-flight total.
    #[test]
    fn every_request_is_accounted_for_under_stress() {
        for policy in [
            PolicySpec::RoundRobin,
            PolicySpec::Random,
            PolicySpec::LeastConnections,
            PolicySpec::LeastRequest { choices: 2 },
            PolicySpec::JoinShortestQueue,
        ] {
            let sys = System::new(
                &stressed(policy.clone()),
                StreamKey::new(1, 0),
                Count::default(),
            );
            let (summary, obs) = sys.run();
            let c = summary.conservation;
            assert!(c.offered > 90_000, "{policy:?}: {c:?}");
            for o in Outcome::ALL {
                assert!(
                    obs.outcomes[o as usize] > 0,
                    "{policy:?}: no {o:?} in {:?}",
                    obs.outcomes
                );
            }
            assert_eq!(obs.outcomes.iter().sum::<u64>(), c.succeeded + c.failed);
            assert!(obs.down >= obs.up && obs.down - obs.up <= 3);
        }
    }

    #[test]
    fn balancer_counts_match_requests_in_flight() {
        let mut spec = stressed(PolicySpec::LeastConnections);
        spec.clients[0].arrivals = Arrivals::Constant { rate_per_s: 10.0 };
        spec.horizon = SimDuration::from_secs(100);
        let mut sys = System::new(&spec, StreamKey::new(2, 0), Count::default());
        let mut sched = Scheduler::new();
        sys.start(&mut sched);
        sim_core::run(
            &mut sys,
            &mut sched,
            Until::horizon(SimTime(spec.horizon.0)),
        );
        // Mid-run, with timeouts and crashes, the balancer's view equals the clients' view.
        let in_lb: u64 = sys.balancers[0].in_flight.iter().map(|&x| x as u64).sum();
        assert_eq!(in_lb, sys.counts.in_flight);
        sys.check_invariants();
    }

    #[test]
    fn a_crash_fails_queued_and_in_service_requests() {
        let mut spec = stressed(PolicySpec::RoundRobin);
        spec.clients[0].timeout = None;
        spec.pools[0].queue_capacity = None;
        let (summary, obs) = System::new(&spec, StreamKey::new(3, 0), Count::default()).run();
        assert!(obs.outcomes[Outcome::Crashed as usize] > 0);
        assert_eq!(obs.outcomes[Outcome::TimedOut as usize], 0);
        assert_eq!(obs.outcomes[Outcome::Rejected as usize], 0);
        let crashes: u64 = summary.replicas.iter().map(|r| r.crashes).sum();
        assert_eq!(crashes, obs.down);
    }
}

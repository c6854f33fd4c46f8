//! A lease-based lock service (Kleppmann, "How to do distributed locking", 2016): clients take
//! a lock, do their critical section, check their lease, write to a protected resource and
//! release. A lease is a TTL by the granting server's clock; a holder trusts it until
//! `ttl − drift_allowance` by its own clock, counted from the moment it sent the acquire.
//!
//! - Single node: one server; a crash forgets its leases (it comes back free).
//! - Redlock: N independent servers, each granting on its own; the lock is held when a
//!   majority granted, its validity shortened by the time the majority took to answer. A
//!   crashed server forgets its leases, so a restart can let a second majority form.
//! - Consensus: the lease is replicated (it survives crashes); the service grants while a
//!   majority of its members is up, after a commit (the (majority − 1)-th fastest follower's
//!   round trip); every grant carries the next revision, a fencing token.
//!
//! Every grant gets the next number of one sequence (for single node and consensus it is the
//! fencing token; a single node's counter is taken to be durable). The protected resource
//! remembers the newest grant that has acted on it (a holder acts first when its grant reaches
//! it, then with its write). A *mutual-exclusion violation* is a write the resource accepts
//! from a holder older than one that has already acted: two holders acting at once, the older
//! one's effect landing on the newer one's. With fencing the resource rejects exactly those
//! (and an older holder's first access): *writes rejected by fencing*. A write made after the
//! lock was granted to someone else is *superseded* (the lease failed), whether or not it
//! harmed anything.
//!
//! The unsafe window is Kleppmann's: a pause strikes after the holder checked its lease and
//! before its write lands; a pause earlier in the critical section is caught by the check.
//! Clocks run at rates drawn in [1 − drift, 1 + drift]: a fast server lets the lease expire
//! early, a slow client trusts it late; `drift_allowance` ≥ 2·drift·ttl/(1 + drift) makes the
//! client's trust end before any server's expiry.
//!
//! Decisions are made when an attempt is sent (a server grants at that instant); the answer
//! reaches the client a round trip later. A lock's operations are recorded as
//! [`StoreRecord::Read`] (an acquisition: acquired or not, the wait) and [`StoreRecord::Write`]
//! (a critical section that acquired: its write accepted or not, from the acquisition's start
//! to the write or the failure).

use super::{Answer, Answers, OWN, StoreOp, StoreRecord};
use crate::spec::FailureSpec;
use crate::stats::TimeWeighted;
use crate::store_spec::{LockFault, LockKind, LockSpec, PauseSpec};
use sim_core::{Dist, Observer, RunStats, Schedule, SimDuration, SimTime, Stream, StreamKey};

#[cfg(test)]
mod tests;

const NONE: u32 = u32::MAX;

/// What can happen in a lock service.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A looping client starts an acquisition, or a client retries.
    Acquire {
        /// The client.
        holder: u32,
    },
    /// The answer to a client's attempt reaches it.
    Answer {
        /// The client.
        holder: u32,
    },
    /// A holder's work is done: it checks its lease before the write.
    Check {
        /// The holder.
        holder: u32,
    },
    /// A holder's write lands at the protected resource.
    Write {
        /// The holder.
        holder: u32,
    },
    /// A server crashes (random failures).
    Crash {
        /// The server.
        server: u32,
    },
    /// A server is repaired.
    Repair {
        /// The server.
        server: u32,
    },
    /// A scheduled crash begins.
    FaultStart {
        /// Index in the spec's faults.
        fault: u32,
    },
    /// A scheduled crash ends.
    FaultEnd {
        /// The server.
        server: u32,
    },
}

/// A lock service's counts over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockCounts {
    /// Acquisitions begun (a looping client's turn, or a request's call).
    pub acquisitions: u64,
    /// Of which the holder got the lock.
    pub acquired: u64,
    /// Gave up after the acquire timeout.
    pub acquire_timeouts: u64,
    /// Still acquiring at the end.
    pub acquiring: u64,
    /// Attempts sent (an acquisition retries until it gets the lock or times out).
    pub attempts: u64,
    /// Attempts granted (by the server, the majority, the group).
    pub attempts_granted: u64,
    /// Attempts refused because another client held the lock.
    pub attempts_busy: u64,
    /// Attempts refused because the service was down (no server, no majority up).
    pub attempts_unavailable: u64,
    /// Granted attempts whose answer came after the holder's validity had run out.
    pub attempts_late: u64,
    /// Critical sections whose write the resource accepted (violations included).
    pub written: u64,
    /// Holders that found their lease expired (by their own clock) at the check: no write.
    pub expired_before_write: u64,
    /// First accesses the resource rejected by fencing (an older holder came late).
    pub fenced_reads: u64,
    /// Writes the resource rejected by fencing.
    pub fenced_writes: u64,
    /// Holding the lock at the end.
    pub holding: u64,
    /// Writes that landed at the resource.
    pub writes: u64,
    /// Writes that landed after the lock had been granted to another client.
    pub superseded_writes: u64,
    /// Writes accepted from a holder older than one that had already acted.
    pub violations: u64,
    /// Pauses that struck a holder.
    pub pauses: u64,
    /// Pauses at least as long as the TTL.
    pub pauses_over_ttl: u64,
    /// Server crashes, random and scheduled.
    pub server_crashes: u64,
    /// Leases forgotten by a crashed server (single node, Redlock).
    pub leases_lost: u64,
    /// Calls from requests (the request path).
    pub calls: u64,
}

impl LockCounts {
    /// Writes and first accesses rejected by fencing.
    pub fn rejected_by_fencing(&self) -> u64 {
        self.fenced_reads + self.fenced_writes
    }
}

/// A lock service's end-of-run figures.
#[derive(Clone, Debug)]
pub struct LockSummary {
    /// The store's name.
    pub name: String,
    /// Single node, Redlock or consensus.
    pub kind: LockKind,
    /// Fencing tokens checked by the resource.
    pub fencing: bool,
    /// Looping clients.
    pub clients: u32,
    /// Lease TTL.
    pub ttl: SimDuration,
    /// The holders' drift allowance.
    pub drift_allowance: SimDuration,
    /// Clock drift bound.
    pub clock_drift: f64,
    /// Counts.
    pub counts: LockCounts,
    /// ∫ [the service can grant] dt, ns (single node up; a majority up).
    pub available_ns: u128,
    /// Per server: time up, ns.
    pub server_up_ns: Vec<u128>,
    /// One server's availability MTTF / (MTTF + MTTR) from the failure distributions' means
    /// (1 without failures).
    pub server_availability: f64,
    /// The kernel's account of the run.
    pub run: RunStats,
}

/// A lease as a server (or the group) holds it.
#[derive(Clone, Copy, Debug)]
struct Lease {
    /// The client (NONE: free).
    holder: u32,
    /// The attempt that took it.
    attempt: u64,
    /// When it expires, by the server's clock, in real time.
    expiry: SimTime,
}

const FREE: Lease = Lease {
    holder: NONE,
    attempt: 0,
    expiry: SimTime::ZERO,
};

impl Lease {
    fn free_at(&self, now: SimTime) -> bool {
        self.holder == NONE || now >= self.expiry
    }
}

#[derive(Clone, Copy, Debug)]
struct Server {
    down: u32,
    /// Clock rate.
    rate: f64,
    /// Single node and Redlock: its lease (forgotten at a crash).
    lease: Lease,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Acquiring,
    Holding,
    /// A request's holder slot, free for the next call.
    Free,
}

#[derive(Clone, Copy, Debug)]
struct Holder {
    /// OWN for a looping client, else the call's token.
    token: u32,
    rate: f64,
    phase: Phase,
    /// When the acquisition began.
    started: SimTime,
    /// The last attempt's number (tags the leases it took).
    attempt: u64,
    /// The last attempt was granted.
    granted: bool,
    /// Servers whose lease the last attempt took (bit per server).
    locked: u32,
    /// Its grant number while it holds the lock.
    grant: u64,
    /// Until when it trusts its lease, real time.
    valid_until: SimTime,
}

/// The running lock service, emitting [`StoreRecord`]s to `O`.
pub struct LockService<O> {
    index: u32,
    name: String,
    kind: LockKind,
    fencing: bool,
    clients: u32,
    ttl: SimDuration,
    allowance: SimDuration,
    drift: f64,
    acquire_timeout: SimDuration,
    retry: SimDuration,
    think: Dist,
    hold: Dist,
    pauses: Option<PauseSpec>,
    round_trip: Dist,
    failures: Option<FailureSpec>,
    faults: Vec<LockFault>,
    servers: Vec<Server>,
    n_up: u32,
    /// Consensus: the replicated lease.
    group: Lease,
    holders: Vec<Holder>,
    free_holders: Vec<u32>,
    /// Grants so far (the last grant's number; fencing tokens for single node and consensus).
    grants: u64,
    attempts: u64,
    /// The newest grant that has acted on the resource.
    resource: u64,
    counts: LockCounts,
    available: TimeWeighted,
    server_up: Vec<TimeWeighted>,
    think_rng: Stream,
    hold_rng: Stream,
    pause_rng: Stream,
    net_rng: Stream,
    clock_rng: Stream,
    fail_rng: Vec<Stream>,
    /// Reused for one attempt's answer times.
    scratch: Vec<u64>,
    answers: Answers,
    observer: O,
}

fn scaled(d: SimDuration, rate: f64) -> SimDuration {
    SimDuration((d.0 as f64 / rate).floor() as u64)
}

impl<O: Observer<StoreRecord>> LockService<O> {
    /// Builds store `index` of `spec` with the random streams of `key`.
    pub fn new(spec: &LockSpec, index: u32, key: StreamKey, observer: O) -> Self {
        let n = spec.kind.servers();
        assert!(
            (1..=31).contains(&n),
            "invariant: 1 to 31 servers (validated)"
        );
        assert!(
            spec.allowance_ok(),
            "invariant: the drift allowance is shorter than the ttl (validated)"
        );
        let s = |what: &str| key.stream(&format!("store/{}/{what}", spec.name));
        let mut clock_rng = s("clocks");
        let drift = spec.clock_drift;
        let rate = move |rng: &mut Stream| 1.0 + drift * (2.0 * rng.uniform() - 1.0);
        let servers = (0..n)
            .map(|_| Server {
                down: 0,
                rate: rate(&mut clock_rng),
                lease: FREE,
            })
            .collect();
        let holders = (0..spec.clients)
            .map(|_| Holder {
                token: OWN,
                rate: rate(&mut clock_rng),
                phase: Phase::Idle,
                started: SimTime::ZERO,
                attempt: 0,
                granted: false,
                locked: 0,
                grant: 0,
                valid_until: SimTime::ZERO,
            })
            .collect();
        let mut available = TimeWeighted::default();
        available.set(SimTime::ZERO, 1);
        let server_up = (0..n)
            .map(|_| {
                let mut t = TimeWeighted::default();
                t.set(SimTime::ZERO, 1);
                t
            })
            .collect();
        LockService {
            index,
            name: spec.name.clone(),
            kind: spec.kind,
            fencing: spec.fencing,
            clients: spec.clients,
            ttl: spec.ttl,
            allowance: spec.drift_allowance,
            drift,
            acquire_timeout: spec.acquire_timeout,
            retry: spec.retry,
            think: spec.think.clone(),
            hold: spec.hold.clone(),
            pauses: spec.pauses.clone(),
            round_trip: spec.round_trip.clone(),
            failures: spec.failures.clone(),
            faults: spec.faults.clone(),
            servers,
            n_up: n,
            group: FREE,
            holders,
            free_holders: Vec::new(),
            grants: 0,
            attempts: 0,
            resource: 0,
            counts: LockCounts::default(),
            available,
            server_up,
            think_rng: s("think"),
            hold_rng: s("hold"),
            pause_rng: s("pauses"),
            net_rng: s("network"),
            clock_rng,
            fail_rng: (0..n).map(|i| s(&format!("server/{i}/failures"))).collect(),
            scratch: Vec::with_capacity(n as usize),
            answers: Vec::new(),
            observer,
        }
    }

    /// Runs alone from time zero to `horizon` (or `max_events`): the figures and the observer.
    pub fn run(mut self, horizon: SimTime, max_events: u64) -> (LockSummary, O) {
        let run = super::run_alone(&mut self, horizon, max_events);
        (self.summary(run), self.observer)
    }

    /// Whether the service can grant now (ignoring who holds the lock).
    fn can_grant(&self) -> bool {
        match self.kind {
            LockKind::SingleNode => self.n_up == 1,
            LockKind::Redlock { .. } | LockKind::Consensus { .. } => {
                self.n_up >= self.kind.majority()
            }
        }
    }

    fn start_at(&mut self, sched: &mut dyn Schedule<Event>) {
        for h in 0..self.clients {
            let d = self.think.sample(&mut self.think_rng);
            sched.after(d, Event::Acquire { holder: h });
        }
        if let Some(f) = &self.failures {
            for (i, rng) in self.fail_rng.iter_mut().enumerate() {
                sched.after(
                    f.time_to_failure.sample(rng),
                    Event::Crash { server: i as u32 },
                );
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            sched.at(
                SimTime::ZERO.after(f.at),
                Event::FaultStart { fault: i as u32 },
            );
        }
    }

    /// A holder begins an acquisition now.
    fn begin(&mut self, now: SimTime, h: u32, sched: &mut dyn Schedule<Event>) {
        let holder = &mut self.holders[h as usize];
        debug_assert!(matches!(holder.phase, Phase::Idle | Phase::Free));
        holder.phase = Phase::Acquiring;
        holder.started = now;
        self.counts.acquisitions += 1;
        self.attempt(now, h, sched);
    }

    /// One attempt, decided now at the servers; its answer reaches the holder later.
    fn attempt(&mut self, now: SimTime, h: u32, sched: &mut dyn Schedule<Event>) {
        self.attempts += 1;
        self.counts.attempts += 1;
        let tag = self.attempts;
        let rate = self.holders[h as usize].rate;
        let valid_until = now.after(scaled(SimDuration(self.ttl.0 - self.allowance.0), rate));
        let mut granted = false;
        let mut locked = 0u32;
        let mut latency;
        match self.kind {
            LockKind::SingleNode | LockKind::Consensus { .. } => {
                latency = self.round_trip.sample(&mut self.net_rng);
                if !self.can_grant() {
                    self.counts.attempts_unavailable += 1;
                } else {
                    // A consensus group times its leases by one clock (its leader's; who
                    // leads is not modelled): server 0's.
                    let expiry_rate = self.servers[0].rate;
                    let lease = match self.kind {
                        LockKind::SingleNode => &mut self.servers[0].lease,
                        _ => &mut self.group,
                    };
                    if lease.free_at(now) {
                        *lease = Lease {
                            holder: h,
                            attempt: tag,
                            expiry: now.after(scaled(self.ttl, expiry_rate)),
                        };
                        granted = true;
                        locked = 1;
                    } else {
                        self.counts.attempts_busy += 1;
                    }
                }
                // A consensus grant answers after its commit: the (majority − 1)-th fastest
                // follower's round trip.
                if granted && let LockKind::Consensus { .. } = self.kind {
                    let k = self.kind.majority() as usize - 1;
                    if k > 0 {
                        self.scratch.clear();
                        for _ in 1..self.n_up {
                            let d = self.round_trip.sample(&mut self.net_rng).0;
                            self.scratch.push(d);
                        }
                        let (_, kth, _) = self.scratch.select_nth_unstable(k - 1);
                        latency = SimDuration(latency.0 + *kth);
                    }
                }
            }
            LockKind::Redlock { .. } => {
                // Every live server answers after its own round trip; the lock is held at the
                // majority-th grant; a failed attempt waits for every answer.
                self.scratch.clear();
                let mut slowest = 0u64;
                for (i, s) in self.servers.iter_mut().enumerate() {
                    if s.down > 0 {
                        continue;
                    }
                    let d = self.round_trip.sample(&mut self.net_rng).0;
                    slowest = slowest.max(d);
                    if s.lease.free_at(now) {
                        s.lease = Lease {
                            holder: h,
                            attempt: tag,
                            expiry: now.after(scaled(self.ttl, s.rate)),
                        };
                        locked |= 1 << i;
                        self.scratch.push(d);
                    }
                }
                let k = self.kind.majority() as usize;
                if self.scratch.len() >= k {
                    granted = true;
                    let (_, kth, _) = self.scratch.select_nth_unstable(k - 1);
                    latency = SimDuration(*kth);
                } else {
                    if self.n_up >= self.kind.majority() {
                        self.counts.attempts_busy += 1;
                    } else {
                        self.counts.attempts_unavailable += 1;
                    }
                    latency = SimDuration(slowest);
                }
            }
        }
        if granted {
            self.counts.attempts_granted += 1;
            self.grants += 1;
        }
        let holder = &mut self.holders[h as usize];
        holder.attempt = tag;
        holder.granted = granted;
        holder.locked = locked;
        holder.grant = if granted { self.grants } else { 0 };
        holder.valid_until = valid_until;
        sched.after(latency, Event::Answer { holder: h });
    }

    /// Frees the leases the holder's last attempt took, where the servers still hold them.
    fn release(&mut self, h: u32) {
        let holder = self.holders[h as usize];
        let mine = |l: &Lease| l.holder == h && l.attempt == holder.attempt;
        match self.kind {
            LockKind::Consensus { .. } => {
                // Unavailable: the release is lost and the lease runs out by itself.
                if self.can_grant() && mine(&self.group) {
                    self.group = FREE;
                }
            }
            LockKind::SingleNode | LockKind::Redlock { .. } => {
                for (i, s) in self.servers.iter_mut().enumerate() {
                    if holder.locked & (1 << i) != 0 && s.down == 0 && mine(&s.lease) {
                        s.lease = FREE;
                    }
                }
            }
        }
        self.holders[h as usize].locked = 0;
    }

    fn on_answer(&mut self, now: SimTime, h: u32, sched: &mut dyn Schedule<Event>) {
        let holder = self.holders[h as usize];
        debug_assert_eq!(holder.phase, Phase::Acquiring);
        let late = holder.granted && now >= holder.valid_until;
        if late {
            self.counts.attempts_late += 1;
        }
        if holder.granted && !late {
            self.counts.acquired += 1;
            self.record_acquisition(now, h, true);
            self.holders[h as usize].phase = Phase::Holding;
            // Its first access to the resource, with its token.
            if holder.grant < self.resource {
                if self.fencing {
                    self.counts.fenced_reads += 1;
                    self.release(h);
                    self.record_section(now, h, false);
                    self.finish(now, h, Answer::Failed, sched);
                    return;
                }
            } else {
                self.resource = holder.grant;
            }
            let work = self.hold.sample(&mut self.hold_rng);
            sched.after(work, Event::Check { holder: h });
            return;
        }
        // Refused (or too late to use): release what it took, retry or give up.
        self.release(h);
        if now.after(self.retry) < holder.started.after(self.acquire_timeout) {
            sched.after(self.retry, Event::Acquire { holder: h });
        } else {
            self.counts.acquire_timeouts += 1;
            self.record_acquisition(now, h, false);
            self.finish(now, h, Answer::Failed, sched);
        }
    }

    fn on_check(&mut self, now: SimTime, h: u32, sched: &mut dyn Schedule<Event>) {
        let holder = self.holders[h as usize];
        debug_assert_eq!(holder.phase, Phase::Holding);
        if now >= holder.valid_until {
            self.counts.expired_before_write += 1;
            self.release(h);
            self.record_section(now, h, false);
            self.finish(now, h, Answer::Failed, sched);
            return;
        }
        let mut pause = SimDuration::ZERO;
        if let Some(p) = &self.pauses
            && self.pause_rng.chance(p.probability)
        {
            pause = p.duration.sample(&mut self.pause_rng);
            self.counts.pauses += 1;
            if pause >= self.ttl {
                self.counts.pauses_over_ttl += 1;
            }
        }
        sched.after(pause, Event::Write { holder: h });
    }

    fn on_write(&mut self, now: SimTime, h: u32, sched: &mut dyn Schedule<Event>) {
        let holder = self.holders[h as usize];
        debug_assert_eq!(holder.phase, Phase::Holding);
        self.counts.writes += 1;
        if self.grants > holder.grant {
            self.counts.superseded_writes += 1;
        }
        let accepted = if holder.grant < self.resource {
            if self.fencing {
                self.counts.fenced_writes += 1;
                false
            } else {
                self.counts.violations += 1;
                true
            }
        } else {
            self.resource = holder.grant;
            true
        };
        if accepted {
            self.counts.written += 1;
        }
        self.release(h);
        self.record_section(now, h, accepted);
        let answer = if accepted { Answer::Ok } else { Answer::Failed };
        self.finish(now, h, answer, sched);
    }

    fn record_acquisition(&mut self, now: SimTime, h: u32, ok: bool) {
        let rec = StoreRecord::Read {
            store: self.index,
            ok,
            latency: now.since(self.holders[h as usize].started),
        };
        self.observer.record(now, &rec);
    }

    fn record_section(&mut self, now: SimTime, h: u32, ok: bool) {
        let rec = StoreRecord::Write {
            store: self.index,
            ok,
            latency: now.since(self.holders[h as usize].started),
        };
        self.observer.record(now, &rec);
    }

    /// The holder is done: a looping client thinks, a request gets its answer.
    fn finish(&mut self, _now: SimTime, h: u32, answer: Answer, sched: &mut dyn Schedule<Event>) {
        let holder = &mut self.holders[h as usize];
        holder.grant = 0;
        if holder.token == OWN {
            holder.phase = Phase::Idle;
            let d = self.think.sample(&mut self.think_rng);
            sched.after(d, Event::Acquire { holder: h });
        } else {
            self.answers.push((holder.token, answer));
            holder.phase = Phase::Free;
            self.free_holders.push(h);
        }
    }

    fn set_down(&mut self, now: SimTime, server: u32, down: bool) {
        let s = &mut self.servers[server as usize];
        let changed = if down {
            super::hold(&mut s.down)
        } else {
            super::release(&mut s.down)
        };
        if !changed {
            return;
        }
        if down {
            self.n_up -= 1;
            self.counts.server_crashes += 1;
            // Single node and Redlock servers keep leases in memory.
            if !matches!(self.kind, LockKind::Consensus { .. }) && !s.lease.free_at(now) {
                self.counts.leases_lost += 1;
            }
            s.lease = FREE;
        } else {
            self.n_up += 1;
        }
        self.server_up[server as usize].set(now, u64::from(!down));
        let can = self.can_grant();
        self.available.set(now, u64::from(can));
    }

    /// The end-of-run figures, the books checked.
    fn summary(&mut self, run: RunStats) -> LockSummary {
        let end = run.end;
        let mut counts = self.counts;
        counts.acquiring = 0;
        counts.holding = 0;
        for h in &self.holders {
            match h.phase {
                Phase::Acquiring => counts.acquiring += 1,
                Phase::Holding => counts.holding += 1,
                Phase::Idle | Phase::Free => {}
            }
        }
        let k = &counts;
        assert_eq!(
            k.acquisitions,
            k.acquired + k.acquire_timeouts + k.acquiring,
            "invariant: acquisitions = acquired + timed out + acquiring"
        );
        assert_eq!(
            k.acquired,
            k.written + k.expired_before_write + k.fenced_reads + k.fenced_writes + k.holding,
            "invariant: acquired = written + expired + fenced + holding"
        );
        assert_eq!(
            k.attempts,
            k.attempts_granted + k.attempts_busy + k.attempts_unavailable,
            "invariant: attempts = granted + busy + unavailable"
        );
        assert!(
            k.violations <= k.superseded_writes && (!self.fencing || k.violations == 0),
            "invariant: a violation is a superseded write, and fencing admits none"
        );
        assert_eq!(
            self.n_up as usize,
            self.servers.iter().filter(|s| s.down == 0).count(),
            "invariant: the up count matches the servers"
        );
        let server_availability = match &self.failures {
            Some(f) => {
                let (u, d) = (f.time_to_failure.mean_ns(), f.time_to_repair.mean_ns());
                u / (u + d)
            }
            None => 1.0,
        };
        LockSummary {
            name: self.name.clone(),
            kind: self.kind,
            fencing: self.fencing,
            clients: self.clients,
            ttl: self.ttl,
            drift_allowance: self.allowance,
            clock_drift: self.drift,
            counts,
            available_ns: self.available.area_until(end).0,
            server_up_ns: self.server_up.iter().map(|t| t.area_until(end).0).collect(),
            server_availability,
            run,
        }
    }
}

impl<O: Observer<StoreRecord>> super::StoreModel for LockService<O> {
    /// A lock service counts the whole run, warm-up included (like a cache): its counts are
    /// tied by invariants to acquisitions and critical sections in progress, which a restart
    /// at warm-up would split.
    fn warmup_ended(&mut self, _now: SimTime) {}

    type Event = Event;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, sched: &mut dyn Schedule<Event>, _horizon: SimTime) {
        self.start_at(sched);
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut dyn Schedule<Event>) {
        match event {
            Event::Acquire { holder } => {
                if self.holders[holder as usize].phase == Phase::Idle {
                    self.begin(now, holder, sched);
                } else {
                    self.attempt(now, holder, sched);
                }
            }
            Event::Answer { holder } => self.on_answer(now, holder, sched),
            Event::Check { holder } => self.on_check(now, holder, sched),
            Event::Write { holder } => self.on_write(now, holder, sched),
            Event::Crash { server } | Event::Repair { server } => {
                let repaired = matches!(event, Event::Repair { .. });
                self.set_down(now, server, !repaired);
                let rng = &mut self.fail_rng[server as usize];
                if let Some(d) = super::next_transition(&self.failures, rng, repaired) {
                    let next = if repaired {
                        Event::Crash { server }
                    } else {
                        Event::Repair { server }
                    };
                    sched.after(d, next);
                }
            }
            Event::FaultStart { fault } => {
                let f = self.faults[fault as usize];
                self.set_down(now, f.server, true);
                sched.after(f.duration, Event::FaultEnd { server: f.server });
            }
            Event::FaultEnd { server } => self.set_down(now, server, false),
        }
    }

    fn finish(&mut self, run: RunStats) -> super::StoreSummary {
        super::StoreSummary::Lock(self.summary(run))
    }

    fn call(&mut self, now: SimTime, token: u32, op: StoreOp, sched: &mut dyn Schedule<Event>) {
        self.counts.calls += 1;
        if op != StoreOp::Lock {
            // Validation lets a pool call a lock service only to lock.
            self.answers.push((token, Answer::Failed));
            return;
        }
        let h = match self.free_holders.pop() {
            Some(h) => h,
            None => {
                let drift = self.drift;
                let rate = 1.0 + drift * (2.0 * self.clock_rng.uniform() - 1.0);
                self.holders.push(Holder {
                    token,
                    rate,
                    phase: Phase::Free,
                    started: now,
                    attempt: 0,
                    granted: false,
                    locked: 0,
                    grant: 0,
                    valid_until: now,
                });
                (self.holders.len() - 1) as u32
            }
        };
        self.holders[h as usize].token = token;
        self.begin(now, h, sched);
    }

    fn answers(&mut self) -> &mut Answers {
        &mut self.answers
    }
}

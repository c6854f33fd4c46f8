//! Raft-like leader election, timing only (no log): how long a cluster is without a leader
//! after the leader crashes, how many terms an election takes (split votes), and how that
//! depends on the heartbeat, the randomised election timeout and the vote round trip.
//!
//! Heartbeats are not simulated one by one: while a leader is up every follower's timer keeps
//! being reset, so a follower's timer matters only from the last heartbeat the leader sent
//! before it crashed (heartbeats go out at `origin + n·heartbeat` from the leader's election).
//! A timer drawn then is distributed as the timer that Raft would have running at that moment.

use super::StoreRecord;
use crate::spec::FailureSpec;
use crate::store_spec::{ElectionSpec, StoreFault};
use sim_core::{Dist, Observer, RunStats, Schedule, SimDuration, SimTime, Stream, StreamKey};

/// What can happen in the cluster.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A node's election timer fires (stale when `generation` moved on).
    Timeout {
        /// The node.
        node: u8,
        /// Its timer generation when armed.
        generation: u32,
    },
    /// A vote request reaches a node.
    VoteRequest {
        /// The candidate.
        from: u8,
        /// The voter.
        to: u8,
        /// The candidate's term.
        term: u64,
        /// Time the answer takes back.
        back: SimDuration,
    },
    /// A granted vote reaches the candidate.
    Vote {
        /// The candidate.
        to: u8,
        /// The term voted in.
        term: u64,
    },
    /// A node crashes (random failures).
    Crash {
        /// The node.
        node: u8,
    },
    /// A node is repaired (random failures).
    Repair {
        /// The node.
        node: u8,
    },
    /// A scheduled crash of the leader starts.
    FaultStart {
        /// Index in the spec's faults.
        fault: u32,
    },
    /// A scheduled crash ends.
    FaultEnd {
        /// The node it hit.
        node: u8,
    },
}

/// One election: from the leader's crash to the next leader.
#[derive(Clone, Debug, PartialEq)]
pub struct Election {
    /// The leader that crashed.
    pub old_leader: u32,
    /// When it crashed.
    pub lost_at: SimTime,
    /// When a new leader was elected (none by the end of the run).
    pub elected_at: Option<SimTime>,
    /// The new leader.
    pub new_leader: Option<u32>,
    /// Terms started before one produced a leader (1 = no split vote).
    pub terms: u64,
}

impl Election {
    /// Time without a leader, if the election ended.
    pub fn unavailable(&self) -> Option<SimDuration> {
        self.elected_at.map(|e| e.since(self.lost_at))
    }
}

/// The cluster's end-of-run figures.
#[derive(Clone, Debug)]
pub struct ElectionSummary {
    /// The store's name.
    pub name: String,
    /// Cluster size.
    pub nodes: u32,
    /// Every election, in order (its figures count those not over by `since`).
    pub elections: Vec<Election>,
    /// The last term reached (the first leader has term 1).
    pub term: u64,
    /// Node crashes.
    pub node_crashes: u64,
    /// Scheduled crashes that found no leader.
    pub faults_skipped: u64,
    /// ∫ [a leader is up] dt, ns.
    pub led_ns: u128,
    /// Where the figures start: the end of warm-up (zero without one).
    pub since: SimTime,
    /// The kernel's account of the run.
    pub run: RunStats,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Role {
    #[default]
    Follower,
    Candidate,
    Leader,
}

#[derive(Clone, Copy, Debug, Default)]
struct Node {
    down: u32,
    role: Role,
    term: u64,
    /// The term it last voted in (0: never).
    voted_in: u64,
    votes: u32,
    generation: u32,
}

/// The running cluster.
pub struct LeaderElection<O> {
    name: String,
    heartbeat: SimDuration,
    timeout: SimDuration,
    round_trip: Dist,
    failures: Option<FailureSpec>,
    faults: Vec<StoreFault>,
    nodes: Vec<Node>,
    leader: Option<u8>,
    /// Requests' calls answered, for the host.
    answers: super::Answers,
    hb_origin: SimTime,
    led: crate::TimeWeighted,
    elections: Vec<Election>,
    /// Term when the current election began.
    first_term: u64,
    node_crashes: u64,
    faults_skipped: u64,
    timers: Stream,
    votes: Stream,
    fail_rng: Vec<Stream>,
    #[allow(dead_code)]
    observer: O,
}

impl<O: Observer<StoreRecord>> LeaderElection<O> {
    /// Builds the cluster of `spec` with the random streams of `key`; node 0 leads term 1.
    pub fn new(spec: &ElectionSpec, key: StreamKey, observer: O) -> Self {
        assert!(
            (1..=31).contains(&spec.nodes),
            "invariant: 1 to 31 nodes (validated)"
        );
        let s = |what: &str| key.stream(&format!("store/{}/{what}", spec.name));
        let n = spec.nodes as usize;
        let mut nodes = vec![
            Node {
                term: 1,
                ..Node::default()
            };
            n
        ];
        nodes[0].role = Role::Leader;
        let mut led = crate::TimeWeighted::default();
        led.set(SimTime::ZERO, 1);
        LeaderElection {
            name: spec.name.clone(),
            heartbeat: spec.heartbeat,
            timeout: spec.election_timeout,
            round_trip: spec.round_trip.clone(),
            failures: spec.failures.clone(),
            faults: spec.faults.clone(),
            nodes,
            leader: Some(0),
            answers: Vec::new(),
            hb_origin: SimTime::ZERO,
            led,
            elections: Vec::new(),
            first_term: 1,
            node_crashes: 0,
            faults_skipped: 0,
            timers: s("timeouts"),
            votes: s("votes"),
            fail_rng: (0..n).map(|i| s(&format!("node/{i}/failures"))).collect(),
            observer,
        }
    }

    /// Runs from time zero to `horizon` (or `max_events`).
    /// Runs alone from time zero to `horizon` (or `max_events`): the figures and the observer.
    pub fn run(mut self, horizon: SimTime, max_events: u64) -> (ElectionSummary, O) {
        let run = super::run_alone(&mut self, horizon, max_events);
        (self.summary(run), self.observer)
    }

    /// Schedules the first events.
    fn start_at(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        let _ = horizon;
        if let Some(f) = &self.failures {
            for (i, rng) in self.fail_rng.iter_mut().enumerate() {
                sched.after(
                    f.time_to_failure.sample(rng),
                    Event::Crash { node: i as u8 },
                );
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            sched.at(SimTime(f.at().0), Event::FaultStart { fault: i as u32 });
        }
    }

    /// The end-of-run figures, the books checked.
    fn summary(&mut self, run: RunStats) -> ElectionSummary {
        let leaders = self
            .nodes
            .iter()
            .filter(|n| n.role == Role::Leader && n.down == 0)
            .count();
        assert!(leaders <= 1, "invariant: at most one live leader");
        assert_eq!(
            leaders == 1,
            self.leader.is_some(),
            "invariant: the leader is the node in the leader role"
        );
        let open = self
            .elections
            .iter()
            .filter(|e| e.elected_at.is_none())
            .count();
        assert!(
            open <= 1 && (open == 1) == self.leader.is_none(),
            "invariant: an election is open exactly while there is no leader"
        );
        let term = self.nodes.iter().map(|n| n.term).max().unwrap_or(1);
        ElectionSummary {
            name: self.name.clone(),
            nodes: self.nodes.len() as u32,
            elections: std::mem::take(&mut self.elections),
            term,
            node_crashes: self.node_crashes,
            faults_skipped: self.faults_skipped,
            led_ns: self.led.area_until(run.end).0,
            since: SimTime(run.end.0 - self.led.area_until(run.end).1),
            run,
        }
    }

    fn majority(&self) -> u32 {
        self.nodes.len() as u32 / 2 + 1
    }

    /// A fresh election timeout, uniform in [T, 2T).
    fn draw_timeout(&mut self) -> SimDuration {
        let t = self.timeout.0;
        SimDuration(t + (self.timers.uniform() * t as f64) as u64)
    }

    fn arm(&mut self, node: u8, at: SimTime, sched: &mut dyn Schedule<Event>) {
        let n = &mut self.nodes[node as usize];
        n.generation = n.generation.wrapping_add(1);
        let generation = n.generation;
        sched.at(at, Event::Timeout { node, generation });
    }

    fn disarm(&mut self, node: u8) {
        let n = &mut self.nodes[node as usize];
        n.generation = n.generation.wrapping_add(1);
    }

    fn crash(&mut self, node: u8, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.node_crashes += 1;
        self.disarm(node);
        let was_leader = self.leader == Some(node);
        let n = &mut self.nodes[node as usize];
        n.role = Role::Follower;
        n.votes = 0;
        if !was_leader {
            return;
        }
        self.leader = None;
        self.led.set(now, 0);
        self.first_term = n.term;
        self.elections.push(Election {
            old_leader: u32::from(node),
            lost_at: now,
            elected_at: None,
            new_leader: None,
            terms: 0,
        });
        // Heartbeats stop: each live follower's timer runs from the last one it received.
        let hb = self.heartbeat.0.max(1);
        let last = SimTime(self.hb_origin.0 + (now.0 - self.hb_origin.0) / hb * hb);
        for f in 0..self.nodes.len() as u8 {
            if self.nodes[f as usize].down == 0 {
                let at = last.after(self.draw_timeout()).max(now);
                self.arm(f, at, sched);
            }
        }
    }

    fn repair(&mut self, node: u8, now: SimTime, sched: &mut dyn Schedule<Event>) {
        // It restarts as a follower with its persisted term and vote; the leader's next
        // heartbeat, if there is a leader, tells it the current term.
        match self.leader {
            Some(l) => {
                let term = self.nodes[l as usize].term;
                let n = &mut self.nodes[node as usize];
                n.term = n.term.max(term);
            }
            None => {
                let at = now.after(self.draw_timeout());
                self.arm(node, at, sched);
            }
        }
    }

    fn on_timeout(&mut self, node: u8, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let n = &mut self.nodes[node as usize];
        n.term += 1;
        n.role = Role::Candidate;
        n.voted_in = n.term;
        n.votes = 1;
        let term = n.term;
        let at = now.after(self.draw_timeout());
        self.arm(node, at, sched);
        if self.majority() == 1 {
            self.elect(node, now);
            return;
        }
        for to in 0..self.nodes.len() as u8 {
            if to == node || self.nodes[to as usize].down > 0 {
                continue; // a request to a crashed node is lost
            }
            let rt = self.round_trip.sample(&mut self.votes);
            let there = SimDuration(rt.0 / 2);
            sched.after(
                there,
                Event::VoteRequest {
                    from: node,
                    to,
                    term,
                    back: SimDuration(rt.0 - there.0),
                },
            );
        }
    }

    fn on_request(
        &mut self,
        from: u8,
        to: u8,
        term: u64,
        back: SimDuration,
        now: SimTime,
        sched: &mut dyn Schedule<Event>,
    ) {
        if self.nodes[to as usize].down > 0 {
            return;
        }
        let n = &mut self.nodes[to as usize];
        if term > n.term {
            // A newer term: it follows (a candidate of an older term steps down).
            n.term = term;
            n.role = Role::Follower;
            n.votes = 0;
        }
        if term == n.term && n.voted_in < term {
            n.voted_in = term;
            // Granting a vote resets the election timer.
            let at = now.after(self.draw_timeout());
            self.arm(to, at, sched);
            sched.after(back, Event::Vote { to: from, term });
        }
    }

    fn on_vote(&mut self, to: u8, term: u64, now: SimTime) {
        let majority = self.majority();
        let n = &mut self.nodes[to as usize];
        if n.down > 0 || n.role != Role::Candidate || n.term != term {
            return;
        }
        n.votes += 1;
        if n.votes >= majority {
            self.elect(to, now);
        }
    }

    fn elect(&mut self, node: u8, now: SimTime) {
        let term = self.nodes[node as usize].term;
        self.nodes[node as usize].role = Role::Leader;
        self.disarm(node);
        // Its first heartbeat tells every live node: followers, with their timers reset.
        for f in 0..self.nodes.len() as u8 {
            if f != node && self.nodes[f as usize].down == 0 {
                self.disarm(f);
                let n = &mut self.nodes[f as usize];
                n.role = Role::Follower;
                n.votes = 0;
                n.term = n.term.max(term);
            }
        }
        assert!(self.leader.is_none(), "invariant: one leader at a time");
        self.leader = Some(node);
        self.led.set(now, 1);
        self.hb_origin = now;
        let first = self.first_term;
        if let Some(e) = self.elections.last_mut() {
            e.elected_at = Some(now);
            e.new_leader = Some(u32::from(node));
            e.terms = term - first;
        }
    }
}

impl<O: Observer<StoreRecord>> super::StoreModel for LeaderElection<O> {
    type Event = Event;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        self.start_at(sched, horizon);
    }

    fn finish(&mut self, run: RunStats) -> super::StoreSummary {
        super::StoreSummary::Election(self.summary(run))
    }

    /// A request's write needs a leader: it succeeds at once while one is elected, and fails
    /// while the cluster is between leaders (the client is told "no leader").
    fn call(
        &mut self,
        _now: SimTime,
        token: u32,
        _op: super::StoreOp,
        _sched: &mut dyn Schedule<Event>,
    ) {
        super::answer(&mut self.answers, token, self.leader.is_some());
    }

    fn answers(&mut self) -> &mut super::Answers {
        &mut self.answers
    }

    fn warmup_ended(&mut self, now: SimTime) {
        // Elections over by now are the warm-up's (the report leaves them out of the figures,
        // not of the fingerprint); one open now counts whole.
        (self.node_crashes, self.faults_skipped) = (0, 0);
        self.led.restart(now);
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut dyn Schedule<Event>) {
        match event {
            Event::Timeout { node, generation } => {
                let n = self.nodes[node as usize];
                if n.generation == generation && n.down == 0 && self.leader.is_none() {
                    self.on_timeout(node, now, sched);
                }
            }
            Event::VoteRequest {
                from,
                to,
                term,
                back,
            } => {
                if self.leader.is_none() {
                    self.on_request(from, to, term, back, now, sched);
                }
            }
            Event::Vote { to, term } => {
                if self.leader.is_none() {
                    self.on_vote(to, term, now);
                }
            }
            Event::Crash { node } => {
                if super::hold(&mut self.nodes[node as usize].down) {
                    self.crash(node, now, sched);
                }
                let rng = &mut self.fail_rng[node as usize];
                if let Some(d) = super::next_transition(&self.failures, rng, false) {
                    sched.after(d, Event::Repair { node });
                }
            }
            Event::Repair { node } => {
                if super::release(&mut self.nodes[node as usize].down) {
                    self.repair(node, now, sched);
                }
                let rng = &mut self.fail_rng[node as usize];
                if let Some(d) = super::next_transition(&self.failures, rng, true) {
                    sched.after(d, Event::Crash { node });
                }
            }
            Event::FaultStart { fault } => {
                let Some(l) = self.leader else {
                    self.faults_skipped += 1;
                    return;
                };
                if super::hold(&mut self.nodes[l as usize].down) {
                    self.crash(l, now, sched);
                }
                let d = self.faults[fault as usize].duration();
                sched.after(d, Event::FaultEnd { node: l });
            }
            Event::FaultEnd { node } => {
                if super::release(&mut self.nodes[node as usize].down) {
                    self.repair(node, now, sched);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::NullObserver;

    fn spec(nodes: u32, rt_ms: u64, faults: Vec<StoreFault>) -> ElectionSpec {
        ElectionSpec {
            name: "raft".into(),
            nodes,
            heartbeat: SimDuration::from_millis(100),
            election_timeout: SimDuration::from_millis(1000),
            round_trip: Dist::constant(SimDuration::from_millis(rt_ms)),
            failures: None,
            faults,
        }
    }

    #[test]
    fn a_crashed_leader_is_replaced_after_a_timeout_and_a_round_trip() {
        let faults = vec![StoreFault::Crash {
            at: SimDuration::from_secs(10),
            duration: SimDuration::from_secs(30),
        }];
        let r = LeaderElection::new(&spec(3, 10, faults), StreamKey::new(1, 0), NullObserver)
            .run(SimTime(SimDuration::from_secs(60).0), u64::MAX)
            .0;
        assert_eq!(r.elections.len(), 1);
        let e = &r.elections[0];
        assert_eq!(e.old_leader, 0);
        assert!(e.new_leader.is_some_and(|l| l != 0));
        assert_eq!(e.terms, 1);
        // The last heartbeat was at 10 s exactly (origin 0, every 100 ms): the first timer
        // fires in [11 s, 12 s), and one vote comes back 10 ms later.
        let u = e.unavailable().expect("elected").0;
        assert!((1_010_000_000..2_010_000_000).contains(&u), "{u}");
        assert_eq!(r.term, 2);
        // The old leader comes back as a follower: still one leader.
    }

    #[test]
    fn without_a_majority_no_leader_is_elected() {
        // Two of three nodes down: the leader, then (via a second fault) the new leader.
        let faults = vec![
            StoreFault::Crash {
                at: SimDuration::from_secs(10),
                duration: SimDuration::from_secs(100),
            },
            StoreFault::Crash {
                at: SimDuration::from_secs(20),
                duration: SimDuration::from_secs(100),
            },
        ];
        let r = LeaderElection::new(&spec(3, 10, faults), StreamKey::new(2, 0), NullObserver)
            .run(SimTime(SimDuration::from_secs(60).0), u64::MAX)
            .0;
        assert_eq!(r.elections.len(), 2);
        assert!(r.elections[1].elected_at.is_none());
        // The lone survivor keeps starting terms, one per timeout (about every 1.5 s).
        assert!(r.term > 15, "{}", r.term);
    }
}

#![allow(clippy::disallowed_methods)]

use super::*;
use crate::store::{StoreModel, k_of_n};
use sim_core::{Model, Scheduler, Until};

/// Hashes every record in order (the determinism tests compare it).
#[derive(Default)]
struct Fp(u64, u64);

impl Observer<StoreRecord> for Fp {
    fn record(&mut self, now: SimTime, r: &StoreRecord) {
        let (kind, ok, lat) = match *r {
            StoreRecord::Read { ok, latency, .. } => (1, ok, latency.0),
            StoreRecord::Write { ok, latency, .. } => (2, ok, latency.0),
            _ => (3, false, 0),
        };
        for x in [now.0, kind << 1 | u64::from(ok), lat] {
            self.0 = (self.0 ^ x).wrapping_mul(0x100_0000_01b3);
        }
        self.1 += 1;
    }
}

fn ms(x: u64) -> SimDuration {
    SimDuration::from_millis(x)
}

fn uniform(lo: SimDuration, hi: SimDuration) -> Dist {
    Dist::uniform(lo, hi).expect("uniform")
}

fn exp(mean: SimDuration) -> Dist {
    Dist::exponential(mean).expect("exponential")
}

/// Five clients contending for a 1 s lease; critical sections of 100–200 ms.
fn spec(kind: LockKind, fencing: bool) -> LockSpec {
    LockSpec {
        name: "lock".into(),
        kind,
        fencing,
        clients: 5,
        ttl: SimDuration::from_secs(1),
        acquire_timeout: SimDuration::from_secs(2),
        retry: ms(10),
        think: exp(ms(100)),
        hold: uniform(ms(100), ms(200)),
        pauses: None,
        clock_drift: 0.0,
        drift_allowance: SimDuration::ZERO,
        round_trip: uniform(ms(1), ms(3)),
        failures: None,
        faults: Vec::new(),
    }
}

fn long_pauses(s: &mut LockSpec) {
    s.pauses = Some(PauseSpec {
        probability: 0.05,
        duration: uniform(ms(1500), ms(4000)),
    });
}

fn run(s: &LockSpec, seed: u64, horizon: SimDuration) -> (LockSummary, Fp) {
    LockService::new(s, 0, StreamKey::new(seed, 0), Fp::default())
        .run(SimTime::ZERO.after(horizon), u64::MAX)
}

const KINDS: [LockKind; 3] = [
    LockKind::SingleNode,
    LockKind::Redlock { servers: 5 },
    LockKind::Consensus { servers: 3 },
];

/// Fencing admits no violation in any seed, with pauses longer than the lease and servers
/// crashing, while the same runs without fencing do have them (so the swarm can fail).
#[test]
fn fencing_admits_no_violation_in_a_swarm_of_seeds() {
    for kind in [LockKind::SingleNode, LockKind::Consensus { servers: 3 }] {
        let mut fenced = 0;
        let mut unfenced_violations = 0;
        for seed in 0..50 {
            let mut s = spec(kind, true);
            long_pauses(&mut s);
            s.clock_drift = 0.01;
            s.failures = Some(FailureSpec {
                time_to_failure: exp(SimDuration::from_secs(60)),
                time_to_repair: exp(SimDuration::from_secs(5)),
            });
            let (sum, _) = run(&s, seed, SimDuration::from_secs(300));
            let k = sum.counts;
            assert_eq!(k.violations, 0, "{kind:?} seed {seed}: {k:?}");
            assert!(k.written > 100, "{k:?}");
            fenced += k.rejected_by_fencing();
            s.fencing = false;
            unfenced_violations += run(&s, seed, SimDuration::from_secs(300))
                .0
                .counts
                .violations;
        }
        assert!(fenced > 0, "{kind:?}: stale holders came and were fenced");
        assert!(
            unfenced_violations > 0,
            "{kind:?}: without fencing they act"
        );
    }
}

/// Without fencing, pauses longer than the lease give violations on every kind, and every
/// violation is a write made after the lock had passed to another.
#[test]
fn pauses_beyond_the_lease_violate_without_fencing() {
    for kind in KINDS {
        let mut s = spec(kind, false);
        long_pauses(&mut s);
        let (sum, _) = run(&s, 1, SimDuration::from_secs(600));
        let k = sum.counts;
        assert!(k.pauses_over_ttl > 0, "{k:?}");
        assert!(k.violations > 0, "{kind:?}: {k:?}");
        assert!(k.violations <= k.superseded_writes, "{k:?}");
        assert_eq!(k.rejected_by_fencing(), 0);
    }
}

/// When a whole critical section (round trips, work, pause) always fits in the lease shortened
/// by the worst clock skew, no write is ever superseded: clocks drift, pauses strike, and the
/// drift allowance is the default 2·drift·ttl.
#[test]
fn no_violation_when_pauses_fit_in_the_lease_minus_the_drift_margin() {
    for kind in KINDS {
        for seed in 0..10 {
            let mut s = spec(kind, false);
            s.clock_drift = 0.01;
            s.drift_allowance = ms(20);
            // Acquire ≤ 2 round trips (6 ms) + work ≤ 200 ms + pause < 700 ms = 906 ms
            // < ttl / (1 + drift) = 990 ms.
            s.pauses = Some(PauseSpec {
                probability: 0.5,
                duration: uniform(ms(0), ms(700)),
            });
            let (sum, _) = run(&s, seed, SimDuration::from_secs(300));
            let k = sum.counts;
            assert!(k.pauses > 100, "{k:?}");
            assert_eq!(
                (k.superseded_writes, k.violations, k.expired_before_write),
                (0, 0, 0),
                "{kind:?} seed {seed}: {k:?}"
            );
        }
    }
}

/// Clock drift alone breaks a lease that holders trust to the end: with a 5 % drift and no
/// allowance, holders with slow clocks write after a fast server let the lease go; the
/// allowance 2·drift·ttl/(1 + drift) removes every such write.
#[test]
fn drift_without_an_allowance_supersedes_writes() {
    let mut s = spec(LockKind::SingleNode, false);
    s.clients = 20;
    s.clock_drift = 0.05;
    s.retry = ms(1);
    s.round_trip = Dist::constant(SimDuration::ZERO);
    s.hold = uniform(ms(900), ms(1050));
    let mut superseded = 0;
    for seed in 0..10 {
        superseded += run(&s, seed, SimDuration::from_secs(300))
            .0
            .counts
            .superseded_writes;
    }
    assert!(superseded > 0);
    // 2 · 0.05 · 1 s / 1.05 = 95.2 ms.
    s.drift_allowance = ms(96);
    for seed in 0..10 {
        let k = run(&s, seed, SimDuration::from_secs(300)).0.counts;
        assert_eq!(k.superseded_writes, 0, "seed {seed}: {k:?}");
        assert!(k.expired_before_write > 0, "{k:?}");
    }
}

/// A single server's time availability is MTTF / (MTTF + MTTR): an alternating renewal
/// process whose time average over T has variance ≈ (d²σu² + u²σd²) / ((u + d)³ T), for
/// exponential times 2u²d² / ((u + d)³ T); within 4 standard deviations.
#[test]
fn single_node_availability_is_mttf_over_mttf_plus_mttr() {
    let (u, d) = (60.0, 15.0);
    let horizon = 200_000.0;
    let mut s = spec(LockKind::SingleNode, true);
    s.clients = 1;
    s.think = exp(SimDuration::from_secs(1));
    s.failures = Some(FailureSpec {
        time_to_failure: exp(SimDuration::from_secs(60)),
        time_to_repair: exp(SimDuration::from_secs(15)),
    });
    let (sum, _) = run(&s, 7, SimDuration::from_secs(horizon as u64));
    let a = sum.available_ns as f64 / sum.run.end.0 as f64;
    let theory = u / (u + d);
    assert!((sum.server_availability - theory).abs() < 1e-12);
    let sd = (2.0 * u * u * d * d / ((u + d).powi(3) * horizon)).sqrt();
    assert!((a - theory).abs() < 4.0 * sd, "{a} vs {theory} ± {sd}");
    // 0.75 is not 0.8: the test can fail.
    assert!((a - 0.75).abs() > 4.0 * sd);
    // The attempts that found the server down came while it was down.
    assert!(sum.counts.attempts_unavailable > 0);
}

/// Redlock over 5 servers is available while a majority is up: P(at least 3 of 5 up), within
/// 4 standard errors of the mean over independent runs; the consensus lock likewise.
#[test]
fn majority_availability_is_the_k_of_n_closed_form() {
    for kind in [
        LockKind::Redlock { servers: 5 },
        LockKind::Consensus { servers: 5 },
    ] {
        let mut s = spec(kind, false);
        s.clients = 1;
        s.think = exp(SimDuration::from_secs(1));
        s.failures = Some(FailureSpec {
            time_to_failure: exp(SimDuration::from_secs(20)),
            time_to_repair: exp(SimDuration::from_secs(10)),
        });
        let runs: Vec<f64> = (0..20)
            .map(|seed| {
                let (sum, _) = run(&s, seed, SimDuration::from_secs(20_000));
                sum.available_ns as f64 / sum.run.end.0 as f64
            })
            .collect();
        let n = runs.len() as f64;
        let mean = runs.iter().sum::<f64>() / n;
        let var = runs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let se = (var / n).sqrt();
        let theory = k_of_n(5, 3, 2.0 / 3.0);
        assert!(
            (mean - theory).abs() < 4.0 * se,
            "{mean} vs {theory} ± {se}"
        );
        // One server's availability is not the majority's.
        assert!((mean - 2.0 / 3.0).abs() > 4.0 * se);
    }
}

/// Same seed, same trajectory; another seed, another.
#[test]
fn same_seed_same_trajectory() {
    for kind in KINDS {
        let mut s = spec(kind, kind != LockKind::Redlock { servers: 5 });
        long_pauses(&mut s);
        s.clock_drift = 0.001;
        s.failures = Some(FailureSpec {
            time_to_failure: exp(SimDuration::from_secs(30)),
            time_to_repair: exp(SimDuration::from_secs(3)),
        });
        let (a, fa) = run(&s, 3, SimDuration::from_secs(120));
        let (b, fb) = run(&s, 3, SimDuration::from_secs(120));
        let (c, fc) = run(&s, 4, SimDuration::from_secs(120));
        assert_eq!((a.counts, fa.0, fa.1), (b.counts, fb.0, fb.1));
        assert_ne!(fa.0, fc.0);
        assert_ne!(a.counts, c.counts);
    }
}

/// A scheduled crash of the single server makes every attempt meanwhile fail, and the
/// clients get the lock again after it.
#[test]
fn a_scheduled_crash_makes_the_lock_unavailable() {
    let mut s = spec(LockKind::SingleNode, true);
    s.faults = vec![LockFault {
        at: SimDuration::from_secs(10),
        duration: SimDuration::from_secs(20),
        server: 0,
    }];
    let (sum, _) = run(&s, 2, SimDuration::from_secs(60));
    let a = sum.available_ns as f64 / sum.run.end.0 as f64;
    assert!((a - 40.0 / 60.0).abs() < 1e-9, "{a}");
    assert!(sum.counts.acquire_timeouts > 0 && sum.counts.attempts_unavailable > 0);
    assert_eq!(sum.counts.server_crashes, 1);
}

/// Drives a lock service and a list of calls (time, token) on one loop.
fn drive(
    s: &LockSpec,
    calls: &[(SimDuration, u32)],
    horizon: SimDuration,
) -> (LockSummary, Answers, usize) {
    #[derive(Clone, Copy)]
    enum Ev {
        Store(Event),
        Call(u32),
    }
    struct View<'a>(&'a mut Scheduler<Ev>);
    impl Schedule<Event> for View<'_> {
        fn now(&self) -> SimTime {
            self.0.now()
        }
        fn at(&mut self, at: SimTime, e: Event) {
            self.0.at(at, Ev::Store(e));
        }
        fn after(&mut self, d: SimDuration, e: Event) {
            self.0.after(d, Ev::Store(e));
        }
    }
    struct Both(LockService<Fp>, Answers);
    impl Model for Both {
        type Event = Ev;
        fn handle(&mut self, now: SimTime, e: Ev, sched: &mut Scheduler<Ev>) {
            match e {
                Ev::Store(e) => self.0.handle(now, e, &mut View(sched)),
                Ev::Call(t) => self.0.call(now, t, StoreOp::Lock, &mut View(sched)),
            }
            self.1.append(self.0.answers());
        }
    }
    let mut m = Both(
        LockService::new(s, 0, StreamKey::new(1, 0), Fp::default()),
        Vec::new(),
    );
    let mut sched = Scheduler::new();
    m.0.start(&mut View(&mut sched), SimTime::ZERO.after(horizon));
    for &(at, token) in calls {
        sched.at(SimTime::ZERO.after(at), Ev::Call(token));
    }
    let run = sim_core::run(
        &mut m,
        &mut sched,
        Until {
            horizon: SimTime::ZERO.after(horizon),
            max_events: u64::MAX,
        },
    );
    let sum = m.0.summary(run);
    (sum, m.1, m.0.holders.len())
}

/// Requests' calls: each answered exactly once; they queue for the lock behind each other
/// (one holder at a time), and while the server is down they fail after the acquire timeout.
#[test]
fn calls_are_answered_once_each() {
    let mut s = spec(LockKind::SingleNode, true);
    s.clients = 0;
    s.faults = vec![LockFault {
        at: SimDuration::from_secs(10),
        duration: SimDuration::from_secs(20),
        server: 0,
    }];
    let calls: Vec<(SimDuration, u32)> = (0..200u32).map(|i| (ms(u64::from(i) * 200), i)).collect();
    let (sum, answers, holders) = drive(&s, &calls, SimDuration::from_secs(60));
    let mut tokens: Vec<u32> = answers.iter().map(|a| a.0).collect();
    tokens.sort_unstable();
    assert_eq!(
        tokens,
        (0..200).collect::<Vec<_>>(),
        "each call answered once"
    );
    let ok = answers.iter().filter(|a| a.1 == Answer::Ok).count() as u64;
    assert_eq!(ok, sum.counts.written);
    assert_eq!(sum.counts.calls, 200);
    // Calls from 10 s to 28 s (90 of them) cannot get the lock before the server is back.
    let failed = answers.iter().filter(|a| a.1 == Answer::Failed).count();
    assert!((85..=100).contains(&failed), "{failed}");
    // Holder slots are reused: far fewer than calls.
    assert!(holders < 20, "{holders}");
}

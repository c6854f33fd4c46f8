//! Replicated stores (issue 4, state that can be lost): synchronous replication with fencing
//! never loses an acknowledged write; asynchronous replication loses write rate × mean lag per
//! failover; split brain needs a missing fence; quorum availability is the binomial k-of-n
//! closed form; the same seed gives the same bytes.

use super::hasim;
use models::spec::{Arrivals, FailureSpec};
use models::store::{LeaderElection, PbSummary, PrimaryBackup, Quorum, QuorumSummary, k_of_n};
use models::store_spec::{ElectionSpec, PrimaryBackupSpec, QuorumSpec, Replication, StoreFault};
use sim_core::{Dist, NullObserver, SimDuration, SimTime, StreamKey};

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

fn exp(mean: SimDuration) -> Dist {
    Dist::exponential(mean).expect("valid")
}

fn pb(replication: Replication, fencing: bool, backups: u32) -> PrimaryBackupSpec {
    PrimaryBackupSpec {
        name: "db".into(),
        backups,
        writes: Some(Arrivals::Poisson { rate_per_s: 20.0 }),
        reads: None,
        replication,
        heartbeat: secs(1),
        lease: secs(3),
        promotion: Dist::uniform(secs(1), secs(4)).expect("valid"),
        fencing,
        failures: None,
        faults: Vec::new(),
        snapshots: None,
        reads_from_backups: false,
    }
}

fn run_pb(s: &PrimaryBackupSpec, seed: u64, horizon: SimDuration) -> PbSummary {
    PrimaryBackup::new(s, 0, StreamKey::new(seed, 0), NullObserver)
        .run(SimTime(horizon.0), u64::MAX)
        .0
}

/// Two hundred seeds, each with its own crash times (scheduled crashes and partitions of the
/// primary at seed-dependent instants, plus random crashes of every node): a synchronous store
/// with fencing acknowledges a write only once every reachable backup holds it, so no
/// promotion can lose one. The same runs with asynchronous replication do lose writes, which
/// shows the check can fail.
#[test]
fn synchronous_replication_with_fencing_never_loses_an_acknowledged_write() {
    let (mut failovers, mut async_lost) = (0, 0);
    for seed in 0..200u64 {
        for backups in [1, 2] {
            let mut s = pb(
                Replication::Synchronous {
                    round_trip: Dist::lognormal_median_p99(
                        SimDuration::from_millis(2),
                        SimDuration::from_millis(40),
                    )
                    .expect("valid"),
                },
                true,
                backups,
            );
            // Crash times move with the seed (in ms steps, so they fall between, on and after
            // heartbeats and in-flight writes alike).
            let t = 60_000 + seed * 7_919 % 600_000;
            s.faults = vec![
                StoreFault::Crash {
                    at: SimDuration::from_millis(t),
                    duration: secs(30 + seed % 90),
                },
                StoreFault::Partition {
                    at: SimDuration::from_millis(t + 700_000 + seed * 331 % 60_000),
                    duration: secs(5 + seed % 60),
                    clients_with_old_primary: 0.5,
                },
            ];
            s.failures = Some(FailureSpec {
                time_to_failure: exp(SimDuration::from_secs(1200)),
                time_to_repair: exp(SimDuration::from_secs(60)),
            });
            let r = run_pb(&s, seed, secs(3600));
            assert_eq!(
                (r.counts.lost, r.counts.conflicting),
                (0, 0),
                "seed {seed}, {backups} backups: {:?}",
                r.counts
            );
            failovers += r.counts.failovers;
            s.replication = Replication::Asynchronous {
                lag: exp(SimDuration::from_millis(50)),
            };
            async_lost += run_pb(&s, seed, secs(3600)).counts.lost;
        }
    }
    assert!(
        failovers > 1000,
        "only {failovers} failovers: the test would prove little"
    );
    assert!(
        async_lost > 100,
        "asynchronous replication lost only {async_lost}"
    );
}

/// Poisson writes at rate λ, each reaching the backup an independent lag L later: at a crash,
/// the writes still in flight are those of an M/G/∞ queue, Poisson with mean λ·E[L] (here
/// 100/s × 100 ms = 10). Over F independent failovers the mean loss has sd √(λ·E[L]/F) =
/// √(10/300) ≈ 0.18; the test allows 4 sd (a correct model fails it with probability < 10⁻⁴,
/// while losing writes of a lag window twice as long, or half, fails it by far).
#[test]
fn asynchronous_loses_write_rate_times_mean_lag_per_failover() {
    let mut s = pb(
        Replication::Asynchronous {
            lag: exp(SimDuration::from_millis(100)),
        },
        true,
        1,
    );
    s.writes = Some(Arrivals::Poisson { rate_per_s: 100.0 });
    // A crash of the primary every 5 minutes, down for a minute: each is a failover, and the
    // old primary is back and in sync long before the next.
    s.faults = (1..=300u64)
        .map(|i| StoreFault::Crash {
            at: secs(300 * i),
            duration: secs(60),
        })
        .collect();
    let r = run_pb(&s, 11, secs(300 * 301));
    let rpo: Vec<f64> = r
        .outages
        .iter()
        .filter(|o| o.promoted.is_some())
        .map(|o| o.lost as f64)
        .collect();
    assert_eq!(rpo.len(), 300, "{:?}", r.counts);
    let f = rpo.len() as f64;
    let mean = rpo.iter().sum::<f64>() / f;
    let sd = (10.0 / f).sqrt();
    assert!(
        (mean - 10.0).abs() < 4.0 * sd,
        "mean RPO {mean}, expected 10 ± {}",
        4.0 * sd
    );
    // Poisson: the variance is the mean (a loose check, 300 values: the sample variance of a
    // Poisson(10) sample has sd ≈ √(2·10²/300 + 10/300) ≈ 0.83).
    let var = rpo.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (f - 1.0);
    assert!((var - 10.0).abs() < 4.0 * 0.83, "variance {var}");
    // RTO: the lease runs out 2–3 s after the crash (the last heartbeat is up to 1 s before
    // it), then the promotion takes 1–4 s.
    for o in &r.outages {
        let rto = o.rto().expect("ended").as_secs_f64();
        assert!((2.0..=7.0).contains(&rto), "{o:?}");
    }
    let c = r.counts;
    assert_eq!(c.acked, c.durable + c.lost + c.replicating);
    assert_eq!(
        c.offered,
        c.acked + c.failed_unavailable + c.failed_unreplicated + c.in_progress
    );
}

/// A partitioned old primary keeps taking the writes of the clients on its side. Without
/// fencing it acknowledges them after the backup was promoted: split brain, counted as
/// conflicting (and lost). With fencing it stops when its lease runs out, before the
/// promotion, so there are none; synchronous replication cannot acknowledge them either.
#[test]
fn without_fencing_a_partitioned_primary_makes_conflicting_writes() {
    let partition = vec![StoreFault::Partition {
        at: secs(600),
        duration: secs(120),
        clients_with_old_primary: 0.5,
    }];
    let lag = || Replication::Asynchronous {
        lag: exp(SimDuration::from_millis(50)),
    };
    for seed in 0..20 {
        let mut open = pb(lag(), false, 1);
        open.faults = partition.clone();
        let r = run_pb(&open, seed, secs(1800));
        let o = &r.outages[0];
        // Half of 20 writes/s reach the old primary from the promotion to the heal.
        let window = 720.0 - o.end.expect("promoted").as_secs_f64();
        let expected = 10.0 * window;
        assert!(
            (o.conflicting as f64 - expected).abs() < 5.0 * expected.sqrt(),
            "seed {seed}: {} conflicting, expected {expected}",
            o.conflicting
        );
        assert_eq!(r.counts.conflicting, o.conflicting);

        let mut fenced = pb(lag(), true, 1);
        fenced.faults = partition.clone();
        let f = run_pb(&fenced, seed, secs(1800));
        assert_eq!(f.counts.conflicting, 0, "seed {seed}");
        // The fenced side fails instead.
        assert!(f.outages[0].failed > r.outages[0].failed);

        let mut sync = pb(
            Replication::Synchronous {
                round_trip: Dist::constant(SimDuration::from_millis(3)),
            },
            false,
            1,
        );
        sync.faults = partition.clone();
        let s = run_pb(&sync, seed, secs(1800));
        assert_eq!((s.counts.conflicting, s.counts.lost), (0, 0), "seed {seed}");
    }
}

fn quorum(n: u32, r: u32, w: u32) -> QuorumSpec {
    QuorumSpec {
        name: "kv".into(),
        replicas: n,
        read_quorum: r,
        write_quorum: w,
        // Almost no operations: the test is about time availability.
        writes: Some(Arrivals::Poisson { rate_per_s: 0.01 }),
        reads: None,
        response: Dist::constant(SimDuration::from_millis(1)),
        workers: None,
        failures: Some(FailureSpec {
            time_to_failure: exp(secs(3600)),
            time_to_repair: exp(secs(360)),
        }),
    }
}

fn run_q(s: &QuorumSpec, replication: u64, horizon: SimDuration) -> QuorumSummary {
    Quorum::new(s, 0, StreamKey::new(5, replication), NullObserver)
        .run(SimTime(horizon.0), u64::MAX)
        .0
}

/// Mean and standard error over independent replications.
fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Exponential up (MTBF 1 h) and down (MTTR 6 min) times: one replica is up A = 60/66 of the
/// time, and k of n independent replicas with probability Σ C(n,j) Aʲ(1−A)ⁿ⁻ʲ. The estimate
/// is the mean of 100 independent replications of 500 h (about 450 failures each), with its
/// standard error from their spread; the test allows 4 standard errors. Every run starts with
/// all replicas up, a bias of about (1−A)·τ/T with τ = 1/(1/MTBF + 1/MTTR) ≈ 5.5 min, i.e.
/// 2·10⁻⁵, far below the error allowed; and the allowance is asserted to be small enough to
/// catch a wrong formula (A = MTBF/MTTR-style mistakes move the answer by more than 0.01).
#[test]
fn quorum_availability_matches_the_binomial_k_of_n_closed_form() {
    let a = 3600.0 / 3960.0;
    for (n, r, w) in [(3, 1, 2), (3, 3, 3), (5, 2, 4)] {
        let s = quorum(n, r, w);
        let runs: Vec<QuorumSummary> = (0..100).map(|i| run_q(&s, i, secs(500 * 3600))).collect();
        let t = |x: &QuorumSummary| x.horizon_ns as f64;
        let write: Vec<f64> = runs.iter().map(|x| x.write_up_ns as f64 / t(x)).collect();
        let read: Vec<f64> = runs.iter().map(|x| x.read_up_ns as f64 / t(x)).collect();
        let one: Vec<f64> = runs
            .iter()
            .map(|x| x.replica_up_ns[0] as f64 / t(x))
            .collect();
        for (what, xs, expected) in [
            ("write", &write, k_of_n(n, w, a)),
            ("read", &read, k_of_n(n, r, a)),
            ("one replica", &one, a),
        ] {
            let (m, se) = mean_se(xs);
            assert!(
                4.0 * se < 0.01,
                "{what} ({n},{r},{w}): se {se} too wide to test"
            );
            assert!(
                (m - expected).abs() < 4.0 * se,
                "{what} availability ({n},{r},{w}): {m} ± {}, closed form {expected}",
                4.0 * se
            );
        }
        assert!((runs[0].replica_availability - a).abs() < 1e-12);
    }
}

/// Operations see the time availability (Poisson arrivals see time averages): the share of
/// writes that met their quorum estimates the same figure. Each op is a Bernoulli trial given
/// the up/down path, and the path's own variation dominates, so the comparison is against the
/// same run's time average with a binomial allowance.
#[test]
fn quorum_operations_see_time_availability() {
    let mut s = quorum(3, 2, 3);
    s.writes = Some(Arrivals::Poisson { rate_per_s: 2.0 });
    let r = run_q(&s, 0, secs(200 * 3600));
    let time = r.write_up_ns as f64 / r.horizon_ns as f64;
    let ops = r.writes.succeeded as f64 / r.writes.offered as f64;
    let n = r.writes.offered as f64;
    // Failures cluster in outages (about 10 ops each), so inflate the binomial sd by √10.
    let sd = (time * (1.0 - time) / n).sqrt() * 10f64.sqrt();
    assert!(
        (ops - time).abs() < 4.0 * sd,
        "ops {ops}, time {time} ± {}",
        4.0 * sd
    );
    assert_eq!(r.writes.offered, r.writes.succeeded + r.writes.failed);
}

#[test]
fn same_seed_same_bytes_and_the_bookkeeping_holds() {
    for file in ["scenarios/primary-backup.ron", "scenarios/quorum-kv.ron"] {
        let a = hasim(&["run", file, "--format", "json", "--seed", "3"]);
        let b = hasim(&["run", file, "--format", "json", "--seed", "3"]);
        assert_eq!(
            a.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&a.stderr)
        );
        assert_eq!(a.stdout, b.stdout, "{file}: two runs differ");
        let c = hasim(&["run", file, "--format", "json", "--seed", "4"]);
        assert_ne!(a.stdout, c.stdout, "{file}: the seed changes nothing");
        let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
        for s in v["stores"].as_array().expect("stores") {
            if s["kind"] == "primary_backup" {
                let w = &s["writes"];
                let n = |k: &str| w[k].as_u64().expect("count");
                assert_eq!(
                    n("acked"),
                    n("durable") + n("lost") + n("replicating"),
                    "{s}"
                );
                assert_eq!(
                    n("offered"),
                    n("acked") + n("failed") + n("in_progress"),
                    "{s}"
                );
                let listed: u64 = s["outages"]
                    .as_array()
                    .expect("outages")
                    .iter()
                    .map(|o| o["rpo_writes"].as_u64().unwrap_or(0))
                    .sum();
                assert!(listed <= n("lost"));
            }
        }
    }
    // A scenario without stores has no `stores` key: older reports are unchanged.
    let plain = hasim(&["run", "scenarios/mm1.ron", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&plain.stdout).expect("json");
    assert!(v.get("stores").is_none());
}

#[test]
fn rpo_and_rto_expectations_exit_1_when_missed() {
    let out = hasim(&["run", "tests/data/good/store-expectations.ron"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("expect FAIL writes lost per failover ≤ 0"),
        "{table}"
    );
    assert!(table.contains("expect ok   write outage ≤ 2m"), "{table}");
}

fn election(nodes: u32, timeout_ms: u64, rt: SimDuration, faults: Vec<StoreFault>) -> ElectionSpec {
    ElectionSpec {
        name: "raft".into(),
        nodes,
        heartbeat: SimDuration::from_millis(100),
        election_timeout: SimDuration::from_millis(timeout_ms),
        round_trip: Dist::constant(rt),
        failures: None,
        faults,
    }
}

/// The leader of three nodes crashes 400 times (every minute, down 30 s). The two live
/// followers' timers run from the last heartbeat, uniform in [T, 2T): the first fires
/// T + T/3 after it on average (the minimum of two), the last heartbeat was on average half
/// an interval before the crash, and the winner needs one vote, one round trip (0.2 ms, so
/// that split votes, which need the timers within 0.1 ms, are too rare to matter: ~10⁻⁴ per
/// election). Expected time without a leader: 1.3333 − 0.05 + 0.0002 s. The test allows 4
/// standard errors of the mean over the 400 elections (sd ≈ 0.24 s: a Beta(1, 2) spread of
/// the first timer): 0.05 s, while forgetting the heartbeat's age or the race between the
/// timers (a mean of T/2 instead of T/3) misses by 0.05 to 0.17 s.
#[test]
fn leader_election_takes_the_first_randomised_timeout_after_the_last_heartbeat() {
    let faults = (1..=400u64)
        .map(|i| StoreFault::Crash {
            at: secs(60 * i),
            duration: secs(30),
        })
        .collect();
    let s = election(3, 1000, SimDuration(200_000), faults);
    let r = LeaderElection::new(&s, StreamKey::new(8, 0), NullObserver)
        .run(SimTime(secs(60 * 401).0), u64::MAX)
        .0;
    let u: Vec<f64> = r
        .elections
        .iter()
        .map(|e| e.unavailable().expect("elected").as_secs_f64())
        .collect();
    assert_eq!(u.len(), 400);
    let (m, se) = mean_se(&u);
    let expected = 1.0 + 1.0 / 3.0 - 0.05 + 0.0002;
    assert!(
        (m - expected).abs() < 4.0 * se,
        "mean {m} ± {}, expected {expected}",
        4.0 * se
    );
    assert!(r.elections.iter().all(|e| e.terms == 1));
    assert_eq!(r.term, 401);
}

/// When the vote's round trip is comparable to the spread of the timeouts, followers time out
/// while a vote request is still on its way: split votes, elections of several terms.
#[test]
fn slow_votes_split_elections() {
    let faults = (1..=200u64)
        .map(|i| StoreFault::Crash {
            at: secs(60 * i),
            duration: secs(30),
        })
        .collect();
    let s = election(5, 150, SimDuration::from_millis(60), faults);
    let r = LeaderElection::new(&s, StreamKey::new(9, 0), NullObserver)
        .run(SimTime(secs(60 * 201).0), u64::MAX)
        .0;
    let split = r.elections.iter().filter(|e| e.terms > 1).count();
    assert!(split > 20, "{split} split elections");
    let terms: u64 = r.elections.iter().map(|e| e.terms).sum();
    assert_eq!(r.term, 1 + terms);
}

/// Swarm: many random primary–backup configurations (backups, replication, fencing, random
/// failures, crashes, partitions and disasters at random times) run to the end with every
/// invariant the model asserts (offered = acknowledged + failed + in progress, acknowledged =
/// durable + lost + replicating, every lost write in an outage); synchronous replication with
/// fencing never loses a write except to a disaster.
#[test]
fn swarm_of_primary_backup_configurations_keeps_the_books() {
    use models::store_spec::SnapshotSpec;
    let (mut failovers, mut disasters, mut conflicting) = (0, 0, 0);
    for seed in 0..300u64 {
        let mut g = StreamKey::new(seed, 0).stream("test/swarm/store");
        let ms = |g: &mut sim_core::Stream, lo: u64, hi: u64| {
            SimDuration::from_millis(lo + u64::from(g.below((hi - lo) as u32)))
        };
        let synchronous = g.chance(0.5);
        let delay = exp(ms(&mut g, 1, 500));
        let mut s = pb(
            if synchronous {
                Replication::Synchronous { round_trip: delay }
            } else {
                Replication::Asynchronous { lag: delay }
            },
            g.chance(0.5),
            1 + g.below(3),
        );
        s.writes = Some(Arrivals::Poisson {
            rate_per_s: 1.0 + f64::from(g.below(50)),
        });
        s.heartbeat = ms(&mut g, 100, 5_000);
        s.lease = SimDuration(s.heartbeat.0 + ms(&mut g, 1, 20_000).0);
        if g.chance(0.7) {
            s.failures = Some(FailureSpec {
                time_to_failure: exp(ms(&mut g, 60_000, 1_800_000)),
                time_to_repair: exp(ms(&mut g, 1_000, 300_000)),
            });
        }
        if g.chance(0.5) {
            s.snapshots = Some(SnapshotSpec {
                interval: ms(&mut g, 10_000, 900_000),
                restore: exp(ms(&mut g, 1_000, 600_000)),
            });
        }
        for _ in 0..g.below(8) {
            let at = ms(&mut g, 0, 7_000_000);
            let duration = ms(&mut g, 1, 600_000);
            s.faults.push(match g.below(3) {
                0 => StoreFault::Crash { at, duration },
                1 => StoreFault::Partition {
                    at,
                    duration,
                    clients_with_old_primary: g.uniform(),
                },
                _ if s.snapshots.is_some() => StoreFault::Disaster { at },
                _ => StoreFault::Crash { at, duration },
            });
        }
        let r = run_pb(&s, seed, secs(7200));
        let disaster_loss: u64 = r
            .outages
            .iter()
            .filter(|o| o.cause == models::store::OutageCause::Disaster)
            .map(|o| o.lost)
            .sum();
        if synchronous && s.fencing {
            assert_eq!(
                r.counts.lost, disaster_loss,
                "seed {seed}: {s:?}\n{:?}",
                r.counts
            );
        }
        if s.fencing || synchronous {
            assert_eq!(r.counts.conflicting, 0, "seed {seed}");
        }
        failovers += r.counts.failovers;
        disasters += r.counts.disasters;
        conflicting += r.counts.conflicting;
    }
    // The swarm reaches every path it is meant to test.
    assert!(
        failovers > 300 && disasters > 20 && conflicting > 0,
        "{failovers} failovers, {disasters} disasters, {conflicting} split-brain writes"
    );
}

/// Warm-up applies to stores as to requests (issue 20): with a warm-up, each store's counts
/// are those of the operations that ended after it, that is of the records the store emitted
/// after `WarmupEnded` (per kind: writes acknowledged / failed, reads, quorum operations,
/// first deliveries, and the latency means of exactly those records); the trajectory is the
/// one the same run has without a warm-up (equal store fingerprints), whose counts are the
/// whole run's and larger.
#[test]
fn store_figures_count_from_the_end_of_warm_up() {
    #[derive(Default)]
    struct Log {
        warm: bool,
        after: Vec<models::store::StoreRecord>,
        all: u64,
    }
    impl sim_core::Observer<models::Record> for Log {
        fn record(&mut self, _now: SimTime, r: &models::Record) {
            match r {
                models::Record::WarmupEnded => self.warm = true,
                models::Record::Store(s) => {
                    self.all += 1;
                    if self.warm {
                        self.after.push(*s);
                    }
                }
                _ => {}
            }
        }
    }
    use models::store::StoreRecord as R;
    let loaded = scenarios::load(&super::repo("tests/data/good/store-warmup.ron"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.spec.warmup, secs(300));
    let (warm, log) = hasim::Run::new(&loaded).observe(Log::default()).execute();
    assert!(
        log.warm && (log.after.len() as u64) < log.all,
        "records before and after"
    );
    let count = |f: &dyn Fn(&R) -> bool| log.after.iter().filter(|r| f(r)).count() as u64;
    let mean_ms = |f: &dyn Fn(&R) -> Option<SimDuration>| {
        let xs: Vec<u64> = log.after.iter().filter_map(f).map(|d| d.0).collect();
        xs.iter().map(|&x| x as u128).sum::<u128>() as f64 / xs.len() as f64 / 1e6
    };
    let json: serde_json::Value = serde_json::from_str(&warm.to_json()).expect("json");
    let n = |s: usize, path: &str| -> f64 {
        let mut x = &json["stores"][s];
        for k in path.split('.') {
            x = &x[k];
        }
        x.as_f64().unwrap_or_else(|| panic!("stores[{s}].{path}"))
    };
    let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 1e-4, "{what}: {a} vs {b}");
    // db (store 0): primary–backup with reads.
    let w = |ok: bool| move |r: &R| matches!(*r, R::Write { store: 0, ok: o, .. } if o == ok);
    assert_eq!(n(0, "writes.acked"), count(&w(true)) as f64);
    assert_eq!(n(0, "writes.failed"), count(&w(false)) as f64);
    let rd = |ok: bool| move |r: &R| matches!(*r, R::Read { store: 0, ok: o, .. } if o == ok);
    assert_eq!(n(0, "reads.ok"), count(&rd(true)) as f64);
    assert_eq!(n(0, "reads.failed"), count(&rd(false)) as f64);
    close(
        n(0, "write_latency_ms.mean"),
        mean_ms(&|r| match *r {
            R::Write {
                store: 0,
                ok: true,
                latency,
            } => Some(latency),
            _ => None,
        }),
        "db write latency",
    );
    // kv (store 1): quorum, operations end as they start.
    for (what, read) in [("writes", false), ("reads", true)] {
        let op = |ok: bool| {
            move |r: &R| match *r {
                R::Write {
                    store: 1, ok: o, ..
                } => !read && o == ok,
                R::Read {
                    store: 1, ok: o, ..
                } => read && o == ok,
                _ => false,
            }
        };
        assert_eq!(n(1, &format!("{what}.succeeded")), count(&op(true)) as f64);
        assert_eq!(n(1, &format!("{what}.failed")), count(&op(false)) as f64);
        assert_eq!(
            n(1, &format!("{what}.offered")),
            (count(&op(true)) + count(&op(false))) as f64
        );
    }
    // events (store 2): first deliveries after the warm-up, and their delays.
    let first = |r: &R| {
        matches!(
            *r,
            R::Consumed {
                store: 2,
                first: true,
                ..
            }
        )
    };
    assert_eq!(n(2, "messages.delivered"), count(&first) as f64);
    close(
        n(2, "delay_ms.mean"),
        mean_ms(&|r| match *r {
            R::Consumed {
                store: 2,
                first: true,
                delay,
            } => Some(delay),
            _ => None,
        }),
        "broker delay",
    );
    // catalog (store 4): a cache's requests answered after the warm-up, and its restarts.
    close(
        n(4, "latency_ms.mean"),
        mean_ms(&|r| match *r {
            R::Cache {
                store: 4,
                ok: true,
                latency,
                ..
            } => Some(latency),
            _ => None,
        }),
        "cache latency",
    );
    assert_eq!(
        n(4, "requests.offered"),
        n(4, "requests.hits") + n(4, "requests.misses")
    );
    assert_eq!(
        n(4, "restarts"),
        1.0,
        "the restart at 20 min, not the one at 3"
    );
    // The same run without a warm-up: the same trajectories, the whole run's (larger) counts.
    let mut cold = loaded.clone();
    cold.spec.warmup = SimDuration::ZERO;
    let (cold, _) = hasim::Run::new(&cold).execute();
    for (a, b) in warm.stores.iter().zip(&cold.stores) {
        assert_eq!(
            a.section().fingerprint(),
            b.section().fingerprint(),
            "{}",
            a.name()
        );
    }
    let cold: serde_json::Value = serde_json::from_str(&cold.to_json()).expect("json");
    for (s, path) in [
        (0, "writes.acked"),
        (1, "writes.offered"),
        (2, "messages.delivered"),
        (3, "elections"),
        (4, "requests.offered"),
        (4, "restarts"),
    ] {
        let whole = cold["stores"][s]
            .pointer(&format!("/{}", path.replace('.', "/")))
            .and_then(serde_json::Value::as_f64)
            .expect("a count");
        assert!(
            n(s, path) < whole,
            "stores[{s}].{path}: {} vs {whole}",
            n(s, path)
        );
    }
    // The elections listed are those still open or begun after the warm-up.
    let listed = json["stores"][3]["listed"].as_array().expect("listed");
    assert!(
        listed
            .iter()
            .all(|e| e["elected_at_s"].as_f64().is_none_or(|t| t >= 300.0)),
        "{listed:?}"
    );
}

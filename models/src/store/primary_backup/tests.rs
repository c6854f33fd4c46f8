use super::*;
use crate::spec::Arrivals;
use sim_core::NullObserver;

fn spec(replication: Replication, fencing: bool, faults: Vec<StoreFault>) -> PrimaryBackupSpec {
    PrimaryBackupSpec {
        name: "db".into(),
        backups: 1,
        // A write every 10 ms exactly.
        writes: Some(Arrivals::Constant { rate_per_s: 100.0 }),
        reads: None,
        replication,
        heartbeat: SimDuration::from_secs(1),
        lease: SimDuration::from_secs(3),
        promotion: Dist::constant(SimDuration::from_secs(2)),
        fencing,
        failures: None,
        faults,
        snapshots: None,
        reads_from_backups: false,
    }
}

fn crash_at_10s() -> Vec<StoreFault> {
    vec![StoreFault::Crash {
        at: SimDuration::from_secs(10),
        duration: SimDuration::from_secs(60),
    }]
}

fn run(s: &PrimaryBackupSpec, seed: u64) -> PbSummary {
    PrimaryBackup::new(s, 0, StreamKey::new(seed, 0), NullObserver)
        .run(SimTime(SimDuration::from_secs(120).0), u64::MAX)
        .0
}

/// Writes every 10 ms, each reaching the backup exactly 100 ms later; the primary crashes
/// at 10 s: the ten writes acknowledged in (9.9 s, 10 s) had not reached the backup (the
/// one due at exactly 10 s arrives after the crash, which was scheduled first).
#[test]
fn async_failover_loses_exactly_the_writes_within_one_lag_of_the_crash() {
    let lag = Dist::constant(SimDuration::from_millis(100));
    let s = spec(Replication::Asynchronous { lag }, true, crash_at_10s());
    for seed in 1..20 {
        let r = run(&s, seed);
        assert_eq!(r.outages.len(), 1, "{r:?}");
        let o = &r.outages[0];
        assert_eq!(o.lost, 10, "{o:?}");
        assert_eq!(o.promoted, Some(1));
        // Detection: 3 s after the last heartbeat before 10 s (a random phase), then 2 s.
        let detect = o.lease_expiry.since(o.start);
        assert!(detect > SimDuration::from_secs(2) && detect <= SimDuration::from_secs(3));
        assert_eq!(o.rto(), Some(SimDuration(detect.0 + 2_000_000_000)));
        // Every write issued during the outage failed: one per 10 ms of RTO.
        let rto_ms = o.rto().map_or(0, |d| d.0 / 1_000_000);
        assert!(o.failed.abs_diff(rto_ms / 10) <= 1, "{o:?}");
        assert_eq!(r.counts.lost, 10);
        assert_eq!(r.counts.failovers, 1);
    }
}

#[test]
fn sync_failover_loses_nothing_and_waits_for_the_round_trip() {
    let rt = Dist::constant(SimDuration::from_millis(5));
    let s = spec(
        Replication::Synchronous { round_trip: rt },
        true,
        crash_at_10s(),
    );
    let r = run(&s, 3);
    assert_eq!(r.counts.lost, 0);
    assert_eq!(r.outages[0].lost, 0);
    // None was waiting for a confirm at the crash (the write from 9.99 s was confirmed at
    // 9.995 s). After the promotion the only other node is the crashed old primary, so
    // synchronous writes find no backup until it is repaired at 70 s.
    let end = r.outages[0].end.expect("promoted");
    let alone_ms = (SimDuration::from_secs(70).0 - end.0) / 1_000_000;
    assert!(
        r.counts.failed_unreplicated.abs_diff(alone_ms / 10) <= 1,
        "{r:?}"
    );
    assert!(r.counts.acked > 0 && r.counts.durable == r.counts.acked - r.counts.replicating);
}

#[test]
fn a_crash_repaired_before_detection_resumes_without_loss() {
    let lag = Dist::constant(SimDuration::from_millis(100));
    let faults = vec![StoreFault::Crash {
        at: SimDuration::from_secs(10),
        duration: SimDuration::from_millis(500),
    }];
    let r = run(&spec(Replication::Asynchronous { lag }, true, faults), 5);
    let o = &r.outages[0];
    assert_eq!((o.lost, o.promoted), (0, None));
    assert_eq!(o.rto(), Some(SimDuration::from_millis(500)));
    assert_eq!(r.counts.failovers, 0);
    assert_eq!(r.counts.lost, 0);
}

/// Snapshots every minute, every node's data lost at 150 s, restored in 5 minutes: the
/// writes acknowledged since the snapshot at 120 s (one every 10 ms: 3000) are lost,
/// whether they had reached the backup or not.
#[test]
fn a_disaster_loses_the_writes_after_the_last_snapshot() {
    let lag = Dist::constant(SimDuration::from_millis(100));
    let faults = vec![StoreFault::Disaster {
        at: SimDuration::from_secs(150),
    }];
    let mut s = spec(Replication::Asynchronous { lag }, true, faults);
    s.snapshots = Some(SnapshotSpec {
        interval: SimDuration::from_secs(60),
        restore: Dist::constant(SimDuration::from_secs(300)),
    });
    let r = PrimaryBackup::new(&s, 0, StreamKey::new(1, 0), NullObserver)
        .run(SimTime(SimDuration::from_secs(600).0), u64::MAX)
        .0;
    let o = &r.outages[0];
    assert_eq!(o.cause, OutageCause::Disaster);
    assert_eq!(o.lost, 3000, "{r:?}");
    assert_eq!(o.rto(), Some(SimDuration::from_secs(300)));
    assert_eq!(o.failed, 30_000);
    assert_eq!((r.counts.disasters, r.counts.lost), (1, 3000));
    // Snapshots at 60 s and 120 s, none while restoring (180–420 s), then at 480 s, 540 s
    // and 600 s (events at the horizon still happen).
    assert_eq!(r.counts.snapshots, 5);
}

/// Reads during a partition: without fencing, the clients on the old primary's side read
/// from it after the promotion (stale reads); with fencing they fail once its lease ran out.
#[test]
fn a_deposed_primary_serves_stale_reads_only_without_fencing() {
    let lag = Dist::constant(SimDuration::from_millis(100));
    let faults = vec![StoreFault::Partition {
        at: SimDuration::from_secs(10),
        duration: SimDuration::from_secs(30),
        clients_with_old_primary: 0.5,
    }];
    let mut open = spec(
        Replication::Asynchronous { lag: lag.clone() },
        false,
        faults.clone(),
    );
    open.reads = Some(Arrivals::Constant { rate_per_s: 100.0 });
    let mut fenced = spec(Replication::Asynchronous { lag }, true, faults);
    fenced.reads = open.reads.clone();
    let (o, f) = (run(&open, 4), run(&fenced, 4));
    // 100 reads/s, half on the old side, for the ~25 s from the promotion to the heal.
    let window = 40.0 - o.outages[0].end.expect("promoted").as_secs_f64();
    let stale = o.counts.reads_stale as f64;
    assert!(
        (stale - 50.0 * window).abs() < 5.0 * (50.0 * window).sqrt(),
        "{stale}"
    );
    assert_eq!(f.counts.reads_stale, 0);
    assert!(f.counts.reads_ok < o.counts.reads_ok);
    assert_eq!(o.counts.reads_offered, f.counts.reads_offered);
}

#[test]
fn split_brain_only_without_fencing() {
    let lag = Dist::constant(SimDuration::from_millis(100));
    let faults = vec![StoreFault::Partition {
        at: SimDuration::from_secs(10),
        duration: SimDuration::from_secs(30),
        clients_with_old_primary: 0.5,
    }];
    let no_fence = run(
        &spec(
            Replication::Asynchronous { lag: lag.clone() },
            false,
            faults.clone(),
        ),
        9,
    );
    let fenced = run(&spec(Replication::Asynchronous { lag }, true, faults), 9);
    // ~25 s of split brain at 50 writes/s on the old side.
    assert!(no_fence.counts.conflicting > 1000, "{:?}", no_fence.counts);
    assert_eq!(fenced.counts.conflicting, 0);
    // With fencing the old side fails instead.
    assert!(fenced.counts.failed_unavailable > no_fence.counts.failed_unavailable);
    // Writes the old primary took before its lease ran out are lost either way.
    assert!(fenced.outages[0].lost > 10);
}

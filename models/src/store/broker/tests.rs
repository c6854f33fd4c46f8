use super::*;
use crate::spec::Arrivals;
use crate::store_spec::ConsumerGroupSpec;
use sim_core::NullObserver;

fn ms(x: u64) -> SimDuration {
    SimDuration::from_millis(x)
}

/// One partition on two nodes, a message every ms, copied to the follower 10 ms later; one
/// consumer taking 0.5 ms per message.
fn spec(acks: Acks, faults: Vec<BrokerFault>) -> BrokerSpec {
    BrokerSpec {
        name: "q".into(),
        brokers: 2,
        partitions: 1,
        replication_factor: 2,
        min_insync_replicas: 1,
        follower_lag: Dist::constant(ms(10)),
        leader_failover: Dist::constant(ms(2000)),
        produce: Some(Arrivals::Constant { rate_per_s: 1000.0 }),
        acks,
        consumers: ConsumerGroupSpec {
            consumers: 1,
            processing: Dist::constant(SimDuration(500_000)),
            failure_rate: 0.0,
            heartbeat_interval: SimDuration::from_secs(3),
            session_timeout: SimDuration::from_secs(10),
            rebalance_pause: SimDuration::from_secs(3),
            visibility_timeout: SimDuration::from_secs(30),
            max_receives: 5,
            commit_interval: SimDuration::from_secs(5),
            failures: None,
            pool: None,
        },
        retention: SimDuration::from_secs(7 * 86_400),
        window: SimDuration::from_secs(10),
        failures: None,
        faults,
    }
}

fn run(s: &BrokerSpec, seed: u64, secs: u64) -> BrokerSummary {
    Broker::new(s, 0, StreamKey::new(seed, 0), NullObserver)
        .run(SimTime(SimDuration::from_secs(secs).0), u64::MAX)
        .0
}

fn leader_crash() -> Vec<BrokerFault> {
    vec![BrokerFault::LeaderCrash {
        at: SimDuration(ms(30_000).0 + 300_000),
        duration: SimDuration::from_secs(60),
        partition: 0,
    }]
}

/// Without failures every message is delivered one processing time after the follower
/// copied it (the high watermark), and the books close.
#[test]
fn without_failures_every_message_is_delivered_after_the_copy_and_the_processing() {
    let r = run(&spec(Acks::All, Vec::new()), 1, 60);
    let c = r.counts;
    assert_eq!(c.produced, 60_000);
    assert_eq!(c.delivered, c.produced - c.backlog - c.in_flight);
    assert!(
        c.acked >= c.delivered && c.acked - c.delivered <= 2,
        "{c:?}"
    );
    assert_eq!(c.lost() + c.duplicates + c.dead_lettered + c.refused, 0);
    // Only the last 10.5 ms of messages are still on their way.
    assert!(c.backlog + c.in_flight <= 11, "{c:?}");
    // Little: backlog = λ · W = 1000/s × 10.5 ms.
    let mean = r.backlog_area as f64 / r.run.end.0 as f64;
    assert!((mean - 10.5).abs() < 0.1, "{mean}");
    assert_eq!(r.windows.len(), 6);
}

/// The leader dies 30.0003 s in: the follower lacks the messages of the last 10 ms (10 of
/// them). With acks=1 they were acknowledged and are lost; with acks=all they were not
/// acknowledged yet: the producer got an error, and no acknowledged message is lost.
#[test]
fn a_leader_crash_loses_the_unreplicated_tail_only_with_acks_1() {
    let one = run(&spec(Acks::Leader, leader_crash()), 1, 120);
    assert_eq!(one.counts.elections, 1);
    assert_eq!(one.counts.lost_acked, 10, "{:?}", one.counts);
    assert_eq!(one.counts.lost_unreplicated, 10);
    let all = run(&spec(Acks::All, leader_crash()), 1, 120);
    assert_eq!(all.counts.lost(), 0, "{:?}", all.counts);
    assert_eq!(all.counts.lost_acked, 0);
    assert_eq!(all.counts.cut_unacked, 10);
    // Two seconds without a leader: 2000 messages refused either way.
    assert_eq!(all.counts.refused, 2000);
    assert_eq!(one.counts.refused, 2000);
}

/// With acks=0 the messages sent while the partition has no leader are lost too.
#[test]
fn acks_0_drops_what_is_sent_without_a_leader() {
    let r = run(&spec(Acks::None, leader_crash()), 1, 120);
    assert_eq!(r.counts.dropped, 2000);
    assert_eq!(r.counts.lost_unreplicated, 10);
    assert_eq!((r.counts.acked, r.counts.lost_acked), (0, 0));
}

/// Processing always fails: each message is received `max_receives` times, one visibility
/// timeout apart, then dead-lettered.
#[test]
fn always_failing_messages_go_to_the_dead_letter_queue_after_max_receives() {
    let mut s = spec(Acks::Leader, Vec::new());
    s.replication_factor = 1;
    s.brokers = 1;
    s.produce = Some(Arrivals::Constant { rate_per_s: 10.0 });
    s.consumers.failure_rate = 1.0;
    s.consumers.max_receives = 3;
    s.consumers.visibility_timeout = SimDuration::from_secs(1);
    let r = run(&s, 1, 100);
    // A message produced at t (0.1 s, 0.2 s, …) is dead-lettered at its third failure,
    // t + 2 s + 1.5 ms: by 100 s, those up to 97.9 s; the next 10 failed twice, the 10
    // after once, and the last is being processed.
    assert_eq!(r.counts.dead_lettered, 979, "{:?}", r.counts);
    assert_eq!(r.counts.processing_failures, 3 * 979 + 2 * 10 + 10);
    assert_eq!((r.counts.backlog, r.counts.in_flight), (20, 1));
    assert_eq!(r.counts.delivered, 0);
}

/// A consumer crash: the partition waits for the session timeout and the rebalance pause,
/// then what was processed since the last commit is processed again (duplicates), and
/// nothing is lost.
#[test]
fn a_consumer_crash_gives_duplicates_and_no_loss() {
    let mut s = spec(Acks::All, Vec::new());
    s.consumers.consumers = 2;
    s.faults = vec![BrokerFault::ConsumerCrash {
        at: SimDuration::from_millis(12_345),
        duration: SimDuration::from_secs(30),
        consumer: 0,
    }];
    let r = run(&s, 2, 120);
    let c = r.counts;
    assert_eq!(c.lost(), 0);
    assert!(c.duplicates > 1000 && c.duplicates < 5000, "{c:?}");
    // Detection and the rebalance, then the return of the consumer: another rebalance.
    assert_eq!(c.rebalances, 2);
    assert_eq!(r.paused_ns, 6_000_000_000);
    // The lag grew by ~10 s of messages while nobody consumed.
    assert!(r.max_lag > 8_000 && r.max_lag < 17_000, "{}", r.max_lag);
}

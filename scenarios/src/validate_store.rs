//! `stores: [...]`: raw replicated stores → [`StoreSpec`]s. Every problem is recorded in the
//! shared validation context, at the value at fault, so that the scenario's first error wins
//! whatever part of the file it is in; every default applied becomes a note.

use crate::raw;
use crate::validate::Ctx;
use crate::validate_cache::{CacheRaw, cache, store_window};
use models::spec::{Arrivals, FailureSpec};
use models::store_spec::{
    Acks, BrokerFault, BrokerSpec, ConsumerGroupSpec, ConsumerPool, ElectionSpec,
    PrimaryBackupSpec, QuorumSpec, Replication, StoreFault, StoreSpec,
};
use reports::Expectation;
use sim_core::{Dist, SimDuration, parse_duration};
use std::collections::BTreeSet;

/// Most backups of a primary (nodes are tracked in 32-bit masks).
pub const MAX_BACKUPS: u32 = 30;
/// Most replicas of a quorum store.
pub const MAX_QUORUM_REPLICAS: u32 = 1000;
/// Most operations a quorum replica serves at once.
pub const MAX_QUORUM_WORKERS: u32 = 100_000;

/// Patroni's `loop_wait`: the leader renews its key every 10 s.
const DEFAULT_HEARTBEAT: SimDuration = SimDuration::from_secs(10);
/// Patroni's `ttl`: the leader key expires 30 s after its last renewal.
const DEFAULT_LEASE: SimDuration = SimDuration::from_secs(30);

/// The valid stores of `raw` (errors are recorded in `cx`).
pub(crate) fn stores(raw: &raw::Scenario, cx: &mut Ctx<'_>) -> Vec<StoreSpec> {
    // The horizon's own errors are reported by the scenario's validation.
    let horizon = parse_duration(&raw.horizon).ok();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, s) in raw.stores.iter().enumerate() {
        let name = match s {
            raw::Store::PrimaryBackup { name, .. }
            | raw::Store::Quorum { name, .. }
            | raw::Store::Election { name, .. }
            | raw::Store::Broker { name, .. } => name,
            raw::Store::Cache { name, .. } => name,
            raw::Store::Lock { name, .. } => name,
        };
        let name_path = format!("stores[{i}].name");
        if name.trim().is_empty() {
            cx.fail(&name_path, "a store's name is empty");
        } else if !seen.insert(name.as_str()) {
            cx.fail_help(
                &name_path,
                format!("the store name `{name}` is used twice"),
                "every store needs its own name (it also names its random streams)",
            );
        }
        let built = match s {
            raw::Store::PrimaryBackup {
                name,
                backups,
                writes,
                reads,
                replication,
                heartbeat,
                lease,
                promotion,
                fencing,
                failures,
                faults,
                snapshots,
                reads_from,
            } => primary_backup(
                cx,
                i,
                horizon,
                PbRaw {
                    name,
                    backups: *backups,
                    writes: writes.as_ref(),
                    reads: reads.as_ref(),
                    replication,
                    heartbeat: heartbeat.as_deref(),
                    lease: lease.as_deref(),
                    promotion: promotion.as_ref(),
                    fencing: *fencing,
                    failures: failures.as_ref(),
                    faults,
                    snapshots: snapshots.as_ref(),
                    reads_from: *reads_from,
                },
            )
            .map(StoreSpec::PrimaryBackup),
            raw::Store::Quorum {
                name,
                replicas,
                read_quorum,
                write_quorum,
                writes,
                reads,
                response,
                workers,
                failures,
            } => quorum(
                cx,
                i,
                name,
                (*replicas, *read_quorum, *write_quorum),
                (writes.as_ref(), reads.as_ref()),
                (response, *workers),
                failures.as_ref(),
            )
            .map(StoreSpec::Quorum),
            raw::Store::Election {
                name,
                nodes,
                heartbeat,
                election_timeout,
                round_trip,
                failures,
                faults,
            } => election(
                cx,
                i,
                horizon,
                name,
                *nodes,
                (heartbeat.as_deref(), election_timeout.as_deref()),
                round_trip,
                failures.as_ref(),
                faults,
            )
            .map(StoreSpec::Election),
            raw::Store::Broker { .. } => broker(cx, i, raw, horizon, s).map(StoreSpec::Broker),
            raw::Store::Cache {
                name,
                requests,
                keys,
                ttl,
                capacity,
                hit_latency,
                coalesce_misses,
                backend,
                misses_from,
                failures,
                faults,
            } => cache(
                cx,
                i,
                (horizon, store_window(raw, horizon)),
                CacheRaw {
                    name,
                    requests: requests.as_ref(),
                    keys,
                    ttl: ttl.as_deref(),
                    capacity: *capacity,
                    hit_latency: hit_latency.as_ref(),
                    coalesce_misses: *coalesce_misses,
                    backend: backend.as_ref(),
                    misses_from: misses_from.as_ref(),
                    failures: failures.as_ref(),
                    faults,
                },
            )
            .map(StoreSpec::Cache),
            raw::Store::Lock { .. } => {
                crate::validate_lock::lock(cx, i, horizon, s).map(StoreSpec::Lock)
            }
        };
        out.extend(built);
    }
    out
}

/// The fields of a raw `PrimaryBackup`, borrowed.
struct PbRaw<'a> {
    name: &'a str,
    backups: u32,
    writes: Option<&'a raw::Arrivals>,
    reads: Option<&'a raw::Arrivals>,
    replication: &'a raw::Replication,
    heartbeat: Option<&'a str>,
    lease: Option<&'a str>,
    promotion: Option<&'a raw::Dist>,
    fencing: Option<bool>,
    failures: Option<&'a raw::Failures>,
    faults: &'a [raw::StoreFault],
    snapshots: Option<&'a raw::Snapshots>,
    reads_from: Option<raw::ReadsFrom>,
}

fn primary_backup(
    cx: &mut Ctx<'_>,
    i: usize,
    horizon: Option<SimDuration>,
    r: PbRaw<'_>,
) -> Option<PrimaryBackupSpec> {
    let at = |f: &str| format!("stores[{i}].{f}");
    let name = r.name;
    let mut ok = true;
    if !(1..=MAX_BACKUPS).contains(&r.backups) {
        cx.fail_help(
            &at("backups"),
            format!(
                "store `{name}` needs 1 to {MAX_BACKUPS} backups, found {}",
                r.backups
            ),
            "a primary with no backup has nothing to fail over to",
        );
        ok = false;
    }
    let writes = own_load(cx, r.writes, &at("writes"));
    let reads = match r.reads {
        Some(a) => arrivals(cx, a, &at("reads")).map(Some),
        None => Some(None),
    };
    let replication = match r.replication {
        raw::Replication::Synchronous { round_trip } => cx
            .dist(round_trip, &at("replication.round_trip"))
            .map(|round_trip| Replication::Synchronous { round_trip }),
        raw::Replication::Asynchronous { lag } => cx
            .dist(lag, &at("replication.lag"))
            .map(|lag| Replication::Asynchronous { lag }),
    };
    let mut defaults = Vec::new();
    let mut time = |cx: &mut Ctx<'_>, v: Option<&str>, f: &str, default: SimDuration| match v {
        Some(text) => cx.positive_duration(text, &at(f), f),
        None => {
            defaults.push(format!("{f} {default}"));
            Some(default)
        }
    };
    let heartbeat = time(cx, r.heartbeat, "heartbeat", DEFAULT_HEARTBEAT);
    let lease = time(cx, r.lease, "lease", DEFAULT_LEASE);
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "store `{name}`: {} not set, using Patroni's (loop_wait 10 s, ttl 30 s)",
            defaults.join(", ")
        ));
    }
    if let (Some(h), Some(l)) = (heartbeat, lease)
        && l <= h
    {
        cx.fail_help(
            &at("lease"),
            format!("the lease ({l}) must be longer than the heartbeat interval ({h})"),
            "a live primary renews its lease every heartbeat; Patroni uses ttl 30 s for loop_wait 10 s",
        );
        ok = false;
    }
    let promotion = match r.promotion {
        Some(d) => cx.dist(d, &at("promotion")),
        None => {
            cx.notes.push(format!(
                "store `{name}`: promotion not set: a backup takes writes as soon as the lease runs out"
            ));
            Some(Dist::constant(SimDuration::ZERO))
        }
    };
    let fencing = r.fencing.unwrap_or_else(|| {
        cx.notes.push(format!(
            "store `{name}`: fencing not set: on (a primary whose lease ran out refuses writes)"
        ));
        true
    });
    let failures = failures(cx, r.failures, &at("failures"));
    let mut faults = Vec::new();
    for (j, f) in r.faults.iter().enumerate() {
        let fp = |field: &str| format!("stores[{i}].faults[{j}].{field}");
        let (at_text, duration_text) = match f {
            raw::StoreFault::Crash { at, duration }
            | raw::StoreFault::Partition { at, duration, .. } => (at, Some(duration)),
            raw::StoreFault::Disaster { at } => (at, None),
        };
        let start = cx.duration(at_text, &fp("at"));
        let length = match duration_text {
            Some(d) => cx.positive_duration(d, &fp("duration"), "duration"),
            None => Some(SimDuration::ZERO),
        };
        if let (Some(s), Some(h)) = (start, horizon)
            && s >= h
        {
            cx.fail_help(
                &fp("at"),
                format!("the fault starts at {s}, at or after the horizon ({h})"),
                "a fault must start before the run ends",
            );
            ok = false;
            continue;
        }
        let (Some(at), Some(duration)) = (start, length) else {
            ok = false;
            continue;
        };
        match f {
            raw::StoreFault::Crash { .. } => faults.push(StoreFault::Crash { at, duration }),
            raw::StoreFault::Disaster { .. } if r.snapshots.is_none() => {
                cx.fail_help(
                    &format!("stores[{i}].faults[{j}]"),
                    format!("a disaster loses every node's data, and store `{name}` has no snapshots to restore from"),
                    "add `snapshots: Snapshots(interval: \"1h\", restore: Constant(\"20m\"))`",
                );
                ok = false;
            }
            raw::StoreFault::Disaster { .. } => faults.push(StoreFault::Disaster { at }),
            raw::StoreFault::Partition {
                clients_with_old_primary,
                ..
            } => {
                let share = match *clients_with_old_primary {
                    Some(x) if x.is_finite() && (0.0..=1.0).contains(&x) => x,
                    Some(x) => {
                        cx.fail_help(
                            &fp("clients_with_old_primary"),
                            format!(
                                "clients_with_old_primary must be a fraction between 0 and 1, found {x}"
                            ),
                            "the share of writes that still reach the partitioned primary, e.g. 0.5",
                        );
                        ok = false;
                        continue;
                    }
                    None => {
                        cx.notes.push(format!(
                            "store `{name}`: partition at {at}: clients_with_old_primary not set, using 0.5 (half the writes still reach the old primary)"
                        ));
                        0.5
                    }
                };
                faults.push(StoreFault::Partition {
                    at,
                    duration,
                    clients_with_old_primary: share,
                });
            }
        }
    }
    let snapshots = match r.snapshots {
        None => Some(None),
        Some(sn) => {
            let interval = cx.positive_duration(
                &sn.interval,
                &at("snapshots.interval"),
                "the snapshot interval",
            );
            let restore = cx.dist(&sn.restore, &at("snapshots.restore"));
            match (interval, restore) {
                (Some(interval), Some(restore)) => {
                    Some(Some(models::store_spec::SnapshotSpec { interval, restore }))
                }
                _ => None,
            }
        }
    };
    if r.failures.is_none() && r.faults.is_empty() {
        cx.notes.push(format!(
            "store `{name}`: no failures and no faults: no write can be lost"
        ));
    }
    if !ok {
        return None;
    }
    Some(PrimaryBackupSpec {
        name: name.to_string(),
        backups: r.backups,
        writes: writes?,
        reads: reads?,
        replication: replication?,
        heartbeat: heartbeat?,
        lease: lease?,
        promotion: promotion?,
        fencing,
        failures: failures?,
        faults,
        snapshots: snapshots?,
        reads_from_backups: matches!(r.reads_from, Some(raw::ReadsFrom::Backups)),
    })
}

fn quorum(
    cx: &mut Ctx<'_>,
    i: usize,
    name: &str,
    (n, r, w): (u32, u32, u32),
    (writes, reads): (Option<&raw::Arrivals>, Option<&raw::Arrivals>),
    (response, workers): (&raw::Dist, Option<u32>),
    raw_failures: Option<&raw::Failures>,
) -> Option<QuorumSpec> {
    let at = |f: &str| format!("stores[{i}].{f}");
    let n_ok = (1..=MAX_QUORUM_REPLICAS).contains(&n);
    let mut ok = n_ok;
    if !n_ok {
        cx.fail_help(
            &at("replicas"),
            format!("store `{name}` needs 1 to {MAX_QUORUM_REPLICAS} replicas, found {n}"),
            "Dynamo's typical N is 3",
        );
    }
    for (q, field) in [(r, "read_quorum"), (w, "write_quorum")] {
        if q == 0 || (n_ok && q > n) {
            cx.fail_help(
                &at(field),
                format!("{field} must be between 1 and the {n} replicas, found {q}"),
                "Dynamo's typical (N, R, W) is (3, 2, 2)",
            );
            ok = false;
        }
    }
    if ok && r + w <= n {
        cx.notes.push(format!(
            "store `{name}`: R + W ≤ N ({r} + {w} ≤ {n}): a read may miss the latest write"
        ));
    }
    let writes = own_load(cx, writes, &at("writes"));
    let reads = match reads {
        Some(a) => arrivals(cx, a, &at("reads")).map(Some),
        None => Some(None),
    };
    let response = cx.dist(response, &at("response"));
    if let Some(k) = workers
        && !(1..=MAX_QUORUM_WORKERS).contains(&k)
    {
        cx.fail_help(
            &at("workers"),
            format!("store `{name}`: workers must be 1 to {MAX_QUORUM_WORKERS}, found {k}"),
            "operations each replica serves at once; leave it out for replicas without a queue",
        );
        ok = false;
    }
    let failures = failures(cx, raw_failures, &at("failures"));
    if raw_failures.is_none() {
        cx.notes.push(format!(
            "store `{name}`: no failures: every operation meets its quorum"
        ));
    }
    if !ok {
        return None;
    }
    Some(QuorumSpec {
        name: name.to_string(),
        replicas: n,
        read_quorum: r,
        write_quorum: w,
        writes: writes?,
        reads: reads?,
        response: response?,
        workers,
        failures: failures?,
    })
}

/// Most nodes of an elected cluster.
pub const MAX_ELECTION_NODES: u32 = 31;

#[allow(clippy::too_many_arguments)]
fn election(
    cx: &mut Ctx<'_>,
    i: usize,
    horizon: Option<SimDuration>,
    name: &str,
    nodes: u32,
    (heartbeat, timeout): (Option<&str>, Option<&str>),
    round_trip: &raw::Dist,
    raw_failures: Option<&raw::Failures>,
    raw_faults: &[raw::StoreFault],
) -> Option<ElectionSpec> {
    let at = |f: &str| format!("stores[{i}].{f}");
    let mut ok = true;
    if !(1..=MAX_ELECTION_NODES).contains(&nodes) {
        cx.fail_help(
            &at("nodes"),
            format!("store `{name}` needs 1 to {MAX_ELECTION_NODES} nodes, found {nodes}"),
            "Raft clusters usually have 3 or 5",
        );
        ok = false;
    }
    let mut defaults = Vec::new();
    let mut time = |cx: &mut Ctx<'_>, v: Option<&str>, f: &str, default: SimDuration| match v {
        Some(text) => cx.positive_duration(text, &at(f), f),
        None => {
            defaults.push(format!("{f} {default}"));
            Some(default)
        }
    };
    let heartbeat = time(cx, heartbeat, "heartbeat", SimDuration::from_millis(100));
    let timeout = time(
        cx,
        timeout,
        "election_timeout",
        SimDuration::from_millis(1000),
    );
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "store `{name}`: {} not set, using etcd's (heartbeat-interval 100 ms, election-timeout 1000 ms)",
            defaults.join(", ")
        ));
    }
    if let (Some(h), Some(t)) = (heartbeat, timeout)
        && t <= h
    {
        cx.fail_help(
            &at("election_timeout"),
            format!("the election timeout ({t}) must be longer than the heartbeat interval ({h})"),
            "followers would start elections between heartbeats; etcd uses 1000 ms for 100 ms",
        );
        ok = false;
    }
    let round_trip = cx.dist(round_trip, &at("round_trip"));
    let failures = failures(cx, raw_failures, &at("failures"));
    let mut faults = Vec::new();
    for (j, f) in raw_faults.iter().enumerate() {
        let fp = |field: &str| format!("stores[{i}].faults[{j}].{field}");
        match f {
            raw::StoreFault::Crash { at, duration } => {
                let start = cx.duration(at, &fp("at"));
                let length = cx.positive_duration(duration, &fp("duration"), "duration");
                match (start, length, horizon) {
                    (Some(s), _, Some(h)) if s >= h => {
                        cx.fail_help(
                            &fp("at"),
                            format!("the fault starts at {s}, at or after the horizon ({h})"),
                            "a fault must start before the run ends",
                        );
                        ok = false;
                    }
                    (Some(at), Some(duration), _) => {
                        faults.push(StoreFault::Crash { at, duration })
                    }
                    _ => ok = false,
                }
            }
            raw::StoreFault::Partition { .. } | raw::StoreFault::Disaster { .. } => {
                cx.fail_help(
                    &format!("stores[{i}].faults[{j}]"),
                    "an election store takes only Crash faults (of its leader)",
                    "e.g. faults: [Crash(at: \"1h\", duration: \"5m\")]",
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    Some(ElectionSpec {
        name: name.to_string(),
        nodes,
        heartbeat: heartbeat?,
        election_timeout: timeout?,
        round_trip: round_trip?,
        failures: failures?,
        faults,
    })
}

/// A store's arrivals: the topology's forms without steps.
fn arrivals(cx: &mut Ctx<'_>, a: &raw::Arrivals, path: &str) -> Option<Arrivals> {
    crate::validate::arrivals(cx, a, path, false)
}

/// A store's own load (`writes:`, `requests:`, `messages:`): optional, since a store that
/// pools call on the request path may have no load of its own; `Some(None)` when absent.
pub(crate) fn own_load(
    cx: &mut Ctx<'_>,
    a: Option<&raw::Arrivals>,
    path: &str,
) -> Option<Option<Arrivals>> {
    match a {
        Some(a) => arrivals(cx, a, path).map(Some),
        None => Some(None),
    }
}

/// `failures: Failures(time_to_failure: …, time_to_repair: …)`; `Some(None)` when absent.
pub(crate) fn failures(
    cx: &mut Ctx<'_>,
    f: Option<&raw::Failures>,
    path: &str,
) -> Option<Option<FailureSpec>> {
    let Some(f) = f else { return Some(None) };
    cx.failures(f, path).map(Some)
}

/// A scenario of stores alone has no requests: the notes about the request statistics' warm-up
/// and objective would only confuse its reader.
pub(crate) fn drop_topology_notes(raw: &raw::Scenario, notes: &mut Vec<String>) {
    if raw.clients.is_empty() && raw.pools.is_empty() && !raw.stores.is_empty() {
        notes.retain(|n| !n.starts_with("warmup not set") && !n.starts_with("no objective set"));
    }
}

/// `MaxRpo(writes: …)` and `MaxRto(max: …)`: bounds on a primary–backup store's outages.
pub(crate) fn expectation(
    raw: &raw::Scenario,
    e: &raw::Expect,
    path: &str,
    cx: &mut Ctx<'_>,
    out: &mut Vec<Expectation>,
) {
    let has_primary = raw
        .stores
        .iter()
        .any(|s| matches!(s, raw::Store::PrimaryBackup { .. }));
    if !has_primary {
        cx.fail_help(
            path,
            "MaxRpo and MaxRto bound a primary–backup store's failovers, and the scenario has none",
            "add `stores: [PrimaryBackup(…)]`, or drop the expectation",
        );
        return;
    }
    match e {
        raw::Expect::MaxRpo { writes } => out.push(Expectation::MaxRpo { writes: *writes }),
        raw::Expect::MaxRto { max } => {
            if let Some(d) = cx.duration(max, &format!("{path}.max")) {
                out.push(Expectation::MaxRto { max: d });
            }
        }
        _ => {}
    }
}

/// True for an expectation about the request path (availability, latency, throughput, the
/// error budget).
pub(crate) fn about_requests(e: &raw::Expect) -> bool {
    matches!(
        e,
        raw::Expect::Availability { .. }
            | raw::Expect::LatencyP99 { .. }
            | raw::Expect::LatencyMean { .. }
            | raw::Expect::Throughput { .. }
            | raw::Expect::ErrorBudget { .. }
    )
}

/// A request expectation in a scenario of stores alone: refused, pointing at a store metric.
pub(crate) fn no_requests(stores: &[StoreSpec], path: &str, cx: &mut Ctx<'_>) {
    let example = reports::store_metric_list(stores)
        .into_iter()
        .next()
        .unwrap_or_else(|| "db.write_availability".into());
    cx.fail_help(
        path,
        "the scenario has no request path (stores alone): a request expectation has nothing to measure",
        format!("bound a store's metric instead, e.g. Store(metric: \"{example}\", min: 0.999)"),
    );
}

/// `Store(metric: "kv.write_availability", min: 0.999)` (and/or `max:`): a bound on one of a
/// store's metrics, which must be one the scenario's stores have.
pub(crate) fn store_metric(
    (metric, min, max): (&str, Option<f64>, Option<f64>),
    stores: &[StoreSpec],
    path: &str,
    cx: &mut Ctx<'_>,
    out: &mut Vec<Expectation>,
) {
    let names = reports::store_metric_list(stores);
    if !names.iter().any(|n| n == metric) {
        let hint = if names.is_empty() {
            "the scenario has no stores: add `stores: [...]`, or drop the expectation".to_string()
        } else {
            format!("its stores' metrics are: {}", names.join(", "))
        };
        cx.fail_help(
            &format!("{path}.metric"),
            format!("`{metric}` is not a metric of any store of this scenario"),
            hint,
        );
        return;
    }
    if min.is_none() && max.is_none() {
        cx.fail_help(
            path,
            "a store expectation needs a bound",
            format!("e.g. Store(metric: \"{metric}\", min: 0.999) or max: …"),
        );
    }
    for (bound, at_least, key) in [(min, true, "min"), (max, false, "max")] {
        match bound {
            Some(b) if b.is_finite() => out.push(Expectation::Store {
                metric: metric.to_string(),
                bound: b,
                at_least,
            }),
            Some(b) => cx.fail(
                &format!("{path}.{key}"),
                format!("a bound must be a finite number, found {b}"),
            ),
            None => {}
        }
    }
}

/// Most partitions of a broker's topic.
pub const MAX_PARTITIONS: u32 = 1000;
/// Most broker nodes (replicas are tracked in 32-bit masks).
pub const MAX_BROKERS: u32 = 32;
/// Most members of a consumer group.
pub const MAX_CONSUMERS: u32 = 1000;

/// `Broker(…)`: a topic's partitions on broker nodes, a producer and a consumer group. Every
/// default is Kafka's (or SQS's for redelivery) and becomes a note.
fn broker(
    cx: &mut Ctx<'_>,
    i: usize,
    scenario: &raw::Scenario,
    horizon: Option<SimDuration>,
    s: &raw::Store,
) -> Option<BrokerSpec> {
    let raw::Store::Broker {
        name,
        brokers,
        partitions,
        replication_factor,
        min_insync_replicas,
        follower_lag,
        leader_failover,
        producer,
        consumers,
        retention,
        window,
        failures: raw_failures,
        faults: raw_faults,
    } = s
    else {
        unreachable!("called for brokers only");
    };
    let at = |f: &str| format!("stores[{i}].{f}");
    let mut ok = true;
    let mut defaults: Vec<String> = Vec::new();
    let (p, rf) = (*partitions, *replication_factor);
    if !(1..=MAX_PARTITIONS).contains(&p) {
        cx.fail_help(
            &at("partitions"),
            format!("broker `{name}` needs 1 to {MAX_PARTITIONS} partitions, found {p}"),
            "a topic has at least one partition",
        );
        ok = false;
    }
    let rf_ok = (1..=MAX_BROKERS).contains(&rf);
    if !rf_ok {
        cx.fail_help(
            &at("replication_factor"),
            format!("the replication factor must be 1 to {MAX_BROKERS}, found {rf}"),
            "Kafka clusters usually use 3",
        );
        ok = false;
    }
    let n_brokers = match brokers {
        Some(b) if rf_ok && (*b < rf || *b > MAX_BROKERS) => {
            cx.fail_help(
                &at("brokers"),
                format!("broker `{name}` needs {rf} to {MAX_BROKERS} broker nodes (its replication factor to {MAX_BROKERS}), found {b}"),
                "each replica of a partition lives on its own node",
            );
            ok = false;
            rf
        }
        Some(b) => *b,
        None => {
            defaults.push(format!("brokers {rf} (one per replica)"));
            rf
        }
    };
    let min_isr = match min_insync_replicas {
        Some(m) if rf_ok && (*m == 0 || *m > rf) => {
            cx.fail_help(
                &at("min_insync_replicas"),
                format!("min_insync_replicas must be between 1 and the replication factor {rf}, found {m}"),
                "Kafka's common setting is 2 with a replication factor of 3",
            );
            ok = false;
            1
        }
        Some(m) => *m,
        None => {
            defaults.push("min_insync_replicas 1 (Kafka's min.insync.replicas)".into());
            1
        }
    };
    let follower_lag = cx.dist(follower_lag, &at("follower_lag"));
    let leader_failover = match leader_failover {
        Some(d) => cx.dist(d, &at("leader_failover")),
        None => {
            defaults.push("leader_failover 9s (KRaft broker.session.timeout.ms)".into());
            Some(Dist::constant(SimDuration::from_secs(9)))
        }
    };
    let produce = own_load(cx, producer.messages.as_ref(), &at("producer.messages"));
    let acks = match producer.acks {
        Some(raw::Acks::Zero) => Acks::None,
        Some(raw::Acks::One) => Acks::Leader,
        Some(raw::Acks::All) => Acks::All,
        None => {
            defaults.push("acks All (Kafka's producer default since 3.0)".into());
            Acks::All
        }
    };
    let time = |cx: &mut Ctx<'_>,
                v: Option<&String>,
                f: &str,
                default: SimDuration,
                source: &str,
                defaults: &mut Vec<String>| match v {
        Some(text) => cx.positive_duration(text, &at(f), f),
        None => {
            defaults.push(format!("{f} {default} ({source})"));
            Some(default)
        }
    };
    let g = consumers;
    let hb = time(
        cx,
        g.heartbeat_interval.as_ref(),
        "consumers.heartbeat_interval",
        SimDuration::from_secs(3),
        "Kafka heartbeat.interval.ms",
        &mut defaults,
    );
    let session = time(
        cx,
        g.session_timeout.as_ref(),
        "consumers.session_timeout",
        SimDuration::from_secs(45),
        "Kafka session.timeout.ms since 3.0",
        &mut defaults,
    );
    let pause = time(
        cx,
        g.rebalance_pause.as_ref(),
        "consumers.rebalance_pause",
        SimDuration::from_secs(3),
        "Kafka group.initial.rebalance.delay.ms",
        &mut defaults,
    );
    let visibility = time(
        cx,
        g.visibility_timeout.as_ref(),
        "consumers.visibility_timeout",
        SimDuration::from_secs(30),
        "SQS default",
        &mut defaults,
    );
    let commit = time(
        cx,
        g.commit_interval.as_ref(),
        "consumers.commit_interval",
        SimDuration::from_secs(5),
        "Kafka auto.commit.interval.ms",
        &mut defaults,
    );
    let retention = time(
        cx,
        retention.as_ref(),
        "retention",
        SimDuration::from_secs(7 * 86_400),
        "Kafka log.retention.hours 168",
        &mut defaults,
    );
    if let (Some(h), Some(t)) = (hb, session)
        && t <= h
    {
        cx.fail_help(
            &at("consumers.session_timeout"),
            format!("the session timeout ({t}) must be longer than the heartbeat interval ({h})"),
            "Kafka: heartbeat.interval.ms 3 s, session.timeout.ms 45 s",
        );
        ok = false;
    }
    let group = consumer_pool(cx, scenario, g, i);
    ok &= group.is_some();
    let group = group.flatten();
    let n_consumers = match (g.consumers, group) {
        (Some(n), Some((_, replicas))) if n != replicas => {
            cx.fail_help(
                &at("consumers.consumers"),
                format!(
                    "{n} consumers, but pool `{}` has {replicas} replicas, each of them a consumer",
                    g.pool.as_deref().unwrap_or_default()
                ),
                "leave `consumers` out: the pool's replicas are the group",
            );
            ok = false;
            replicas
        }
        (Some(n), _) => n,
        (None, Some((_, replicas))) => replicas,
        // A pool named but not found: reported there.
        (None, None) if g.pool.is_some() => 1,
        (None, None) => {
            cx.fail_help(
                &at("consumers"),
                "a consumer group needs its members: `consumers` or `pool`",
                "`consumers: 4, processing: Exponential(mean: \"20ms\")` for a group of its own, \
                 or `pool: \"workers\"` for a pool whose replicas consume",
            );
            ok = false;
            1
        }
    };
    if !(1..=MAX_CONSUMERS).contains(&n_consumers) {
        cx.fail_help(
            &at("consumers.consumers"),
            format!("a consumer group needs 1 to {MAX_CONSUMERS} consumers, found {n_consumers}"),
            "members beyond the partition count stay idle",
        );
        ok = false;
    }
    let processing = match (&g.processing, group) {
        (Some(d), None) => cx.dist(d, &at("consumers.processing")),
        (None, None) if g.pool.is_some() => None,
        (None, None) => {
            cx.fail_help(
                &at("consumers"),
                "a consumer group of its own needs `processing`: the time to process a message",
                "e.g. `processing: Exponential(mean: \"20ms\")`",
            );
            None
        }
        // The pool's replicas do the work: its service and its dependencies.
        (_, Some(_)) => Some(sim_core::Dist::constant(SimDuration::ZERO)),
    };
    let failure_rate = match g.failure_rate {
        Some(x) if x.is_finite() && (0.0..=1.0).contains(&x) => x,
        Some(x) => {
            cx.fail_help(
                &at("consumers.failure_rate"),
                format!("failure_rate must be a probability between 0 and 1, found {x}"),
                "the chance that processing one message fails, e.g. 0.01",
            );
            ok = false;
            0.0
        }
        None => 0.0,
    };
    let max_receives = match g.max_receives {
        Some(0) => {
            cx.fail_help(
                &at("consumers.max_receives"),
                "max_receives must be at least 1",
                "receives before a message goes to the dead-letter queue, e.g. 5",
            );
            ok = false;
            1
        }
        Some(m) => m,
        None => {
            defaults.push(
                "consumers.max_receives 5 (SQS maxReceiveCount, then the dead-letter queue)".into(),
            );
            5
        }
    };
    let consumer_failures = failures(cx, g.failures.as_ref(), &at("consumers.failures"));
    if group.is_some() {
        // What the pool already says: refused rather than silently ignored.
        let own = [
            (
                "processing",
                g.processing.is_some(),
                "the pool's service and dependencies",
            ),
            (
                "failure_rate",
                g.failure_rate.is_some(),
                "the pool's errors and failed calls",
            ),
            ("failures", g.failures.is_some(), "the pool's `failures`"),
        ];
        for (field, given, instead) in own {
            if given {
                cx.fail_help(
                    &at(&format!("consumers.{field}")),
                    format!("a group made of a pool takes its `{field}` from the pool"),
                    format!("leave it out: {instead} apply to each message"),
                );
                ok = false;
            }
        }
    }
    let node_failures = failures(cx, raw_failures.as_ref(), &at("failures"));
    // The window of the per-window rows: the broker's own, else the scenario's.
    let window = match window {
        Some(w) => cx.positive_duration(w, &at("window"), "the window"),
        None => match scenario.slo.as_ref().and_then(|s| s.window.as_ref()) {
            // Its errors are the objective's to report.
            Some(w) => parse_duration(w).ok().filter(|d| d.0 > 0),
            None => horizon.map(crate::validate::default_window),
        },
    };
    if let (Some(w), Some(h)) = (window, horizon)
        && h.0.div_ceil(w.0.max(1)) > crate::validate::MAX_WINDOWS
    {
        cx.fail_help(
            &at("window"),
            format!(
                "a {w} window cuts the {h} horizon into more than {} windows",
                crate::validate::MAX_WINDOWS
            ),
            "rows are kept per window: use a longer window",
        );
        ok = false;
    }
    let mut faults = Vec::new();
    for (j, f) in raw_faults.iter().enumerate() {
        let fp = |field: &str| format!("stores[{i}].faults[{j}].{field}");
        let (at_text, duration) = match f {
            raw::BrokerFault::LeaderCrash { at, duration, .. }
            | raw::BrokerFault::ConsumerCrash { at, duration, .. } => (at, duration),
        };
        let start = cx.duration(at_text, &fp("at"));
        let length = cx.positive_duration(duration, &fp("duration"), "duration");
        if let (Some(s), Some(h)) = (start, horizon)
            && s >= h
        {
            cx.fail_help(
                &fp("at"),
                format!("the fault starts at {s}, at or after the horizon ({h})"),
                "a fault must start before the run ends",
            );
            ok = false;
            continue;
        }
        let (Some(at), Some(duration)) = (start, length) else {
            ok = false;
            continue;
        };
        match f {
            raw::BrokerFault::LeaderCrash { partition, .. } => {
                let partition = partition.unwrap_or(0);
                if partition >= p {
                    cx.fail_help(
                        &fp("partition"),
                        format!(
                            "broker `{name}` has {p} partitions (0 to {}), found {partition}",
                            p.saturating_sub(1)
                        ),
                        "the fault crashes the node that leads this partition",
                    );
                    ok = false;
                    continue;
                }
                faults.push(BrokerFault::LeaderCrash {
                    at,
                    duration,
                    partition,
                });
            }
            raw::BrokerFault::ConsumerCrash { consumer, .. } => {
                let consumer = consumer.unwrap_or(0);
                if let Some(pool) = &g.pool {
                    cx.fail_help(
                        &fp("consumer"),
                        "the consumers are pool replicas: crash them as replicas",
                        format!(
                            "a scheduled fault of the scenario: `Crash(pool: \"{pool}\", \
                             replica: {consumer}, at: …, duration: …)`"
                        ),
                    );
                    ok = false;
                    continue;
                }
                if consumer >= n_consumers {
                    cx.fail_help(
                        &fp("consumer"),
                        format!(
                            "the group has {} consumers (0 to {}), found {consumer}",
                            n_consumers,
                            n_consumers.saturating_sub(1)
                        ),
                        "consumers are numbered from 0",
                    );
                    ok = false;
                    continue;
                }
                faults.push(BrokerFault::ConsumerCrash {
                    at,
                    duration,
                    consumer,
                });
            }
        }
    }
    faults.sort_by_key(|f| match f {
        BrokerFault::LeaderCrash { at, .. } | BrokerFault::ConsumerCrash { at, .. } => *at,
    });
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "broker `{name}`: not set, using {}",
            defaults.join(", ")
        ));
    }
    if ok && n_consumers > p {
        cx.notes.push(format!(
            "broker `{name}`: {} consumers for {p} partitions: {} stay idle until a member fails",
            n_consumers,
            n_consumers - p
        ));
    }
    if !ok {
        return None;
    }
    Some(BrokerSpec {
        name: name.clone(),
        brokers: n_brokers,
        partitions: p,
        replication_factor: rf,
        min_insync_replicas: min_isr,
        follower_lag: follower_lag?,
        leader_failover: leader_failover?,
        produce: produce?,
        acks,
        consumers: ConsumerGroupSpec {
            consumers: n_consumers,
            processing: processing?,
            failure_rate,
            heartbeat_interval: hb?,
            session_timeout: session?,
            rebalance_pause: pause?,
            visibility_timeout: visibility?,
            max_receives,
            commit_interval: commit?,
            failures: consumer_failures?,
            // The hop is added with the topology's (`consumer_hops`).
            pool: group.map(|(pool, _)| ConsumerPool {
                pool,
                hop: u32::MAX,
            }),
        },
        retention: retention?,
        window: window?,
        failures: node_failures?,
        faults,
    })
}

/// A group's `pool`: `Some(None)` when the group is its own, `Some(Some((pool, replicas)))`
/// for a pool that can consume, `None` after an error.
fn consumer_pool(
    cx: &mut Ctx<'_>,
    scenario: &raw::Scenario,
    g: &raw::ConsumerGroup,
    i: usize,
) -> Option<Option<(u32, u32)>> {
    let Some(name) = &g.pool else {
        return Some(None);
    };
    let path = format!("stores[{i}].consumers.pool");
    let Some(k) = scenario.pools.iter().position(|p| &p.name == name) else {
        let known: Vec<&str> = scenario.pools.iter().map(|p| p.name.as_str()).collect();
        cx.fail_help(
            &path,
            format!("no pool is named `{name}`"),
            if known.is_empty() {
                "add the pool whose replicas consume to `pools`".to_string()
            } else {
                format!("the pools are: {}", known.join(", "))
            },
        );
        return None;
    };
    let p = &scenario.pools[k];
    if p.autoscale.is_some() {
        cx.fail_help(
            &path,
            format!("pool `{name}` autoscales; a consumer group's members are fixed"),
            "give the pool a fixed number of replicas",
        );
        return None;
    }
    Some(Some((k as u32, p.replicas)))
}

/// Each broker whose group is a pool processes its messages through a hop of its own (the
/// broker calling the pool, with the visibility timeout as deadline), after the pools' hops
/// so that theirs keep their numbers.
pub(crate) fn consumer_hops(spec: &mut models::spec::Spec, stores: &mut [StoreSpec]) {
    for s in stores.iter_mut() {
        let StoreSpec::Broker(b) = s else { continue };
        let Some(cp) = b.consumers.pool.as_mut() else {
            continue;
        };
        cp.hop = spec.hops.len() as u32;
        spec.hops.push(models::spec::HopSpec {
            name: format!("{} → {}", b.name, spec.pools[cp.pool as usize].name),
            from_pool: cp.pool,
            target: models::spec::Target::Pool(cp.pool as usize),
            store: None,
            timeout: Some(b.consumers.visibility_timeout),
            retry: None,
            hedge: None,
            breaker: None,
            max_in_flight: None,
        });
    }
}

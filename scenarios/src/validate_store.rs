//! `stores: [...]`: raw replicated stores → [`StoreSpec`]s. Every problem is recorded in the
//! shared validation context, at the value at fault, so that the scenario's first error wins
//! whatever part of the file it is in; every default applied becomes a note.

use crate::raw;
use crate::validate::Ctx;
use models::spec::{Arrivals, FailureSpec};
use models::store_spec::{
    ElectionSpec, PrimaryBackupSpec, QuorumSpec, Replication, StoreFault, StoreSpec,
};
use reports::Expectation;
use sim_core::{Dist, SimDuration, parse_duration};
use std::collections::BTreeSet;

/// Most backups of a primary (nodes are tracked in 32-bit masks).
pub const MAX_BACKUPS: u32 = 30;
/// Most replicas of a quorum store.
pub const MAX_QUORUM_REPLICAS: u32 = 1000;

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
            | raw::Store::Election { name, .. } => name,
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
            } => primary_backup(
                cx,
                i,
                horizon,
                PbRaw {
                    name,
                    backups: *backups,
                    writes,
                    reads: reads.as_ref(),
                    replication,
                    heartbeat: heartbeat.as_deref(),
                    lease: lease.as_deref(),
                    promotion: promotion.as_ref(),
                    fencing: *fencing,
                    failures: failures.as_ref(),
                    faults,
                    snapshots: snapshots.as_ref(),
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
                failures,
            } => quorum(
                cx,
                i,
                name,
                (*replicas, *read_quorum, *write_quorum),
                (writes, reads.as_ref()),
                response,
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
        };
        out.extend(built);
    }
    out
}

/// The fields of a raw `PrimaryBackup`, borrowed.
struct PbRaw<'a> {
    name: &'a str,
    backups: u32,
    writes: &'a raw::Arrivals,
    reads: Option<&'a raw::Arrivals>,
    replication: &'a raw::Replication,
    heartbeat: Option<&'a str>,
    lease: Option<&'a str>,
    promotion: Option<&'a raw::Dist>,
    fencing: Option<bool>,
    failures: Option<&'a raw::Failures>,
    faults: &'a [raw::StoreFault],
    snapshots: Option<&'a raw::Snapshots>,
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
    let writes = arrivals(cx, r.writes, &at("writes"));
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
    })
}

fn quorum(
    cx: &mut Ctx<'_>,
    i: usize,
    name: &str,
    (n, r, w): (u32, u32, u32),
    (writes, reads): (&raw::Arrivals, Option<&raw::Arrivals>),
    response: &raw::Dist,
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
    let writes = arrivals(cx, writes, &at("writes"));
    let reads = match reads {
        Some(a) => arrivals(cx, a, &at("reads")).map(Some),
        None => Some(None),
    };
    let response = cx.dist(response, &at("response"));
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

/// `Poisson(rate_per_s: …)`, `Constant(rate_per_s: …)` or `Uniform(min: …, max: …)`.
fn arrivals(cx: &mut Ctx<'_>, a: &raw::Arrivals, path: &str) -> Option<Arrivals> {
    match a {
        raw::Arrivals::Poisson { rate_per_s } => cx
            .rate(*rate_per_s, &format!("{path}.rate_per_s"))
            .map(|r| Arrivals::Poisson { rate_per_s: r }),
        raw::Arrivals::Constant { rate_per_s } => cx
            .rate(*rate_per_s, &format!("{path}.rate_per_s"))
            .map(|r| Arrivals::Constant { rate_per_s: r }),
        raw::Arrivals::PoissonSteps { .. } => {
            cx.fail_help(
                path,
                "a store's arrivals cannot have steps",
                "steps are for clients of the topology; use Poisson(rate_per_s: …)",
            );
            None
        }
        raw::Arrivals::Uniform { min, max } => {
            let lo = cx.duration(min, &format!("{path}.min"));
            let hi = cx.duration(max, &format!("{path}.max"));
            match (lo, hi) {
                (Some(lo), Some(hi)) if hi >= lo && hi > SimDuration::ZERO => {
                    Some(Arrivals::Uniform { min: lo, max: hi })
                }
                (Some(lo), Some(hi)) => {
                    cx.fail(
                        &format!("{path}.max"),
                        format!("max ({hi}) must be ≥ min ({lo}) and longer than zero"),
                    );
                    None
                }
                _ => None,
            }
        }
    }
}

/// `failures: Failures(time_to_failure: …, time_to_repair: …)`; `Some(None)` when absent.
fn failures(
    cx: &mut Ctx<'_>,
    f: Option<&raw::Failures>,
    path: &str,
) -> Option<Option<FailureSpec>> {
    let Some(f) = f else { return Some(None) };
    let ttf_path = format!("{path}.time_to_failure");
    let ttf = cx.dist(&f.time_to_failure, &ttf_path);
    let ttr = cx.dist(&f.time_to_repair, &format!("{path}.time_to_repair"));
    if let Some(d) = &ttf
        && d.mean_ns() < 1.0
    {
        cx.fail_help(
            &ttf_path,
            "time_to_failure must have a mean above zero",
            "the mean time between failures (MTBF), e.g. Exponential(mean: \"7d\")",
        );
        return None;
    }
    Some(Some(FailureSpec {
        time_to_failure: ttf?,
        time_to_repair: ttr?,
    }))
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

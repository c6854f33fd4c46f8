//! Fleets: a pool's replica `groups` (count, speed, workers, weight, zone), its shared
//! `repair_crews`, its `hosts` and its containers' `restart` policy, into [`FleetSpec`]. A pool with groups leaves `replicas` out (their counts
//! add up to it), and a weighted policy that gives no weights takes the groups' weights.

use super::{Ctx, MAX_WEIGHT};
use crate::raw;
use models::fleet::{FleetSpec, GroupSpec, HostsSpec, Placement, RestartSpec};
use models::spec::Target;
use sim_core::SimDuration;

/// Slowest and fastest group speed: past them a service time rounds to zero (every request
/// at one instant) or to centuries.
const SPEEDS: (f64, f64) = (1e-3, 1e3);

/// Before the budgets: a pool with groups gets `replicas` = the sum of their counts (so that
/// the replica budget counts them), and their workers are checked against the workers budget.
pub(super) fn normalise(cx: &mut Ctx<'_>, raw: &mut raw::Scenario) {
    let lim = crate::limits::limits();
    for (i, p) in raw.pools.iter_mut().enumerate() {
        let Some(groups) = &p.groups else { continue };
        if p.replicas != raw::NO_REPLICAS {
            cx.fail_help(
                &format!("pools[{i}].replicas"),
                format!(
                    "pool `{}` has both replicas and groups: the groups' counts are its replicas",
                    p.name
                ),
                "remove `replicas`; each group says how many replicas it has (`count`)",
            );
        }
        if p.autoscale.is_some() {
            cx.fail_help(
                &format!("pools[{i}].groups"),
                format!(
                    "pool `{}` has groups and autoscale: an autoscaled pool's replicas are all alike",
                    p.name
                ),
                "remove `groups`, or `autoscale`",
            );
        }
        for (j, g) in groups.iter().enumerate() {
            if let Some(w) = g.workers
                && u64::from(w) > lim.workers
            {
                cx.fail_help(
                    &format!("pools[{i}].groups[{j}].workers"),
                    format!(
                        "group `{}` has {w} workers per replica, more than the limit of {} (the run keeps state for every worker)",
                        g.name, lim.workers
                    ),
                    crate::limits::raise_hint(),
                );
            }
        }
        // Saturating, and never the "left out" marker: the replica budget reports a sum that
        // large at the pool.
        let sum = (groups.iter()).fold(0u32, |a, g| a.saturating_add(g.count));
        let zoned = groups.iter().filter(|g| g.zone.is_some()).count();
        let mut expanded = None;
        if p.zones.is_some() && zoned > 0 {
            cx.fail_help(
                &format!("pools[{i}].zones"),
                format!(
                    "pool `{}` places replicas in zones twice: by `zones` and by its groups' `zone`",
                    p.name
                ),
                "keep one: `zone` on every group, or the pool's `zones`",
            );
        } else if zoned > 0 && zoned < groups.len() {
            let j = groups.iter().position(|g| g.zone.is_none()).unwrap_or(0);
            cx.fail_help(
                &format!("pools[{i}].groups[{j}]"),
                format!(
                    "group `{}` has no zone but other groups of pool `{}` have one",
                    groups[j].name, p.name
                ),
                "give every group a `zone`, or none",
            );
        } else if zoned > 0 && u64::from(sum) <= lim.replicas {
            // A zone per replica (replica i is in zones[i mod len] = zones[i]), so that zone
            // outages, zone-aware routing and partitions see the groups' zones. Past the
            // replica budget that is an error of its own, reported before anything is built.
            let zones = (groups.iter())
                .flat_map(|g| {
                    std::iter::repeat_n(g.zone.clone().unwrap_or_default(), g.count as usize)
                })
                .collect();
            expanded = Some(zones);
        }
        if expanded.is_some() {
            p.zones = expanded;
        }
        p.replicas = sum.min(raw::NO_REPLICAS - 1);
    }
}

/// The pool's groups and repair crews; `pool_workers` is the pool's own (the groups' default).
pub(super) fn fleet(
    cx: &mut Ctx<'_>,
    p: &raw::Pool,
    i: usize,
    pool_workers: u32,
) -> Option<FleetSpec> {
    let at = |f: &str| format!("pools[{i}].{f}");
    let mut ok = true;
    let mut groups = Vec::new();
    if let Some(gs) = &p.groups {
        if gs.is_empty() {
            cx.fail_help(
                &at("groups"),
                format!("pool `{}` has an empty list of groups", p.name),
                "give at least one group: groups: [ReplicaGroup(name: \"small\", count: 4)]",
            );
            ok = false;
        }
        for (j, g) in gs.iter().enumerate() {
            let path = |f: &str| at(&format!("groups[{j}].{f}"));
            if g.name.trim().is_empty() {
                cx.fail(&path("name"), "a group's name is empty");
                ok = false;
            } else if gs[..j].iter().any(|h| h.name == g.name) {
                cx.fail_help(
                    &path("name"),
                    format!("pool `{}` has two groups named `{}`", p.name, g.name),
                    "every group of a pool needs its own name",
                );
                ok = false;
            }
            if g.count == 0 {
                cx.fail_help(
                    &path("count"),
                    format!("group `{}` has zero replicas", g.name),
                    "a group needs at least 1 replica (`count: 1`); remove the group otherwise",
                );
                ok = false;
            }
            let speed = g.speed.unwrap_or(1.0);
            if !(speed.is_finite() && (SPEEDS.0..=SPEEDS.1).contains(&speed)) {
                cx.fail_help(
                    &path("speed"),
                    format!(
                        "speed must be a number from {} to {}, found {speed}",
                        SPEEDS.0, SPEEDS.1
                    ),
                    "speed is relative to the pool's service time: 2.0 serves a request in half the time",
                );
                ok = false;
            }
            let workers = g.workers.unwrap_or(pool_workers);
            if workers == 0 {
                cx.fail(&path("workers"), "workers must be at least 1");
                ok = false;
            }
            let weight = g.weight.unwrap_or(1);
            if weight == 0 || weight > MAX_WEIGHT {
                cx.fail_help(
                    &path("weight"),
                    format!("a weight must be between 1 and {MAX_WEIGHT}, found {weight}"),
                    "weights are relative: 1 is the lightest",
                );
                ok = false;
            }
            groups.push(GroupSpec {
                name: g.name.clone(),
                count: g.count,
                speed,
                workers,
                weight,
            });
        }
    }
    let repair_crews = match p.repair_crews {
        None => None,
        Some(0) => {
            cx.fail_help(
                &at("repair_crews"),
                "repair_crews must be at least 1",
                "leave it out for a crew per replica (every repair starts at once)",
            );
            ok = false;
            None
        }
        Some(k) => {
            if p.failures.is_none() {
                cx.fail_help(
                    &at("repair_crews"),
                    format!(
                        "pool `{}` has repair crews but no random failures: nothing to repair",
                        p.name
                    ),
                    "add `failures: Failures(time_to_failure: …, time_to_repair: …)`, or remove `repair_crews`",
                );
                ok = false;
            }
            if p.autoscale.is_some() {
                cx.fail_help(
                    &at("repair_crews"),
                    format!(
                        "pool `{}` has repair crews and autoscale: not supported (a replica scaled in while it waits for a crew)",
                        p.name
                    ),
                    "remove `repair_crews`, or `autoscale`",
                );
                ok = false;
            }
            Some(k)
        }
    };
    let hosts = hosts(cx, p, i);
    ok &= hosts.is_some();
    let restart = restart(cx, p, i);
    ok &= restart.is_some();
    ok.then_some(FleetSpec {
        groups,
        repair_crews,
        hosts: hosts.flatten(),
        restart: restart.flatten(),
    })
}

/// The pool's `restart` policy: `Some(None)` without, `None` after an error. Kubernetes'
/// defaults: 10 s doubling to 5 min, reset after 10 min of good running, ready at once.
fn restart(cx: &mut Ctx<'_>, p: &raw::Pool, i: usize) -> Option<Option<RestartSpec>> {
    let Some(r) = &p.restart else {
        return Some(None);
    };
    let at = |f: &str| format!("pools[{i}].restart.{f}");
    let mut ok = true;
    if p.failures.is_none() {
        cx.fail_help(
            &format!("pools[{i}].restart"),
            format!(
                "pool `{}` has a restart policy but no random failures: nothing crashes to restart",
                p.name
            ),
            "add `failures: Failures(time_to_failure: …, time_to_repair: …)` (time_to_repair: the restart itself), or remove `restart`",
        );
        ok = false;
    }
    if p.repair_crews.is_some() {
        cx.fail_help(
            &format!("pools[{i}].restart"),
            format!(
                "pool `{}` has a restart policy and repair crews: not supported (a container restarts itself, no crew waits on it)",
                p.name
            ),
            "remove `repair_crews`, or `restart`",
        );
        ok = false;
    }
    if p.autoscale.is_some() {
        cx.fail_help(
            &format!("pools[{i}].restart"),
            format!(
                "pool `{}` has a restart policy and autoscale: not supported",
                p.name
            ),
            "remove `restart`, or `autoscale`",
        );
        ok = false;
    }
    let mut field = |text: &Option<String>, name: &str, default: u64| match text {
        None => Some(SimDuration(default * 1_000_000_000)),
        Some(t) => cx.duration(t, &at(name)),
    };
    let initial = field(&r.initial_backoff, "initial_backoff", 10);
    let max = field(&r.max_backoff, "max_backoff", 300);
    let reset = field(&r.reset_after, "reset_after", 600);
    let ready = field(&r.readiness_delay, "readiness_delay", 0);
    let (Some(initial), Some(max), Some(reset), Some(ready)) = (initial, max, reset, ready) else {
        return None;
    };
    if initial.0 == 0 {
        cx.fail_help(
            &at("initial_backoff"),
            "initial_backoff must be longer than 0s",
            "Kubernetes waits \"10s\" before the first restart, doubling after each crash",
        );
        ok = false;
    }
    if max < initial {
        cx.fail_help(
            &at("max_backoff"),
            format!("max_backoff ({max}) is shorter than initial_backoff ({initial})"),
            "the back-off doubles from initial_backoff up to max_backoff: \"5m\" in Kubernetes",
        );
        ok = false;
    }
    if reset.0 == 0 {
        cx.fail_help(
            &at("reset_after"),
            "reset_after must be longer than 0s",
            "the back-off falls back to initial_backoff after this much good running: \"10m\" in Kubernetes",
        );
        ok = false;
    }
    ok.then_some(Some(RestartSpec {
        initial_backoff: initial,
        max_backoff: max,
        reset_after: reset,
        readiness_delay: ready,
    }))
}

/// The weights of a weighted policy that gives none: one per replica, its group's.
pub(super) fn group_weights(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    b: &raw::Balancer,
    target: Option<Target>,
    i: usize,
) -> Option<Vec<u32>> {
    let path = format!("balancers[{i}].policy.weights");
    let groups = match target {
        Some(Target::Pool(p)) => raw.pools.get(p).and_then(|p| p.groups.as_ref()),
        _ => None,
    };
    let Some(gs) = groups else {
        if target.is_some() {
            cx.fail_help(
                &path,
                format!(
                    "balancer `{}` gives no weights, and `{}` is not a pool with groups to take them from",
                    b.name, b.target
                ),
                "give one weight per backend (`weights: [3, 1, 1]`), or give the pool `groups` with a `weight` each",
            );
        }
        return None;
    };
    Some(
        gs.iter()
            .flat_map(|g| std::iter::repeat_n(g.weight.unwrap_or(1), g.count as usize))
            .collect(),
    )
}

/// A balancer's `standby`: a fixed `failover_delay` or a `failover_time` distribution (drawn
/// per failover), exactly one. False when an error was recorded.
pub(super) fn standby(
    cx: &mut Ctx<'_>,
    s: &raw::Standby,
    i: usize,
    b: &mut models::spec::BalancerSpec,
) -> bool {
    let at = |f: &str| format!("balancers[{i}].standby.{f}");
    match (&s.failover_delay, &s.failover_time) {
        (Some(text), None) => match cx.duration(text, &at("failover_delay")) {
            Some(d) => {
                b.standby = Some(d);
                true
            }
            None => false,
        },
        (None, Some(dist)) => match cx.dist(dist, &at("failover_time")) {
            Some(d) => {
                // The fixed delay's one home keeps the mean, for anything that reads it.
                b.standby = Some(sim_core::SimDuration(d.mean_ns().round() as u64));
                b.failover_time = Some(d);
                true
            }
            None => false,
        },
        (Some(_), Some(_)) => {
            cx.fail_help(
                &at("failover_time"),
                "a standby has both failover_delay and failover_time",
                "keep one: failover_delay: \"5s\" (fixed) or failover_time: Exponential(mean: \"5s\") (drawn per failover)",
            );
            false
        }
        (None, None) => {
            cx.fail_help(
                &format!("balancers[{i}].standby"),
                "a standby needs its failover delay",
                "add failover_delay: \"5s\" (fixed) or failover_time: Uniform(low: \"2s\", high: \"8s\") (drawn per failover)",
            );
            false
        }
    }
}

/// The pool's `hosts`: `Some(None)` without, `None` after an error.
fn hosts(cx: &mut Ctx<'_>, p: &raw::Pool, i: usize) -> Option<Option<HostsSpec>> {
    let Some(h) = &p.hosts else { return Some(None) };
    let at = |f: &str| format!("pools[{i}].hosts.{f}");
    let mut ok = true;
    if h.count == 0 || h.count > p.replicas {
        cx.fail_help(
            &at("count"),
            format!(
                "pool `{}` has {} replicas on {} hosts: expected 1 to {} hosts",
                p.name, p.replicas, h.count, p.replicas
            ),
            "at most one host per replica: a host with no replica on it fails for nothing",
        );
        ok = false;
    }
    let racks = h.racks.unwrap_or(0);
    if h.racks.is_some() && (racks == 0 || racks > h.count) {
        cx.fail_help(
            &at("racks"),
            format!(
                "{racks} racks for {} hosts: expected 1 to {} racks",
                h.count, h.count
            ),
            "hosts fill racks in order; leave `racks` out for hosts without racks",
        );
        ok = false;
    }
    if h.rack_failures.is_some() && h.racks.is_none() {
        cx.fail_help(
            &at("rack_failures"),
            "rack_failures without racks",
            "add `racks: 2` (hosts fill them in order), or remove `rack_failures`",
        );
        ok = false;
    }
    if p.autoscale.is_some() {
        cx.fail_help(
            &at("count"),
            format!("pool `{}` has hosts and autoscale: not supported", p.name),
            "remove `hosts`, or `autoscale`",
        );
        ok = false;
    }
    let failures = match &h.failures {
        Some(f) => cx.failures(f, &at("failures")).map(Some),
        None => Some(None),
    };
    let rack_failures = match &h.rack_failures {
        Some(f) => cx.failures(f, &at("rack_failures")).map(Some),
        None => Some(None),
    };
    let placement = match h.placement {
        None | Some(raw::Placement::Spread) => Placement::Spread,
        Some(raw::Placement::Packed) => Placement::Packed,
    };
    if !ok {
        return None;
    }
    Some(Some(HostsSpec {
        hosts: h.count,
        placement,
        failures: failures?,
        racks,
        rack_failures: rack_failures?,
    }))
}

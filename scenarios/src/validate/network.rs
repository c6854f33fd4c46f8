//! Zones and network partitions: every zone named by a pool (`zones`), a client or a balancer
//! (`zone`) gets an index, and `Partition(groups: [["a"], ["b", "c"]], at:, duration:)` cuts
//! the groups off from each other for a while.

use super::Ctx;
use crate::raw;
use models::spec::{BalancerOutage, PartitionSpec, Spec};

/// Resolves zones and partitions into `spec`. False when an error was recorded.
pub(super) fn apply(cx: &mut Ctx<'_>, raw: &raw::Scenario, spec: &mut Spec) -> bool {
    let mut zones: Vec<String> = Vec::new();
    let mut index = |z: &str| -> u32 {
        match zones.iter().position(|x| x == z) {
            Some(i) => i as u32,
            None => {
                zones.push(z.to_string());
                (zones.len() - 1) as u32
            }
        }
    };
    for (p, pool) in raw.pools.iter().enumerate() {
        if let Some(zs) = &pool.zones {
            spec.pools[p].zones = zs.iter().map(|z| index(z)).collect();
        }
    }
    for (i, c) in raw.clients.iter().enumerate() {
        spec.clients[i].zone = c.zone.as_deref().map(&mut index);
    }
    for (i, b) in raw.balancers.iter().enumerate() {
        spec.balancers[i].zone = b.zone.as_deref().map(&mut index);
    }
    let horizon = spec.horizon;
    let mut ok = true;
    for (i, f) in raw.faults.iter().enumerate() {
        let raw::Fault::Partition {
            groups,
            at,
            duration,
        } = f
        else {
            continue;
        };
        let path = |f: &str| format!("faults[{i}].{f}");
        let start = cx.duration(at, &path("at"));
        let length = cx.positive_duration(duration, &path("duration"), "duration");
        if let Some(s) = start
            && s >= horizon
        {
            cx.fail_help(
                &path("at"),
                format!("the partition starts at {s}, at or after the horizon ({horizon})"),
                "a fault must start before the run ends",
            );
            ok = false;
        }
        if groups.len() < 2 || groups.iter().any(|g| g.is_empty()) {
            cx.fail_help(
                &path("groups"),
                "a partition needs at least two non-empty groups of zones",
                "e.g. groups: [[\"a\"], [\"b\", \"c\"]] cuts zone a off from zones b and c",
            );
            ok = false;
            continue;
        }
        let mut resolved = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for g in groups {
            let mut ids = Vec::new();
            for z in g {
                match zones.iter().position(|x| x == z) {
                    _ if seen.contains(&z.as_str()) => {
                        cx.fail(
                            &path("groups"),
                            format!("zone `{z}` is in two groups of the partition"),
                        );
                        ok = false;
                    }
                    Some(k) => ids.push(k as u32),
                    None => {
                        let known = if zones.is_empty() {
                            "no component has a zone".to_string()
                        } else {
                            format!("known zones: {}", zones.join(", "))
                        };
                        cx.fail_help(
                            &path("groups"),
                            format!("no component is in zone `{z}` ({known})"),
                            "pools spread replicas over `zones: [..]`; clients and balancers take `zone: \"a\"`",
                        );
                        ok = false;
                    }
                }
                seen.push(z);
            }
            resolved.push(ids);
        }
        if let (Some(at), Some(duration)) = (start, length) {
            let label = groups
                .iter()
                .map(|g| g.join(", "))
                .collect::<Vec<_>>()
                .join(" | ");
            spec.partitions.push(PartitionSpec {
                groups: resolved,
                at,
                duration,
                label,
            });
        } else {
            ok = false;
        }
    }
    spec.zones = zones;
    ok & balancers_failing(cx, raw, spec)
}

/// Balancers' own `failures`, their `standby`, and `BalancerOutage` faults.
fn balancers_failing(cx: &mut Ctx<'_>, raw: &raw::Scenario, spec: &mut Spec) -> bool {
    let mut ok = true;
    for (i, b) in raw.balancers.iter().enumerate() {
        if let Some(f) = &b.failures {
            match cx.failures(f, &format!("balancers[{i}].failures")) {
                Some(spec_f) => spec.balancers[i].failures = Some(spec_f),
                None => ok = false,
            }
        }
        if let Some(s) = &b.standby {
            ok &= super::fleet::standby(cx, s, i, &mut spec.balancers[i]);
        }
    }
    let horizon = spec.horizon;
    for (i, f) in raw.faults.iter().enumerate() {
        let raw::Fault::BalancerOutage {
            balancer,
            at,
            duration,
        } = f
        else {
            continue;
        };
        let path = |f: &str| format!("faults[{i}].{f}");
        let Some(b) = raw.balancers.iter().position(|x| x.name == *balancer) else {
            let names: Vec<&str> = raw.balancers.iter().map(|b| b.name.as_str()).collect();
            cx.fail_help(
                &path("balancer"),
                format!("no balancer is named `{balancer}`"),
                if names.is_empty() {
                    "the scenario has no balancer".to_string()
                } else {
                    format!("balancers: {}", names.join(", "))
                },
            );
            ok = false;
            continue;
        };
        if raw.balancers[b].failures.is_some() {
            cx.fail_help(
                &path("balancer"),
                format!("balancer `{balancer}` already fails at random (`failures`): scheduled faults are for balancers without"),
                "drop `failures` from the balancer, or the scheduled fault",
            );
            ok = false;
        }
        let start = cx.duration(at, &path("at"));
        let length = cx.positive_duration(duration, &path("duration"), "duration");
        match (start, length) {
            (Some(s), _) if s >= horizon => {
                cx.fail_help(
                    &path("at"),
                    format!("the outage starts at {s}, at or after the horizon ({horizon})"),
                    "a fault must start before the run ends",
                );
                ok = false;
            }
            (Some(at), Some(duration)) => spec.balancer_outages.push(BalancerOutage {
                balancer: b as u32,
                at,
                duration,
            }),
            _ => ok = false,
        }
    }
    ok
}

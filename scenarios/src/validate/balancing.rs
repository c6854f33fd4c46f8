//! A balancer's routing settings: `zone_aware: true` (zone-aware routing from its `zone`),
//! `slow_start` and `per_client: true` (client-side balancing, one instance per caller).
//! Defaults are Envoy's; every default applied becomes a note in the report.

use super::Ctx;
use crate::raw;
use crate::suggest::{did_you_mean, one_of};
use models::spec::{PolicySpec, SlowStartSpec, Target, ZoneSpec};

/// `zone_aware: true` with `zone: "a"` of balancer `i`: its backends must be a pool with `zones`
/// naming it. `None` when invalid (errors recorded).
pub(super) fn zone(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    b: &raw::Balancer,
    target: Option<Target>,
    i: usize,
) -> Option<Option<ZoneSpec>> {
    if b.zone_aware != Some(true) {
        return Some(None);
    }
    let path = format!("balancers[{i}].zone");
    let Some(zone) = &b.zone else {
        cx.fail_help(
            &format!("balancers[{i}].zone_aware"),
            "zone-aware routing needs the balancer's own zone",
            "add `zone: \"a\"` beside `zone_aware: true`",
        );
        return None;
    };
    let p = match target? {
        Target::Pool(p) => &raw.pools[p],
        Target::Balancer(_) => {
            cx.fail_help(
                &path,
                "zone-aware routing chooses among a pool's replicas, and this balancer sends to another balancer",
                "give the zone to the balancer in front of the pool",
            );
            return None;
        }
    };
    let Some(zones) = p.zones.as_ref().filter(|z| !z.is_empty()) else {
        cx.fail_help(
            &path,
            format!("pool `{}` has no zones", p.name),
            "give the pool zones: Pool(…, zones: [\"a\", \"b\", \"c\"]) spreads its replicas over them in turn",
        );
        return None;
    };
    if !zones.contains(zone) {
        let names: Vec<&str> = zones.iter().map(String::as_str).collect();
        let mut e = cx
            .at(&path, format!("pool `{}` has no zone `{zone}`", p.name))
            .with_expected(one_of(&names));
        if let Some(m) = did_you_mean(zone, names.iter().copied()) {
            e = e.with_help(format!("did you mean `{m}`?"));
        }
        cx.push(e);
        return None;
    }
    // Replica r is in zone r mod (number of zones), as faults place them.
    let local: Vec<bool> = (0..p.replicas as usize)
        .map(|r| zones[r % zones.len()] == *zone)
        .collect();
    let n_local = local.iter().filter(|&&l| l).count();
    let local_share = n_local as f64 / local.len().max(1) as f64;
    cx.notes.push(format!(
        "balancer `{}`: zone-aware routing from zone `{zone}` (Envoy's rule): callers assumed spread over zones as `{}`'s replicas are, so the local share of load is {n_local}/{}",
        b.name,
        p.name,
        local.len()
    ));
    if p.replicas < 6 {
        cx.notes.push(format!(
            "balancer `{}`: pool `{}` has fewer than 6 replicas, where Envoy (min_cluster_size 6) would not route by zone; hasim does",
            b.name, p.name
        ));
    }
    Some(Some(ZoneSpec { local, local_share }))
}

/// `slow_start: SlowStart(window: "30s", aggression: 1.0, min_weight_percent: 10.0)` of
/// balancer `i`. It needs a way to see backends rejoin (health checks or outlier detection) and
/// a policy that moves on after a refused pick. `None` when invalid (errors recorded).
pub(super) fn slow_start(
    cx: &mut Ctx<'_>,
    b: &raw::Balancer,
    policy: Option<&PolicySpec>,
    i: usize,
) -> Option<Option<SlowStartSpec>> {
    let Some(s) = &b.slow_start else {
        return Some(None);
    };
    let path = format!("balancers[{i}].slow_start");
    let at = |f: &str| format!("{path}.{f}");
    if b.health_check.is_none() && b.outlier_detection.is_none() {
        cx.fail_help(
            &path,
            "slow start ramps backends that rejoin rotation, and this balancer never takes one out",
            "add a health_check or outlier_detection to the balancer",
        );
        return None;
    }
    if let Some(p) = policy
        && !matches!(
            p,
            PolicySpec::RoundRobin
                | PolicySpec::Random
                | PolicySpec::WeightedRandom { .. }
                | PolicySpec::WeightedRoundRobin { .. }
                | PolicySpec::SmoothWeightedRoundRobin { .. }
                | PolicySpec::LeastRequest { .. }
                | PolicySpec::LeastRequestOptions { .. }
        )
    {
        cx.fail_help(
            &path,
            "slow start needs a policy whose next pick moves on after a refused one",
            "use RoundRobin, Random, WeightedRandom, WeightedRoundRobin, SmoothWeightedRoundRobin or LeastRequest (Envoy: round robin and least request)",
        );
        return None;
    }
    let window = cx.positive_duration(&s.window, &at("window"), "window");
    let mut defaults = Vec::new();
    let aggression = match s.aggression {
        Some(a) if a.is_finite() && a > 0.0 => Some(a),
        Some(a) => {
            cx.fail_help(
                &at("aggression"),
                format!("aggression must be a positive number, found {a}"),
                "Envoy's default is 1.0 (a linear ramp); above 1 ramps faster at first",
            );
            None
        }
        None => {
            defaults.push("aggression 1.0");
            Some(1.0)
        }
    };
    let min_weight = match s.min_weight_percent {
        Some(m) if m.is_finite() && (1.0..=100.0).contains(&m) => Some(m / 100.0),
        Some(m) => {
            cx.fail_help(
                &at("min_weight_percent"),
                format!("min_weight_percent must be between 1 and 100, found {m}"),
                "Envoy's default is 10: a rejoined backend gets at least a tenth of its weight",
            );
            None
        }
        None => {
            defaults.push("min_weight_percent 10");
            Some(0.1)
        }
    };
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "balancer `{}`: slow start defaults (Envoy's): {}",
            b.name,
            defaults.join(", ")
        ));
    }
    Some(Some(SlowStartSpec {
        window: window?,
        aggression: aggression?,
        min_weight: min_weight?,
    }))
}

/// `per_client: true` of balancer `i`: client-side balancing (gRPC, Finagle, a sidecar), one
/// instance per caller. Refused where it means nothing: a balancer in front of another balancer
/// picks nothing; one behind another balancer sees that balancer's connections, never its
/// clients'; DNS round robin keeps each client's own cached answer already; and a library inside
/// each caller has no VIP of its own, so no standby, failures or outage. `None` when invalid
/// (errors recorded).
pub(super) fn per_client(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    b: &raw::Balancer,
    target: Option<Target>,
    policy: Option<&PolicySpec>,
    i: usize,
) -> Option<bool> {
    if b.per_client != Some(true) {
        return Some(false);
    }
    let path = format!("balancers[{i}].per_client");
    if let Some(Target::Balancer(_)) = target {
        cx.fail_help(
            &path,
            "a client-side balancer picks among a pool's replicas, and this balancer sends to another balancer",
            "set per_client on the balancer in front of the pool",
        );
        return None;
    }
    if let Some(PolicySpec::DnsRoundRobin { .. }) = policy {
        cx.fail_help(
            &path,
            "DnsRoundRobin is client-side already: each client keeps its own cached answer",
            "leave out per_client",
        );
        return None;
    }
    if let Some(front) = raw.balancers.iter().find(|x| x.target == b.name) {
        cx.fail_help(
            &path,
            format!(
                "balancer `{}` sends to `{}`: behind another balancer it sees that balancer's connections, not its callers', so it cannot be client-side",
                front.name, b.name
            ),
            format!(
                "point the clients at `{}` directly, or leave out per_client",
                b.name
            ),
        );
        return None;
    }
    let no_vip = "a client-side balancer runs inside each of its callers: it has no VIP of its own";
    for (field, set, hint) in [
        (
            "standby",
            b.standby.is_some(),
            "leave out standby (no VIP to fail over), or per_client",
        ),
        (
            "failures",
            b.failures.is_some(),
            "leave out failures (it fails with its caller), or per_client",
        ),
    ] {
        if set {
            cx.fail_help(
                &format!("balancers[{i}].{field}"),
                format!("{no_vip}, so no {field}"),
                hint,
            );
            return None;
        }
    }
    for (k, f) in raw.faults.iter().enumerate() {
        if let raw::Fault::BalancerOutage { balancer, .. } = f
            && *balancer == b.name
        {
            cx.fail_help(
                &format!("faults[{k}].balancer"),
                format!(
                    "balancer `{}` is client-side (per_client): it runs inside each of its callers and has no VIP of its own to take down",
                    b.name
                ),
                "take its pool down instead (PoolOutage), or leave out per_client",
            );
            return None;
        }
    }
    // Its callers: clients and dependency calls that send to it (each gets an instance).
    let callers: Vec<String> = (raw.clients.iter())
        .filter(|c| c.target == b.name)
        .map(|c| format!("`{}`", c.name))
        .chain(raw.pools.iter().flat_map(|p| {
            (p.dependencies.iter().flat_map(|d| &d.calls))
                .filter(|d| d.target == b.name)
                .map(|_| format!("`{}` → `{}`", p.name, b.name))
        }))
        .collect();
    let shown = callers
        .iter()
        .take(4)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = if callers.len() > 4 { ", …" } else { "" };
    cx.notes.push(format!(
        "balancer `{}`: client-side (per_client), one instance per caller: {} ({shown}{more}), each counting only its own requests",
        b.name,
        callers.len()
    ));
    Some(true)
}

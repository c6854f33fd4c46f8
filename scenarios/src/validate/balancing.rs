//! A balancer's routing settings: `zone_aware: true` (zone-aware routing from its `zone`) and
//! `slow_start`.
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

//! A pool's `autoscale` (target tracking) and `discovery` (a registry), and a client's
//! `PoissonSteps` arrivals (a load step or ramp to scale on).
//! Defaults are AWS target tracking's and Kubernetes' (autoscaling) and Eureka's (registry);
//! every default applied becomes a note in the report.

use super::Ctx;
use crate::raw;
use models::spec::{Arrivals, AutoscaleSpec, DiscoverySpec, ScaleMetric};
use sim_core::SimDuration;

/// Sets the replica count of scaled pools (their `max`), and refuses `replicas` left out
/// without `autoscale` or given with it.
pub(super) fn normalise(cx: &mut Ctx<'_>, raw: &mut raw::Scenario) {
    for (i, p) in raw.pools.iter_mut().enumerate() {
        match (&p.autoscale, p.replicas == raw::NO_REPLICAS) {
            (Some(a), true) => p.replicas = a.max,
            (Some(_), false) => {
                cx.fail_help(
                    &format!("pools[{i}].replicas"),
                    format!(
                        "pool `{}` has both replicas and autoscale: the autoscaler decides how many run",
                        p.name
                    ),
                    "remove `replicas`; set `initial` in Autoscale(…) for the count at time zero",
                );
                p.replicas = 1;
            }
            (None, true) => {
                cx.fail_help(
                    &format!("pools[{i}]"),
                    format!("pool `{}` has no replicas", p.name),
                    "add `replicas: 3`, or `autoscale: Autoscale(metric: Utilisation(target: 0.6), min: 2, max: 10)`",
                );
                p.replicas = 1;
            }
            (None, false) => {}
        }
    }
}

fn dur_or(
    cx: &mut Ctx<'_>,
    given: &Option<String>,
    path: &str,
    default: SimDuration,
    note: impl FnOnce() -> String,
) -> Option<SimDuration> {
    match given {
        Some(t) => cx.duration(t, path),
        None => {
            cx.notes.push(note());
            Some(default)
        }
    }
}

/// `autoscale: Autoscale(…)` of pool `i`. `None` when invalid (errors recorded).
pub(super) fn autoscale(
    cx: &mut Ctx<'_>,
    p: &raw::Pool,
    i: usize,
) -> Option<Option<AutoscaleSpec>> {
    let Some(a) = &p.autoscale else {
        return Some(None);
    };
    let path = |f: &str| format!("pools[{i}].autoscale.{f}");
    let name = &p.name;
    let mut ok = true;
    let metric = match a.metric {
        raw::ScaleMetric::Utilisation { target } => {
            if !(target.is_finite() && target > 0.0 && target <= 1.0) {
                cx.fail_help(
                    &path("metric.target"),
                    format!("a utilisation target must be in (0, 1], found {target}"),
                    "0.6 keeps workers 60% busy on average",
                );
                ok = false;
            }
            ScaleMetric::Utilisation { target }
        }
        raw::ScaleMetric::InFlight { per_replica }
        | raw::ScaleMetric::QueueLength { per_replica }
            if !(per_replica.is_finite() && per_replica > 0.0) =>
        {
            cx.fail_help(
                &path("metric.per_replica"),
                format!("per_replica must be a positive number, found {per_replica}"),
                "the metric's target per replica, e.g. 10.0",
            );
            return None;
        }
        raw::ScaleMetric::InFlight { per_replica } => ScaleMetric::InFlight { per_replica },
        raw::ScaleMetric::QueueLength { per_replica } => ScaleMetric::QueueLength { per_replica },
    };
    if a.min == 0 {
        cx.fail_help(
            &path("min"),
            "min must be at least 1",
            "scale-to-zero is not modelled: keep one replica",
        );
        ok = false;
    }
    if a.max < a.min || a.max > 10_000 {
        cx.fail(
            &path("max"),
            format!("max ({}) must be between min ({}) and 10000", a.max, a.min),
        );
        ok = false;
    }
    let initial = match a.initial {
        Some(n) if n < a.min || n > a.max => {
            cx.fail(
                &path("initial"),
                format!(
                    "initial ({n}) must be between min ({}) and max ({})",
                    a.min, a.max
                ),
            );
            ok = false;
            n
        }
        Some(n) => n,
        None => {
            cx.notes.push(format!(
                "pool `{name}`: autoscale initial not set, starting at min ({})",
                a.min
            ));
            a.min
        }
    };
    let evaluation_period = dur_or(
        cx,
        &a.evaluation_period,
        &path("evaluation_period"),
        SimDuration::from_secs(60),
        || {
            format!(
                "pool `{name}`: evaluation_period not set, using 60s (AWS: 1-minute datapoints)"
            )
        },
    )?;
    if evaluation_period == SimDuration::ZERO {
        cx.fail(
            &path("evaluation_period"),
            "evaluation_period must be longer than zero",
        );
        ok = false;
    }
    let mut periods = |given: Option<u32>, f: &str, default: u32, why: &str| match given {
        Some(n) if (1..=100).contains(&n) => n,
        Some(n) => {
            cx.fail(
                &path(f),
                format!("{f} must be between 1 and 100, found {n}"),
            );
            ok = false;
            1
        }
        None => {
            cx.notes.push(format!(
                "pool `{name}`: {f} not set, using {default} ({why})"
            ));
            default
        }
    };
    let evaluation_periods = periods(
        a.evaluation_periods,
        "evaluation_periods",
        3,
        "AWS target tracking's scale-out alarm: 3 datapoints",
    );
    let scale_in_periods = periods(
        a.scale_in_periods,
        "scale_in_periods",
        15,
        "AWS target tracking's scale-in alarm: 15 datapoints",
    );
    let cooldown = dur_or(
        cx,
        &a.cooldown,
        &path("cooldown"),
        SimDuration::from_secs(300),
        || format!("pool `{name}`: cooldown not set, using 300s (the EC2 Auto Scaling default)"),
    )?;
    let scale_in_cooldown = dur_or(
        cx,
        &a.scale_in_cooldown,
        &path("scale_in_cooldown"),
        cooldown,
        || format!("pool `{name}`: scale_in_cooldown not set, using the cooldown ({cooldown})"),
    )?;
    let warm_up = dur_or(cx, &a.warm_up, &path("warm_up"), cooldown, || {
        format!(
            "pool `{name}`: warm_up not set, using the cooldown ({cooldown}; AWS's instance warm-up default)"
        )
    })?;
    let drain = dur_or(
        cx,
        &a.drain,
        &path("drain"),
        SimDuration::from_secs(30),
        || {
            format!(
                "pool `{name}`: drain not set, using 30s (Kubernetes' terminationGracePeriodSeconds)"
            )
        },
    )?;
    let tolerance = match a.tolerance {
        Some(t) if t.is_finite() && (0.0..1.0).contains(&t) => t,
        Some(t) => {
            cx.fail(
                &path("tolerance"),
                format!("tolerance must be in [0, 1), found {t}"),
            );
            ok = false;
            0.0
        }
        None => {
            cx.notes.push(format!(
                "pool `{name}`: tolerance not set, using 0.1 (Kubernetes HPA: no action within 10% of the target)"
            ));
            0.1
        }
    };
    ok.then_some(Some(AutoscaleSpec {
        metric,
        min: a.min,
        max: a.max,
        initial,
        evaluation_period,
        evaluation_periods,
        scale_in_periods,
        cooldown,
        scale_in_cooldown,
        warm_up,
        drain,
        tolerance,
    }))
}

/// `discovery: Registry(…)` of pool `i`. `None` when invalid (errors recorded).
pub(super) fn discovery(
    cx: &mut Ctx<'_>,
    p: &raw::Pool,
    i: usize,
) -> Option<Option<DiscoverySpec>> {
    let Some(d) = &p.discovery else {
        return Some(None);
    };
    let path = |f: &str| format!("pools[{i}].discovery.{f}");
    let name = &p.name;
    let registration_delay = dur_or(
        cx,
        &d.registration_delay,
        &path("registration_delay"),
        SimDuration::from_secs(30),
        || {
            format!(
                "pool `{name}`: registration_delay not set, using 30s (Eureka clients fetch the registry every 30 s)"
            )
        },
    )?;
    let heartbeat = dur_or(
        cx,
        &d.heartbeat,
        &path("heartbeat"),
        SimDuration::from_secs(30),
        || format!("pool `{name}`: heartbeat not set, using 30s (Eureka's lease renewal interval)"),
    )?;
    let ttl = dur_or(cx, &d.ttl, &path("ttl"), SimDuration::from_secs(90), || {
        format!("pool `{name}`: ttl not set, using 90s (Eureka's lease expiration)")
    })?;
    if heartbeat == SimDuration::ZERO {
        cx.fail(&path("heartbeat"), "heartbeat must be longer than zero");
        return None;
    }
    if ttl < heartbeat {
        cx.fail_help(
            &path("ttl"),
            format!("ttl ({ttl}) is shorter than the heartbeat ({heartbeat}): every live replica would expire between heartbeats"),
            "make ttl a few heartbeats long (Eureka: 90 s for 30 s)",
        );
        return None;
    }
    Some(Some(DiscoverySpec {
        registration_delay,
        ttl,
        heartbeat,
    }))
}

/// `PoissonSteps(steps: [("0s", 50.0), ("10m", 150.0)])`: ascending times from zero, positive
/// rates.
pub(super) fn steps(cx: &mut Ctx<'_>, steps: &[(String, f64)], ap: &str) -> Option<Arrivals> {
    let path = format!("{ap}.steps");
    if steps.is_empty() {
        cx.fail_help(
            &path,
            "steps is empty",
            "write e.g. [(\"0s\", 50.0), (\"600s\", 150.0)]: from each time on, that many requests per second",
        );
        return None;
    }
    let mut out = Vec::with_capacity(steps.len());
    for (k, (at, rate)) in steps.iter().enumerate() {
        let p = format!("{path}[{k}]");
        let t = cx.duration(at, &p)?;
        let r = cx.rate(*rate, &p)?;
        if k == 0 && t != SimDuration::ZERO {
            cx.fail_help(
                &p,
                format!("the first step starts at {t}, not at 0s"),
                "start with (\"0s\", rate)",
            );
            return None;
        }
        if let Some(&(prev, _)) = out.last()
            && t <= prev
        {
            cx.fail(
                &p,
                format!("steps must be in increasing time order: {t} is not after {prev}"),
            );
            return None;
        }
        out.push((t, r));
    }
    Some(Arrivals::PoissonSteps { steps: out })
}

//! Meaning: raw file → [`Spec`]. Checks names, references, ranges, durations, distributions
//! and the topology (petgraph), collects every problem with its position, and reports the one
//! that comes first in the file, so the answer does not depend on the order of the checks.
//! Every default it applies becomes a note for the report.

use crate::ScenarioError;

mod balancing;
mod clients;
mod fleet;
mod network;
mod resilience;
mod scaling;
mod tiers;
use crate::locate::Locations;
use crate::raw;
use crate::suggest::{did_you_mean, one_of};
use models::spec::{
    Arrivals, BalancerSpec, ClientSpec, Discipline, FaultKind, GrayFailureSpec, HealthCheckSpec,
    OutlierSpec, PolicySpec, PoolSpec, ScheduledFault, Spec, Target,
};
use models::store_spec::StoreSpec;
use petgraph::algo::{has_path_connecting, tarjan_scc};
use petgraph::graph::{DiGraph, NodeIndex};
use reports::{DEFAULT_SLO_AVAILABILITY, Expectation, Slo, SloSource};
use sim_core::{Dist, DistError, SimDuration, parse_duration};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// Run-away guard when the file sets no `max_events`.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;

/// What validation yields: the topology, the stores, the expectations, the objective and the
/// notes the report must print.
pub type Validated = (Spec, Vec<StoreSpec>, Vec<Expectation>, Slo, Vec<String>);

/// Validates `raw` (parsed from `src`) into a spec, its stores, its expectations and the notes
/// the report must print.
pub fn validate(
    raw: raw::Scenario,
    src: &str,
    file: &str,
    ext: &crate::Extensions,
) -> Result<Validated, ScenarioError> {
    let mut cx = Ctx {
        src,
        file,
        ext,
        loc: Locations::scan(src),
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let mut raw = raw;
    fleet::normalise(&mut cx, &mut raw);
    scaling::normalise(&mut cx, &mut raw);
    // Sizes first: the other checks expand faults per replica, and a size past its budget
    // would exhaust memory there.
    budgets(&raw, &mut cx);
    if let Some(first) = first_error(&mut cx.errors) {
        return Err(first);
    }
    let mut spec = build(&raw, &mut cx);
    if let Some(s) = &spec {
        events_per_second(s, &mut cx);
    }
    let mut stores = crate::validate_store::stores(&raw, &mut cx);
    if let Some(s) = spec.as_mut() {
        crate::validate_store::consumer_hops(s, &mut stores);
    }
    let expect = expectations(&raw, &stores, &mut cx);
    let slo = slo(&raw, &expect, spec.as_ref().map(|s| s.horizon), &mut cx);
    // The window's one home is the spec; the objective keeps only its target.
    let slo = slo.map(|(o, window)| {
        if let Some(s) = spec.as_mut() {
            s.window = window;
            if let Err(msg) = crate::limits::check_samples(s.horizon, s.window, total_replicas(s)) {
                let path = if raw.slo.as_ref().is_some_and(|o| o.window.is_some()) {
                    "slo.window"
                } else {
                    "horizon"
                };
                cx.fail_help(
                    path,
                    msg,
                    format!(
                        "lengthen the window (slo: Slo(window: …)); {}",
                        crate::limits::raise_hint()
                    ),
                );
            }
        }
        o
    });
    crate::validate_store::drop_topology_notes(&raw, &mut cx.notes);
    if let Some(first) = first_error(&mut cx.errors) {
        return Err(first);
    }
    match spec {
        Some(s) => Ok((
            s,
            stores,
            expect,
            slo.unwrap_or_else(|| unreachable!("a missing objective records an error")),
            cx.notes,
        )),
        // Every failed check records an error, so this is not reached; an error beats a panic.
        None => Err(ScenarioError::at(
            file,
            src,
            0..0,
            "the scenario is invalid",
        )),
    }
}

/// `text` with every control character written as an escape (`\u{1b}`), so that printing it
/// never moves a terminal's cursor, changes its colours or rings its bell.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Replicas of every pool together.
pub fn total_replicas(spec: &Spec) -> u64 {
    spec.pools.iter().map(|p| u64::from(p.replicas)).sum()
}

/// The first problem in the file; for two at the same place, the first found.
fn first_error(errors: &mut Vec<ScenarioError>) -> Option<ScenarioError> {
    let i = (0..errors.len()).min_by_key(|&i| errors[i].span.as_ref().map_or(0, |s| s.start))?;
    Some(errors.swap_remove(i))
}

/// Replicas (all pools together) and workers (per replica) within their budgets: the run keeps
/// state per replica and per worker.
fn budgets(raw: &raw::Scenario, cx: &mut Ctx<'_>) {
    let lim = crate::limits::limits();
    let mut total = 0u64;
    for (i, p) in raw.pools.iter().enumerate() {
        total = total.saturating_add(u64::from(p.replicas));
        if p.replicas != raw::NO_REPLICAS && total > lim.replicas {
            cx.fail_help(
                &format!("pools[{i}].replicas"),
                format!(
                    "pool `{}` brings the scenario to {total} replicas, more than the limit of {} (the run keeps state for every replica)",
                    p.name, lim.replicas
                ),
                crate::limits::raise_hint(),
            );
            break;
        }
    }
    for (i, p) in raw.pools.iter().enumerate() {
        if let Some(w) = p.workers
            && u64::from(w) > lim.workers
        {
            cx.fail_help(
                &format!("pools[{i}].workers"),
                format!(
                    "pool `{}` has {w} workers per replica, more than the limit of {} (the run keeps state for every worker)",
                    p.name, lim.workers
                ),
                crate::limits::raise_hint(),
            );
        }
    }
}

/// The events the arrival, failure and probe processes put into one simulated second, within
/// its budget: past it a run would take hours of wall time per simulated second, and past 10⁹
/// the nanosecond clock would stop advancing.
fn events_per_second(spec: &Spec, cx: &mut Ctx<'_>) {
    let lim = crate::limits::limits();
    let mut total = 0.0;
    let mut parts: Vec<(f64, String)> = Vec::new();
    for c in &spec.clients {
        let r = match &c.arrivals {
            Arrivals::Poisson { rate_per_s } | Arrivals::Constant { rate_per_s } => *rate_per_s,
            Arrivals::Uniform { min, max } => 2e9 / (min.0 as f64 + max.0 as f64).max(1.0),
            Arrivals::PoissonSteps { steps } => steps.iter().map(|s| s.1).fold(0.0, f64::max),
            Arrivals::Custom(_) => c.arrivals.rate_per_s(),
            // At most one request per user per think time while nothing answers at once.
            Arrivals::Users { .. } | Arrivals::Curve { .. } | Arrivals::Trace { .. } => {
                c.arrivals.rate_per_s()
            }
            Arrivals::Mmpp { states } => states.iter().map(|s| s.rate_per_s).fold(0.0, f64::max),
        };
        total += r;
        parts.push((r, format!("client `{}`", c.name)));
    }
    for p in &spec.pools {
        let n = f64::from(p.replicas);
        if let Some(f) = &p.failures {
            let r = n * 2e9 / (f.time_to_failure.mean_ns() + f.time_to_repair.mean_ns()).max(1.0);
            total += r;
            parts.push((r, format!("pool `{}`'s failures", p.name)));
        }
        if let Some(g) = &p.gray_failures {
            let r = n * 2e9 / (g.time_between.mean_ns() + g.duration.mean_ns()).max(1.0);
            total += r;
            parts.push((r, format!("pool `{}`'s gray failures", p.name)));
        }
    }
    for b in &spec.balancers {
        if let (Some(h), models::spec::Target::Pool(p)) = (&b.health_check, b.target)
            && let Some(pool) = spec.pools.get(p)
        {
            let r = f64::from(pool.replicas) * 1e9 / h.interval.0.max(1) as f64;
            total += r;
            parts.push((r, format!("balancer `{}`'s health checks", b.name)));
        }
        if let Some(f) = &b.failures {
            let r = 2e9 / (f.time_to_failure.mean_ns() + f.time_to_repair.mean_ns()).max(1.0);
            total += r;
            parts.push((r, format!("balancer `{}`'s failures", b.name)));
        }
    }
    if total <= lim.events_per_s {
        return;
    }
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: Vec<String> = parts
        .iter()
        .take(3)
        .map(|(r, what)| format!("{what} {}", round_rate(*r)))
        .collect();
    cx.fail_help(
        if spec.clients.is_empty() { "pools" } else { "clients" },
        format!(
            "the scenario would put about {:.1e} events into each simulated second ({}), more than the limit of {:e} (each simulated second would cost seconds of computing, and past 10⁹ the nanosecond clock stops advancing)",
            total,
            top.join(", "),
            lim.events_per_s
        ),
        format!("lower the rates or lengthen the times; {}", crate::limits::raise_hint()),
    );
}

/// A rate for a message: `3.2e12/s`, `240/s`.
fn round_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{r:.1e}/s")
    } else {
        format!("{}/s", (r * 10.0).round() / 10.0)
    }
}

/// What validation carries along: where values are, and what it found so far.
pub(crate) struct Ctx<'a> {
    src: &'a str,
    file: &'a str,
    loc: Locations,
    errors: Vec<ScenarioError>,
    pub(crate) notes: Vec<String>,
    /// The program's own components (`Custom(name: …)`).
    pub(crate) ext: &'a crate::Extensions,
}

impl Ctx<'_> {
    /// An error at the value at `path` (or at the nearest enclosing value written in the file).
    fn at(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        let span = self.loc.nearest(path).unwrap_or(0..0);
        ScenarioError::at(self.file, self.src, span, message)
    }

    fn push(&mut self, e: ScenarioError) {
        self.errors.push(e);
    }

    pub(crate) fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.push(self.at(path, message));
    }

    pub(crate) fn fail_help(
        &mut self,
        path: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(self.at(path, message).with_help(help));
    }

    pub(crate) fn duration(&mut self, text: &str, path: &str) -> Option<SimDuration> {
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                let help = "write a number and a unit: \"300ms\", \"2s\", \"1.5s\", \"6h\"";
                self.fail_help(path, e.message, help);
                None
            }
        }
    }

    pub(crate) fn positive_duration(
        &mut self,
        text: &str,
        path: &str,
        what: &str,
    ) -> Option<SimDuration> {
        let d = self.duration(text, path)?;
        if d == SimDuration::ZERO {
            self.fail(path, format!("{what} must be longer than zero"));
            return None;
        }
        Some(d)
    }

    pub(crate) fn rate(&mut self, r: f64, path: &str) -> Option<f64> {
        let lim = crate::limits::limits().events_per_s;
        if r.is_finite() && r > lim {
            self.fail_help(
                path,
                format!(
                    "rate_per_s {r:e} is more than the limit of {lim:e} events per simulated second (each simulated second would cost seconds of computing, and past 10⁹ the nanosecond clock stops advancing)"
                ),
                crate::limits::raise_hint(),
            );
            return None;
        }
        if r.is_finite() && r > 0.0 {
            return Some(r);
        }
        self.fail_help(
            path,
            format!("rate_per_s must be a positive number, found {r}"),
            "a rate is requests per second, e.g. 0.9 or 240.0",
        );
        None
    }

    pub(crate) fn dist(&mut self, d: &raw::Dist, path: &str) -> Option<Dist> {
        let field = |f: &str| format!("{path}.{f}");
        let (variant, built) = match d {
            raw::Dist::Constant(v) => ("Constant", Ok(Dist::constant(self.duration(v, path)?))),
            raw::Dist::Exponential { mean } => (
                "Exponential",
                Dist::exponential(self.duration(mean, &field("mean"))?),
            ),
            raw::Dist::Uniform { low, high } => {
                let l = self.duration(low, &field("low"));
                let h = self.duration(high, &field("high"));
                ("Uniform", Dist::uniform(l?, h?))
            }
            raw::Dist::Normal { mean, sd } => {
                let m = self.duration(mean, &field("mean"));
                let s = self.duration(sd, &field("sd"));
                ("Normal", Dist::normal(m?, s?))
            }
            raw::Dist::LogNormal {
                mean,
                sd,
                median,
                p99,
            } => match (mean, sd, median, p99) {
                (Some(m), Some(s), None, None) => {
                    let m = self.duration(m, &field("mean"));
                    let s = self.duration(s, &field("sd"));
                    ("LogNormal", Dist::lognormal_mean_sd(m?, s?))
                }
                (None, None, Some(md), Some(p)) => {
                    let md = self.duration(md, &field("median"));
                    let p = self.duration(p, &field("p99"));
                    ("LogNormal", Dist::lognormal_median_p99(md?, p?))
                }
                _ => {
                    let given: Vec<&str> =
                        [("mean", mean), ("sd", sd), ("median", median), ("p99", p99)]
                            .into_iter()
                            .filter(|(_, v)| v.is_some())
                            .map(|(n, _)| n)
                            .collect();
                    let found = if given.is_empty() {
                        "none".to_string()
                    } else {
                        given
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    };
                    self.fail_help(
                        path,
                        format!(
                            "LogNormal needs either `mean` and `sd`, or `median` and `p99`; found {found}"
                        ),
                        "e.g. LogNormal(median: \"30ms\", p99: \"200ms\") or LogNormal(mean: \"40ms\", sd: \"30ms\")",
                    );
                    return None;
                }
            },
            raw::Dist::Erlang { k, mean } => {
                let lim = crate::limits::limits().erlang_k;
                if u64::from(*k) > lim {
                    self.fail_help(
                        &field("k"),
                        format!(
                            "Erlang k ({k}) is more than the limit of {lim} (each draw sums k exponential draws)"
                        ),
                        format!("for a nearly constant time use Constant(…); {}", crate::limits::raise_hint()),
                    );
                    return None;
                }
                (
                    "Erlang",
                    Dist::erlang(*k, self.duration(mean, &field("mean"))?),
                )
            }
            raw::Dist::HyperExponential { branches } => {
                return self.hyperexponential(branches, path);
            }
            raw::Dist::Pareto { scale, shape } => (
                "Pareto",
                Dist::pareto(self.duration(scale, &field("scale"))?, *shape),
            ),
            raw::Dist::Weibull { scale, shape } => (
                "Weibull",
                Dist::weibull(self.duration(scale, &field("scale"))?, *shape),
            ),
            raw::Dist::Empirical(values) => {
                let mut vs = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    vs.push(self.duration(v, &format!("{path}[{i}]")));
                }
                let vs: Option<Vec<SimDuration>> = vs.into_iter().collect();
                ("Empirical", Dist::empirical(&vs?))
            }
            raw::Dist::Custom { name, params } => {
                return crate::extend::distribution(self, name, params, path);
            }
        };
        built.map_err(|e| self.dist_error(variant, &e, path)).ok()
    }

    /// `failures: Failures(time_to_failure: …, time_to_repair: …)` at `path`: both times must
    /// have a mean above zero, or crashes and repairs would follow each other without the clock
    /// advancing.
    pub(crate) fn failures(
        &mut self,
        f: &raw::Failures,
        path: &str,
    ) -> Option<models::spec::FailureSpec> {
        let mut ok = true;
        let mut time = |cx: &mut Ctx<'_>, d: &raw::Dist, field: &str, hint: &str| {
            let at = format!("{path}.{field}");
            let d = cx.dist(d, &at)?;
            if d.mean_ns() < 1.0 {
                cx.fail_help(
                    &at,
                    format!("{field} must have a mean above zero (crashes and repairs in no time would never let the clock advance)"),
                    hint,
                );
                ok = false;
            }
            Some(d)
        };
        let ttf = time(
            self,
            &f.time_to_failure,
            "time_to_failure",
            "the mean time between failures (MTBF), e.g. Exponential(mean: \"7d\")",
        );
        let ttr = time(
            self,
            &f.time_to_repair,
            "time_to_repair",
            "the mean time to repair (MTTR), e.g. Exponential(mean: \"5m\")",
        );
        let (Some(time_to_failure), Some(time_to_repair), true) = (ttf, ttr, ok) else {
            return None;
        };
        Some(models::spec::FailureSpec {
            time_to_failure,
            time_to_repair,
        })
    }

    /// Branches are checked one by one here, so the error points at the branch at fault.
    fn hyperexponential(&mut self, branches: &[raw::Branch], path: &str) -> Option<Dist> {
        let bpath = format!("{path}.branches");
        if branches.is_empty() {
            self.fail_help(
                &bpath,
                "HyperExponential needs at least one branch",
                "e.g. branches: [(p: 0.9, mean: \"10ms\"), (p: 0.1, mean: \"1s\")]",
            );
            return None;
        }
        let mut bs = Vec::new();
        let mut ok = true;
        for (i, b) in branches.iter().enumerate() {
            if !(b.p.is_finite() && b.p > 0.0 && b.p <= 1.0) {
                self.fail(
                    &format!("{bpath}[{i}].p"),
                    format!("a branch probability must be in (0, 1], found {}", b.p),
                );
                ok = false;
            }
            let mean_path = format!("{bpath}[{i}].mean");
            match self.duration(&b.mean, &mean_path) {
                Some(SimDuration::ZERO) => {
                    self.fail(&mean_path, "a branch mean must be longer than zero");
                    ok = false;
                }
                Some(m) => bs.push((b.p, m)),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let sum: f64 = branches.iter().map(|b| b.p).sum();
        Dist::hyperexponential(&bs)
            .map_err(|e| {
                if e.parameter == "p" {
                    self.fail_help(
                        &bpath,
                        format!(
                            "HyperExponential branch probabilities must sum to 1, they sum to {sum}"
                        ),
                        "each `p` is the chance a request takes that branch",
                    );
                } else {
                    self.dist_error("HyperExponential", &e, path);
                }
            })
            .ok()
    }

    /// A parameter sim-core refused, reported at that parameter.
    fn dist_error(&mut self, variant: &str, e: &DistError, path: &str) {
        let at = match e.parameter {
            "values" | "branches" => path.to_string(),
            p => format!("{path}.{p}"),
        };
        self.fail(
            &at,
            format!("invalid {variant}: `{}` {}", e.parameter, e.message),
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Balancer,
    Pool,
}

/// Every component's name, with the kind and index of its first use.
type Names<'a> = BTreeMap<&'a str, (Kind, usize)>;

/// Names and what the checks that use them need to know.
struct Registry<'a> {
    names: Names<'a>,
    /// Names used more than once: already an error, so references to them are not checked.
    twice: BTreeSet<&'a str>,
}

fn build(raw: &raw::Scenario, cx: &mut Ctx<'_>) -> Option<Spec> {
    if raw.name.trim().is_empty() {
        cx.fail("name", "the scenario's name is empty");
    }
    if raw.name.chars().any(char::is_control) {
        cx.notes.push(format!(
            "the scenario's name `{}` contains control characters (shown escaped): a terminal would act on them",
            escape_controls(&raw.name)
        ));
    }
    let horizon = cx.positive_duration(&raw.horizon, "horizon", "horizon");
    let warmup = match &raw.warmup {
        Some(w) => cx.duration(w, "warmup"),
        None => {
            cx.notes
                .push("warmup not set: statistics include the start-up transient".into());
            Some(SimDuration::ZERO)
        }
    };
    if let (Some(h), Some(w)) = (horizon, warmup)
        && w >= h
    {
        cx.fail_help(
            "warmup",
            format!("warmup ({w}) must be shorter than the horizon ({h})"),
            "statistics are collected between warmup and horizon",
        );
    }
    let max_events = raw.max_events.unwrap_or(DEFAULT_MAX_EVENTS);
    if max_events == 0 {
        cx.fail("max_events", "max_events must be at least 1");
    }
    // A scenario of stores alone needs no request topology.
    if raw.clients.is_empty() && raw.stores.is_empty() {
        cx.fail_help(
            "clients",
            "the scenario has no client: nothing sends requests",
            "add `Client(name: \"users\", arrivals: Poisson(rate_per_s: 1.0), target: \"…\")`",
        );
    }
    if raw.pools.is_empty() && raw.stores.is_empty() {
        cx.fail_help(
            "pools",
            "the scenario has no pool: nothing serves requests",
            "add `Pool(name: \"web\", replicas: 1, service: Exponential(mean: \"10ms\"))`",
        );
    }
    let names = names(raw, cx);

    let mut pools: Vec<Option<PoolSpec>> = raw
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| pool(cx, p, i))
        .collect();
    let (hops, dependency_targets) = tiers::dependencies(cx, raw, &names, &mut pools);

    // Resolve every reference first: the policy and topology checks need them all.
    let balancer_targets: Vec<Option<Target>> = raw
        .balancers
        .iter()
        .enumerate()
        .map(|(i, b)| resolve(cx, &names, &b.target, &format!("balancers[{i}].target")))
        .collect();
    let client_targets: Vec<Option<Target>> = raw
        .clients
        .iter()
        .enumerate()
        .map(|(i, c)| resolve(cx, &names, &c.target, &format!("clients[{i}].target")))
        .collect();

    let balancers: Vec<Option<BalancerSpec>> = raw
        .balancers
        .iter()
        .zip(&balancer_targets)
        .enumerate()
        .map(|(i, (b, t))| {
            let policy = policy(cx, raw, b, *t, i);
            let (health_check, panic_threshold) = health(cx, b, *t, i);
            let outlier_detection = outlier(cx, b, *t, i);
            let zone = balancing::zone(cx, raw, b, *t, i);
            let slow_start = balancing::slow_start(cx, b, policy.as_ref(), i);
            let per_client = balancing::per_client(cx, raw, b, *t, policy.as_ref(), i);
            Some(BalancerSpec {
                name: b.name.clone(),
                policy: policy?,
                target: (*t)?,
                health_check: health_check?,
                outlier_detection: outlier_detection?,
                panic_threshold: panic_threshold?,
                zone: None, // set by network::apply
                failures: None,
                standby: None,
                zone_aware: zone?,
                slow_start: slow_start?,
                per_client: per_client?,
                failover_time: None,
            })
        })
        .collect();
    let clients: Vec<Option<ClientSpec>> = raw
        .clients
        .iter()
        .zip(&client_targets)
        .enumerate()
        .map(|(i, (c, t))| client(cx, raw, c, *t, i))
        .collect();

    topology(
        cx,
        raw,
        &client_targets,
        &balancer_targets,
        &dependency_targets,
    );

    Some(Spec {
        name: raw.name.clone(),
        horizon: horizon?,
        warmup: warmup?,
        max_events,
        window: SimDuration::ZERO, // set from the objective below
        clients: clients.into_iter().collect::<Option<_>>()?,
        balancers: balancers.into_iter().collect::<Option<_>>()?,
        pools: pools.into_iter().collect::<Option<_>>()?,
        faults: scheduled_faults(cx, raw, horizon?)?,
        zones: Vec::new(),
        partitions: Vec::new(),
        balancer_outages: Vec::new(),
        hops: hops?,
    })
    .and_then(|mut spec| network::apply(cx, raw, &mut spec).then_some(spec))
}

/// Names: non-empty and unique across every component; a duplicate is reported at its second
/// use.
fn names<'a>(raw: &'a raw::Scenario, cx: &mut Ctx<'_>) -> Registry<'a> {
    let entries = (raw.clients.iter().enumerate())
        .map(|(i, c)| {
            (
                Kind::Client,
                i,
                c.name.as_str(),
                format!("clients[{i}].name"),
            )
        })
        .chain(raw.balancers.iter().enumerate().map(|(i, b)| {
            (
                Kind::Balancer,
                i,
                b.name.as_str(),
                format!("balancers[{i}].name"),
            )
        }))
        .chain(
            raw.pools
                .iter()
                .enumerate()
                .map(|(i, p)| (Kind::Pool, i, p.name.as_str(), format!("pools[{i}].name"))),
        );
    let mut names = Names::new();
    let mut twice = BTreeSet::new();
    for (kind, i, name, path) in entries {
        if name.chars().any(char::is_control) {
            cx.notes.push(format!(
                "the name `{}` contains control characters (shown escaped): a terminal would act on them",
                escape_controls(name)
            ));
        }
        if name.trim().is_empty() {
            cx.fail(&path, "a component's name is empty");
            continue;
        }
        match names.entry(name) {
            Entry::Occupied(_) => {
                twice.insert(name);
                cx.fail_help(
                    &path,
                    format!("the name `{name}` is used twice"),
                    "every client, balancer and pool needs its own name",
                );
            }
            Entry::Vacant(v) => {
                v.insert((kind, i));
            }
        }
    }
    Registry { names, twice }
}

/// The balancer or pool called `name`, or an error at `path`. Nothing is reported for a name
/// used twice or when there is nothing to target at all: those are errors already, and the
/// reference is only their consequence.
fn resolve(cx: &mut Ctx<'_>, reg: &Registry<'_>, name: &str, path: &str) -> Option<Target> {
    let names = &reg.names;
    let targets: Vec<&str> = names
        .iter()
        .filter(|(_, (k, _))| *k != Kind::Client)
        .map(|(n, _)| *n)
        .collect();
    if reg.twice.contains(name) || targets.is_empty() {
        return None;
    }
    let expected = one_of(&targets);
    match names.get(name) {
        Some((Kind::Pool, i)) => Some(Target::Pool(*i)),
        Some((Kind::Balancer, i)) => Some(Target::Balancer(*i)),
        Some((Kind::Client, _)) => {
            let e = cx.at(
                path,
                format!("`{name}` is a client: requests go to a balancer or a pool"),
            );
            cx.push(e.with_expected(expected));
            None
        }
        None => {
            let mut e = cx
                .at(path, format!("unknown component `{name}`"))
                .with_expected(expected);
            if let Some(m) = did_you_mean(name, targets.iter().copied()) {
                e = e.with_help(format!("did you mean `{m}`?"));
            }
            cx.push(e);
            None
        }
    }
}

fn replicas_of(raw: &raw::Scenario, t: Option<Target>) -> Option<u32> {
    match t? {
        Target::Pool(p) => raw.pools.get(p).map(|p| p.replicas),
        Target::Balancer(_) => None,
    }
}

fn policy(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    b: &raw::Balancer,
    target: Option<Target>,
    i: usize,
) -> Option<PolicySpec> {
    let at = |f: &str| format!("balancers[{i}].policy.{f}");
    Some(match &b.policy {
        raw::Policy::RoundRobin => PolicySpec::RoundRobin,
        raw::Policy::Random => PolicySpec::Random,
        raw::Policy::LeastConnections => PolicySpec::LeastConnections,
        raw::Policy::JoinShortestQueue => PolicySpec::JoinShortestQueue,
        raw::Policy::JoinIdleQueue => PolicySpec::JoinIdleQueue,
        raw::Policy::Custom { name, params } => {
            let owner = format!("balancer `{}`", b.name);
            let path = format!("balancers[{i}].policy");
            return crate::extend::policy(cx, name, params, &path, &owner);
        }
        raw::Policy::DnsRoundRobin { ttl } => {
            let ttl = match ttl {
                Some(text) => {
                    let path = at("ttl");
                    let d = cx.duration(text, &path)?;
                    if d == SimDuration::ZERO {
                        cx.fail_help(
                            &path,
                            "ttl must be longer than zero",
                            "a TTL of zero resolves on every request: that is RoundRobin",
                        );
                        return None;
                    }
                    d
                }
                None => {
                    cx.notes.push(format!(
                        "balancer `{}`: DnsRoundRobin ttl not set, using 30s (Java's networkaddress.cache.ttl; Route 53 alias records: 60s)",
                        b.name
                    ));
                    SimDuration::from_secs(30)
                }
            };
            PolicySpec::DnsRoundRobin { ttl }
        }
        raw::Policy::LeastRequest {
            choices,
            replacement,
            weights,
            active_request_bias,
        } => {
            let choices = *choices;
            let path = at("choices");
            if choices == 0 {
                cx.fail_help(&path, "choices must be at least 1", "Envoy's default is 2");
                return None;
            }
            // Every pick draws `choices` times: a budget (found by the fuzzer: 2³² − 1 draws
            // with replacement per request never ended).
            let lim = crate::limits::limits().choices;
            if u64::from(choices) > lim {
                cx.fail_help(
                    &path,
                    format!(
                        "choices ({choices}) is more than the limit of {lim} (every pick draws `choices` backends)"
                    ),
                    format!(
                        "power of two choices (2) is Envoy's default; JoinShortestQueue compares every backend; {}",
                        crate::limits::raise_hint()
                    ),
                );
                return None;
            }
            // Only a pool's replicas are backends to sample from; zero replicas is its own error.
            // Sampling with replacement may draw more times than there are replicas.
            if let Some(n) = replicas_of(raw, target).filter(|&n| n > 0 && choices > n)
                && !replacement
            {
                cx.fail_help(
                    &path,
                    format!(
                        "choices ({choices}) is more than the {n} replicas of `{}`",
                        b.target
                    ),
                    "sample at most as many replicas as there are, or set `replacement: true`",
                );
                return None;
            }
            let weights = match weights {
                Some(w) => Some(policy_weights(cx, raw, b, target, i, w)?),
                None => None,
            };
            let bias = match *active_request_bias {
                Some(x) if !(x.is_finite() && x >= 0.0) => {
                    cx.fail_help(
                        &at("active_request_bias"),
                        format!("active_request_bias must be a number ≥ 0, found {x}"),
                        "Envoy's default is 1.0; 0 ignores the load",
                    );
                    return None;
                }
                Some(x) => x,
                None => 1.0,
            };
            if !replacement && weights.is_none() && bias == 1.0 {
                PolicySpec::LeastRequest { choices }
            } else {
                if let Some(w) = &weights
                    && w.iter().any(|&x| x != w[0])
                {
                    cx.notes.push(format!(
                        "balancer `{}`: unequal weights: Envoy's weighted mode (earliest deadline first on weight / (active + 1)^{bias}); `choices` is not used",
                        b.name
                    ));
                }
                PolicySpec::LeastRequestOptions {
                    choices,
                    replacement: *replacement,
                    weights,
                    active_request_bias: bias,
                }
            }
        }
        raw::Policy::SmoothWeightedRoundRobin { weights } => PolicySpec::SmoothWeightedRoundRobin {
            weights: policy_weights(cx, raw, b, target, i, weights)?,
        },
        raw::Policy::WeightedRoundRobin { weights } => PolicySpec::WeightedRoundRobin {
            weights: policy_weights(cx, raw, b, target, i, weights)?,
        },
        raw::Policy::WeightedRandom { weights } => PolicySpec::WeightedRandom {
            weights: policy_weights(cx, raw, b, target, i, weights)?,
        },
        raw::Policy::WeightedLeastConnections { weights } => PolicySpec::WeightedLeastConnections {
            weights: policy_weights(cx, raw, b, target, i, weights)?,
        },
        raw::Policy::PeakEwma { decay, default_rtt } => {
            let (decay, default_rtt) = ewma_durations(
                cx,
                b,
                i,
                "PeakEwma",
                decay.as_deref(),
                default_rtt.as_deref(),
                (
                    "Finagle decayTime, Linkerd EWMA_DECAY",
                    "Linkerd EWMA_DEFAULT_RTT",
                ),
            )?;
            PolicySpec::PeakEwma { decay, default_rtt }
        }
        raw::Policy::LeastResponseTime { decay, default_rtt } => {
            let (decay, default_rtt) = ewma_durations(
                cx,
                b,
                i,
                "LeastResponseTime",
                decay.as_deref(),
                default_rtt.as_deref(),
                (
                    "as PeakEwma: NGINX documents none",
                    "as PeakEwma: NGINX documents none",
                ),
            )?;
            PolicySpec::LeastResponseTime { decay, default_rtt }
        }
        raw::Policy::FirstAvailable { maxconn } => {
            if *maxconn == 0 {
                cx.fail_help(
                    &at("maxconn"),
                    "maxconn must be at least 1",
                    "the requests in flight a replica takes before the next one is used",
                );
                return None;
            }
            PolicySpec::FirstAvailable { maxconn: *maxconn }
        }
        raw::Policy::RingHash {
            keys,
            minimum_ring_size,
        } => {
            let keys = policy_keys(cx, i, keys);
            let size = match *minimum_ring_size {
                Some(s) if !(1..=MAX_RING_SIZE).contains(&s) => {
                    cx.fail_help(
                        &at("minimum_ring_size"),
                        format!(
                            "minimum_ring_size must be between 1 and {MAX_RING_SIZE}, found {s}"
                        ),
                        "Envoy's default is 1024",
                    );
                    return None;
                }
                Some(s) => s,
                None => {
                    cx.notes.push(format!(
                        "balancer `{}`: RingHash minimum_ring_size not set, using 1024 (Envoy)",
                        b.name
                    ));
                    1024
                }
            };
            PolicySpec::RingHash {
                keys: keys?,
                minimum_ring_size: size,
            }
        }
        raw::Policy::Maglev { keys, table_size } => {
            let keys = policy_keys(cx, i, keys);
            let size = match *table_size {
                Some(t) if !(t <= MAX_MAGLEV_TABLE && is_prime(t)) => {
                    cx.fail_help(
                        &at("table_size"),
                        format!("table_size must be a prime at most {MAX_MAGLEV_TABLE}, found {t}"),
                        "Envoy's default is 65537; Maglev's table needs a prime size",
                    );
                    return None;
                }
                Some(t) => t,
                None => {
                    cx.notes.push(format!(
                        "balancer `{}`: Maglev table_size not set, using 65537 (Envoy)",
                        b.name
                    ));
                    65_537
                }
            };
            if let Some(n) = replicas_of(raw, target).filter(|&n| n > size) {
                cx.fail_help(
                    &at("table_size"),
                    format!(
                        "table_size ({size}) is smaller than the {n} replicas of `{}`",
                        b.target
                    ),
                    "Maglev needs at least one entry per backend; Maglev's authors use M ≥ 100·n",
                );
                return None;
            }
            PolicySpec::Maglev {
                keys: keys?,
                table_size: size,
            }
        }
    })
}

/// Largest ring (Envoy's `maximum_ring_size` default, 8M).
pub const MAX_RING_SIZE: u32 = 8_388_608;
/// Largest Maglev table (Envoy's limit).
pub const MAX_MAGLEV_TABLE: u32 = 5_000_011;

fn is_prime(n: u32) -> bool {
    let n = u64::from(n);
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// `keys: Uniform(n: …)` or `Zipf(n: …, s: …)`.
fn policy_keys(cx: &mut Ctx<'_>, i: usize, keys: &raw::Keys) -> Option<models::spec::KeySpec> {
    let at = |f: &str| format!("balancers[{i}].policy.keys.{f}");
    let n = match keys {
        raw::Keys::Uniform { n } | raw::Keys::Zipf { n, .. } => *n,
    };
    let mut ok = true;
    // A Zipf population keeps a table of its keys: 8 bytes per key.
    let max = crate::limits::limits().keys;
    if !(1..=max).contains(&u64::from(n)) {
        cx.fail_help(
            &at("n"),
            format!("the number of keys must be between 1 and {max}, found {n} (a key population keeps a table of 8 bytes per key)"),
            format!("e.g. keys: Zipf(n: 10000, s: 1.0); {}", crate::limits::raise_hint()),
        );
        ok = false;
    }
    match keys {
        raw::Keys::Uniform { .. } => ok.then_some(models::spec::KeySpec::Uniform { n }),
        raw::Keys::Zipf { s, .. } => {
            if !(s.is_finite() && *s > 0.0 && *s <= 10.0) {
                cx.fail_help(
                    &at("s"),
                    format!("the Zipf exponent must be above 0 and at most 10, found {s}"),
                    "about 1.0 for web objects; larger is more skewed",
                );
                ok = false;
            }
            ok.then_some(models::spec::KeySpec::Zipf { n, s: *s })
        }
    }
}

/// Largest weight a policy accepts: weights are relative, and sums stay far from overflow.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// `weights: [...]`: one per backend (a pool's replicas, or the one downstream balancer), each
/// in 1..=[`MAX_WEIGHT`].
fn policy_weights(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    b: &raw::Balancer,
    target: Option<Target>,
    i: usize,
    weights: &[u32],
) -> Option<Vec<u32>> {
    if weights.is_empty() {
        return fleet::group_weights(cx, raw, b, target, i);
    }
    let path = format!("balancers[{i}].policy.weights");
    let mut ok = true;
    for (j, &w) in weights.iter().enumerate() {
        if w == 0 || w > MAX_WEIGHT {
            cx.fail_help(
                &format!("{path}[{j}]"),
                format!("a weight must be between 1 and {MAX_WEIGHT}, found {w}"),
                "weights are relative: 1 is the lightest; to take a replica out, lower the pool's replicas",
            );
            ok = false;
        }
    }
    let backends = match target {
        Some(Target::Pool(_)) => replicas_of(raw, target).filter(|&n| n > 0),
        Some(Target::Balancer(_)) => Some(1),
        None => None,
    };
    if let Some(n) = backends
        && weights.len() != n as usize
    {
        let what = match target {
            Some(Target::Pool(_)) => format!("pool `{}` has {n} replicas", b.target),
            _ => format!("balancer `{}` is a single backend", b.target),
        };
        let found = match weights.len() {
            1 => "1 weight".to_string(),
            k => format!("{k} weights"),
        };
        cx.fail_help(
            &path,
            format!("{found} given, but {what}"),
            "give one weight per backend, in replica order",
        );
        ok = false;
    }
    ok.then(|| weights.to_vec())
}

/// The `decay` and `default_rtt` of a latency-aware policy: positive durations, 10 s and 30 ms
/// when not set (Finagle/Linkerd), each default noted.
fn ewma_durations(
    cx: &mut Ctx<'_>,
    b: &raw::Balancer,
    i: usize,
    what: &str,
    decay: Option<&str>,
    default_rtt: Option<&str>,
    sources: (&str, &str),
) -> Option<(SimDuration, SimDuration)> {
    let mut get = |text: Option<&str>, field: &str, default: SimDuration, source: &str| match text {
        Some(t) => cx.positive_duration(t, &format!("balancers[{i}].policy.{field}"), field),
        None => {
            cx.notes.push(format!(
                "balancer `{}`: {what} {field} not set, using {default} ({source})",
                b.name
            ));
            Some(default)
        }
    };
    let d = get(decay, "decay", SimDuration::from_secs(10), sources.0);
    let r = get(
        default_rtt,
        "default_rtt",
        SimDuration::from_millis(30),
        sources.1,
    );
    Some((d?, r?))
}

/// `Poisson(rate_per_s: …)`, `Constant(rate_per_s: …)`, `Uniform(min: …, max: …)` or, where
/// `steps` allows (clients of the topology), `PoissonSteps(steps: […])`.
pub(crate) fn arrivals(
    cx: &mut Ctx<'_>,
    a: &raw::Arrivals,
    path: &str,
    steps: bool,
) -> Option<Arrivals> {
    match a {
        raw::Arrivals::Poisson { rate_per_s } => cx
            .rate(*rate_per_s, &format!("{path}.rate_per_s"))
            .map(|r| Arrivals::Poisson { rate_per_s: r }),
        raw::Arrivals::Constant { rate_per_s } => cx
            .rate(*rate_per_s, &format!("{path}.rate_per_s"))
            .map(|r| Arrivals::Constant { rate_per_s: r }),
        raw::Arrivals::Custom { name, params } => crate::extend::arrivals(cx, name, params, path),
        raw::Arrivals::PoissonSteps { steps: s } if steps => scaling::steps(cx, s, path),
        a if clients::client_only(a).is_some() && !steps => {
            let what = clients::client_only(a).unwrap_or_default();
            let (message, help) = if what == "steps" {
                (
                    "a store's arrivals cannot have steps".to_string(),
                    "steps are for clients of the topology; use Poisson(rate_per_s: …)".to_string(),
                )
            } else {
                (
                    format!("a store's arrivals cannot be {what}"),
                    format!(
                        "{what} drives clients of the topology only; use Poisson(rate_per_s: …)"
                    ),
                )
            };
            cx.fail_help(path, message, help);
            None
        }
        raw::Arrivals::PoissonSteps { .. } => None,
        a @ (raw::Arrivals::Users { .. }
        | raw::Arrivals::Mmpp { .. }
        | raw::Arrivals::Daily { .. }
        | raw::Arrivals::Wave { .. }
        | raw::Arrivals::FlashCrowd { .. }
        | raw::Arrivals::Trace { .. }) => clients::arrivals(cx, a, path),
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

fn client(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    c: &raw::Client,
    target: Option<Target>,
    i: usize,
) -> Option<ClientSpec> {
    let arrivals = arrivals(cx, &c.arrivals, &format!("clients[{i}].arrivals"), true);
    let timeout = match &c.timeout {
        Some(t) => cx
            .positive_duration(t, &format!("clients[{i}].timeout"), "timeout")
            .map(Some),
        None => {
            cx.notes.push(format!(
                "client `{}`: no timeout (it waits for every response)",
                c.name
            ));
            Some(None)
        }
    };
    if let Some(n) = replicas_of(raw, target).filter(|&n| n > 1) {
        cx.fail_help(
            &format!("clients[{i}].target"),
            format!(
                "client `{}` sends straight to pool `{}`, which has {n} replicas",
                c.name, c.target
            ),
            "put a Balancer in front of it to choose among replicas",
        );
        return None;
    }
    let caller = resilience::Caller::client(c, i);
    let retry = resilience::retry(cx, &caller);
    resilience::note_timeouts(cx, &caller.what, timeout.as_ref(), retry.as_ref());
    let hedge = resilience::hedge(cx, &caller);
    let breaker = resilience::breaker(cx, &caller);
    if c.max_in_flight == Some(0) {
        cx.fail_help(
            &format!("clients[{i}].max_in_flight"),
            "max_in_flight must be at least 1",
            "leave it out for no client-side limit",
        );
        return None;
    }
    let priority = match c.priority {
        None => {
            if raw.clients.iter().any(|c| c.priority.is_some()) {
                cx.notes.push(format!(
                    "client `{}`: priority not set, using 0 (served first)",
                    c.name
                ));
            }
            Some(0)
        }
        Some(p @ 0..=7) => Some(p),
        Some(p) => {
            cx.fail_help(
                &format!("clients[{i}].priority"),
                format!("priority must be 0 (served first) to 7, found {p}"),
                "two or three classes are usual: 0 for critical traffic, 1 for the rest",
            );
            None
        }
    };
    if let (Some(Some(_)), Some(Some(_))) = (&retry, &hedge) {
        cx.fail_help(
            &format!("clients[{i}].hedge"),
            "a client has either a retry policy or a hedging policy, not both (as in gRPC)",
            "hedging already resends: a failed copy sends the next one at once, up to max_copies",
        );
        return None;
    }
    Some(ClientSpec {
        name: c.name.clone(),
        arrivals: arrivals?,
        timeout: timeout?,
        target: target?,
        retry: retry?,
        hedge: hedge?,
        breaker: breaker?,
        max_in_flight: c.max_in_flight,
        zone: None, // set by network::apply
        priority: priority?,
    })
}

fn pool(cx: &mut Ctx<'_>, p: &raw::Pool, i: usize) -> Option<PoolSpec> {
    let path = |f: &str| format!("pools[{i}].{f}");
    let mut ok = true;
    // With groups, their counts are checked one by one (fleet.rs).
    if p.replicas == 0 && p.groups.is_none() {
        cx.fail_help(
            &path("replicas"),
            format!("pool `{}` has zero replicas", p.name),
            "a pool needs at least 1 replica",
        );
        ok = false;
    }
    let workers = match p.workers {
        Some(0) => {
            cx.fail(&path("workers"), "workers must be at least 1");
            ok = false;
            0
        }
        Some(w) => w,
        None => {
            cx.notes.push(format!(
                "pool `{}`: workers not set, using 1 per replica",
                p.name
            ));
            1
        }
    };
    if p.queue_capacity.is_none() {
        cx.notes.push(format!(
            "pool `{}`: queue_capacity not set, using an unbounded queue",
            p.name
        ));
    }
    let service = cx.dist(&p.service, &path("service"));
    let failures = match &p.failures {
        Some(f) => cx.failures(f, &path("failures")).map(Some),
        None => {
            cx.notes.push(no_failures_note(p));
            Some(None)
        }
    };
    let error_rate = match p.error_rate {
        None => 0.0,
        // 1 is a dependency that always fails.
        Some(e) if e.is_finite() && (0.0..=1.0).contains(&e) => e,
        Some(e) => {
            cx.fail_help(
                &path("error_rate"),
                format!("error_rate must be a probability in [0, 1], found {e}"),
                "0.01 means one served request in a hundred answers with an error",
            );
            ok = false;
            0.0
        }
    };
    let discipline = match p.discipline {
        None | Some(raw::Discipline::Fifo) => Discipline::Fifo,
        Some(raw::Discipline::Lifo) => Discipline::Lifo,
        Some(raw::Discipline::AdaptiveLifo { above }) => Discipline::AdaptiveLifo { above },
        Some(raw::Discipline::ProcessorSharing) => {
            if p.dependencies.is_some() {
                cx.fail_help(
                    &path("discipline"),
                    format!(
                        "pool `{}` shares its processors and calls dependencies: not supported",
                        p.name
                    ),
                    "use Fifo (a thread per request) for a pool with dependencies",
                );
                ok = false;
            }
            Discipline::ProcessorSharing
        }
    };
    let rate_limit = resilience::rate_limit(cx, p, i);
    let fleet = fleet::fleet(cx, p, i, workers);
    let gray_failures = gray_failures(cx, p, i);
    let autoscale = scaling::autoscale(cx, p, i);
    let discovery = scaling::discovery(cx, p, i);
    let slowdown_per_request = match p.slowdown_per_request {
        None => 0.0,
        Some(k) if k.is_finite() && k >= 0.0 => k,
        Some(k) => {
            cx.fail_help(
                &path("slowdown_per_request"),
                format!("slowdown_per_request must be zero or more, found {k}"),
                "0.05 makes each request 5% slower per other request in service",
            );
            ok = false;
            0.0
        }
    };
    if !ok {
        return None;
    }
    Some(PoolSpec {
        rate_limit: rate_limit?,
        slowdown_per_request,
        zones: Vec::new(),  // set by network::apply
        dependencies: None, // set by tiers::dependencies
        name: p.name.clone(),
        replicas: p.replicas,
        workers,
        queue_capacity: p.queue_capacity,
        service: service?,
        failures: failures?,
        gray_failures: gray_failures?,
        error_rate,
        drop_stale: p.drop_stale.unwrap_or(false),
        discipline,
        autoscale: autoscale?,
        discovery: discovery?,
        fleet: fleet?,
    })
}

/// Loops, clients that reach no pool, components nothing sends to. Runs on whatever references
/// resolved, so a loop is reported even when other parts of the file are wrong; the reachability
/// checks run only when every reference resolved and nothing loops, since a typo'd target or a
/// loop would otherwise show up again as a misleading "receives no traffic".
fn topology(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    client_targets: &[Option<Target>],
    balancer_targets: &[Option<Target>],
    dependency_targets: &[(usize, Option<Target>)],
) {
    // Nodes by component index; the graph is built in file order, so everything derived from
    // it (including tarjan_scc's order) is deterministic.
    let mut g: DiGraph<(), ()> = DiGraph::new();
    let cn: Vec<NodeIndex> = raw.clients.iter().map(|_| g.add_node(())).collect();
    let bn: Vec<NodeIndex> = raw.balancers.iter().map(|_| g.add_node(())).collect();
    let pn: Vec<NodeIndex> = raw.pools.iter().map(|_| g.add_node(())).collect();
    let node = |t: Target| match t {
        Target::Balancer(b) => bn.get(b).copied(),
        Target::Pool(p) => pn.get(p).copied(),
    };
    for (from, t) in cn
        .iter()
        .zip(client_targets)
        .chain(bn.iter().zip(balancer_targets))
    {
        if let Some(to) = t.and_then(node) {
            g.add_edge(*from, to, ());
        }
    }
    for &(p, t) in dependency_targets {
        if let (Some(&from), Some(to)) = (pn.get(p), t.and_then(node)) {
            g.add_edge(from, to, ());
        }
    }

    // Balancers point at balancers and pools at their dependencies: either can loop.
    let mut looped = false;
    for scc in tarjan_scc(&g) {
        let is_loop = scc.len() > 1 || scc.first().is_some_and(|&n| g.contains_edge(n, n));
        let first_pool = scc
            .iter()
            .filter_map(|n| pn.iter().position(|p| p == n))
            .min();
        if let (true, Some(p)) = (is_loop, first_pool) {
            looped = true;
            let mut members: Vec<&str> = scc
                .iter()
                .filter_map(|n| {
                    (pn.iter()
                        .position(|q| q == n)
                        .map(|i| raw.pools[i].name.as_str()))
                    .or_else(|| {
                        bn.iter()
                            .position(|b| b == n)
                            .map(|i| raw.balancers[i].name.as_str())
                    })
                })
                .collect();
            members.sort_unstable();
            cx.fail_help(
                &format!("pools[{p}].dependencies"),
                format!(
                    "pool `{}` depends on itself: {} call each other in a loop",
                    raw.pools[p].name,
                    members.join(", ")
                ),
                "a request would never end; dependencies must form a tree (or a DAG)",
            );
            continue;
        }
        let first = scc
            .iter()
            .filter_map(|n| bn.iter().position(|b| b == n))
            .min();
        let (true, Some(first)) = (is_loop, first) else {
            continue;
        };
        looped = true;
        // Walk the loop from its first balancer in the file, naming every hop.
        let name = |b: usize| raw.balancers.get(b).map_or("?", |b| b.name.as_str());
        let mut chain = vec![name(first)];
        let mut at = first;
        for _ in 0..scc.len() {
            match balancer_targets.get(at).copied().flatten() {
                Some(Target::Balancer(next)) => {
                    chain.push(name(next));
                    at = next;
                    if next == first {
                        break;
                    }
                }
                _ => break,
            }
        }
        cx.fail_help(
            &format!("balancers[{first}].target"),
            format!("balancers form a loop: {}", chain.join(" → ")),
            "a request must end at a pool; point one of these balancers at a pool",
        );
    }
    let all_resolved = client_targets
        .iter()
        .chain(balancer_targets)
        .chain(dependency_targets.iter().map(|(_, t)| t))
        .all(Option::is_some);
    if looped || !all_resolved {
        return;
    }

    for (i, (c, &n)) in raw.clients.iter().zip(&cn).enumerate() {
        if !pn.iter().any(|&p| has_path_connecting(&g, n, p, None)) {
            cx.fail(
                &format!("clients[{i}].target"),
                format!("client `{}` can reach no pool", c.name),
            );
        }
    }
    let fed = |n: NodeIndex| {
        g.neighbors_directed(n, petgraph::Direction::Incoming)
            .next()
            .is_some()
    };
    // A broker's consumer group made of a pool feeds it its messages.
    let consumes = |pool: &str| {
        raw.stores.iter().any(|s| {
            matches!(s, raw::Store::Broker { consumers, .. }
                if consumers.pool.as_deref() == Some(pool))
        })
    };
    // A group naming no pool is reported there, not again as an orphan pool.
    let typo = raw.stores.iter().any(|s| {
        matches!(s, raw::Store::Broker { consumers, .. }
            if consumers.pool.as_ref().is_some_and(|g| raw.pools.iter().all(|p| &p.name != g)))
    });
    for (i, (p, &n)) in raw.pools.iter().zip(&pn).enumerate() {
        if !fed(n) && !consumes(&p.name) && !typo {
            cx.fail_help(
                &format!("pools[{i}].name"),
                format!(
                    "pool `{}` receives no traffic: no client or balancer targets it",
                    p.name
                ),
                "point a client or balancer `target` at it, make it a broker's consumer group \
                 (`consumers: ConsumerGroup(pool: …)`), or remove it",
            );
        }
    }
    for (i, (b, &n)) in raw.balancers.iter().zip(&bn).enumerate() {
        if !fed(n) {
            cx.fail_help(
                &format!("balancers[{i}].name"),
                format!(
                    "balancer `{}` receives no traffic: no client or balancer targets it",
                    b.name
                ),
                "point a client's `target` at it, or remove it",
            );
        }
    }
}

/// `expect: [...]`: bounds the report must meet.
fn expectations(
    raw: &raw::Scenario,
    stores: &[models::store_spec::StoreSpec],
    cx: &mut Ctx<'_>,
) -> Vec<Expectation> {
    let mut out = Vec::new();
    for (i, e) in raw.expect.iter().enumerate() {
        let path = format!("expect[{i}]");
        let ok_fraction = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        // Stores alone have no request figures: a bound on one would read a zero.
        if raw.pools.is_empty() && crate::validate_store::about_requests(e) {
            crate::validate_store::no_requests(stores, &path, cx);
            continue;
        }
        match e {
            raw::Expect::Availability { min } if ok_fraction(*min) => {
                out.push(Expectation::Availability { min: *min })
            }
            raw::Expect::Availability { min } => cx.fail_help(
                &format!("{path}.min"),
                format!("availability must be between 0 and 1, found {min}"),
                "e.g. Availability(min: 0.999)",
            ),
            raw::Expect::Throughput { min_rps } if min_rps.is_finite() && *min_rps >= 0.0 => {
                out.push(Expectation::Throughput { min_rps: *min_rps })
            }
            raw::Expect::Throughput { min_rps } => cx.fail(
                &format!("{path}.min_rps"),
                format!("throughput must be a number ≥ 0, found {min_rps}"),
            ),
            raw::Expect::LatencyP99 { max } => {
                if let Some(d) = cx.duration(max, &format!("{path}.max")) {
                    out.push(Expectation::LatencyP99 { max: d });
                }
            }
            raw::Expect::LatencyMean { max } => {
                if let Some(d) = cx.duration(max, &format!("{path}.max")) {
                    out.push(Expectation::LatencyMean { max: d });
                }
            }
            raw::Expect::ErrorBudget { max } if max.is_finite() && *max >= 0.0 => {
                out.push(Expectation::ErrorBudget { max: *max })
            }
            raw::Expect::MaxRpo { .. } | raw::Expect::MaxRto { .. } => {
                crate::validate_store::expectation(raw, e, &path, cx, &mut out)
            }
            raw::Expect::Store { metric, min, max } => crate::validate_store::store_metric(
                (metric, *min, *max),
                stores,
                &path,
                cx,
                &mut out,
            ),
            raw::Expect::ErrorBudget { max } => cx.fail_help(
                &format!("{path}.max"),
                format!("an error budget fraction must be a number ≥ 0, found {max}"),
                "1.0 is the whole budget: ErrorBudget(max: 0.5) allows half of it",
            ),
        }
    }
    out
}

/// Most windows a run may have: a time series is kept window by window.
pub const MAX_WINDOWS: u64 = 100_000;

/// The window when the scenario sets none: the shortest round length that cuts the horizon into
/// at most ~400 windows (6 h → 1 min).
pub fn default_window(horizon: SimDuration) -> SimDuration {
    const NICE_MS: [u64; 24] = [
        1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000,
        120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000,
    ];
    let target = horizon.0.div_ceil(400);
    let ms = NICE_MS
        .iter()
        .copied()
        .find(|&ms| ms * 1_000_000 >= target)
        .unwrap_or(86_400_000);
    SimDuration::from_millis(ms)
}

/// `slo: Slo(availability: 0.999, window: "1m")`: the objective and the window of the time
/// series. Without one, the objective is the strictest `Availability` expectation, or 0.999.
fn slo(
    raw: &raw::Scenario,
    expect: &[Expectation],
    horizon: Option<SimDuration>,
    cx: &mut Ctx<'_>,
) -> Option<(Slo, SimDuration)> {
    let written = raw.slo.as_ref();
    let from_expect = expect
        .iter()
        .filter_map(|e| match e {
            Expectation::Availability { min } => Some(*min),
            _ => None,
        })
        .reduce(f64::max);
    let (availability, source) = match (written.and_then(|s| s.availability), from_expect) {
        (Some(a), _) if a.is_finite() && a > 0.0 && a <= 1.0 => (a, SloSource::Slo),
        (Some(a), _) => {
            cx.fail_help(
                "slo.availability",
                format!("the objective must be above 0 and at most 1, found {a}"),
                "e.g. Slo(availability: 0.999) for three nines",
            );
            return None;
        }
        (None, Some(a)) => (a, SloSource::Expect),
        (None, None) => {
            if expect
                .iter()
                .any(|e| matches!(e, Expectation::ErrorBudget { .. }))
            {
                cx.fail_help(
                    "expect",
                    "ErrorBudget needs an objective to measure the budget against",
                    "add `slo: Slo(availability: 0.999)` or an `Availability(min: …)` expectation",
                );
                return None;
            }
            cx.notes.push(format!(
                "no objective set: availability is judged against {DEFAULT_SLO_AVAILABILITY} (set it with `slo: Slo(availability: …)`)"
            ));
            (DEFAULT_SLO_AVAILABILITY, SloSource::Default)
        }
    };
    let horizon = horizon?;
    let window = match written.and_then(|s| s.window.as_ref()) {
        Some(w) => cx.positive_duration(w, "slo.window", "the window")?,
        None => default_window(horizon),
    };
    if window > horizon {
        cx.notes.push(format!(
            "the objective's window ({window}) is longer than the horizon ({horizon}): the time series has a single, partial window"
        ));
    }
    let windows = horizon.0.div_ceil(window.0);
    if windows > MAX_WINDOWS {
        cx.fail_help(
            "slo.window",
            format!("a {window} window cuts the {horizon} horizon into {windows} windows, more than {MAX_WINDOWS}"),
            format!("use a window of at least {}", sim_core::format_duration(SimDuration(horizon.0.div_ceil(MAX_WINDOWS)))),
        );
        return None;
    }
    Some((
        Slo {
            availability,
            source,
        },
        window,
    ))
}

/// `health_check: HealthCheck(...)` and `panic_threshold` of balancer `i`. Defaults are HAProxy's
/// (`inter 2s`, `fall 3`, `rise 2`), a 1 s timeout, no jitter; Envoy's 50% panic threshold.
#[allow(clippy::type_complexity)]
fn health(
    cx: &mut Ctx<'_>,
    b: &raw::Balancer,
    target: Option<Target>,
    i: usize,
) -> (Option<Option<HealthCheckSpec>>, Option<f64>) {
    let at = |f: &str| format!("balancers[{i}].{f}");
    let panic = match b.panic_threshold {
        None => 0.5,
        Some(p) if p.is_finite() && (0.0..=1.0).contains(&p) => p,
        Some(p) => {
            cx.fail_help(
                &at("panic_threshold"),
                format!("panic_threshold must be between 0 and 1, found {p}"),
                "Envoy's default is 0.5: below half the backends healthy, route to all",
            );
            return (Some(None), None);
        }
    };
    let Some(h) = &b.health_check else {
        return (Some(None), Some(panic));
    };
    if matches!(target, Some(Target::Balancer(_))) {
        cx.fail_help(
            &at("health_check"),
            "health checks probe a pool's replicas, and this balancer sends to another balancer",
            "put the health check on the balancer in front of the pool",
        );
        return (None, Some(panic));
    }
    let hc = |f: &str| format!("balancers[{i}].health_check.{f}");
    let mut defaults = Vec::new();
    let mut duration = |cx: &mut Ctx<'_>, v: &Option<String>, f: &str, default: SimDuration| match v
    {
        Some(text) => cx.duration(text, &hc(f)),
        None => {
            defaults.push(format!("{f} {default}"));
            Some(default)
        }
    };
    let interval = duration(cx, &h.interval, "interval", SimDuration::from_secs(2));
    let timeout = duration(cx, &h.timeout, "timeout", SimDuration::from_secs(1));
    let jitter = duration(cx, &h.jitter, "jitter", SimDuration::ZERO);
    let mut count = |v: Option<u32>, f: &str, default: u32| match v {
        Some(0) => {
            cx.fail(&hc(f), format!("{f} must be at least 1"));
            None
        }
        Some(n) => Some(n),
        None => {
            defaults.push(format!("{f} {default}"));
            Some(default)
        }
    };
    let fall = count(h.unhealthy_threshold, "unhealthy_threshold", 3);
    let rise = count(h.healthy_threshold, "healthy_threshold", 2);
    if let Some(i) = interval
        && i == SimDuration::ZERO
    {
        cx.fail(&hc("interval"), "interval must be longer than zero");
        return (None, Some(panic));
    }
    if let (Some(iv), Some(t)) = (interval, timeout)
        && (t > iv || t == SimDuration::ZERO)
    {
        cx.fail_help(
            &hc("timeout"),
            format!("timeout ({t}) must be above zero and at most the interval ({iv})"),
            "probes start every interval; one must end before the next begins",
        );
        return (None, Some(panic));
    }
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "balancer `{}`: health check defaults (HAProxy's): {}",
            b.name,
            defaults.join(", ")
        ));
    }
    if b.panic_threshold.is_none() {
        cx.notes.push(format!(
            "balancer `{}`: panic_threshold not set, using Envoy's 0.5 (below half healthy, route to all)",
            b.name
        ));
    }
    let spec = (|| {
        Some(HealthCheckSpec {
            interval: interval?,
            timeout: timeout?,
            unhealthy_threshold: fall?,
            healthy_threshold: rise?,
            jitter: jitter?,
        })
    })();
    (spec.map(Some), Some(panic))
}

/// `faults: [...]`: crashes, pool and zone outages and rolling restarts at fixed times, expanded
/// to one window per replica. Replicas are numbered from 0 within their pool; a pool's `zones`
/// spread its replicas over zones in turn (replica i in zone i mod n).
fn scheduled_faults(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    horizon: SimDuration,
) -> Option<Vec<ScheduledFault>> {
    let mut out = Vec::new();
    let mut ok = true;
    // Global index of each pool's first replica.
    let firsts: Vec<u32> = raw
        .pools
        .iter()
        .scan(0u32, |acc, p| {
            let first = *acc;
            *acc = acc.saturating_add(p.replicas);
            Some(first)
        })
        .collect();
    for (i, f) in raw.faults.iter().enumerate() {
        let at_path = |field: &str| format!("faults[{i}].{field}");
        let pool_index = |cx: &mut Ctx<'_>, name: &str| -> Option<usize> {
            match raw.pools.iter().position(|p| p.name == name) {
                Some(p) if raw.pools[p].failures.is_some() => {
                    cx.fail_help(
                        &at_path("pool"),
                        format!("pool `{name}` already crashes at random (`failures`): scheduled faults are for pools without"),
                        "drop `failures` from the pool, or the scheduled fault",
                    );
                    None
                }
                Some(p) => Some(p),
                None => {
                    let names: Vec<&str> = raw.pools.iter().map(|p| p.name.as_str()).collect();
                    cx.fail_help(
                        &at_path("pool"),
                        format!("no pool is named `{name}`"),
                        format!("pools: {}", names.join(", ")),
                    );
                    None
                }
            }
        };
        let window = |cx: &mut Ctx<'_>, at: &str, len: &str, len_field: &str| {
            let start = cx.duration(at, &at_path("at"));
            let length = cx.positive_duration(len, &at_path(len_field), len_field);
            match start {
                Some(s) if s >= horizon => {
                    cx.fail_help(
                        &at_path("at"),
                        format!("the fault starts at {s}, at or after the horizon ({horizon})"),
                        "a fault must start before the run ends",
                    );
                    None
                }
                _ => Some((start?, length?)),
            }
        };
        let mut push_kind = |replica: u32, at: SimDuration, duration: SimDuration, kind| {
            out.push(ScheduledFault {
                replica,
                at,
                duration,
                kind,
            })
        };
        // One replica of a pool, by its index within the pool; false if the fault is invalid.
        let one_replica = |cx: &mut Ctx<'_>,
                           push_kind: &mut dyn FnMut(u32, SimDuration, SimDuration, FaultKind),
                           pool: &str,
                           replica: u32,
                           (at, duration): (&str, &str),
                           kind: FaultKind| {
            let p = pool_index(cx, pool);
            let w = window(cx, at, duration, "duration");
            match (p, w) {
                (Some(p), _) if replica >= raw.pools[p].replicas => {
                    cx.fail_help(
                        &at_path("replica"),
                        format!(
                            "pool `{pool}` has replicas 0 to {}, not {replica}",
                            raw.pools[p].replicas.saturating_sub(1)
                        ),
                        "replicas are numbered from 0 within their pool",
                    );
                    false
                }
                (Some(p), Some((a, d))) => {
                    push_kind(firsts[p] + replica, a, d, kind);
                    true
                }
                _ => false,
            }
        };
        match f {
            raw::Fault::Crash {
                pool,
                replica,
                at,
                duration,
            } => {
                let when = (at.as_str(), duration.as_str());
                ok &= one_replica(cx, &mut push_kind, pool, *replica, when, FaultKind::Down);
            }
            // Not a replica's fault: validated with the zones (validate/network.rs).
            raw::Fault::Partition { .. } | raw::Fault::BalancerOutage { .. } => {}
            raw::Fault::Slow {
                pool,
                replica,
                at,
                duration,
                factor,
                error_rate,
            } => {
                let nothing = "this Slow fault changes nothing: factor 1 and no error_rate";
                match slow_effect(cx, *factor, *error_rate, &at_path, nothing) {
                    Some(kind) => {
                        let when = (at.as_str(), duration.as_str());
                        ok &= one_replica(cx, &mut push_kind, pool, *replica, when, kind);
                    }
                    None => ok = false,
                }
            }
            raw::Fault::PoolOutage { pool, at, duration } => {
                match (pool_index(cx, pool), window(cx, at, duration, "duration")) {
                    (Some(p), Some((a, d))) => {
                        for r in 0..raw.pools[p].replicas {
                            push_kind(firsts[p] + r, a, d, FaultKind::Down);
                        }
                    }
                    _ => ok = false,
                }
            }
            raw::Fault::ZoneOutage { zone, at, duration } => {
                let w = window(cx, at, duration, "duration");
                let mut members = Vec::new();
                for (p, pool) in raw.pools.iter().enumerate() {
                    let Some(zones) = &pool.zones else { continue };
                    if zones.is_empty() || !zones.contains(zone) {
                        continue;
                    }
                    if pool.failures.is_some() {
                        cx.fail_help(
                            &at_path("zone"),
                            format!("pool `{}` in zone `{zone}` already crashes at random (`failures`): scheduled faults are for pools without", pool.name),
                            "drop `failures` from the pool, or the scheduled fault",
                        );
                        ok = false;
                    }
                    members.extend(
                        (0..pool.replicas)
                            .filter(|r| zones[*r as usize % zones.len()] == *zone)
                            .map(|r| firsts[p] + r),
                    );
                }
                if members.is_empty() {
                    cx.fail_help(
                        &at_path("zone"),
                        format!("no replica is in zone `{zone}`"),
                        "give pools zones: Pool(…, zones: [\"a\", \"b\", \"c\"]) spreads its replicas over them in turn",
                    );
                    ok = false;
                }
                if let Some((a, d)) = w {
                    for r in members {
                        push_kind(r, a, d, FaultKind::Down);
                    }
                } else {
                    ok = false;
                }
            }
            raw::Fault::RollingRestart {
                pool,
                at,
                downtime,
                gap,
            } => {
                let p = pool_index(cx, pool);
                let w = window(cx, at, downtime, "downtime");
                let g = cx.duration(gap, &at_path("gap"));
                match (p, w, g) {
                    (Some(p), Some((a, d)), Some(g)) => {
                        // One replica after another: each goes down `gap` after the previous
                        // came back.
                        let mut t = a;
                        for r in 0..raw.pools[p].replicas {
                            if t >= horizon {
                                break;
                            }
                            push_kind(firsts[p] + r, t, d, FaultKind::Down);
                            t = SimDuration(t.0.saturating_add(d.0).saturating_add(g.0));
                        }
                    }
                    _ => ok = false,
                }
            }
        }
    }
    // A pool that fails only on schedule is not a pool with "no failures".
    for pool in &raw.pools {
        let first = firsts[raw
            .pools
            .iter()
            .position(|p| p.name == pool.name)
            .unwrap_or(0)];
        let scheduled = out
            .iter()
            .filter(|f| (first..first.saturating_add(pool.replicas)).contains(&f.replica))
            .count();
        if scheduled > 0 {
            let plain = no_failures_note(pool);
            cx.notes.retain(|n| *n != plain);
            let random = if pool.gray_failures.is_some() {
                "crashes"
            } else {
                "failures"
            };
            cx.notes.push(format!(
                "pool `{}`: no random {random}; {scheduled} scheduled replica faults",
                pool.name
            ));
        }
    }
    ok.then_some(out)
}

/// The note for a pool without random crashes (`failures`).
fn no_failures_note(p: &raw::Pool) -> String {
    if p.gray_failures.is_some() {
        format!("pool `{}`: no random crashes, only gray failures", p.name)
    } else {
        format!("pool `{}`: no failures", p.name)
    }
}

/// What a gray failure does, scheduled (`Slow`) or random (`gray_failures`): a service-time
/// `factor` (default 1) and an extra `error_rate` (default 0), at least one of them changing
/// something. `at` makes the path of a field; `nothing` is the message when neither does.
fn slow_effect(
    cx: &mut Ctx<'_>,
    factor: Option<f64>,
    error_rate: Option<f64>,
    at: &dyn Fn(&str) -> String,
    nothing: &str,
) -> Option<FaultKind> {
    let (factor, error_rate) = (factor.unwrap_or(1.0), error_rate.unwrap_or(0.0));
    if !(error_rate.is_finite() && (0.0..1.0).contains(&error_rate)) {
        cx.fail_help(
            &at("error_rate"),
            format!("error_rate must be a probability in [0, 1), found {error_rate}"),
            "0.3 makes three served requests in ten fail while it lasts",
        );
        None
    } else if factor == 1.0 && error_rate == 0.0 {
        cx.fail_help(
            &at("factor"),
            nothing,
            "give a factor (5.0: five times slower) or an error_rate (0.3), or both",
        );
        None
    } else if factor.is_finite() && factor > 0.0 {
        Some(FaultKind::Slow { factor, error_rate })
    } else {
        cx.fail_help(
            &at("factor"),
            format!("factor must be a positive number, found {factor}"),
            "5.0 makes service five times slower; 0.5 twice as fast",
        );
        None
    }
}

/// `gray_failures: GrayFailures(time_between: …, duration: …, factor: …, error_rate: …)` of
/// pool `i`; `Some(None)` when absent.
fn gray_failures(cx: &mut Ctx<'_>, p: &raw::Pool, i: usize) -> Option<Option<GrayFailureSpec>> {
    let Some(g) = &p.gray_failures else {
        return Some(None);
    };
    let at = |f: &str| format!("pools[{i}].gray_failures.{f}");
    let mut ok = true;
    if p.autoscale.is_some() {
        cx.fail_help(
            &format!("pools[{i}].gray_failures"),
            format!(
                "pool `{}` is autoscaled: random gray failures are for pools of fixed size",
                p.name
            ),
            "drop `autoscale` or `gray_failures`; a scheduled Slow(pool:, replica:, …) fault works on any replica",
        );
        ok = false;
    }
    let mut positive = |cx: &mut Ctx<'_>, d: &raw::Dist, field: &str, hint: &str| {
        let path = at(field);
        let d = cx.dist(d, &path)?;
        if d.mean_ns() < 1.0 {
            cx.fail_help(&path, format!("{field} must have a mean above zero"), hint);
            ok = false;
        }
        Some(d)
    };
    let time_between = positive(
        cx,
        &g.time_between,
        "time_between",
        "the mean healthy time between two gray episodes of a replica, e.g. Exponential(mean: \"2h\")",
    );
    let duration = positive(
        cx,
        &g.duration,
        "duration",
        "the mean length of a gray episode, e.g. Exponential(mean: \"10m\")",
    );
    let nothing = "these gray failures change nothing: factor 1 and no error_rate";
    let effect = slow_effect(cx, g.factor, g.error_rate, &at, nothing);
    let (Some(time_between), Some(duration), Some(FaultKind::Slow { factor, error_rate }), true) =
        (time_between, duration, effect, ok)
    else {
        return None;
    };
    Some(Some(GrayFailureSpec {
        time_between,
        duration,
        factor,
        error_rate,
    }))
}

/// `outlier_detection: OutlierDetection(...)` of balancer `i`, with Envoy's defaults
/// (`consecutive_5xx` 5, base ejection 30 s, max 300 s, at most 10% ejected).
fn outlier(
    cx: &mut Ctx<'_>,
    b: &raw::Balancer,
    target: Option<Target>,
    i: usize,
) -> Option<Option<OutlierSpec>> {
    let Some(o) = &b.outlier_detection else {
        return Some(None);
    };
    let at = |f: &str| format!("balancers[{i}].outlier_detection.{f}");
    if matches!(target, Some(Target::Balancer(_))) {
        cx.fail_help(
            &format!("balancers[{i}].outlier_detection"),
            "outlier detection ejects a pool's replicas, and this balancer sends to another balancer",
            "put it on the balancer in front of the pool",
        );
        return None;
    }
    let mut defaults = Vec::new();
    let consecutive_errors = match o.consecutive_errors {
        Some(0) => {
            cx.fail(
                &at("consecutive_errors"),
                "consecutive_errors must be at least 1",
            );
            None
        }
        Some(n) => Some(n),
        None => {
            defaults.push("consecutive_errors 5".to_string());
            Some(5)
        }
    };
    let mut time = |cx: &mut Ctx<'_>, v: &Option<String>, f: &str, default: u64| match v {
        Some(text) => cx.positive_duration(text, &at(f), f),
        None => {
            defaults.push(format!("{f} {default}s"));
            Some(SimDuration::from_secs(default))
        }
    };
    let base = time(cx, &o.base_ejection_time, "base_ejection_time", 30);
    let max = time(cx, &o.max_ejection_time, "max_ejection_time", 300);
    let percent = match o.max_ejection_percent {
        Some(p) if p.is_finite() && (0.0..=1.0).contains(&p) => Some(p),
        Some(p) => {
            cx.fail_help(
                &at("max_ejection_percent"),
                format!("max_ejection_percent must be a fraction between 0 and 1, found {p}"),
                "Envoy's default is 0.1: at most a tenth of the backends (but always one)",
            );
            None
        }
        None => {
            defaults.push("max_ejection_percent 0.1".to_string());
            Some(0.1)
        }
    };
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "balancer `{}`: outlier detection defaults (Envoy's): {}",
            b.name,
            defaults.join(", ")
        ));
    }
    Some(Some(OutlierSpec {
        consecutive_errors: consecutive_errors?,
        base_ejection_time: base?,
        max_ejection_time: max?,
        max_ejection_percent: percent?,
    }))
}

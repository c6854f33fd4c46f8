//! Meaning: raw file → [`Spec`]. Checks names, references, ranges, durations, distributions
//! and the topology (petgraph), collects every problem with its position, and reports the one
//! that comes first in the file. Every default it applies becomes a note for the report.

use crate::locate::Locations;
use crate::raw;
use crate::{ScenarioError, did_you_mean};
use models::spec::{
    Arrivals, BalancerSpec, ClientSpec, FailureSpec, PolicySpec, PoolSpec, Spec, Target,
};
use petgraph::algo::{has_path_connecting, tarjan_scc};
use petgraph::graph::{DiGraph, NodeIndex};
use reports::Expectation;
use sim_core::{Dist, SimDuration, parse_duration};
use std::collections::BTreeMap;

/// Run-away guard when the file sets no `max_events`.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;

struct Ctx<'a> {
    src: &'a str,
    file: &'a str,
    loc: Locations,
    errors: Vec<ScenarioError>,
    notes: Vec<String>,
}

impl Ctx<'_> {
    fn error(&mut self, path: &str, message: String) -> &mut ScenarioError {
        let span = self.loc.nearest(path).unwrap_or(0..0);
        self.errors
            .push(ScenarioError::at(self.file, self.src, span, message));
        let last = self.errors.len() - 1;
        &mut self.errors[last]
    }

    fn duration(&mut self, text: &str, path: &str) -> Option<SimDuration> {
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                let help = "write a number and a unit: \"300ms\", \"2s\", \"1.5s\", \"6h\"";
                self.error(path, e.message).help = Some(help.into());
                None
            }
        }
    }

    fn positive_duration(&mut self, text: &str, path: &str, what: &str) -> Option<SimDuration> {
        let d = self.duration(text, path)?;
        if d == SimDuration::ZERO {
            self.error(path, format!("{what} must be longer than zero"));
            return None;
        }
        Some(d)
    }

    fn rate(&mut self, r: f64, path: &str) -> Option<f64> {
        if r.is_finite() && r > 0.0 {
            Some(r)
        } else {
            let e = self.error(
                path,
                format!("rate_per_s must be a positive number, found {r}"),
            );
            e.help = Some("a rate is requests per second, e.g. 0.9 or 240.0".into());
            None
        }
    }

    fn dist(&mut self, d: &raw::Dist, path: &str) -> Option<Dist> {
        let field = |f: &str| format!("{path}.{f}");
        let built = match d {
            raw::Dist::Constant(v) => Ok(Dist::constant(self.duration(v, path)?)),
            raw::Dist::Exponential { mean } => {
                Dist::exponential(self.duration(mean, &field("mean"))?)
            }
            raw::Dist::Uniform { low, high } => {
                let (l, h) = (
                    self.duration(low, &field("low")),
                    self.duration(high, &field("high")),
                );
                Dist::uniform(l?, h?)
            }
            raw::Dist::Normal { mean, sd } => {
                let (m, s) = (
                    self.duration(mean, &field("mean")),
                    self.duration(sd, &field("sd")),
                );
                Dist::normal(m?, s?)
            }
            raw::Dist::LogNormal {
                mean,
                sd,
                median,
                p99,
            } => match (mean, sd, median, p99) {
                (Some(m), Some(s), None, None) => {
                    let (m, s) = (
                        self.duration(m, &field("mean")),
                        self.duration(s, &field("sd")),
                    );
                    Dist::lognormal_mean_sd(m?, s?)
                }
                (None, None, Some(md), Some(p)) => {
                    let (md, p) = (
                        self.duration(md, &field("median")),
                        self.duration(p, &field("p99")),
                    );
                    Dist::lognormal_median_p99(md?, p?)
                }
                _ => {
                    let e = self.error(
                        path,
                        "LogNormal needs either `mean` and `sd`, or `median` and `p99`".into(),
                    );
                    e.help = Some("e.g. LogNormal(median: \"30ms\", p99: \"200ms\")".into());
                    return None;
                }
            },
            raw::Dist::Erlang { k, mean } => Dist::erlang(*k, self.duration(mean, &field("mean"))?),
            raw::Dist::HyperExponential { branches } => {
                let mut bs = Vec::new();
                for (i, b) in branches.iter().enumerate() {
                    bs.push((
                        b.p,
                        self.duration(&b.mean, &format!("{path}.branches[{i}].mean"))?,
                    ));
                }
                Dist::hyperexponential(&bs)
            }
            raw::Dist::Pareto { scale, shape } => {
                Dist::pareto(self.duration(scale, &field("scale"))?, *shape)
            }
            raw::Dist::Weibull { scale, shape } => {
                Dist::weibull(self.duration(scale, &field("scale"))?, *shape)
            }
            raw::Dist::Empirical(values) => {
                let mut vs = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    vs.push(self.duration(v, &format!("{path}[{i}]"))?);
                }
                Dist::empirical(&vs)
            }
        };
        match built {
            Ok(d) => Some(d),
            Err(e) => {
                let p = match e.parameter {
                    "p" => format!("{path}.branches"),
                    other => field(other),
                };
                self.error(
                    &p,
                    format!("invalid distribution: `{}` {}", e.parameter, e.message),
                );
                None
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Balancer,
    Pool,
}

/// Validates `raw` (parsed from `src`) into a spec and the notes the report must print.
pub fn validate(
    raw: raw::Scenario,
    src: &str,
    file: &str,
) -> Result<(Spec, Vec<Expectation>, Vec<String>), ScenarioError> {
    let mut cx = Ctx {
        src,
        file,
        loc: Locations::scan(src),
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let spec = build(&raw, &mut cx);
    let expect = expectations(&raw, &mut cx);
    if let Some(first) = cx
        .errors
        .into_iter()
        .min_by_key(|e| e.span.as_ref().map_or(0, |s| s.start))
    {
        return Err(first);
    }
    match spec {
        Some(s) => Ok((s, expect, cx.notes)),
        None => Err(ScenarioError::at(
            file,
            src,
            0..0,
            "the scenario is invalid".into(),
        )),
    }
}

fn build(raw: &raw::Scenario, cx: &mut Ctx<'_>) -> Option<Spec> {
    if raw.name.trim().is_empty() {
        cx.error("name", "the scenario's name is empty".into());
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
        {
            let e = cx.error(
                "warmup",
                format!("warmup ({w}) must be shorter than the horizon ({h})"),
            );
            e.help = Some("statistics are collected between warmup and horizon".into());
        }
    }
    let max_events = raw.max_events.unwrap_or(DEFAULT_MAX_EVENTS);
    if max_events == 0 {
        cx.error("max_events", "max_events must be at least 1".into());
    }

    // Names: unique across every component, in file order.
    let mut names: BTreeMap<String, (Kind, usize)> = BTreeMap::new();
    let entries = raw
        .clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                Kind::Client,
                i,
                c.name.clone(),
                format!("clients[{i}].name"),
            )
        })
        .chain(raw.balancers.iter().enumerate().map(|(i, b)| {
            (
                Kind::Balancer,
                i,
                b.name.clone(),
                format!("balancers[{i}].name"),
            )
        }))
        .chain(
            raw.pools
                .iter()
                .enumerate()
                .map(|(i, p)| (Kind::Pool, i, p.name.clone(), format!("pools[{i}].name"))),
        );
    for (kind, i, name, path) in entries {
        if name.trim().is_empty() {
            cx.error(&path, "a component's name is empty".into());
            continue;
        }
        match names.entry(name) {
            std::collections::btree_map::Entry::Occupied(o) => {
                let e = cx.error(&path, format!("the name `{}` is used twice", o.key()));
                e.help = Some("every client, balancer and pool needs its own name".into());
            }
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert((kind, i));
            }
        }
    }
    if raw.clients.is_empty() {
        let e = cx.error(
            "clients",
            "the scenario has no client: nothing sends requests".into(),
        );
        e.help = Some(
            "add `Client(name: \"users\", arrivals: Poisson(rate_per_s: 1.0), target: \"…\")`"
                .into(),
        );
    }
    if raw.pools.is_empty() {
        let e = cx.error(
            "pools",
            "the scenario has no pool: nothing serves requests".into(),
        );
        e.help = Some(
            "add `Pool(name: \"web\", replicas: 1, service: Exponential(mean: \"10ms\"))`".into(),
        );
    }

    let pools: Vec<Option<PoolSpec>> = raw
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| pool(cx, p, i))
        .collect();
    let replicas_of = |t: Target| match t {
        Target::Pool(p) => Some(raw.pools[p].replicas),
        Target::Balancer(_) => None,
    };

    let resolve = |cx: &mut Ctx<'_>, name: &str, path: &str| -> Option<Target> {
        match names.get(name) {
            Some((Kind::Pool, i)) => Some(Target::Pool(*i)),
            Some((Kind::Balancer, i)) => Some(Target::Balancer(*i)),
            Some((Kind::Client, _)) => {
                let e = cx.error(
                    path,
                    format!("`{name}` is a client: requests go to a balancer or a pool"),
                );
                e.expected = Some(targets_list(&names));
                None
            }
            None => {
                let known: Vec<&str> = names
                    .iter()
                    .filter(|(_, (k, _))| *k != Kind::Client)
                    .map(|(n, _)| n.as_str())
                    .collect();
                let hint = did_you_mean(name, known.iter().copied())
                    .map(|m| format!("did you mean `{m}`?"));
                let e = cx.error(path, format!("unknown component `{name}`"));
                e.expected = Some(targets_list(&names));
                e.help = hint;
                None
            }
        }
    };

    let mut balancers = Vec::new();
    for (i, b) in raw.balancers.iter().enumerate() {
        let target = resolve(cx, &b.target, &format!("balancers[{i}].target"));
        let policy = match b.policy {
            raw::Policy::RoundRobin => Some(PolicySpec::RoundRobin),
            raw::Policy::Random => Some(PolicySpec::Random),
            raw::Policy::LeastConnections => Some(PolicySpec::LeastConnections),
            raw::Policy::JoinShortestQueue => Some(PolicySpec::JoinShortestQueue),
            raw::Policy::LeastRequest { choices } => {
                let path = format!("balancers[{i}].policy.choices");
                let n = target.and_then(replicas_of);
                if choices == 0 {
                    cx.error(&path, "choices must be at least 1".into()).help =
                        Some("Envoy's default is 2".into());
                    None
                } else if n.is_some_and(|n| n > 0 && choices > n) {
                    let e = cx.error(
                        &path,
                        format!(
                            "choices ({choices}) is more than the {} replicas of `{}`",
                            n.unwrap_or(0),
                            b.target
                        ),
                    );
                    e.help = Some("sample at most as many replicas as there are".into());
                    None
                } else {
                    Some(PolicySpec::LeastRequest { choices })
                }
            }
        };
        balancers.push(match (target, policy) {
            (Some(target), Some(policy)) => Some(BalancerSpec {
                name: b.name.clone(),
                policy,
                target,
            }),
            _ => None,
        });
    }

    let mut clients = Vec::new();
    for (i, c) in raw.clients.iter().enumerate() {
        let ap = format!("clients[{i}].arrivals");
        let arrivals = match &c.arrivals {
            raw::Arrivals::Poisson { rate_per_s } => cx
                .rate(*rate_per_s, &format!("{ap}.rate_per_s"))
                .map(|r| Arrivals::Poisson { rate_per_s: r }),
            raw::Arrivals::Constant { rate_per_s } => cx
                .rate(*rate_per_s, &format!("{ap}.rate_per_s"))
                .map(|r| Arrivals::Constant { rate_per_s: r }),
            raw::Arrivals::Uniform { min, max } => {
                let (lo, hi) = (
                    cx.duration(min, &format!("{ap}.min")),
                    cx.duration(max, &format!("{ap}.max")),
                );
                match (lo, hi) {
                    (Some(lo), Some(hi)) if hi >= lo && hi > SimDuration::ZERO => {
                        Some(Arrivals::Uniform { min: lo, max: hi })
                    }
                    (Some(_), Some(_)) => {
                        cx.error(
                            &format!("{ap}.max"),
                            "max must be ≥ min and longer than zero".into(),
                        );
                        None
                    }
                    _ => None,
                }
            }
        };
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
        let tpath = format!("clients[{i}].target");
        let target = resolve(cx, &c.target, &tpath);
        if let Some(Target::Pool(p)) = target
            && raw.pools[p].replicas > 1
        {
            {
                let e = cx.error(
                    &tpath,
                    format!(
                        "client `{}` sends straight to pool `{}`, which has {} replicas",
                        c.name, c.target, raw.pools[p].replicas
                    ),
                );
                e.help = Some("put a Balancer in front of it to choose among replicas".into());
            }
        }
        clients.push(match (arrivals, timeout, target) {
            (Some(arrivals), Some(timeout), Some(target)) => Some(ClientSpec {
                name: c.name.clone(),
                arrivals,
                timeout,
                target,
            }),
            _ => None,
        });
    }

    // Topology: only once every reference resolved.
    let clients: Option<Vec<ClientSpec>> = clients.into_iter().collect();
    let balancers: Option<Vec<BalancerSpec>> = balancers.into_iter().collect();
    let pools: Option<Vec<PoolSpec>> = pools.into_iter().collect();
    let (clients, balancers, pools) = (clients?, balancers?, pools?);
    topology(cx, &clients, &balancers, &pools);
    Some(Spec {
        name: raw.name.clone(),
        horizon: horizon?,
        warmup: warmup?,
        max_events,
        clients,
        balancers,
        pools,
    })
}

fn targets_list(names: &BTreeMap<String, (Kind, usize)>) -> String {
    let known: Vec<String> = names
        .iter()
        .filter(|(_, (k, _))| *k != Kind::Client)
        .map(|(n, _)| format!("`{n}`"))
        .collect();
    if known.is_empty() {
        "the name of a balancer or pool".into()
    } else {
        format!("one of {}", known.join(", "))
    }
}

fn pool(cx: &mut Ctx<'_>, p: &raw::Pool, i: usize) -> Option<PoolSpec> {
    let path = |f: &str| format!("pools[{i}].{f}");
    let mut ok = true;
    if p.replicas == 0 {
        let e = cx.error(
            &path("replicas"),
            format!("pool `{}` has zero replicas", p.name),
        );
        e.help = Some("a pool needs at least 1 replica".into());
        ok = false;
    }
    let workers = match p.workers {
        Some(0) => {
            cx.error(&path("workers"), "workers must be at least 1".into());
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
        Some(f) => {
            let ttf = cx.dist(&f.time_to_failure, &path("failures.time_to_failure"));
            let ttr = cx.dist(&f.time_to_repair, &path("failures.time_to_repair"));
            match (ttf, ttr) {
                (Some(time_to_failure), Some(time_to_repair)) => Some(Some(FailureSpec {
                    time_to_failure,
                    time_to_repair,
                })),
                _ => None,
            }
        }
        None => {
            cx.notes.push(format!("pool `{}`: no failures", p.name));
            Some(None)
        }
    };
    if !ok {
        return None;
    }
    Some(PoolSpec {
        name: p.name.clone(),
        replicas: p.replicas,
        workers,
        queue_capacity: p.queue_capacity,
        service: service?,
        failures: failures?,
    })
}

/// Cycles, clients that reach no pool, components nothing sends to.
fn topology(
    cx: &mut Ctx<'_>,
    clients: &[ClientSpec],
    balancers: &[BalancerSpec],
    pools: &[PoolSpec],
) {
    let mut g: DiGraph<(), ()> = DiGraph::new();
    let cn: Vec<NodeIndex> = clients.iter().map(|_| g.add_node(())).collect();
    let bn: Vec<NodeIndex> = balancers.iter().map(|_| g.add_node(())).collect();
    let pn: Vec<NodeIndex> = pools.iter().map(|_| g.add_node(())).collect();
    let node = |t: Target| match t {
        Target::Balancer(b) => bn[b],
        Target::Pool(p) => pn[p],
    };
    for (i, c) in clients.iter().enumerate() {
        g.add_edge(cn[i], node(c.target), ());
    }
    for (i, b) in balancers.iter().enumerate() {
        g.add_edge(bn[i], node(b.target), ());
    }
    // A loop of balancers: name it whole, point at the first member's target.
    for scc in tarjan_scc(&g) {
        let looped = scc.len() > 1 || scc.first().is_some_and(|&n| g.contains_edge(n, n));
        if !looped {
            continue;
        }
        let mut members: Vec<usize> = scc
            .iter()
            .filter_map(|n| bn.iter().position(|b| b == n))
            .collect();
        members.sort_unstable();
        let Some(&first) = members.first() else {
            continue;
        };
        let mut chain = vec![balancers[first].name.clone()];
        let mut at = first;
        for _ in 0..members.len() {
            match balancers[at].target {
                Target::Balancer(next) => {
                    chain.push(balancers[next].name.clone());
                    at = next;
                }
                Target::Pool(_) => break,
            }
        }
        let e = cx.error(
            &format!("balancers[{first}].target"),
            format!("balancers form a loop: {}", chain.join(" → ")),
        );
        e.help =
            Some("a request must end at a pool; point one of these balancers at a pool".into());
    }
    for (i, c) in clients.iter().enumerate() {
        if !pn.iter().any(|&p| has_path_connecting(&g, cn[i], p, None)) {
            cx.error(
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
    for (i, p) in pools.iter().enumerate() {
        if !fed(pn[i]) {
            let e = cx.error(
                &format!("pools[{i}].name"),
                format!(
                    "pool `{}` receives no traffic: no client or balancer targets it",
                    p.name
                ),
            );
            e.help = Some("point a client or balancer `target` at it, or remove it".into());
        }
    }
    for (i, b) in balancers.iter().enumerate() {
        if !fed(bn[i]) {
            let e = cx.error(
                &format!("balancers[{i}].name"),
                format!(
                    "balancer `{}` receives no traffic: no client or balancer targets it",
                    b.name
                ),
            );
            e.help = Some("point a client's `target` at it, or remove it".into());
        }
    }
}

/// `expect: [...]`: bounds the report must meet.
fn expectations(raw: &raw::Scenario, cx: &mut Ctx<'_>) -> Vec<Expectation> {
    let mut out = Vec::new();
    for (i, e) in raw.expect.iter().enumerate() {
        let path = format!("expect[{i}]");
        let ok_fraction = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        match e {
            raw::Expect::Availability { min } if ok_fraction(*min) => {
                out.push(Expectation::Availability { min: *min })
            }
            raw::Expect::Availability { min } => {
                cx.error(
                    &format!("{path}.min"),
                    format!("availability must be between 0 and 1, found {min}"),
                )
                .help = Some("e.g. Availability(min: 0.999)".into());
            }
            raw::Expect::Throughput { min_rps } if min_rps.is_finite() && *min_rps >= 0.0 => {
                out.push(Expectation::Throughput { min_rps: *min_rps })
            }
            raw::Expect::Throughput { min_rps } => {
                cx.error(
                    &format!("{path}.min_rps"),
                    format!("throughput must be a number ≥ 0, found {min_rps}"),
                );
            }
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
        }
    }
    out
}

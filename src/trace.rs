//! Event traces and determinism checks, as observers fed beside the statistics collector.
//!
//! A trace is JSON Lines (one object per record: time, component, event, request, outcome) or
//! aligned text, filtered by component and time window and capped in lines, so a trace of a long
//! run stays a file a person can open.

use models::breaker::BreakerState;
use models::spec::Spec;
use models::{Outcome, Record};
use reports::mix_record;
use sim_core::{Observer, SimDuration, SimTime};
use std::io::Write;

/// What to keep.
#[derive(Clone, Debug)]
pub struct TraceFilter {
    /// Keep records of this component (`client/users`, `web/2`, `web` for every replica of it);
    /// a finished request also matches the replica that served it.
    pub component: Option<String>,
    /// Keep records at or after this time.
    pub from: SimTime,
    /// Keep records at or before this time.
    pub to: SimTime,
    /// Stop writing after this many lines (the count of the rest is reported).
    pub limit: u64,
    /// Keep only the records of this request (its sequence number, as traces name it).
    pub request: Option<u64>,
}

impl TraceFilter {
    /// True when it keeps less than everything.
    pub fn narrows(&self) -> bool {
        self.component.is_some()
            || self.request.is_some()
            || self.from > SimTime::ZERO
            || self.to < SimTime::MAX
    }
}

/// Line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// One JSON object per line.
    Jsonl,
    /// Aligned text for people.
    Text,
}

/// Writes the records of a run.
pub struct Trace<W: Write> {
    out: W,
    clients: Vec<String>,
    /// `hop/caller → target`, by hop index.
    hops: Vec<String>,
    replicas: Vec<String>,
    /// Balancer names, by index in the scenario.
    balancers: Vec<String>,
    filter: TraceFilter,
    format: TraceFormat,
    /// Lines written.
    pub written: u64,
    /// Records that passed the filter but came after the line limit.
    pub dropped: u64,
    /// The first write error, if any (writing stops there).
    pub error: Option<std::io::Error>,
}

impl<W: Write> Trace<W> {
    /// A trace of a run of `spec` written to `out`.
    pub fn new(spec: &Spec, out: W, filter: TraceFilter, format: TraceFormat) -> Self {
        let replicas = spec
            .pools
            .iter()
            .flat_map(|p| (0..p.replicas).map(move |i| format!("{}/{i}", p.name)))
            .collect();
        let clients = spec
            .clients
            .iter()
            .map(|c| format!("client/{}", c.name))
            .collect();
        let hops = spec
            .hops
            .iter()
            .map(|h| format!("hop/{}", h.name))
            .collect();
        let balancers = spec.balancers.iter().map(|b| b.name.clone()).collect();
        Trace {
            out,
            clients,
            hops,
            replicas,
            balancers,
            filter,
            format,
            written: 0,
            dropped: 0,
            error: None,
        }
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn matches(&self, component: &str, also: Option<&str>) -> bool {
        let Some(f) = &self.filter.component else {
            return true;
        };
        let hit = |c: &str| {
            c == f
                || c.strip_prefix(f.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        hit(component) || also.is_some_and(hit)
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    o.name()
}

impl<W: Write> Observer<Record> for Trace<W> {
    fn detailed(&self) -> bool {
        true
    }

    fn record(&mut self, now: SimTime, r: &Record) {
        if self.error.is_some() || now < self.filter.from || now > self.filter.to {
            return;
        }
        let name = |v: &[String], i: u32| v.get(i as usize).cloned().unwrap_or_else(|| "-".into());
        // Fields beyond the common ones, in order.
        let mut extra: Vec<(&'static str, serde_json::Value)> = Vec::new();
        let (component, event, request, replica, outcome, latency) = match *r {
            Record::Attempt {
                request,
                caller,
                attempt,
                hedge,
            } => {
                extra.push(("attempt", attempt.into()));
                let n = self.clients.len() as u32;
                let who = if caller < n {
                    name(&self.clients, caller)
                } else {
                    name(&self.hops, caller - n)
                };
                let event = if hedge { "hedge" } else { "attempt" };
                (who, event, Some(request), None, None, None)
            }
            Record::Candidate {
                request,
                balancer,
                replica,
                in_flight,
                occupancy,
            } => {
                extra.push(("in_flight", in_flight.into()));
                extra.push(("occupancy", occupancy.into()));
                (
                    name(&self.balancers, balancer),
                    "candidate",
                    Some(request),
                    Some(name(&self.replicas, replica)),
                    None,
                    None,
                )
            }
            Record::Picked {
                request,
                balancer,
                replica,
            } => (
                name(&self.balancers, balancer),
                "picked",
                Some(request),
                Some(name(&self.replicas, replica)),
                None,
                None,
            ),
            Record::Enqueued {
                request,
                replica,
                queued,
            } => {
                extra.push(("queued", queued.into()));
                (
                    name(&self.replicas, replica),
                    "enqueued",
                    Some(request),
                    None,
                    None,
                    None,
                )
            }
            Record::ServiceStarted { request, replica } => (
                name(&self.replicas, replica),
                "service_start",
                Some(request),
                None,
                None,
                None,
            ),
            Record::ServiceEnded { request, replica } => (
                name(&self.replicas, replica),
                "service_end",
                Some(request),
                None,
                None,
                None,
            ),
            Record::DependencyCall {
                request,
                hop,
                replica,
            } => {
                extra.push(("hop", name(&self.hops, hop).into()));
                (
                    name(&self.replicas, replica),
                    "dependency_call",
                    Some(request),
                    None,
                    None,
                    None,
                )
            }
            Record::DependencyEnded {
                request,
                hop,
                outcome,
            } => (
                name(&self.hops, hop),
                "dependency_end",
                Some(request),
                None,
                Some(outcome.map_or("cancelled", outcome_name)),
                None,
            ),
            Record::Offered { client, request } => (
                name(&self.clients, client),
                "offered",
                Some(request),
                None,
                None,
                None,
            ),
            Record::Finished {
                client,
                request,
                replica,
                outcome,
                latency,
                waited,
                attempts,
                ..
            } => {
                extra.push(("waited_ns", waited.0.into()));
                extra.push(("attempts", attempts.into()));
                (
                    name(&self.clients, client),
                    "finished",
                    Some(request),
                    Some(name(&self.replicas, replica)),
                    Some(outcome_name(outcome)),
                    Some(latency),
                )
            }
            Record::ReplicaDown { replica } => (
                name(&self.replicas, replica),
                "down",
                None,
                None,
                None,
                None,
            ),
            Record::ReplicaUp { replica } => {
                (name(&self.replicas, replica), "up", None, None, None, None)
            }
            Record::WarmupEnded => ("run".to_string(), "warmup_ended", None, None, None, None),
            Record::ReplicaSlow {
                replica,
                factor,
                error_rate,
            } => (
                name(&self.replicas, replica),
                if factor == 1.0 && error_rate == 0.0 {
                    "slow_end"
                } else {
                    "slow"
                },
                None,
                None,
                None,
                None,
            ),
            Record::GrayEpisode { replica, begins } => (
                name(&self.replicas, replica),
                if begins { "gray" } else { "gray_end" },
                None,
                None,
                None,
                None,
            ),
            Record::HealthChange {
                replica, healthy, ..
            } => (
                name(&self.replicas, replica),
                if healthy {
                    "marked_healthy"
                } else {
                    "marked_unhealthy"
                },
                None,
                None,
                None,
                None,
            ),
            Record::HopFinished {
                hop,
                outcome,
                latency,
                ..
            } => (
                name(&self.hops, hop),
                "hop_finished",
                None,
                None,
                Some(outcome.map_or("cancelled", outcome_name)),
                Some(latency),
            ),
            Record::Retry {
                client, request, ..
            } => (
                name(&self.clients, client),
                "retry",
                Some(request),
                None,
                None,
                None,
            ),
            Record::HopRetry { hop, request, .. } => (
                name(&self.hops, hop),
                "retry",
                Some(request),
                None,
                None,
                None,
            ),
            Record::BreakerChange { client, state } => (
                name(&self.clients, client),
                breaker_event(state),
                None,
                None,
                None,
                None,
            ),
            Record::HopBreakerChange { hop, state } => (
                name(&self.hops, hop),
                breaker_event(state),
                None,
                None,
                None,
                None,
            ),
            Record::BalancerChange { balancer, serving } => (
                name(&self.balancers, balancer),
                if serving { "vip_up" } else { "vip_down" },
                None,
                None,
                None,
                None,
            ),
            Record::Partition { index, open } => (
                format!("partition/{index}"),
                if open {
                    "partition_start"
                } else {
                    "partition_end"
                },
                None,
                None,
                None,
                None,
            ),
            Record::Scaled { pool, from, to, .. } => (
                format!("pool/{pool}"),
                if to > from { "scale_out" } else { "scale_in" },
                None,
                None,
                None,
                None,
            ),
            Record::ScaleCheck { pool, .. } => (
                format!("pool/{pool}"),
                "scale_check",
                None,
                None,
                None,
                None,
            ),
            Record::Removed { replica, .. } => (
                name(&self.replicas, replica),
                "removed",
                None,
                None,
                None,
                None,
            ),
            Record::Registered {
                replica,
                registered,
            } => (
                name(&self.replicas, replica),
                if registered {
                    "registered"
                } else {
                    "deregistered"
                },
                None,
                None,
                None,
                None,
            ),
            // Time-series samples are observations of state, not events of the trajectory.
            // Store operations are not traced yet (their stores report them).
            Record::ReplicaSample { .. }
            | Record::PoolSample { .. }
            | Record::FleetSample { .. }
            | Record::Store(_) => {
                return;
            }
        };
        if !self.matches(&component, replica.as_deref()) {
            return;
        }
        if let Some(q) = self.filter.request
            && request != Some(q)
        {
            return;
        }
        if self.written >= self.filter.limit {
            self.dropped += 1;
            return;
        }
        let line = match self.format {
            TraceFormat::Jsonl => {
                let mut o = serde_json::Map::new();
                o.insert("t_ns".into(), now.0.into());
                o.insert("component".into(), component.into());
                o.insert("event".into(), event.into());
                if let Some(q) = request {
                    o.insert("request".into(), q.into());
                }
                if let Some(rep) = replica {
                    o.insert("replica".into(), rep.into());
                }
                if let Some(out) = outcome {
                    o.insert("outcome".into(), out.into());
                }
                if let Some(l) = latency {
                    o.insert("latency_ns".into(), l.0.into());
                }
                for (k, v) in extra {
                    o.insert(k.into(), v);
                }
                serde_json::Value::Object(o).to_string()
            }
            TraceFormat::Text => {
                let mut l = format!("{:>16} {:<20} {:<13}", fmt_time(now), component, event);
                if let Some(q) = request {
                    l.push_str(&format!(" #{q}"));
                }
                match (replica, outcome, latency) {
                    (Some(rep), Some(out), Some(lat)) => {
                        l.push_str(&format!(" {out} by {rep} in {:.3} ms", lat.0 as f64 / 1e6));
                    }
                    (Some(rep), _, _) => l.push_str(&format!(" {rep}")),
                    _ => {}
                }
                for (k, v) in extra {
                    l.push_str(&format!(" {k}={v}"));
                }
                l
            }
        };
        if let Err(e) = writeln!(self.out, "{line}") {
            self.error = Some(e);
        }
        self.written += 1;
    }
}

fn fmt_time(t: SimTime) -> String {
    format!("{}.{:09}s", t.0 / 1_000_000_000, t.0 % 1_000_000_000)
}

/// Checkpoints a determinism check keeps per run: its memory, whatever the run's length.
pub const CHECKPOINTS: usize = 1024;

/// Rolling digests of a run's records (the trajectory hash, every record counted) at
/// checkpoints: every `step`-th record of a window `(lo, hi]` of record counts, and its end.
/// Memory is at most [`CHECKPOINTS`] digests: over a whole run of unknown length the step
/// doubles (and every other checkpoint is dropped) whenever they would overflow.
///
/// Given the checkpoints of an earlier run ([`Digests::expecting`]), it compares instead of
/// storing, and keeps the first checkpoint that differs.
pub struct Digests {
    h: u64,
    /// Records seen.
    pub count: u64,
    lo: u64,
    hi: u64,
    /// Records between checkpoints.
    pub step: u64,
    adaptive: bool,
    /// (records seen, digest) at each checkpoint.
    pub marks: Vec<(u64, u64)>,
    expected: Option<Vec<(u64, u64)>>,
    next: usize,
    /// The first checkpoint whose digest differs from the expected one: records seen, the
    /// time and the record.
    pub first_diff: Option<(u64, SimTime, String)>,
}

impl Digests {
    /// Checkpoints over a whole run.
    pub fn whole_run() -> Self {
        Digests::window(0, u64::MAX, 1, true)
    }

    /// Checkpoints at most every `step` records in `(lo, hi]` (and at `hi`).
    fn window(lo: u64, hi: u64, step: u64, adaptive: bool) -> Self {
        Digests {
            h: 0,
            count: 0,
            lo,
            hi,
            step: step.max(1),
            adaptive,
            marks: Vec::new(),
            expected: None,
            next: 0,
            first_diff: None,
        }
    }

    /// Checkpoints spread over `(lo, hi]`, at most [`CHECKPOINTS`] of them.
    pub fn between(lo: u64, hi: u64) -> Self {
        let step = (hi - lo).div_ceil(CHECKPOINTS as u64);
        Digests::window(lo, hi, step, false)
    }

    /// The same checkpoints as `first`, compared with its digests.
    pub fn expecting(first: &Digests) -> Self {
        let mut d = Digests::window(first.lo, first.hi, first.step, false);
        d.expected = Some(first.marks.clone());
        d
    }

    /// The digest of all records so far.
    pub fn digest(&self) -> u64 {
        self.h
    }
}

impl Observer<Record> for Digests {
    fn record(&mut self, now: SimTime, r: &Record) {
        mix_record(&mut self.h, now, r);
        self.count += 1;
        let c = self.count;
        if c <= self.lo || c > self.hi || (c != self.hi && !(c - self.lo).is_multiple_of(self.step))
        {
            return;
        }
        match &self.expected {
            Some(expected) => {
                if let Some(&(at, h)) = expected.get(self.next) {
                    debug_assert_eq!(at, c, "the same checkpoints in both runs");
                    if h != self.h && self.first_diff.is_none() {
                        self.first_diff = Some((c, now, format!("{r:?}")));
                    }
                }
                self.next += 1;
            }
            None => {
                self.marks.push((c, self.h));
                if self.adaptive && self.marks.len() > CHECKPOINTS {
                    self.step *= 2;
                    let step = self.step;
                    self.marks.retain(|&(at, _)| at.is_multiple_of(step));
                }
            }
        }
    }
}

/// A determinism check in constant memory: runs twice comparing digests at checkpoints; only
/// if they differ, runs again (two runs per round) with checkpoints ever closer inside the
/// first differing stretch until it names the first differing record. `run` performs one run
/// fed to the given digests. Returns the first two runs' results and the verdict.
pub fn check_determinism<R>(
    mut run: impl FnMut(Digests) -> (R, Digests),
) -> (R, R, Result<(), String>) {
    let (first, a) = run(Digests::whole_run());
    let (second, b) = run(Digests::expecting(&a));
    let (mut lo, mut hi) = match &b.first_diff {
        None if a.count == b.count && a.digest() == b.digest() => return (first, second, Ok(())),
        None if a.count != b.count => {
            let (x, y) = (a.count, b.count);
            return (
                first,
                second,
                Err(format!("the runs emitted {x} and {y} records")),
            );
        }
        // Same length, different end: after the last checkpoint.
        None => (a.marks.last().map_or(0, |m| m.0), a.count),
        Some((c, _, _)) => (c.saturating_sub(b.step), *c),
    };
    let verdict = loop {
        let (_, a) = run(Digests::between(lo, hi));
        let (_, b) = run(Digests::expecting(&a));
        match b.first_diff {
            Some((c, t, rec)) if b.step == 1 => {
                break Err(format!(
                    "the second run diverged at record #{} (t = {}): {rec}",
                    c - 1,
                    SimDuration(t.0)
                ));
            }
            Some((c, _, _)) => (lo, hi) = (c - b.step, c),
            None => {
                break Err(format!(
                    "the runs differ between records #{lo} and #{hi} (counted from 0), and two more \
                     runs did not reproduce the difference"
                ));
            }
        }
    };
    (first, second, verdict)
}

/// The trace's event name for a breaker's new state.
fn breaker_event(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "breaker_closed",
        BreakerState::Open => "breaker_open",
        BreakerState::HalfOpen => "breaker_half_open",
    }
}

/// One request's life from a JSONL trace, as a person reads it: each step with its time since
/// the request was offered, the balancer's candidates on one line.
pub fn explain(trace: &str, request: u64) -> Result<String, String> {
    use serde_json::Value;
    let mut steps: Vec<Value> = Vec::new();
    for (i, line) in trace.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "line {}: not a JSON Lines trace ({e}); write one with `hasim run FILE --trace RUN.jsonl`",
                i + 1
            )
        })?;
        if v["request"].as_u64() == Some(request) {
            steps.push(v);
        }
    }
    if steps.is_empty() {
        return Err(format!(
            "no record of request {request}: trace it with `--trace-request {request}` (and check --trace-from/--trace-to/--trace-limit)"
        ));
    }
    let t0 = steps
        .iter()
        .find(|s| s["event"] == "offered")
        .or(steps.first())
        .and_then(|s| s["t_ns"].as_u64())
        .unwrap_or(0);
    let ms = |ns: u64| format!("{:.3} ms", ns as f64 / 1e6);
    let str_of = |v: &Value, k: &str| v[k].as_str().unwrap_or("-").to_string();
    let mut o = String::new();
    // When each replica began serving it (a request with dependencies is served by several at
    // once).
    let mut started: Vec<(String, u64)> = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let s = &steps[i];
        let t = s["t_ns"].as_u64().unwrap_or(0);
        let who = str_of(s, "component");
        let at = format!("{:>14}", format!("+{}", ms(t.saturating_sub(t0))));
        let line = match s["event"].as_str().unwrap_or("") {
            "offered" => format!(
                "request {request}: offered by {who} at {}",
                fmt_time(SimTime(t))
            ),
            "attempt" | "hedge" => format!(
                "{who} sends attempt {}{}",
                s["attempt"],
                if s["event"] == "hedge" {
                    " (a hedged copy)"
                } else {
                    ""
                }
            ),
            "candidate" => {
                let mut seen = Vec::new();
                while i < steps.len() && steps[i]["event"] == "candidate" {
                    let c = &steps[i];
                    seen.push(format!(
                        "{} ({} in flight from it, {} at the replica)",
                        str_of(c, "replica"),
                        c["in_flight"],
                        c["occupancy"]
                    ));
                    i += 1;
                }
                o.push_str(&format!("{at}  {who} sees {}\n", seen.join(", ")));
                continue;
            }
            "picked" => format!("{who} picks {}", str_of(s, "replica")),
            "enqueued" => format!("{who} queues it (queue length {} with it)", s["queued"]),
            "service_start" => {
                started.retain(|(w, _)| *w != who);
                started.push((who.clone(), t));
                format!("{who} starts serving it")
            }
            "service_end" => {
                format!(
                    "{who} finishes serving it{}",
                    started.iter().find(|(w, _)| *w == who).map_or(
                        String::new(),
                        |&(_, b)| format!(" (service {})", ms(t.saturating_sub(b)))
                    )
                )
            }
            "dependency_call" => format!("{who} calls its dependency through {}", str_of(s, "hop")),
            "dependency_end" => {
                format!("{who}: the dependency call ends: {}", str_of(s, "outcome"))
            }
            "retry" => format!("{who} will retry"),
            "finished" => format!(
                "{who} learns: {} by {}, latency {} (waited {}), {} attempt(s)",
                str_of(s, "outcome"),
                str_of(s, "replica"),
                ms(s["latency_ns"].as_u64().unwrap_or(0)),
                ms(s["waited_ns"].as_u64().unwrap_or(0)),
                s["attempts"]
            ),
            other => format!("{who} {other}"),
        };
        o.push_str(&format!("{at}  {line}\n"));
        i += 1;
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic run of `n` records; the second run of every pair differs at record `diverge`.
    fn runs(n: u64, diverge: Option<u64>) -> impl FnMut(Digests) -> (u64, Digests) {
        let mut calls = 0u32;
        move |mut d: Digests| {
            let odd = calls % 2 == 1;
            calls += 1;
            for i in 0..n {
                let bad = odd && diverge == Some(i);
                let replica = (i % 7) as u32 + if bad { 100 } else { 0 };
                d.record(SimTime(i * 10), &Record::ReplicaUp { replica });
                assert!(d.marks.len() <= CHECKPOINTS, "constant memory");
            }
            (d.digest(), d)
        }
    }

    #[test]
    fn identical_runs_pass() {
        let (a, b, verdict) = check_determinism(runs(100_000, None));
        assert_eq!(a, b);
        assert_eq!(verdict, Ok(()));
    }

    #[test]
    fn a_divergence_is_bisected_to_its_record_in_constant_memory() {
        for (n, at) in [(3_000_000, 1_234_567), (500, 0), (500, 499), (5_000, 4_096)] {
            let mut calls = 0;
            let mut run = runs(n, Some(at));
            let (_, _, verdict) = check_determinism(|d| {
                calls += 1;
                run(d)
            });
            let want = format!("the second run diverged at record #{at} (t = ");
            assert!(
                verdict.as_ref().is_err_and(|e| e.starts_with(&want)),
                "{verdict:?}"
            );
            // Two runs, then two per round: each round narrows by a factor CHECKPOINTS.
            assert!(calls <= 6, "{calls} runs");
        }
    }
}

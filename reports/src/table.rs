//! The report as a table for people.

use crate::report::Report;
use std::fmt::Write;

/// Replicas listed by name in a large pool's summary (the busiest).
const BUSIEST: usize = 5;

fn ci(x: Option<f64>) -> String {
    x.map_or("n/a".to_string(), |h| format!("{h}"))
}

/// Renders `r` as aligned text.
pub fn render_table(r: &Report) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(
        w,
        "hasim {} · scenario {} ({}) · seed {} · replication {}",
        r.hasim_version, r.scenario, r.scenario_hash, r.seed, r.replication
    );
    let _ = writeln!(
        w,
        "window {}s → {}s · {} events · fingerprint {}",
        r.window.warmup_s, r.window.horizon_s, r.events, r.fingerprint
    );
    if r.replicas.is_empty() && !r.stores.is_empty() {
        // Stores alone: there is no request topology to report.
        crate::store::render(w, &r.stores);
        tail(w, r);
        return o;
    }
    let _ = writeln!(w);
    let q = &r.requests;
    let _ = writeln!(
        w,
        "requests     offered {:>12}  succeeded {:>12}  failed {:>10}  in flight {}",
        q.offered, q.succeeded, q.failed, q.in_flight
    );
    let f = &q.failed_by;
    let _ = write!(
        w,
        "  failed by  rejected {}  timed out {}  crashed {}  refused {}",
        f.rejected, f.timed_out, f.crashed, f.refused
    );
    if f.error > 0 {
        let _ = write!(w, "  error {}", f.error);
    }
    if f.short_circuited > 0 {
        let _ = write!(w, "  short-circuited {}", f.short_circuited);
    }
    let _ = writeln!(w);
    if let Some(x) = &r.resilience {
        let _ = writeln!(
            w,
            "resilience   {} attempts per request · {} retries ({} denied by budget) · {} hedges ({} cancelled)",
            x.attempts_per_request,
            x.retries,
            x.retries_denied_by_budget,
            x.hedges,
            x.hedges_cancelled
        );
        let _ = writeln!(
            w,
            "             breaker opened {} times, {} short-circuited · bulkhead rejected {} · rate limited {} · stale work served {}, dropped {}",
            x.breaker_openings,
            x.short_circuited,
            x.bulkhead_rejected,
            x.rate_limited,
            x.stale_served,
            x.stale_dropped
        );
    }
    let _ = writeln!(
        w,
        "availability request {:.6}  service up {:.6} (share of time every pool had a replica up)",
        r.availability.request, r.availability.time
    );
    let s = &r.sre;
    let opt = |x: Option<f64>, unit: &str| x.map_or("n/a".to_string(), |v| format!("{v}{unit}"));
    let _ = writeln!(
        w,
        "objective    {} (from {}) · {} windows of {}s: {} good, {} bad, {} empty",
        s.slo_availability,
        match s.slo_from {
            crate::SloSource::Slo => "slo",
            crate::SloSource::Expect => "expect",
            crate::SloSource::Default => "default",
        },
        s.windows.total,
        s.window_s,
        s.windows.good,
        s.windows.bad,
        s.windows.empty
    );
    let _ = writeln!(
        w,
        "  SRE view   good windows {} (good / (good + bad)) · downtime {} per year · nines {} · error budget {}",
        opt(s.time_availability, ""),
        opt(s.downtime_per_year_h, " h"),
        s.nines
            .map_or("∞ (nothing failed)".to_string(), |n| n.to_string()),
        opt(
            s.error_budget_consumed.map(|b| (b * 1e4).round() / 1e2),
            " % consumed"
        ),
    );
    let _ = writeln!(w, "throughput   {} req/s", r.throughput_rps);
    let l = &r.latency_ms;
    let _ = writeln!(
        w,
        "latency ms   mean {} ± {} (95% CI)",
        l.mean,
        ci(l.mean_ci95)
    );
    let _ = writeln!(
        w,
        "             p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        l.p50, l.p90, l.p99, l.p999, l.max
    );
    let qu = &r.queueing;
    let _ = writeln!(
        w,
        "queueing     P(wait) {} ± {}  mean wait {} ms",
        qu.p_wait,
        ci(qu.p_wait_ci95),
        qu.mean_wait_ms
    );
    let _ = writeln!(
        w,
        "  wait ms    p50 {}  p90 {}  p99 {}  p99.9 {}",
        qu.wait_ms.p50, qu.wait_ms.p90, qu.wait_ms.p99, qu.wait_ms.p999
    );
    for u in &r.users {
        let mva = u.mva.as_ref().map_or(String::new(), |m| {
            format!(" (MVA {} req/s, {} ms)", m.throughput_per_s, m.response_ms)
        });
        let _ = writeln!(
            w,
            "users        {}: {} users, think {} ms: {} req/s, response {} ms, cycle {} ms{mva}",
            u.client, u.users, u.think_ms, u.throughput_per_s, u.response_ms, u.cycle_ms
        );
    }
    for k in &r.priorities {
        let _ = writeln!(
            w,
            "priority {:<3} {} requests, availability {:.6}, latency ms mean {} p50 {} p99 {}",
            k.priority,
            k.requests,
            k.availability,
            k.latency_ms.mean,
            k.latency_ms.p50,
            k.latency_ms.p99
        );
    }
    for h in &r.dependencies {
        let _ = writeln!(
            w,
            "dependency   {}: {} calls, availability {:.6}, {} attempts per call, p50 {} p99 {} ms · {} cancelled · {} retries",
            h.hop,
            h.calls,
            h.availability,
            h.attempts_per_call,
            h.latency_ms.p50,
            h.latency_ms.p99,
            h.cancelled,
            h.retries
        );
        let f = &h.failed_by;
        if h.failed > 0 {
            let _ = writeln!(
                w,
                "               failed {}: rejected {}  timed out {}  crashed {}  refused {}  error {}  short-circuited {}",
                h.failed, f.rejected, f.timed_out, f.crashed, f.refused, f.error, f.short_circuited
            );
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "{:<16} {:>5} {:>11} {:>11} {:>9} {:>12} {:>8}",
        "pool", "#", "utilisation", "mean queue", "up", "served", "crashes"
    );
    let row = |w: &mut String, pool: &str, index: &str, p: &crate::report::ReplicaReport| {
        let _ = writeln!(
            w,
            "{:<16} {:>5} {:>11.4} {:>11.4} {:>9.6} {:>12} {:>8}",
            pool, index, p.utilisation, p.mean_queue_length, p.up_fraction, p.served, p.crashes
        );
    };
    for pool in r.replicas.chunk_by(|a, b| a.pool == b.pool) {
        if pool.len() <= crate::timeseries::MAX_REPLICA_SERIES {
            for p in pool {
                row(w, &p.pool, &p.index.to_string(), p);
            }
            continue;
        }
        // A row per replica stops being readable: each column's spread across the pool, then
        // the busiest replicas.
        let name = &pool[0].pool;
        let column = |f: &dyn Fn(&crate::report::ReplicaReport) -> f64| {
            let mut v: Vec<f64> = pool.iter().map(f).collect();
            models::spread(&mut v)
        };
        let cols = [
            column(&|p| p.utilisation),
            column(&|p| p.mean_queue_length),
            column(&|p| p.up_fraction),
            column(&|p| p.served as f64),
            column(&|p| p.crashes as f64),
        ];
        for (k, label) in ["p50", "p90", "p99", "max"].iter().enumerate() {
            let p = crate::report::ReplicaReport {
                pool: name.clone(),
                index: 0,
                utilisation: cols[0][k],
                mean_queue_length: cols[1][k],
                up_fraction: cols[2][k],
                provisioned_fraction: None,
                served: cols[3][k] as u64,
                crashes: cols[4][k] as u64,
            };
            row(w, name, label, &p);
        }
        let mut busiest: Vec<&crate::report::ReplicaReport> = pool.iter().collect();
        busiest.sort_by(|a, b| {
            b.utilisation
                .total_cmp(&a.utilisation)
                .then(a.index.cmp(&b.index))
        });
        let _ = writeln!(
            w,
            "  ({} replicas: the spread across them above, the {} busiest below)",
            pool.len(),
            BUSIEST
        );
        for p in busiest.into_iter().take(BUSIEST) {
            row(w, &p.pool, &p.index.to_string(), p);
        }
    }
    crate::fleet::table(w, &r.groups);
    for a in &r.autoscaling {
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "autoscaling  pool {}: {}–{} replicas (min {}, max {}) · mean provisioned {} · mean ready {} · at max {:.2}% of the window · {} actions · {} failed by scale-in",
            a.pool,
            a.fewest,
            a.most,
            a.min,
            a.max,
            a.mean_provisioned,
            a.mean_ready,
            a.time_at_max * 100.0,
            a.actions_total,
            a.failed_by_scale_in
        );
        for x in a.actions.iter().take(12) {
            let _ = writeln!(
                w,
                "  {:>9.1}s  {:>3} → {:<3} {}",
                x.at_s, x.from, x.to, x.reason
            );
        }
        if a.actions.len() > 12 {
            let _ = writeln!(w, "  … {} more in the JSON report", a.actions_total - 12);
        }
        for l in a.scale_out_lag.iter().take(12) {
            let slow = l.requests_slow.map_or(String::new(), |s| {
                format!(", {s} slower than the p99 objective")
            });
            let _ = writeln!(
                w,
                "  lag {:>3} → {:<3} over target from {:.0}s, decided {:.0}s, warm {:.0}s: {} finished, {} failed{slow}",
                l.from,
                l.to,
                l.breach_s,
                l.decided_s,
                l.ready_s,
                l.requests_finished,
                l.requests_failed
            );
        }
    }
    if !r.theory.is_empty() {
        let _ = writeln!(
            w,
            "theory       M/M/c closed forms: {}",
            crate::theory::ASSUMES
        );
    }
    for t in &r.theory {
        let fmt = |x: Option<f64>| {
            x.map_or("— (ρ ≥ 1: no steady state)".to_string(), |v| {
                v.to_string()
            })
        };
        let _ = writeln!(
            w,
            "theory       {} (pool {}): ρ {}, mean {} ms, P(wait) {}, Lq {}",
            t.model,
            t.pool,
            t.utilisation,
            fmt(t.mean_response_ms),
            fmt(t.p_wait),
            fmt(t.mean_queue_length)
        );
    }
    if r.faults.total > 0 {
        let f = &r.faults;
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "faults       {} crashes, {} without effect",
            f.total, f.without_effect
        );
        for (x, i) in f.listed.iter().zip(&r.sre.incidents).take(10) {
            let up = x
                .up_s
                .map_or("still down".to_string(), |u| format!("up at {u:.3}s"));
            let effect = if x.had_effect {
                String::new()
            } else {
                "  ← no effect".to_string()
            };
            let recover = i
                .time_to_recover_s
                .map_or("never met the objective again".to_string(), |t| {
                    format!("objective met again after {t}s")
                });
            let recover = match i.time_to_detect_s {
                Some(d) => format!("detected after {d}s; {recover}"),
                None => recover,
            };
            let _ = writeln!(
                w,
                "  {:<12} down at {:.3}s, {up}: {} lost, {} refused{effect}; {recover}; {}",
                x.replica, x.down_s, x.requests_lost, x.requests_refused, i.verdict
            );
        }
        if f.listed.len() > 10 {
            let _ = writeln!(w, "  … {} more in the JSON report", f.total - 10);
        }
    }
    if !r.faults.slowdowns.is_empty() || r.faults.gray.is_some() {
        let _ = writeln!(w);
        if let Some(g) = &r.faults.gray {
            let _ = writeln!(
                w,
                "gray failures {} random episodes on {} replicas: gray {}% of replica time ({}s); meanwhile {} requests sent to them succeeded, {} failed",
                g.episodes,
                g.replicas,
                crate::report::round(g.gray_fraction * 100.0, 4),
                g.gray_s,
                g.requests_succeeded,
                g.requests_failed
            );
        }
        for s in r.faults.slowdowns.iter().take(10) {
            let to = s.to_s.map_or("still slow at the end".to_string(), |t| {
                format!("to {t:.3}s")
            });
            let errors = if s.error_rate > 0.0 {
                format!(
                    ", {}% errors",
                    crate::report::round(s.error_rate * 100.0, 7)
                )
            } else {
                String::new()
            };
            let random = if s.random { " (random)" } else { "" };
            let _ = writeln!(
                w,
                "slowdown     {} ×{}{errors}{random} from {:.3}s {to}: {} of its requests failed meanwhile, {} succeeded",
                s.replica, s.factor, s.from_s, s.requests_failed, s.requests_succeeded
            );
        }
        if r.faults.slowdowns.len() > 10 {
            let _ = writeln!(
                w,
                "  … {} more in the JSON report",
                r.faults.slowdowns.len() - 10
            );
        }
    }
    let windows = r
        .faults
        .balancer_outages
        .iter()
        .take(10)
        .map(|p| {
            (
                "balancer",
                format!("{} dark", p.balancer),
                p.from_s,
                p.to_s,
                p.requests_failed,
            )
        })
        .chain(r.faults.partitions.iter().take(10).map(|p| {
            (
                "partition",
                p.groups.clone(),
                p.from_s,
                p.to_s,
                p.requests_failed,
            )
        }));
    for (kind, what, from, to, failed) in windows {
        let to = to.map_or("still on at the end".to_string(), |t| format!("to {t:.3}s"));
        let _ = writeln!(
            w,
            "{kind:<12} {what} from {from:.3}s {to}: {failed} requests failed meanwhile"
        );
    }
    crate::store::render(w, &r.stores);
    render_store_incidents(w, r);
    tail(w, r);
    o
}

/// Expectations, notes and the reproduce command.
fn tail(w: &mut String, r: &Report) {
    if !r.expectations.is_empty() {
        let _ = writeln!(w);
        for v in &r.expectations {
            let _ = writeln!(w, "expect {}", v.line());
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(w);
        for n in &r.notes {
            let _ = writeln!(w, "note: {n}");
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "reproduce: {}", r.reproduce);
}

/// The stores' faults as incidents of the whole path: what the store failed, and when the
/// end-to-end objective was met again (they come last in `sre.incidents`).
fn render_store_incidents(w: &mut String, r: &Report) {
    let n: usize = (r.stores.iter())
        .map(|s| s.section().incidents().len())
        .sum();
    let all = &r.sre.incidents;
    if n == 0 || r.replicas.is_empty() || all.len() < n {
        return;
    }
    let _ = writeln!(w);
    for i in &all[all.len() - n..] {
        let recover = i
            .time_to_recover_s
            .map_or("never met the objective again".to_string(), |t| {
                format!("objective met again after {t}s")
            });
        let _ = writeln!(
            w,
            "incident     {} at {:.3}s: {recover}; {}",
            i.fault, i.start_s, i.verdict
        );
    }
}

//! Figures of a cache in front of a backend: requests, hits and misses by cause, the hit ratio
//! overall, in steady state and from the closed form, latency of all answered requests and of
//! misses alone, the backend's fetches, rejections and time-outs, one row per window, and per
//! restart the stampede: the backend's peak rate against its steady rate, the time until the
//! hit ratio is back near its steady value, and the requests that failed meanwhile.

use crate::store::{OpLatencyMs, StoreCollector, latency, ratio, round};
use models::store::{CacheSummary, CacheWindow};
use serde::Serialize;
use std::fmt::Write;

/// A window's hit ratio is back to steady state when it is at most this far below it (an
/// absolute difference: 4 standard deviations of a 1 s window's ratio at 1000 requests/s and a
/// hit ratio near 0.8 are about 0.05, so short windows at low rates may need a longer window).
pub const RECOVERED_WITHIN: f64 = 0.02;

/// A cache's requests.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CacheRequests {
    /// Issued.
    pub offered: u64,
    /// Answered from the cache.
    pub hits: u64,
    /// Missed, for any cause.
    pub misses: u64,
    /// Missed: never cached since the last restart.
    pub misses_cold: u64,
    /// Missed: expired.
    pub misses_expired: u64,
    /// Missed: evicted by LRU.
    pub misses_evicted: u64,
    /// Missed: the cache was down.
    pub misses_down: u64,
    /// Misses that waited for another request's fetch (single flight).
    pub coalesced: u64,
    /// Misses the backend answered.
    pub misses_answered: u64,
    /// Misses that failed (fetch rejected or timed out).
    pub failed: u64,
    /// Misses still waiting at the end.
    pub in_progress: u64,
}

/// The backend behind a cache.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CacheBackend {
    /// Workers.
    pub workers: u32,
    /// Fetches sent (one per miss, or per key in flight with single flight).
    pub fetches: u64,
    /// Fetches answered.
    pub answered: u64,
    /// Rejected by a full queue.
    pub rejected: u64,
    /// Waited longer than the time-out.
    pub timed_out: u64,
    /// Fetches sent while another fetch of the same key was in flight.
    pub duplicate_fetches: u64,
    /// Most fetches of one key in flight at once (1 with single flight).
    pub max_fetches_per_key: u32,
    /// Fetches per second over the run.
    pub rate_per_s: f64,
    /// Fetches per second over the steady-state windows (null: none).
    pub steady_rate_per_s: Option<f64>,
    /// Mean busy workers / workers.
    pub utilisation: f64,
    /// Mean queue length.
    pub mean_queue: f64,
}

/// One window of a cache's run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CacheWindowRow {
    /// Start, s.
    pub start_s: f64,
    /// Length, s (the last window may be shorter).
    pub length_s: f64,
    /// Requests that arrived in it.
    pub requests: u64,
    /// Hits among them.
    pub hits: u64,
    /// hits / requests (0 without requests).
    pub hit_ratio: f64,
    /// Requests of the window that failed.
    pub failed: u64,
    /// Fetches that reached the backend, per second.
    pub backend_per_s: f64,
    /// Fetches rejected by a full queue.
    pub rejected: u64,
    /// Fetches that waited too long.
    pub timed_out: u64,
    /// Mean backend queue length.
    pub queue_mean: f64,
    /// Mean busy workers / workers.
    pub utilisation: f64,
    /// Steady state (starts a TTL after the cache came back, or after its first eviction
    /// without a TTL; no restart in it).
    pub settled: bool,
}

/// The miss storm after one restart.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StampedeReport {
    /// When the cache was emptied, s.
    pub at_s: f64,
    /// How long it was down, s (null: still down at the end).
    pub down_s: Option<f64>,
    /// A scheduled restart (true) or a random crash.
    pub scheduled: bool,
    /// Steady-state backend rate before it (settled windows since the previous restart, else
    /// all settled windows), fetches/s.
    pub steady_backend_per_s: Option<f64>,
    /// Highest backend rate of a window from the restart's to the recovery's, fetches/s.
    pub peak_backend_per_s: f64,
    /// Start of that window, s.
    pub peak_at_s: f64,
    /// peak / steady.
    pub peak_over_steady: Option<f64>,
    /// The steady-state hit ratio it recovers to.
    pub steady_hit_ratio: Option<f64>,
    /// From the restart to the end of the first window after it whose hit ratio is within
    /// [`RECOVERED_WITHIN`] of the steady one, s (null: not by the next restart or the end).
    pub recovered_after_s: Option<f64>,
    /// Requests that arrived from the restart's window to the recovery's and failed.
    pub failed_requests: u64,
    /// Fetches rejected over the same windows.
    pub rejected: u64,
    /// Fetches timed out over the same windows.
    pub timed_out: u64,
}

/// A cache's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CacheReport {
    /// The store's name.
    pub name: String,
    /// The key population.
    pub keys: String,
    /// TTL, s (null: none).
    pub ttl_s: Option<f64>,
    /// Capacity in entries (null: unbounded).
    pub capacity: Option<u32>,
    /// Single flight on.
    pub coalesce_misses: bool,
    /// Requests.
    pub requests: CacheRequests,
    /// hits / requests over the run.
    pub hit_ratio: f64,
    /// hits / requests over the settled windows (null: none).
    pub steady_hit_ratio: Option<f64>,
    /// The closed form's hit ratio, when one applies.
    pub theory_hit_ratio: Option<f64>,
    /// Which closed form.
    pub theory: Option<&'static str>,
    /// Answered requests (hits and misses), ms.
    pub latency_ms: OpLatencyMs,
    /// Answered misses, ms.
    pub miss_latency_ms: OpLatencyMs,
    /// The backend.
    pub backend: CacheBackend,
    /// Entries evicted by LRU.
    pub evictions: u64,
    /// Restarts, scheduled and random.
    pub restarts: u64,
    /// The stampede after each restart (the first [`crate::MAX_OUTAGES_LISTED`]).
    pub stampedes: Vec<StampedeReport>,
    /// Window length, s.
    pub window_s: f64,
    /// One row per window.
    pub windows: Vec<CacheWindowRow>,
    /// Hash of the cache's records in order.
    pub fingerprint: String,
}

fn length_ns(c: &CacheSummary, i: usize) -> u64 {
    let start = i as u64 * c.window_ns;
    (start + c.window_ns).min(c.run.end.0.max(start)) - start
}

/// Hits / requests and fetches per second over a set of windows.
fn over<'a>(
    c: &CacheSummary,
    ws: impl Iterator<Item = (usize, &'a CacheWindow)>,
) -> Option<(f64, f64)> {
    let (mut req, mut hits, mut fetches, mut ns) = (0u64, 0u64, 0u64, 0u64);
    for (i, w) in ws {
        req += w.requests;
        hits += w.hits;
        fetches += w.fetches;
        ns += length_ns(c, i);
    }
    (ns > 0 && req > 0).then(|| (hits as f64 / req as f64, fetches as f64 / (ns as f64 / 1e9)))
}

/// The report of cache `c` from its summary and collector.
pub fn cache(c: &CacheSummary, col: &StoreCollector) -> CacheReport {
    let k = &c.counts;
    // The figures' span: from the end of warm-up.
    let end = c.run.end.0.saturating_sub(c.since.0);
    let secs = |ns: u64| round(ns as f64 / 1e9, 6);
    let rate = |n: u64, ns: u64| {
        if ns == 0 {
            0.0
        } else {
            n as f64 / (ns as f64 / 1e9)
        }
    };
    let windows: Vec<CacheWindowRow> = c
        .windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let len = length_ns(c, i);
            let per = |area: u128| {
                if len == 0 {
                    0.0
                } else {
                    area as f64 / len as f64
                }
            };
            CacheWindowRow {
                start_s: secs(i as u64 * c.window_ns),
                length_s: secs(len),
                requests: w.requests,
                hits: w.hits,
                hit_ratio: round(
                    if w.requests == 0 {
                        0.0
                    } else {
                        w.hits as f64 / w.requests as f64
                    },
                    6,
                ),
                failed: w.failed,
                backend_per_s: round(rate(w.fetches, len), 3),
                rejected: w.rejected,
                timed_out: w.timed_out,
                queue_mean: round(per(w.queue_ns), 3),
                utilisation: round(per(w.busy_ns) / f64::from(c.workers.max(1)), 6),
                settled: w.settled,
            }
        })
        .collect();
    let settled = over(c, c.windows.iter().enumerate().filter(|(_, w)| w.settled));
    let window_of = |t: u64| ((t / c.window_ns) as usize).min(c.windows.len() - 1);
    let mut stampedes = Vec::new();
    for (r, rs) in c
        .restarts
        .iter()
        .enumerate()
        .take(crate::MAX_OUTAGES_LISTED)
    {
        let wr = window_of(rs.at.0);
        let prev = if r == 0 {
            0
        } else {
            window_of(c.restarts[r - 1].at.0)
        };
        let next = c
            .restarts
            .get(r + 1)
            .map_or(c.windows.len(), |n| window_of(n.at.0));
        let steady = over(
            c,
            c.windows[prev..wr]
                .iter()
                .enumerate()
                .map(|(j, w)| (prev + j, w))
                .filter(|(_, w)| w.settled),
        )
        .or(settled);
        // The first window wholly after the cache came back.
        let first = rs.up_at.map(|u| {
            let w = window_of(u.0);
            if u.0 % c.window_ns == 0 { w } else { w + 1 }
        });
        let recovered = match (steady, first) {
            (Some((h, _)), Some(first)) => (first..next).find(|&i| {
                let w = &c.windows[i];
                w.requests > 0 && w.hits as f64 / w.requests as f64 >= h - RECOVERED_WITHIN
            }),
            _ => None,
        };
        let last = recovered.unwrap_or(next.max(wr + 1) - 1);
        let span = wr..=last.max(wr);
        let (mut peak, mut peak_at) = (0.0f64, wr);
        let (mut failed, mut rejected, mut timed_out) = (0, 0, 0);
        for i in span {
            let w = &c.windows[i];
            let x = rate(w.fetches, length_ns(c, i));
            if x > peak {
                (peak, peak_at) = (x, i);
            }
            failed += w.failed;
            rejected += w.rejected;
            timed_out += w.timed_out;
        }
        stampedes.push(StampedeReport {
            at_s: secs(rs.at.0),
            down_s: rs.up_at.map(|u| secs(u.0 - rs.at.0)),
            scheduled: rs.scheduled,
            steady_backend_per_s: steady.map(|(_, b)| round(b, 3)),
            peak_backend_per_s: round(peak, 3),
            peak_at_s: secs(peak_at as u64 * c.window_ns),
            peak_over_steady: steady.and_then(|(_, b)| (b > 0.0).then(|| round(peak / b, 3))),
            steady_hit_ratio: steady.map(|(h, _)| round(h, 6)),
            recovered_after_s: recovered.map(|i| {
                let stop = (i as u64 * c.window_ns + length_ns(c, i)).min(end);
                secs(stop - rs.at.0)
            }),
            failed_requests: failed,
            rejected,
            timed_out,
        });
    }
    let empty = crate::store::empty_latency();
    let (all, misses) = match &col.cache {
        Some(l) => (
            latency(&l.all, l.all_sum_ns),
            latency(&l.misses, l.misses_sum_ns),
        ),
        None => (empty.clone(), empty),
    };
    CacheReport {
        name: c.name.clone(),
        keys: c.keys.clone(),
        ttl_s: c.ttl.map(|t| secs(t.0)),
        capacity: c.capacity,
        coalesce_misses: c.coalesce_misses,
        requests: CacheRequests {
            offered: k.requests,
            hits: k.hits,
            misses: k.misses(),
            misses_cold: k.misses_cold,
            misses_expired: k.misses_expired,
            misses_evicted: k.misses_evicted,
            misses_down: k.misses_down,
            coalesced: k.coalesced,
            misses_answered: k.misses_ok,
            failed: k.failed,
            in_progress: k.in_progress,
        },
        hit_ratio: round(ratio(u128::from(k.hits), u128::from(k.requests)), 6),
        steady_hit_ratio: settled.map(|(h, _)| round(h, 6)),
        theory_hit_ratio: c.theory.map(|(h, _)| round(h, 6)),
        theory: c.theory.map(|(_, t)| t),
        latency_ms: all,
        miss_latency_ms: misses,
        backend: CacheBackend {
            workers: c.workers,
            fetches: k.fetches,
            answered: k.fetches_ok,
            rejected: k.rejected,
            timed_out: k.timed_out,
            duplicate_fetches: k.duplicate_fetches,
            max_fetches_per_key: k.max_fetches_per_key,
            rate_per_s: round(rate(k.fetches_at_backend, end), 3),
            steady_rate_per_s: settled.map(|(_, b)| round(b, 3)),
            utilisation: round(
                if end == 0 {
                    0.0
                } else {
                    c.busy_ns as f64 / end as f64 / f64::from(c.workers.max(1))
                },
                6,
            ),
            mean_queue: round(
                if end == 0 {
                    0.0
                } else {
                    c.queue_ns as f64 / end as f64
                },
                3,
            ),
        },
        evictions: k.evictions,
        restarts: k.restarts,
        stampedes,
        window_s: secs(c.window_ns),
        windows,
        fingerprint: format!("{:016x}", col.fingerprint),
    }
}

/// A cache's lines of the human table.
pub(crate) fn render(w: &mut String, c: &CacheReport) {
    let ttl = c
        .ttl_s
        .map_or("no ttl".to_string(), |t| format!("ttl {t}s"));
    let cap = c
        .capacity
        .map_or("unbounded".to_string(), |n| format!("capacity {n} (LRU)"));
    let _ = writeln!(
        w,
        "store        {} · cache over {} · {ttl} · {cap} · single flight {}",
        c.name,
        c.keys,
        if c.coalesce_misses { "on" } else { "off" }
    );
    let r = &c.requests;
    let _ = writeln!(
        w,
        "  requests   offered {}  hits {}  misses {} (cold {}, expired {}, evicted {}, down {}, coalesced {})  failed {}",
        r.offered,
        r.hits,
        r.misses,
        r.misses_cold,
        r.misses_expired,
        r.misses_evicted,
        r.misses_down,
        r.coalesced,
        r.failed
    );
    let opt = |x: Option<f64>| x.map_or("—".to_string(), |v| v.to_string());
    let theory = match (c.theory_hit_ratio, c.theory) {
        (Some(h), Some(t)) => format!("  theory {h} ({t})"),
        _ => String::new(),
    };
    let _ = writeln!(
        w,
        "  hit ratio  {}  steady state {}{theory}",
        c.hit_ratio,
        opt(c.steady_hit_ratio)
    );
    for (what, l) in [("all", &c.latency_ms), ("misses", &c.miss_latency_ms)] {
        let _ = writeln!(
            w,
            "  latency ms {what:<7}mean {}  p50 {}  p99 {}  max {}",
            l.mean, l.p50, l.p99, l.max
        );
    }
    let b = &c.backend;
    if b.workers == 0 {
        // Its callers fetch the misses through their hop (its line in `dependencies`).
        let _ = writeln!(
            w,
            "  backend    fetched by the callers · fetches {} ({}/s, steady {}/s)  failed {}  duplicate {}",
            b.fetches,
            b.rate_per_s,
            opt(b.steady_rate_per_s),
            c.requests.failed,
            b.duplicate_fetches,
        );
    } else {
        let _ = writeln!(
            w,
            "  backend    {} workers · fetches {} ({}/s, steady {}/s)  rejected {}  timed out {}  duplicate {}  utilisation {}  mean queue {}",
            b.workers,
            b.fetches,
            b.rate_per_s,
            opt(b.steady_rate_per_s),
            b.rejected,
            b.timed_out,
            b.duplicate_fetches,
            b.utilisation,
            b.mean_queue
        );
    }
    if c.evictions > 0 {
        let _ = writeln!(w, "  evictions  {}", c.evictions);
    }
    for s in c.stampedes.iter().take(10) {
        let down = match s.down_s {
            Some(d) if d > 0.0 => format!(", down {d}s"),
            Some(_) => String::new(),
            None => ", down until the end".to_string(),
        };
        let ratio = s.peak_over_steady.map_or(String::new(), |x| {
            format!(" = {x}× steady {}/s", opt(s.steady_backend_per_s))
        });
        let back = match (s.recovered_after_s, s.steady_hit_ratio) {
            (Some(t), Some(h)) => format!("hit ratio within {RECOVERED_WITHIN} of {h} after {t}s"),
            (None, Some(h)) => format!("hit ratio not back within {RECOVERED_WITHIN} of {h}"),
            _ => "no steady state to recover to".to_string(),
        };
        let _ = writeln!(
            w,
            "  restart    at {}s{down}: backend peak {}/s at {}s{ratio}; {back}; {} requests failed (rejected {}, timed out {})",
            s.at_s, s.peak_backend_per_s, s.peak_at_s, s.failed_requests, s.rejected, s.timed_out
        );
    }
    if c.stampedes.len() > 10 {
        let _ = writeln!(
            w,
            "  … {} more restarts in the JSON report",
            c.restarts - 10
        );
    }
}

impl crate::store::StoreSection for CacheReport {
    fn name(&self) -> &str {
        &self.name
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn render(&self, w: &mut String) {
        render(w, self)
    }
    fn incidents(&self) -> Vec<crate::FaultWindow> {
        use crate::store::ns;
        (self.stampedes.iter())
            .map(|r| crate::FaultWindow {
                fault: format!(
                    "store {}: cache restarted{} (backend peak {}× steady)",
                    self.name,
                    if r.scheduled { "" } else { " (random)" },
                    r.peak_over_steady.map_or("?".into(), |x| x.to_string())
                ),
                start_ns: ns(r.at_s),
                end_ns: Some(ns(r.at_s + r.down_s.unwrap_or(0.0))),
                requests_failed: r.failed_requests,
                detected_ns: None,
            })
            .collect()
    }
    fn series(&self) -> Vec<crate::StoreSeries> {
        let x = self;
        let s = |name: &str, unit: &str, f: &dyn Fn(&crate::CacheWindowRow) -> f64| {
            crate::StoreSeries {
                store: x.name.clone(),
                name: name.into(),
                unit: unit.into(),
                window_s: x.window_s,
                points: x
                    .windows
                    .iter()
                    .map(|w| (w.start_s + w.length_s, f(w)))
                    .collect(),
            }
        };
        // The stampede: the hit ratio falls and the backend's fetch rate jumps.
        vec![
            s("hit ratio", "share", &|w| w.hit_ratio),
            s("backend fetches", "per s", &|w| w.backend_per_s),
        ]
    }
}

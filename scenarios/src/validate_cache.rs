//! `Cache(…)` in `stores: [...]`: a look-aside cache → [`CacheSpec`]: its keys, TTL, capacity,
//! and its backend — its own (`backend: Backend(…)`) or its callers' (`misses_from`). Errors
//! point at the value at fault; every default applied becomes a note.

use crate::raw;
use crate::validate::Ctx;
use crate::validate_store::{failures, own_load};
use models::store_spec::{BackendSpec, CacheFault, CacheSpec};
use sim_core::{Dist, SimDuration, parse_duration};

/// Most backend workers of a cache.
pub const MAX_BACKEND_WORKERS: u32 = 100_000;
/// Longest backend queue of a cache.
pub const MAX_BACKEND_QUEUE: u32 = 10_000_000;
/// A cache's backend queue when none is given.
const DEFAULT_QUEUE_LIMIT: u32 = 1000;

/// The fields of a raw `Cache`, borrowed.
pub(crate) struct CacheRaw<'a> {
    pub(crate) name: &'a str,
    pub(crate) requests: Option<&'a raw::Arrivals>,
    pub(crate) keys: &'a raw::Keys,
    pub(crate) ttl: Option<&'a str>,
    pub(crate) capacity: Option<u32>,
    pub(crate) hit_latency: Option<&'a raw::Dist>,
    pub(crate) coalesce_misses: Option<bool>,
    pub(crate) backend: Option<&'a raw::Backend>,
    pub(crate) misses_from: Option<&'a raw::Dependency>,
    pub(crate) failures: Option<&'a raw::Failures>,
    pub(crate) faults: &'a [raw::CacheFault],
}

/// The scenario's window (its `slo.window`, or the default for its horizon): a cache's rows
/// are cut by it, like the topology's time series. Errors in it are reported by the scenario's
/// validation; here a bad one falls back to the default.
pub(crate) fn store_window(raw: &raw::Scenario, horizon: Option<SimDuration>) -> SimDuration {
    let default = horizon.map_or(SimDuration::from_secs(1), crate::validate::default_window);
    raw.slo
        .as_ref()
        .and_then(|s| s.window.as_deref())
        .and_then(|w| parse_duration(w).ok())
        .filter(|w| *w > SimDuration::ZERO)
        .filter(|w| horizon.is_none_or(|h| h.0.div_ceil(w.0) <= crate::validate::MAX_WINDOWS))
        .unwrap_or(default)
}

pub(crate) fn cache(
    cx: &mut Ctx<'_>,
    i: usize,
    (horizon, window): (Option<SimDuration>, SimDuration),
    r: CacheRaw<'_>,
) -> Option<CacheSpec> {
    let at = |f: &str| format!("stores[{i}].{f}");
    let name = r.name;
    let mut ok = true;
    let requests = own_load(cx, r.requests, &at("requests"));
    let keys = store_keys(cx, r.keys, &at("keys"));
    let n_keys = match r.keys {
        raw::Keys::Uniform { n } | raw::Keys::Zipf { n, .. } => *n,
    };
    let ttl = match r.ttl {
        Some(t) => cx.positive_duration(t, &at("ttl"), "the ttl").map(Some),
        None => {
            cx.notes.push(format!(
                "store `{name}`: ttl not set: entries never expire (only eviction or a restart removes them)"
            ));
            Some(None)
        }
    };
    let capacity = match r.capacity {
        Some(0) => {
            cx.fail_help(
                &at("capacity"),
                format!("store `{name}`: a cache's capacity must be at least 1 entry"),
                "leave capacity out for an unbounded cache",
            );
            ok = false;
            None
        }
        Some(c) => {
            if c >= n_keys {
                cx.notes.push(format!(
                    "store `{name}`: capacity {c} holds all {n_keys} keys: nothing is ever evicted"
                ));
            }
            Some(c)
        }
        None => {
            cx.notes.push(format!(
                "store `{name}`: capacity not set: unbounded (every key fits, nothing is evicted)"
            ));
            None
        }
    };
    let hit_latency = match r.hit_latency {
        Some(d) => cx.dist(d, &at("hit_latency")),
        None => {
            cx.notes.push(format!(
                "store `{name}`: hit_latency not set: Constant(\"0.5ms\") (a cache GET within one zone)"
            ));
            Some(Dist::constant(SimDuration(500_000)))
        }
    };
    let coalesce_misses = r.coalesce_misses.unwrap_or_else(|| {
        cx.notes.push(format!(
            "store `{name}`: coalesce_misses not set: off (every miss sends its own fetch)"
        ));
        false
    });
    let backend = match (r.backend, r.misses_from) {
        (Some(b), None) => cache_backend(cx, name, b, &at).map(Some),
        (None, Some(_)) => {
            if r.requests.is_some() {
                cx.fail_help(
                    &at("requests"),
                    format!("store `{name}`: a cache whose misses its callers fetch has no requests of its own"),
                    "leave requests out (pools call it), or give it a backend: Backend(…) of its own",
                );
                ok = false;
            }
            Some(None)
        }
        (Some(_), Some(_)) => {
            cx.fail_help(
                &at("misses_from"),
                format!("store `{name}` has both a backend and misses_from"),
                "keep one: backend: Backend(…) models the cache's own backend, misses_from: Dependency(…) has its callers fetch from a pool or a store",
            );
            ok = false;
            None
        }
        (None, None) => {
            cx.fail_help(
                &at("backend"),
                format!("store `{name}` needs a backend"),
                "backend: Backend(workers: 8, service: Exponential(mean: \"10ms\")), or misses_from: Dependency(target: \"db\", op: Read)",
            );
            ok = false;
            None
        }
    };
    let failures = failures(cx, r.failures, &at("failures"));
    let mut faults = Vec::new();
    for (j, f) in r.faults.iter().enumerate() {
        let fp = |field: &str| format!("stores[{i}].faults[{j}].{field}");
        let raw::CacheFault::Restart { at, duration } = f;
        let start = cx.duration(at, &fp("at"));
        let length = match duration.as_deref() {
            Some(d) => cx.duration(d, &fp("duration")),
            None => Some(SimDuration::ZERO),
        };
        match (start, length, horizon) {
            (Some(s), _, Some(h)) if s >= h => {
                cx.fail_help(
                    &fp("at"),
                    format!("the restart is at {s}, at or after the horizon ({h})"),
                    "a fault must start before the run ends",
                );
                ok = false;
            }
            (Some(at), Some(duration), _) => faults.push(CacheFault { at, duration }),
            _ => ok = false,
        }
    }
    faults.sort_by_key(|f| f.at);
    if r.failures.is_none() && r.faults.is_empty() {
        cx.notes.push(format!(
            "store `{name}`: no failures and no faults: the cache warms up once and never restarts"
        ));
    }
    if !ok {
        return None;
    }
    Some(CacheSpec {
        name: name.to_string(),
        requests: requests?,
        keys: keys?,
        ttl: ttl?,
        capacity,
        hit_latency: hit_latency?,
        coalesce_misses,
        backend: backend?,
        failures: failures?,
        faults,
        window,
    })
}

/// A cache's own backend: `workers` servers and a FIFO queue.
fn cache_backend(
    cx: &mut Ctx<'_>,
    name: &str,
    b: &raw::Backend,
    at: &dyn Fn(&str) -> String,
) -> Option<BackendSpec> {
    let mut ok = true;
    if !(1..=MAX_BACKEND_WORKERS).contains(&b.workers) {
        cx.fail_help(
            &at("backend.workers"),
            format!(
                "the backend needs 1 to {MAX_BACKEND_WORKERS} workers, found {}",
                b.workers
            ),
            "fetches served at once, e.g. a database's connection pool size",
        );
        ok = false;
    }
    let service = cx.dist(&b.service, &at("backend.service"));
    let queue_limit = match b.queue_limit {
        Some(q) if q <= MAX_BACKEND_QUEUE => q,
        Some(q) => {
            cx.fail_help(
                &at("backend.queue_limit"),
                format!("the backend queue holds at most {MAX_BACKEND_QUEUE} fetches, found {q}"),
                "0 rejects every fetch that finds all workers busy",
            );
            ok = false;
            0
        }
        None => {
            cx.notes.push(format!(
                "store `{name}`: backend queue_limit not set: {DEFAULT_QUEUE_LIMIT} (a fetch that finds them waiting is rejected)"
            ));
            DEFAULT_QUEUE_LIMIT
        }
    };
    let timeout = match b.timeout.as_deref() {
        Some(t) => cx
            .positive_duration(t, &at("backend.timeout"), "the backend timeout")
            .map(Some),
        None => {
            cx.notes.push(format!(
                "store `{name}`: backend timeout not set: a fetch waits in the queue as long as it takes"
            ));
            Some(None)
        }
    };
    if !ok {
        return None;
    }
    Some(BackendSpec {
        workers: b.workers,
        service: service?,
        queue_limit,
        timeout: timeout?,
    })
}

/// `keys: Uniform(n: …)` or `Zipf(n: …, s: …)` of a store, at `path`.
fn store_keys(cx: &mut Ctx<'_>, keys: &raw::Keys, path: &str) -> Option<models::spec::KeySpec> {
    let n = match keys {
        raw::Keys::Uniform { n } | raw::Keys::Zipf { n, .. } => *n,
    };
    let mut ok = true;
    let max = crate::limits::limits().keys;
    if !(1..=max).contains(&u64::from(n)) {
        cx.fail_help(
            &format!("{path}.n"),
            format!("the number of keys must be between 1 and {max}, found {n} (a key population keeps a table of 8 bytes per key)"),
            format!("e.g. keys: Zipf(n: 100000, s: 0.9); {}", crate::limits::raise_hint()),
        );
        ok = false;
    }
    match keys {
        raw::Keys::Uniform { .. } => ok.then_some(models::spec::KeySpec::Uniform { n }),
        raw::Keys::Zipf { s, .. } => {
            if !(s.is_finite() && *s > 0.0 && *s <= 10.0) {
                cx.fail_help(
                    &format!("{path}.s"),
                    format!("the Zipf exponent must be above 0 and at most 10, found {s}"),
                    "about 0.6 to 1.0 for cached web objects; larger is more skewed",
                );
                ok = false;
            }
            ok.then_some(models::spec::KeySpec::Zipf { n, s: *s })
        }
    }
}

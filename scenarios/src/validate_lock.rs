//! `Lock(…)` in `stores: [...]`: a lock service → [`LockSpec`]. Errors point at the value at
//! fault; every default applied becomes a note.

use crate::raw;
use crate::validate::Ctx;
use models::store_spec::{LockFault, LockKind, LockSpec, PauseSpec};
use sim_core::{Dist, SimDuration};

/// Most servers of a lock service (leases are tracked in 32-bit masks).
pub const MAX_LOCK_SERVERS: u32 = 31;
/// Most looping clients of a lock service (each keeps a small record).
pub const MAX_LOCK_CLIENTS: u32 = 100_000;
/// Largest clock drift bound: a clock at half or double speed is broken, not drifting.
pub const MAX_CLOCK_DRIFT: f64 = 0.5;

/// node-redlock's `retryDelay`.
const DEFAULT_RETRY: SimDuration = SimDuration::from_millis(200);

/// The lock service `s` (a `raw::Store::Lock`) at `stores[i]`.
pub(crate) fn lock(
    cx: &mut Ctx<'_>,
    i: usize,
    horizon: Option<SimDuration>,
    s: &raw::Store,
) -> Option<LockSpec> {
    let raw::Store::Lock {
        name,
        kind,
        fencing,
        clients,
        ttl,
        acquire_timeout,
        retry,
        think,
        hold,
        pauses,
        clock_drift,
        drift_allowance,
        round_trip,
        failures,
        faults,
    } = s
    else {
        unreachable!("called for Lock stores only")
    };
    let at = |f: &str| format!("stores[{i}].{f}");
    let mut ok = true;
    let kind = match *kind {
        raw::LockKind::SingleNode => Some(LockKind::SingleNode),
        raw::LockKind::Redlock { servers } | raw::LockKind::Consensus { servers } => {
            if (1..=MAX_LOCK_SERVERS).contains(&servers) {
                Some(match kind {
                    raw::LockKind::Redlock { .. } => LockKind::Redlock { servers },
                    _ => LockKind::Consensus { servers },
                })
            } else {
                cx.fail_help(
                    &at("kind.servers"),
                    format!(
                        "store `{name}` needs 1 to {MAX_LOCK_SERVERS} lock servers, found {servers}"
                    ),
                    "Redlock is usually run on 5 servers, etcd and ZooKeeper on 3 or 5",
                );
                None
            }
        }
    };
    let fencing = match (fencing, kind) {
        (Some(true), Some(LockKind::Redlock { .. })) => {
            cx.fail_help(
                &at("fencing"),
                format!("store `{name}`: Redlock has no fencing tokens"),
                "its servers grant independently, so no number orders the holders; use Consensus(servers: …) for fencing tokens",
            );
            ok = false;
            false
        }
        (Some(f), _) => *f,
        (None, Some(LockKind::Consensus { .. })) => {
            cx.notes.push(format!(
                "store `{name}`: fencing not set: on (the group's revision is the fencing token)"
            ));
            true
        }
        (None, _) => {
            cx.notes.push(format!(
                "store `{name}`: fencing not set: off (the resource accepts any holder's write)"
            ));
            false
        }
    };
    let clients = match clients {
        Some(c) if *c <= MAX_LOCK_CLIENTS => *c,
        Some(c) => {
            cx.fail_help(
                &at("clients"),
                format!("store `{name}` takes at most {MAX_LOCK_CLIENTS} clients, found {c}"),
                "clients that take the lock in a loop; requests can call it as well",
            );
            ok = false;
            0
        }
        None => {
            cx.notes.push(format!(
                "store `{name}`: clients not set: 0 (only requests that call it take the lock)"
            ));
            0
        }
    };
    let ttl = cx.positive_duration(ttl, &at("ttl"), "the ttl");
    let acquire_timeout = match acquire_timeout {
        Some(t) => cx.positive_duration(t, &at("acquire_timeout"), "the acquire timeout"),
        None => {
            if let Some(t) = ttl {
                cx.notes.push(format!(
                    "store `{name}`: acquire_timeout not set: the ttl ({t})"
                ));
            }
            ttl
        }
    };
    let retry = match retry {
        Some(t) => cx.positive_duration(t, &at("retry"), "the retry delay"),
        None => {
            cx.notes.push(format!(
                "store `{name}`: retry not set: {DEFAULT_RETRY} between attempts (node-redlock's retryDelay)"
            ));
            Some(DEFAULT_RETRY)
        }
    };
    let think = match think {
        Some(d) => cx.dist(d, &at("think")),
        None => {
            cx.notes.push(format!(
                "store `{name}`: think not set: Exponential(mean: \"1s\") between a client's release and its next acquire"
            ));
            Some(
                Dist::exponential(SimDuration::from_secs(1)).unwrap_or_else(|e| {
                    unreachable!("a positive mean is a valid exponential: {e}")
                }),
            )
        }
    };
    let hold = cx.dist(hold, &at("hold"));
    let pauses = match pauses {
        Some(p) => {
            if !(p.probability.is_finite() && (0.0..=1.0).contains(&p.probability)) {
                cx.fail_help(
                    &at("pauses.probability"),
                    format!(
                        "a pause's probability must be between 0 and 1, found {}",
                        p.probability
                    ),
                    "the share of critical sections a GC pause strikes, e.g. 0.01",
                );
                ok = false;
            }
            cx.dist(&p.duration, &at("pauses.duration"))
                .map(|duration| {
                    Some(PauseSpec {
                        probability: p.probability,
                        duration,
                    })
                })
        }
        None => Some(None),
    };
    let drift = clock_drift.unwrap_or(0.0);
    if !(drift.is_finite() && (0.0..=MAX_CLOCK_DRIFT).contains(&drift)) {
        cx.fail_help(
            &at("clock_drift"),
            format!("the clock drift bound must be between 0 and {MAX_CLOCK_DRIFT}, found {drift}"),
            "a rate error: 0.0001 for NTP-disciplined clocks, 0.01 for a bad one",
        );
        ok = false;
    }
    let allowance = match (drift_allowance, ttl) {
        (Some(a), _) => cx.duration(a, &at("drift_allowance")),
        (None, Some(t)) => {
            // Redlock's validity: the holder stops trusting the lease 2·drift·ttl early.
            let a = SimDuration((2.0 * drift * t.0 as f64).ceil() as u64);
            if drift > 0.0 {
                cx.notes.push(format!(
                    "store `{name}`: drift_allowance not set: 2 × clock_drift × ttl = {a}"
                ));
            }
            Some(a)
        }
        (None, None) => None,
    };
    if let (Some(a), Some(t)) = (allowance, ttl)
        && a >= t
    {
        cx.fail_help(
            &at("drift_allowance"),
            format!("the drift allowance ({a}) must be shorter than the ttl ({t})"),
            "holders trust their lease for ttl − drift_allowance",
        );
        ok = false;
    }
    let round_trip = match round_trip {
        Some(d) => cx.dist(d, &at("round_trip")),
        None => {
            cx.notes.push(format!(
                "store `{name}`: round_trip not set: Constant(\"1ms\") (within one zone)"
            ));
            Some(Dist::constant(SimDuration::from_millis(1)))
        }
    };
    // Each client sends at most one attempt (two events) per retry delay, and a turn (four
    // events) per think + hold + round trip.
    if let (Some(r), Some(t), Some(h), Some(rt)) = (retry, &think, &hold, &round_trip) {
        let lim = crate::limits::limits().events_per_s;
        let turn_ns = (t.mean_ns() + h.mean_ns() + rt.mean_ns()).max(1.0);
        let rate = 2.0 * f64::from(clients) / r.as_secs_f64() + 4e9 * f64::from(clients) / turn_ns;
        if rate > lim {
            cx.fail_help(
                &at("retry"),
                format!(
                    "{clients} clients retrying every {r} make up to {rate:.1e} events per simulated second, more than the limit of {lim:e}"
                ),
                format!(
                    "fewer clients, a longer retry or think time; {}",
                    crate::limits::raise_hint()
                ),
            );
            ok = false;
        }
    }
    let failures = crate::validate_store::failures(cx, failures.as_ref(), &at("failures"));
    let servers = kind.map_or(u32::MAX, LockKind::servers);
    let mut out_faults = Vec::new();
    for (j, f) in faults.iter().enumerate() {
        let fp = |field: &str| format!("stores[{i}].faults[{j}].{field}");
        let raw::LockFault::Crash {
            at,
            duration,
            server,
        } = f;
        let server = server.unwrap_or(0);
        if server >= servers {
            cx.fail_help(
                &fp("server"),
                format!("store `{name}` has {servers} lock servers: no server {server}"),
                "servers are numbered from 0",
            );
            ok = false;
        }
        let start = cx.duration(at, &fp("at"));
        let length = cx.positive_duration(duration, &fp("duration"), "duration");
        match (start, length, horizon) {
            (Some(s), _, Some(h)) if s >= h => {
                cx.fail_help(
                    &fp("at"),
                    format!("the fault starts at {s}, at or after the horizon ({h})"),
                    "a fault must start before the run ends",
                );
                ok = false;
            }
            (Some(at), Some(duration), _) => out_faults.push(LockFault {
                at,
                duration,
                server,
            }),
            _ => ok = false,
        }
    }
    out_faults.sort_by_key(|f| f.at);
    if !ok {
        return None;
    }
    Some(LockSpec {
        name: name.to_string(),
        kind: kind?,
        fencing,
        clients,
        ttl: ttl?,
        acquire_timeout: acquire_timeout?,
        retry: retry?,
        think: think?,
        hold: hold?,
        pauses: pauses?,
        clock_drift: drift,
        drift_allowance: allowance?,
        round_trip: round_trip?,
        failures: failures?,
        faults: out_faults,
    })
}

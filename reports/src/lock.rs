//! Figures of a lock service: acquisitions and attempts, the critical sections' writes, the
//! safety counts (mutual-exclusion violations, writes made after the lock had passed to
//! another, writes rejected by fencing, pauses) and the lock's availability next to its
//! closed form (a single server's MTTF / (MTTF + MTTR), P(a majority up) for Redlock and
//! consensus).

use crate::store::{OpLatencyMs, StoreCollector, latency, ratio, round};
use models::store::{LockSummary, k_of_n};
use models::store_spec::LockKind;
use serde::Serialize;
use std::fmt::Write;

/// A lock's acquisitions.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LockAcquisitions {
    /// Begun (a looping client's turn or a request's call).
    pub offered: u64,
    /// Got the lock.
    pub acquired: u64,
    /// Gave up after the acquire timeout.
    pub timed_out: u64,
    /// Still acquiring at the end.
    pub in_progress: u64,
    /// acquired / (acquired + timed out).
    pub success_ratio: f64,
    /// From the first attempt to the grant reaching the holder.
    pub wait_ms: OpLatencyMs,
}

/// A lock's attempts (an acquisition retries until granted or timed out).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LockAttempts {
    /// Sent.
    pub sent: u64,
    /// Granted.
    pub granted: u64,
    /// Refused: another client held the lock.
    pub busy: u64,
    /// Refused: the service was down (its server, or a majority).
    pub unavailable: u64,
    /// Granted, but the answer came after the holder's validity ran out (not used).
    pub late: u64,
}

/// The critical sections of the holders that got the lock.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LockSections {
    /// Their write accepted by the resource (violations included).
    pub written: u64,
    /// The holder found its lease expired by its own clock before writing.
    pub expired_before_write: u64,
    /// Rejected by fencing (first access or write).
    pub rejected_by_fencing: u64,
    /// Holding at the end.
    pub holding: u64,
    /// From the acquisition's start to the write or the failure.
    pub duration_ms: OpLatencyMs,
}

/// What the lock failed to prevent, and what fencing caught.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LockSafety {
    /// Writes that reached the resource.
    pub writes: u64,
    /// Writes the resource accepted from a holder older than one that had already acted on
    /// it: two holders acting at once.
    pub violations: u64,
    /// Writes made after the lock had been granted to another client (the lease failed),
    /// harmful or not.
    pub superseded_writes: u64,
    /// Writes the resource rejected for their fencing token.
    pub fenced_writes: u64,
    /// First accesses the resource rejected for their fencing token.
    pub fenced_reads: u64,
    /// Pauses that struck a holder between its check and its write.
    pub pauses: u64,
    /// Of which at least as long as the TTL.
    pub pauses_over_ttl: u64,
    /// Leases a crashed server forgot (single node, Redlock).
    pub leases_lost: u64,
}

/// Whether the lock can be obtained while servers crash.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LockAvailability {
    /// Fraction of the run the service could grant (its server up; a majority up).
    pub time: f64,
    /// The closed form: A for one server, P(at least a majority of N up) otherwise.
    pub theory: f64,
    /// One server's A = MTTF / (MTTF + MTTR) (1 without failures).
    pub server: f64,
    /// Fraction of the run each server was up.
    pub server_up: Vec<f64>,
    /// Server crashes, random and scheduled.
    pub server_crashes: u64,
}

/// A lock service's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LockReport {
    /// The store's name.
    pub name: String,
    /// `single_node`, `redlock` or `consensus`.
    pub lock: &'static str,
    /// Servers.
    pub servers: u32,
    /// Fencing tokens checked by the resource.
    pub fencing: bool,
    /// Looping clients.
    pub clients: u32,
    /// Lease TTL, s.
    pub ttl_s: f64,
    /// Clock drift bound.
    pub clock_drift: f64,
    /// Holders stop trusting a lease this much early, s.
    pub drift_allowance_s: f64,
    /// Acquisitions.
    pub acquisitions: LockAcquisitions,
    /// Attempts.
    pub attempts: LockAttempts,
    /// Critical sections.
    pub sections: LockSections,
    /// Safety.
    pub safety: LockSafety,
    /// Availability.
    pub availability: LockAvailability,
    /// Calls from requests.
    pub calls: u64,
    /// Hash of the store's records in order.
    pub fingerprint: String,
}

/// The report of a lock service from its summary and collector.
pub(crate) fn lock(l: &LockSummary, c: &StoreCollector) -> LockReport {
    let k = &l.counts;
    let t = u128::from(l.run.end.0);
    let a = l.server_availability;
    let theory = match l.kind {
        LockKind::SingleNode => a,
        kind => k_of_n(kind.servers(), kind.majority(), a),
    };
    let s = |d: sim_core::SimDuration| round(d.0 as f64 / 1e9, 6);
    // The fingerprint covers the records (acquisitions, sections) and the safety counts.
    let mut h = c.fingerprint;
    for x in [k.violations, k.superseded_writes, k.rejected_by_fencing()] {
        crate::collector::mix(&mut h, x);
    }
    LockReport {
        name: l.name.clone(),
        lock: l.kind.name(),
        servers: l.kind.servers(),
        fencing: l.fencing,
        clients: l.clients,
        ttl_s: s(l.ttl),
        clock_drift: l.clock_drift,
        drift_allowance_s: s(l.drift_allowance),
        acquisitions: LockAcquisitions {
            offered: k.acquisitions,
            acquired: k.acquired,
            timed_out: k.acquire_timeouts,
            in_progress: k.acquiring,
            success_ratio: round(
                ratio(
                    u128::from(k.acquired),
                    u128::from(k.acquired + k.acquire_timeouts),
                ),
                6,
            ),
            wait_ms: latency(&c.reads, c.reads_sum_ns),
        },
        attempts: LockAttempts {
            sent: k.attempts,
            granted: k.attempts_granted,
            busy: k.attempts_busy,
            unavailable: k.attempts_unavailable,
            late: k.attempts_late,
        },
        sections: LockSections {
            written: k.written,
            expired_before_write: k.expired_before_write,
            rejected_by_fencing: k.rejected_by_fencing(),
            holding: k.holding,
            duration_ms: latency(&c.writes, c.writes_sum_ns),
        },
        safety: LockSafety {
            writes: k.writes,
            violations: k.violations,
            superseded_writes: k.superseded_writes,
            fenced_writes: k.fenced_writes,
            fenced_reads: k.fenced_reads,
            pauses: k.pauses,
            pauses_over_ttl: k.pauses_over_ttl,
            leases_lost: k.leases_lost,
        },
        availability: LockAvailability {
            time: round(ratio(l.available_ns, t), 6),
            theory: round(theory, 6),
            server: round(a, 6),
            server_up: l
                .server_up_ns
                .iter()
                .map(|u| round(ratio(*u, t), 6))
                .collect(),
            server_crashes: k.server_crashes,
        },
        calls: k.calls,
        fingerprint: format!("{h:016x}"),
    }
}

fn render(w: &mut String, r: &LockReport) {
    let kind = match r.lock {
        "single_node" => "single lock server".to_string(),
        "redlock" => format!("Redlock on {} servers", r.servers),
        _ => format!("consensus lock on {} servers", r.servers),
    };
    let _ = writeln!(
        w,
        "store        {} · {kind} · ttl {}s · fencing {} · {} client{}",
        r.name,
        r.ttl_s,
        if r.fencing { "on" } else { "off" },
        r.clients,
        if r.clients == 1 { "" } else { "s" }
    );
    let a = &r.acquisitions;
    let _ = writeln!(
        w,
        "  acquire    offered {}  acquired {}  timed out {}  success {}  wait ms mean {}  p99 {}",
        a.offered, a.acquired, a.timed_out, a.success_ratio, a.wait_ms.mean, a.wait_ms.p99
    );
    let x = &r.attempts;
    let _ = writeln!(
        w,
        "  attempts   {}: granted {}  busy {}  unavailable {}  late {}",
        x.sent, x.granted, x.busy, x.unavailable, x.late
    );
    let c = &r.sections;
    let _ = writeln!(
        w,
        "  sections   written {}  expired before the write {}  rejected by fencing {}",
        c.written, c.expired_before_write, c.rejected_by_fencing
    );
    let f = &r.safety;
    let _ = writeln!(
        w,
        "  safety     violations {}  superseded writes {}  pauses {} ({} ≥ ttl)  leases lost in crashes {}",
        f.violations, f.superseded_writes, f.pauses, f.pauses_over_ttl, f.leases_lost
    );
    let v = &r.availability;
    let _ = writeln!(
        w,
        "  available  time {}  theory {} (server {})  server crashes {}",
        v.time, v.theory, v.server, v.server_crashes
    );
}

impl crate::store::StoreSection for LockReport {
    fn name(&self) -> &str {
        &self.name
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn render(&self, w: &mut String) {
        render(w, self)
    }
}

//! Closed-loop users: per client, throughput, response time and the user's cycle (response
//! plus think), with exact Mean Value Analysis beside them where it applies (the
//! machine-repairman model: one exponential FIFO server, users thinking in between).

use crate::report::round;
use models::spec::{Arrivals, Spec, Target};
use serde::Serialize;

/// What the collector keeps of one users client's requests (those that arrived after warm-up).
#[derive(Clone, Debug, Default)]
pub struct UserStats {
    /// Requests that ended (any outcome: a time-out ends a user's wait too).
    pub finished: u64,
    /// Requests that succeeded.
    pub succeeded: u64,
    /// Exact sum of the response times of requests that ended, ns.
    pub response_sum_ns: u128,
}

/// One client of closed-loop users.
#[derive(Clone, Debug, Serialize)]
pub struct UsersReport {
    /// The client.
    pub client: String,
    /// Users.
    pub users: u32,
    /// Mean think time, ms.
    pub think_ms: f64,
    /// Requests that ended after warm-up.
    pub requests: u64,
    /// Requests that succeeded.
    pub succeeded: u64,
    /// Requests ended per second (X).
    pub throughput_per_s: f64,
    /// Mean response time of the requests that ended, ms (R; a time-out counts its wait).
    pub response_ms: f64,
    /// A user's mean cycle, N / X, ms: response + think (Little's law).
    pub cycle_ms: f64,
    /// Exact MVA for the machine-repairman model, when the client's requests meet one
    /// exponential FIFO server and nothing else (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mva: Option<Mva>,
}

/// Mean Value Analysis's answer for N users.
#[derive(Clone, Debug, Serialize)]
pub struct Mva {
    /// Throughput X(N), per second.
    pub throughput_per_s: f64,
    /// Response time R(N), ms.
    pub response_ms: f64,
}

/// Exact MVA for `n` users with mean think `z_s` at one exponential FIFO server of mean
/// service `s_s` (seconds): Q(0) = 0; R(k) = S(1 + Q(k−1)), X(k) = k/(R(k) + Z),
/// Q(k) = X(k)R(k). Returns (X(n) per second, R(n) seconds).
pub fn mva(n: u32, z_s: f64, s_s: f64) -> (f64, f64) {
    let (mut q, mut x, mut r) = (0.0, 0.0, 0.0);
    for k in 1..=n {
        r = s_s * (1.0 + q);
        x = f64::from(k) / (r + z_s);
        q = x * r;
    }
    (x, r)
}

/// The users section: one entry per client with `Users` arrivals.
pub fn users(spec: &Spec, stats: &[Option<UserStats>], window_ns: u64) -> Vec<UsersReport> {
    let mut out = Vec::new();
    for (i, c) in spec.clients.iter().enumerate() {
        let Arrivals::Users { count, think, .. } = &c.arrivals else {
            continue;
        };
        let st = stats.get(i).cloned().flatten().unwrap_or_default();
        let secs = window_ns as f64 / 1e9;
        let x = if secs > 0.0 {
            st.finished as f64 / secs
        } else {
            0.0
        };
        let r_ms = if st.finished > 0 {
            st.response_sum_ns as f64 / st.finished as f64 / 1e6
        } else {
            0.0
        };
        out.push(UsersReport {
            client: c.name.clone(),
            users: *count,
            think_ms: round(think.mean_ns() / 1e6, 4),
            requests: st.finished,
            succeeded: st.succeeded,
            throughput_per_s: round(x, 4),
            response_ms: round(r_ms, 4),
            cycle_ms: if x > 0.0 {
                round(f64::from(*count) / x * 1e3, 4)
            } else {
                0.0
            },
            mva: machine_repairman(spec, i).map(|(s_ns, z_ns)| {
                let (x, r) = mva(*count, z_ns / 1e9, s_ns / 1e9);
                Mva {
                    throughput_per_s: round(x, 4),
                    response_ms: round(r * 1e3, 4),
                }
            }),
        });
    }
    out
}

/// (service mean, think mean) in ns when client `i` alone sends to one plain exponential
/// server (one replica, one worker) and asks nothing more of it.
fn machine_repairman(spec: &Spec, i: usize) -> Option<(f64, f64)> {
    let c = &spec.clients[i];
    let Arrivals::Users { think, .. } = &c.arrivals else {
        return None;
    };
    let end = |mut t: Target| {
        while let Target::Balancer(b) = t {
            t = spec.balancers[b].target;
        }
        t
    };
    let Target::Pool(p) = end(c.target) else {
        return None;
    };
    let pool = &spec.pools[p];
    let alone = spec
        .clients
        .iter()
        .enumerate()
        .all(|(j, o)| j == i || end(o.target) != Target::Pool(p));
    let plain_client = c.timeout.is_none()
        && c.retry.is_none()
        && c.hedge.is_none()
        && c.breaker.is_none()
        && c.max_in_flight.is_none();
    (alone && plain_client && pool.workers == 1 && crate::theory::plain_queue(spec, pool))
        .then(|| (pool.service.mean_ns(), think.mean_ns()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One user never queues: X = 1/(S + Z), R = S. Many users saturate: X → 1/S.
    #[test]
    fn mva_limits() {
        let (x, r) = mva(1, 1.0, 0.25);
        assert!((x - 0.8).abs() < 1e-12 && (r - 0.25).abs() < 1e-12);
        let (x, r) = mva(200, 1.0, 0.25);
        assert!((x - 4.0).abs() < 1e-9, "{x}");
        // R ≈ N·S − Z once saturated.
        assert!((r - (200.0 * 0.25 - 1.0)).abs() < 1e-6, "{r}");
        // Two users by hand: Q(1) = 0.2, R(2) = 0.3, X(2) = 2/1.3.
        let (x, r) = mva(2, 1.0, 0.25);
        assert!((r - 0.3).abs() < 1e-12 && (x - 2.0 / 1.3).abs() < 1e-12);
    }
}

//! Queueing theory beside the numbers: where a pool is an M/M/c queue (Poisson arrivals,
//! exponential service, FIFO, one replica with c workers, unbounded queue, no failures, no
//! timeouts, retries, hedges, breakers, errors or dependencies), the report shows Erlang C's
//! closed forms next to the simulated figures, and the assumptions with them ([`ASSUMES`]).

/// What the closed forms assume, printed beside them.
pub const ASSUMES: &str = "assumes Poisson arrivals, exponential service, one FIFO replica with c workers, an unbounded queue, and no timeouts, retries, hedges, errors, failures or dependencies";

use models::spec::{Arrivals, Spec, Target};
use serde::Serialize;
use sim_core::Dist;

/// Closed-form figures for one pool.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Theory {
    /// The pool.
    pub pool: String,
    /// Kendall notation, e.g. `M/M/10`.
    pub model: String,
    /// ρ = λ / (c μ).
    pub utilisation: f64,
    /// Mean response time W, ms (null when ρ ≥ 1: no steady state).
    pub mean_response_ms: Option<f64>,
    /// Erlang C: probability that a request waits.
    pub p_wait: Option<f64>,
    /// Mean number waiting, Lq.
    pub mean_queue_length: Option<f64>,
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A pool that is one FIFO queue of exponential work and nothing else, in a scenario without
/// scheduled faults: Erlang C (and MVA) describe exactly this queue; anything that adds,
/// removes, repeats or slows work (failures, errors, rate limits, calls to dependencies,
/// scaling) breaks it.
pub(crate) fn plain_queue(spec: &Spec, pool: &models::spec::PoolSpec) -> bool {
    let plain_pool = pool.replicas == 1
        && pool.queue_capacity.is_none()
        && pool.failures.is_none()
        && pool.gray_failures.is_none()
        && pool.error_rate == 0.0
        && pool.rate_limit.is_none()
        && pool.slowdown_per_request == 0.0
        && pool.dependencies.is_none()
        && pool.autoscale.is_none()
        && pool.discovery.is_none()
        && !pool.drop_stale
        && pool.fleet.groups.is_empty()
        && matches!(pool.discipline, models::spec::Discipline::Fifo);
    let quiet =
        spec.faults.is_empty() && spec.partitions.is_empty() && spec.balancer_outages.is_empty();
    plain_pool && quiet && matches!(pool.service, Dist::Exponential { .. })
}

/// The M/M/c closed forms for every pool of `spec` they apply to.
pub fn theory(spec: &Spec) -> Vec<Theory> {
    let mut out = Vec::new();
    for (p, pool) in spec.pools.iter().enumerate() {
        let Dist::Exponential { mean } = pool.service else {
            continue;
        };
        if !plain_queue(spec, pool) {
            continue;
        }
        // Every client whose route ends at this pool must be Poisson without a timeout.
        let mut lambda = 0.0;
        let mut ok = true;
        for c in &spec.clients {
            let mut t = c.target;
            while let Target::Balancer(b) = t {
                t = spec.balancers[b].target;
            }
            if t != Target::Pool(p) {
                continue;
            }
            // Retries and hedges send more than λ, a breaker or a bulkhead less: not M/M/c.
            let plain_client = c.timeout.is_none()
                && c.retry.is_none()
                && c.hedge.is_none()
                && c.breaker.is_none()
                && c.max_in_flight.is_none();
            match c.arrivals {
                Arrivals::Poisson { rate_per_s } if plain_client => lambda += rate_per_s,
                _ => ok = false,
            }
        }
        if !ok || lambda == 0.0 {
            continue;
        }
        let mu = 1e9 / mean;
        let c = pool.workers as f64;
        let rho = lambda / (c * mu);
        let a = lambda / mu;
        let (mean_response_ms, p_wait, lq) = if rho < 1.0 {
            // Erlang B by recursion, then C = B / (1 − ρ(1 − B)). Past k = a the terms shrink
            // at least geometrically once k > 2a; once B underflows to zero it stays there, so
            // the loop ends early: its cost is bounded by the offered load, not by the workers.
            let mut b = 1.0;
            for k in 1..=pool.workers {
                b = a * b / (k as f64 + a * b);
                if b == 0.0 {
                    break;
                }
            }
            let erlang_c = b / (1.0 - rho * (1.0 - b));
            let wq = erlang_c / (c * mu - lambda);
            (
                Some(round((wq + 1.0 / mu) * 1e3)),
                Some(round(erlang_c)),
                Some(round(lambda * wq)),
            )
        } else {
            (None, None, None)
        };
        out.push(Theory {
            pool: pool.name.clone(),
            model: format!("M/M/{}", pool.workers),
            utilisation: round(rho),
            mean_response_ms,
            p_wait,
            mean_queue_length: lq,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::spec::{ClientSpec, PoolSpec};
    use sim_core::SimDuration;

    fn mmc(lambda: f64, c: u32) -> Spec {
        Spec {
            name: "t".into(),
            horizon: SimDuration::from_secs(1),
            warmup: SimDuration::ZERO,
            max_events: 1,
            window: SimDuration::ZERO,
            faults: Vec::new(),
            zones: Vec::new(),
            partitions: Vec::new(),
            balancer_outages: Vec::new(),
            hops: Vec::new(),
            clients: vec![ClientSpec {
                name: "c".into(),
                arrivals: Arrivals::Poisson { rate_per_s: lambda },
                timeout: None,
                target: Target::Pool(0),
                retry: None,
                hedge: None,
                breaker: None,
                max_in_flight: None,
                zone: None,
                priority: 0,
            }],
            balancers: vec![],
            pools: vec![PoolSpec {
                name: "p".into(),
                replicas: 1,
                workers: c,
                queue_capacity: None,
                service: Dist::exponential(SimDuration::from_secs(1)).unwrap(),
                failures: None,
                gray_failures: None,
                error_rate: 0.0,
                drop_stale: false,
                discipline: models::spec::Discipline::Fifo,
                rate_limit: None,
                slowdown_per_request: 0.0,
                zones: Vec::new(),
                dependencies: None,
                autoscale: None,
                discovery: None,
                fleet: Default::default(),
            }],
        }
    }

    /// theory.md B2's table.
    #[test]
    fn erlang_c_matches_the_reference_table() {
        for (lambda, c, pw, w, lq) in [
            (1.6, 2, 0.711111, 2.777778, 2.844444),
            (4.5, 5, 0.762493, 2.524986, 6.862439),
            (9.0, 10, 0.668732, 1.668732, 6.018584),
            (95.0, 100, 0.506457, 1.101291, 9.622680),
        ] {
            let t = &theory(&mmc(lambda, c))[0];
            assert!((t.p_wait.unwrap() - pw).abs() < 1e-6, "{t:?}");
            assert!(
                (t.mean_response_ms.unwrap() / 1e3 - w).abs() < 1e-6,
                "{t:?}"
            );
            assert!((t.mean_queue_length.unwrap() - lq).abs() < 1e-5, "{t:?}");
        }
        let t = &theory(&mmc(0.9, 1))[0];
        assert_eq!(
            (t.model.as_str(), t.mean_response_ms),
            ("M/M/1", Some(10_000.0))
        );
        assert_eq!(theory(&mmc(2.0, 1))[0].mean_response_ms, None, "unstable");
    }

    #[test]
    fn no_closed_form_where_it_does_not_apply() {
        let mut s = mmc(0.5, 1);
        s.pools[0].queue_capacity = Some(3);
        assert!(theory(&s).is_empty());
        let mut s = mmc(0.5, 1);
        s.clients[0].timeout = Some(SimDuration::from_secs(1));
        assert!(theory(&s).is_empty());
        let mut s = mmc(0.5, 1);
        s.pools[0].error_rate = 0.01;
        assert!(theory(&s).is_empty(), "errors");
        let mut s = mmc(0.5, 1);
        s.pools[0].discipline = models::spec::Discipline::Lifo;
        assert!(theory(&s).is_empty(), "LIFO");
        assert_eq!(theory(&mmc(0.5, 1)).len(), 1);
    }
}

//! Active health checking as a balancer sees it: per backend, consecutive probe results against
//! the rise/fall thresholds, and the eligible set that policies pick from (healthy backends, or
//! all of them in panic mode). The probes themselves are events of [`crate::System`].

use crate::spec::HealthCheckSpec;

/// One balancer's view of its backends' health.
#[derive(Clone, Debug)]
pub struct Health {
    /// The checks' settings.
    pub spec: HealthCheckSpec,
    /// Backends currently considered healthy.
    pub healthy: Vec<bool>,
    /// Consecutive failed (while healthy) or passed (while unhealthy) probes per backend.
    streak: Vec<u32>,
    /// Healthy fraction below which the balancer routes to all backends.
    panic_threshold: f64,
}

/// A change of a backend's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// It failed `unhealthy_threshold` probes in a row.
    Unhealthy,
    /// It passed `healthy_threshold` probes in a row.
    Healthy,
}

impl Health {
    /// Every backend starts healthy (Envoy marks hosts healthy after one pass at startup).
    pub fn new(spec: HealthCheckSpec, backends: usize, panic_threshold: f64) -> Health {
        Health {
            spec,
            healthy: vec![true; backends],
            streak: vec![0; backends],
            panic_threshold,
        }
    }

    /// Folds in one probe result; returns the transition it caused, if any.
    pub fn probe(&mut self, backend: usize, passed: bool) -> Option<Transition> {
        let (healthy, streak) = (&mut self.healthy[backend], &mut self.streak[backend]);
        if passed == *healthy {
            // A pass while healthy or a failure while unhealthy resets the count towards a change.
            *streak = 0;
            return None;
        }
        *streak += 1;
        let threshold = if *healthy {
            self.spec.unhealthy_threshold
        } else {
            self.spec.healthy_threshold
        };
        if *streak < threshold {
            return None;
        }
        *streak = 0;
        *healthy = passed;
        Some(if passed {
            Transition::Healthy
        } else {
            Transition::Unhealthy
        })
    }

    /// Refills `eligible` with the healthy backends, or with all of them when fewer than the
    /// panic threshold are healthy (or none is).
    pub fn eligible(&self, eligible: &mut Vec<u32>) {
        eligible.clear();
        let n = self.healthy.len();
        let up = self.healthy.iter().filter(|h| **h).count();
        if up == 0 || (up as f64) < self.panic_threshold * n as f64 {
            eligible.extend(0..n as u32);
        } else {
            eligible.extend((0..n as u32).filter(|&b| self.healthy[b as usize]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn health(n: usize, panic: f64) -> Health {
        let spec = HealthCheckSpec {
            interval: SimDuration::from_secs(2),
            timeout: SimDuration::from_secs(1),
            unhealthy_threshold: 3,
            healthy_threshold: 2,
            jitter: SimDuration::ZERO,
        };
        Health::new(spec, n, panic)
    }

    #[test]
    fn fall_and_rise_need_consecutive_results() {
        let mut h = health(4, 0.5);
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, true), None, "a pass breaks the streak");
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, false), Some(Transition::Unhealthy));
        let mut e = Vec::new();
        h.eligible(&mut e);
        assert_eq!(e, [0, 2, 3]);
        assert_eq!(h.probe(1, true), None);
        assert_eq!(h.probe(1, false), None, "a failure breaks the rise");
        assert_eq!(h.probe(1, true), None);
        assert_eq!(h.probe(1, true), Some(Transition::Healthy));
        h.eligible(&mut e);
        assert_eq!(e, [0, 1, 2, 3]);
    }

    #[test]
    fn panic_mode_routes_to_all() {
        let mut h = health(4, 0.5);
        for b in [0, 1, 2] {
            for _ in 0..3 {
                h.probe(b, false);
            }
        }
        let mut e = Vec::new();
        h.eligible(&mut e);
        assert_eq!(e, [0, 1, 2, 3], "1 of 4 healthy is below 50%");
        let mut h = health(4, 0.0);
        for b in [0, 1, 2] {
            for _ in 0..3 {
                h.probe(b, false);
            }
        }
        h.eligible(&mut e);
        assert_eq!(e, [3], "no panic threshold: only the healthy one");
    }
}

//! Active health checking as a balancer sees it: per backend, consecutive probe results against
//! the rise/fall thresholds. The probes themselves are events of [`crate::System`]; the eligible
//! set that policies pick from is [`super::Balancer::refresh_eligible`]'s.

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
    pub fn new(spec: HealthCheckSpec, backends: usize) -> Health {
        Health {
            spec,
            healthy: vec![true; backends],
            streak: vec![0; backends],
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn health(n: usize) -> Health {
        let spec = HealthCheckSpec {
            interval: SimDuration::from_secs(2),
            timeout: SimDuration::from_secs(1),
            unhealthy_threshold: 3,
            healthy_threshold: 2,
            jitter: SimDuration::ZERO,
        };
        Health::new(spec, n)
    }

    #[test]
    fn fall_and_rise_need_consecutive_results() {
        let mut h = health(4);
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, true), None, "a pass breaks the streak");
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, false), None);
        assert_eq!(h.probe(1, false), Some(Transition::Unhealthy));
        assert_eq!(h.healthy, [true, false, true, true]);
        assert_eq!(h.probe(1, true), None);
        assert_eq!(h.probe(1, false), None, "a failure breaks the rise");
        assert_eq!(h.probe(1, true), None);
        assert_eq!(h.probe(1, true), Some(Transition::Healthy));
        assert!(h.healthy.iter().all(|h| *h));
    }
}

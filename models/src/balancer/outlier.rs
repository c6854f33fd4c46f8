//! Passive outlier detection (Envoy's `consecutive_5xx`): a backend whose responses fail
//! `consecutive_errors` times in a row is ejected for `base_ejection_time` × the number of times
//! it has been ejected, capped at `max_ejection_time`; at most `max_ejection_percent` of the
//! backends (but always one) are ejected at once. It needs no probes: it learns from traffic.

use crate::spec::OutlierSpec;
use sim_core::SimDuration;

/// One balancer's outlier-detection state.
#[derive(Clone, Debug)]
pub struct Outlier {
    spec: OutlierSpec,
    /// Consecutive failed responses per backend.
    consecutive: Vec<u32>,
    /// Backends out of rotation now.
    pub ejected: Vec<bool>,
    /// Times each backend has been ejected.
    times: Vec<u32>,
}

impl Outlier {
    /// No backend ejected yet.
    pub fn new(spec: OutlierSpec, backends: usize) -> Outlier {
        Outlier {
            spec,
            consecutive: vec![0; backends],
            ejected: vec![false; backends],
            times: vec![0; backends],
        }
    }

    /// Folds in one response; returns how long the backend is ejected for, if this ejects it.
    pub fn response(&mut self, backend: usize, ok: bool) -> Option<SimDuration> {
        if ok {
            self.consecutive[backend] = 0;
            return None;
        }
        self.consecutive[backend] += 1;
        if self.ejected[backend] || self.consecutive[backend] < self.spec.consecutive_errors {
            return None;
        }
        let n = self.ejected.len();
        let out = self.ejected.iter().filter(|e| **e).count();
        let cap = ((self.spec.max_ejection_percent * n as f64) as usize).max(1);
        if out >= cap {
            return None;
        }
        self.consecutive[backend] = 0;
        self.ejected[backend] = true;
        self.times[backend] += 1;
        let t = self
            .spec
            .base_ejection_time
            .0
            .saturating_mul(self.times[backend] as u64);
        Some(SimDuration(t.min(self.spec.max_ejection_time.0)))
    }

    /// The ejection of `backend` ends.
    pub fn return_to_rotation(&mut self, backend: usize) {
        self.ejected[backend] = false;
        self.consecutive[backend] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejections_lengthen_and_respect_the_cap() {
        let spec = OutlierSpec {
            consecutive_errors: 3,
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(75),
            max_ejection_percent: 0.1,
        };
        let mut o = Outlier::new(spec, 4);
        assert_eq!(o.response(0, false), None);
        assert_eq!(o.response(0, true), None, "a success resets the count");
        assert_eq!(o.response(0, false), None);
        assert_eq!(o.response(0, false), None);
        assert_eq!(o.response(0, false), Some(SimDuration::from_secs(30)));
        // 10% of 4 backends rounds down to 0, but one may always be ejected: not two.
        for _ in 0..3 {
            assert_eq!(o.response(1, false), None);
        }
        o.return_to_rotation(0);
        for _ in 0..2 {
            assert_eq!(o.response(0, false), None);
        }
        assert_eq!(o.response(0, false), Some(SimDuration::from_secs(60)));
        o.return_to_rotation(0);
        for _ in 0..2 {
            o.response(0, false);
        }
        assert_eq!(
            o.response(0, false),
            Some(SimDuration::from_secs(75)),
            "capped"
        );
    }
}

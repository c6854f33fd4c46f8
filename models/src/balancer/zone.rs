//! Zone-aware routing (Envoy's `zone_aware_lb_config`): a balancer in one zone sends to the
//! backends of its own zone while they have the capacity its share of the load needs, and sends
//! only the deficit across zones otherwise.
//!
//! Envoy's rule: with `local` the fraction of the calling fleet in this zone and `upstream` the
//! fraction of the healthy backends in it, route everything locally when upstream ≥ local;
//! otherwise route locally with probability upstream / local and send the rest to the other
//! zones. hasim assumes the callers are spread over the zones as the pool's replicas are, so
//! `local` is the local zone's fraction of the pool's replicas. The policy then picks within the
//! chosen side; the split is recomputed only when the eligible set changes.

use super::Eligible;
use crate::spec::ZoneSpec;
use sim_core::Stream;

/// A balancer's zone, the split of its eligible backends, and the spill-over draws.
#[derive(Clone, Debug)]
pub struct Zone {
    spec: ZoneSpec,
    /// Eligible backends in the local zone, ascending.
    local: Eligible,
    /// Eligible backends elsewhere, ascending.
    remote: Eligible,
    /// Spill-over draws (`balancer/NAME/zone`).
    rng: Stream,
}

impl Zone {
    /// For `spec`, with every backend eligible.
    pub fn new(spec: ZoneSpec, rng: Stream) -> Self {
        let all: Vec<u32> = (0..spec.local.len() as u32).collect();
        let mut z = Zone {
            spec,
            local: Eligible::from(Vec::new()),
            remote: Eligible::from(Vec::new()),
            rng,
        };
        z.split(&all);
        z
    }

    /// Splits the eligible set into local and remote backends (on health changes only).
    pub fn split(&mut self, eligible: &[u32]) {
        let local = &self.spec.local;
        (self.local).replace(eligible.iter().copied().filter(|&b| local[b as usize]));
        (self.remote).replace(eligible.iter().copied().filter(|&b| !local[b as usize]));
    }

    /// The backends this request may go to: the local zone's, or the other zones' for the share
    /// of traffic the local zone lacks capacity for. `eligible` is the whole eligible set.
    #[inline]
    pub fn choose<'a>(&'a mut self, eligible: &'a Eligible) -> &'a Eligible {
        if self.local.is_empty() {
            return if self.remote.is_empty() {
                eligible
            } else {
                &self.remote
            };
        }
        let upstream = self.local.len() as f64 / eligible.len() as f64;
        if self.remote.is_empty()
            || upstream >= self.spec.local_share
            || self.rng.chance(upstream / self.spec.local_share)
        {
            &self.local
        } else {
            &self.remote
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::StreamKey;

    fn zone() -> Zone {
        // Six backends over zones a, b, c in turn; this balancer is in zone a (0 and 3).
        let spec = ZoneSpec {
            local: (0..6).map(|i| i % 3 == 0).collect(),
            local_share: 2.0 / 6.0,
        };
        Zone::new(spec, StreamKey::new(1, 0).stream("test"))
    }

    #[test]
    fn all_local_while_the_local_zone_has_its_share() {
        let mut z = zone();
        let all = Eligible::from(vec![0, 1, 2, 3, 4, 5]);
        for _ in 0..100 {
            assert_eq!(**z.choose(&all), [0, 3]);
        }
        // Zone b down: the local zone holds 2 of 4 healthy, more than its share.
        z.split(&[0, 2, 3, 5]);
        assert_eq!(**z.choose(&Eligible::from(vec![0, 2, 3, 5])), [0, 3]);
    }

    #[test]
    fn the_deficit_spills_over_and_a_dead_zone_sends_everything_away() {
        let mut z = zone();
        // One local backend of five healthy: upstream 1/5 < local 1/3, so a fraction
        // (1/5)/(1/3) = 0.6 stays local.
        let eligible = Eligible::from(vec![1, 2, 3, 4, 5]);
        z.split(&eligible);
        let n = 20_000;
        let local = (0..n).filter(|_| **z.choose(&eligible) == [3]).count() as f64;
        // Binomial sd = sqrt(n·0.6·0.4) ≈ 69: five of them.
        assert!((local - 0.6 * n as f64).abs() < 5.0 * 69.3, "{local}");
        let eligible = Eligible::from(vec![1, 2, 4, 5]);
        z.split(&eligible);
        assert_eq!(**z.choose(&eligible), *eligible);
    }
}

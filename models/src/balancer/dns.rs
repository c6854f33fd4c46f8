//! DNS round robin with a TTL: client-side state, one cache entry per client. The DNS server
//! answers each query with the record set rotated by one (BIND's cyclic order), each client
//! takes the first address and sticks to it until the answer's TTL runs out (Java's
//! `networkaddress.cache.ttl`, 30 s; most stub resolvers and HTTP clients alike).
//!
//! The record set is the balancer's eligible set at the time of the query: with health checks
//! the balancer stands for a health-checked DNS service (Route 53 health checks drop a failing
//! record); without, every address stays published. Either way a client whose cached address has
//! crashed keeps sending there until its entry expires: this policy alone may pick a backend
//! outside `view.eligible`, because the client, not the balancer, decides.

use super::{Balance, LoadView};
use sim_core::{SimDuration, SimTime, Stream};

const NONE: u32 = u32::MAX;

/// Per-client cached addresses over a rotating record set.
#[derive(Clone, Debug)]
pub struct DnsRoundRobin {
    ttl: SimDuration,
    /// Position of the record set the next answer starts at.
    next: usize,
    /// Per client index: its cached backend (`NONE`: never resolved) and when the entry expires.
    /// Grows to the number of clients on their first requests, then never again.
    cache: Vec<(u32, SimTime)>,
}

impl DnsRoundRobin {
    /// Answers cached for `ttl` (> 0).
    pub fn new(ttl: SimDuration) -> Self {
        DnsRoundRobin {
            ttl,
            next: 0,
            cache: Vec::new(),
        }
    }
}

impl Balance for DnsRoundRobin {
    #[inline]
    fn pick(&mut self, view: &LoadView<'_>, _rng: &mut Stream) -> usize {
        let c = view.client as usize;
        if c >= self.cache.len() {
            self.cache.resize(c + 1, (NONE, SimTime::ZERO));
        }
        let (cached, expires) = self.cache[c];
        if cached != NONE && view.now < expires {
            return cached as usize;
        }
        let i = self.next % view.eligible.len();
        self.next = i + 1;
        let b = view.eligible[i];
        self.cache[c] = (b, SimTime(view.now.0.saturating_add(self.ttl.0)));
        b as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_view;
    use sim_core::StreamKey;

    #[test]
    fn each_client_sticks_to_its_answer_until_the_ttl_runs_out() {
        let mut p = DnsRoundRobin::new(SimDuration::from_secs(30));
        let mut rng = StreamKey::new(1, 0).stream("test");
        let mut pick = |client: u32, t: u64, eligible: &[u32]| {
            let view = test_view(
                &[0; 3],
                &[0; 3],
                eligible,
                SimTime(t * 1_000_000_000),
                client,
            );
            p.pick(&view, &mut rng)
        };
        let all = [0, 1, 2];
        // Answers rotate across queries: clients 0, 1, 2 get different first records.
        assert_eq!(
            [pick(0, 0, &all), pick(1, 1, &all), pick(2, 2, &all)],
            [0, 1, 2]
        );
        // Each keeps its own until its own expiry, even when the record set changes.
        assert_eq!(pick(0, 29, &[1, 2]), 0, "cached until 30 s");
        assert_eq!(pick(1, 30, &[1, 2]), 1, "client 1 resolved at 1 s");
        // Expired: client 0 asks again and gets the next record of the current set.
        assert_eq!(pick(0, 30, &[1, 2]), 2);
        assert_eq!(pick(1, 31, &[1, 2]), 1);
    }
}

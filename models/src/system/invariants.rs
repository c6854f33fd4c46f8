//! Invariants, asserted in every build: requests in = out + in flight, and the bookkeeping of
//! calls, attempts, balancers and pools agrees with itself.

use super::*;

/// `x − 1`, asserting that a count never goes below zero, in every build: release builds wrap
/// silently on underflow, and a wrapped count would corrupt every figure after it.
#[inline]
pub(super) fn dec<
    T: Copy + PartialEq + std::ops::Sub<Output = T> + From<u8> + std::fmt::Display,
>(
    x: T,
    now: SimTime,
    what: &str,
) -> T {
    assert!(
        x != T::from(0u8),
        "invariant: {what} would go below zero (t = {now})"
    );
    x - T::from(1u8)
}

impl<O: Observer<Record>> System<O> {
    /// Requests in = out + in flight, and the bookkeeping agrees with the request table.
    pub fn check_invariants(&self) {
        self.check_crews();
        let c = self.req.counts;
        assert_eq!(
            c.offered,
            c.succeeded + c.failed + c.in_flight,
            "invariant: requests offered = succeeded + failed + in flight ({c:?})"
        );
        let free: std::collections::BTreeSet<CallId> =
            self.req.free_calls.iter().copied().collect();
        let mut hop_in_flight = 0;
        for h in &self.tiers.hops {
            assert_eq!(
                h.offered,
                h.succeeded + h.failed + h.cancelled + h.in_flight,
                "invariant: hop `{}`: calls = succeeded + failed + cancelled + in flight",
                h.name
            );
            hop_in_flight += h.in_flight;
        }
        let waiting = self.req.calls.iter().filter(|r| r.waiting).count() as u64;
        assert_eq!(
            waiting,
            c.in_flight + hop_in_flight,
            "invariant: in-flight count matches the request table"
        );
        let per_client: u64 = self.req.clients.iter().map(|c| c.in_flight).sum();
        assert_eq!(
            per_client,
            c.in_flight + hop_in_flight,
            "invariant: clients' in-flight counts"
        );
        // Every dependency call in flight is listed by the attempt waiting for it.
        let mut children = 0;
        for (i, a) in self.req.attempts.iter().enumerate() {
            if !a.waiting_deps {
                assert_eq!(
                    a.children,
                    CallId::NONE,
                    "invariant: only a waiting attempt has calls"
                );
                continue;
            }
            let mut cur = a.children;
            while cur != CallId::NONE {
                let call = &self.req.calls[cur];
                assert!(
                    call.waiting && call.parent == AttemptId(i as u32),
                    "invariant: dependency call list"
                );
                children += 1;
                cur = call.next_child;
            }
        }
        // Consumers' processings are hop calls without a caller attempt.
        let jobs = (self.req.calls.iter())
            .filter(|c| c.waiting && c.job != NONE)
            .count() as u64;
        assert_eq!(
            children + jobs,
            hop_in_flight,
            "invariant: dependency calls in flight are listed by their callers"
        );
        // Every live attempt belongs to a waiting call, and every waiting call's live list
        // holds exactly its live attempts.
        let live = self.req.attempts.iter().filter(|a| a.live).count();
        let mut listed = 0;
        for (i, call) in self.req.calls.iter().enumerate() {
            if free.contains(&CallId(i as u32)) {
                continue;
            }
            let mut a = call.live;
            while a != AttemptId::NONE {
                let at = &self.req.attempts[a];
                assert!(
                    at.live && at.call == CallId(i as u32),
                    "invariant: live attempt list"
                );
                listed += 1;
                a = at.sibling;
            }
        }
        assert_eq!(
            live, listed,
            "invariant: live attempts are listed by their calls"
        );
        // Each instance's count of each backend is exactly the live attempts it routed there
        // (so a completion decrements the instance that counted it).
        let mut routed: Vec<Vec<u32>> = (self.routing.balancers.iter())
            .map(|b| vec![0; b.in_flight.len()])
            .collect();
        for a in self
            .req
            .attempts
            .iter()
            .filter(|a| a.live && a.balancer != InstanceId::NONE)
        {
            routed[a.balancer.ix()][a.slot as usize] += 1;
        }
        for (b, counted) in self.routing.balancers.iter().zip(&routed) {
            assert_eq!(
                &b.in_flight, counted,
                "invariant: balancer `{}`'s instances count their live attempts",
                b.name
            );
        }
        for (p, pool) in self.service.pools.iter().enumerate() {
            let up = self
                .service
                .replicas
                .iter()
                .filter(|r| r.pool == p as u32 && r.is_up)
                .count() as u32;
            assert_eq!(up, pool.up, "invariant: pool `{}` up-count", pool.name);
        }
        self.check_scaling();
    }
}

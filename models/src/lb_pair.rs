//! A load balancer as something that fails: one instance, or an active–passive pair (keepalived
//! VRRP, an AWS/GCP managed pair) where the passive takes over the virtual IP a failover delay
//! after the active dies (VRRP: about three missed adverts). While no instance holds the VIP,
//! packets to it are lost. A repaired instance rejoins as the standby; the active keeps the VIP
//! (no preemption), and if nothing holds it the first instance up takes it at once.

use sim_core::SimDuration;

/// What the System must do after a state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Change {
    /// The VIP went dark now: requests in flight through the balancer are lost.
    pub stopped: bool,
    /// The VIP is served again now.
    pub resumed: bool,
    /// Start the failover timer (the standby takes over after the delay).
    pub start_failover: bool,
}

/// The instances of one balancer and which holds the VIP.
#[derive(Clone, Debug)]
pub struct Pair {
    up: [bool; 2],
    instances: usize,
    active: usize,
    serving: bool,
    failing_over: bool,
    /// The failover delay, when there is a standby.
    pub delay: Option<SimDuration>,
}

impl Pair {
    /// One instance, or two with a failover `delay`.
    pub fn new(delay: Option<SimDuration>) -> Self {
        Pair {
            up: [true, delay.is_some()],
            instances: if delay.is_some() { 2 } else { 1 },
            active: 0,
            serving: true,
            failing_over: false,
            delay,
        }
    }

    /// Instances (1 or 2).
    pub fn instances(&self) -> usize {
        self.instances
    }

    /// Some instance holds the VIP.
    #[inline]
    pub fn serving(&self) -> bool {
        self.serving
    }

    /// Is instance `i` up?
    pub fn is_up(&self, i: usize) -> bool {
        self.up[i]
    }

    /// The instance holding (or about to hold) the VIP.
    pub fn active(&self) -> usize {
        self.active
    }

    /// Instance `i` fails.
    pub fn crash(&mut self, i: usize) -> Change {
        debug_assert!(self.up[i]);
        self.up[i] = false;
        let mut c = Change::default();
        if i == self.active && self.serving {
            self.serving = false;
            c.stopped = true;
            c.start_failover = self.try_failover();
        }
        c
    }

    /// Instance `i` is repaired.
    pub fn repair(&mut self, i: usize) -> Change {
        debug_assert!(!self.up[i]);
        self.up[i] = true;
        let mut c = Change::default();
        if !self.serving && !self.failing_over {
            // Nobody holds the VIP and nobody is taking it over: this instance takes it now
            // (it was the active, or the pair was down together).
            self.active = i;
            self.serving = true;
            c.resumed = true;
        }
        c
    }

    /// The failover delay has passed.
    pub fn failover_done(&mut self) -> Change {
        self.failing_over = false;
        let other = 1 - self.active;
        let mut c = Change::default();
        if !self.serving && self.up[other] {
            self.active = other;
            self.serving = true;
            c.resumed = true;
        } else if !self.serving && self.up[self.active] {
            self.serving = true;
            c.resumed = true;
        }
        c
    }

    fn try_failover(&mut self) -> bool {
        let other = 1 - self.active;
        if self.instances == 2 && self.up[other] && !self.failing_over {
            self.failing_over = true;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_fails_over_after_the_delay_and_the_repaired_one_stands_by() {
        let mut p = Pair::new(Some(SimDuration::from_secs(3)));
        let c = p.crash(0);
        assert!(c.stopped && c.start_failover && !p.serving());
        let c = p.repair(0);
        assert_eq!(c, Change::default(), "failover in progress: 0 stands by");
        let c = p.failover_done();
        assert!(c.resumed && p.active() == 1);
        // The standby (0) failing changes nothing visible.
        assert_eq!(p.crash(0), Change::default());
        let c = p.crash(1);
        assert!(c.stopped && !c.start_failover, "no standby left");
        let c = p.repair(0);
        assert!(c.resumed && p.active() == 0);
    }

    #[test]
    fn a_single_balancer_is_down_until_repaired() {
        let mut p = Pair::new(None);
        let c = p.crash(0);
        assert!(c.stopped && !c.start_failover);
        assert!(p.repair(0).resumed);
    }
}

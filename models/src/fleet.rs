//! Fleets as they are, as plain data: replica groups of different machines inside one pool
//! (count, speed, workers, weight) and shared repair crews. A pool without any of it
//! ([`FleetSpec::default`]) is the pool of identical replicas with a repair crew each that
//! hasim always had, and runs exactly as before (no draw, no event added).

use sim_core::{SimDuration, SimTime};

/// How a pool's replicas differ from each other and how they are repaired.
#[derive(Clone, Debug, Default)]
pub struct FleetSpec {
    /// Replica groups, in replica order (group 0's replicas first); empty: every replica is
    /// as the pool says (speed 1, the pool's workers).
    pub groups: Vec<GroupSpec>,
    /// Repair crews shared by the pool's replicas: a crashed replica waits (FIFO) for a free
    /// crew before its repair time starts. `None`: a crew per replica (repair starts at once).
    pub repair_crews: Option<u32>,
    /// The hosts (and racks) its replicas run on, when they fail on their own.
    pub hosts: Option<HostsSpec>,
    /// Containers' restart policy (back-off and readiness after a crash), if any.
    pub restart: Option<RestartSpec>,
}

/// A container's restart policy (Kubernetes' CrashLoopBackOff): after its k-th crash in a row
/// a replica waits min(initial_backoff·2^k, max_backoff) before its repair starts, and
/// `readiness_delay` after it before it takes traffic; k falls back to 0 when a crash comes
/// at least `reset_after` after the container last started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartSpec {
    /// The first back-off (Kubernetes 10 s).
    pub initial_backoff: SimDuration,
    /// The back-off doubles up to this (Kubernetes 5 min).
    pub max_backoff: SimDuration,
    /// A crash this long after the last start resets the back-off (Kubernetes 10 min).
    pub reset_after: SimDuration,
    /// From the end of repair until the replica takes traffic.
    pub readiness_delay: SimDuration,
}

/// One replica's restart state: crashes in a row (k) and when its container last started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restarts {
    /// Crashes in a row (k).
    pub in_a_row: u32,
    /// When its container last started.
    pub started: SimTime,
}

impl RestartSpec {
    /// The back-off after `k` crashes in a row: initial·2^k, capped at the maximum.
    pub fn backoff(&self, k: u32) -> SimDuration {
        let b = self.initial_backoff.0;
        // b·2^k fits while k is below b's leading zeros; past that it exceeds any cap.
        let doubled = match b {
            0 => 0,
            _ if k < b.leading_zeros() => b << k,
            _ => u64::MAX,
        };
        SimDuration(doubled.min(self.max_backoff.0))
    }

    /// A crash at `now` with the drawn `time_to_repair`: how long the replica stays down
    /// (back-off + repair + readiness); updates its state (k, and the start to come, when the
    /// back-off and the repair are over).
    pub fn down_time(
        &self,
        st: &mut Restarts,
        now: SimTime,
        time_to_repair: SimDuration,
    ) -> SimDuration {
        if now.0.saturating_sub(st.started.0) >= self.reset_after.0 {
            st.in_a_row = 0;
        }
        let wait = self.backoff(st.in_a_row);
        st.in_a_row = st.in_a_row.saturating_add(1);
        let start = wait.0.saturating_add(time_to_repair.0);
        st.started = SimTime(now.0.saturating_add(start));
        SimDuration(start.saturating_add(self.readiness_delay.0))
    }
}

/// Hosts a pool's replicas run on, and racks the hosts stand in: a host or rack that fails
/// takes down every replica on it (correlated failures); each has its own crash/repair
/// process, independent of its replicas' own.
#[derive(Clone, Debug)]
pub struct HostsSpec {
    /// Hosts (1 ≤ hosts ≤ replicas).
    pub hosts: u32,
    /// How replicas are placed on them.
    pub placement: Placement,
    /// Each host's crash/repair process, if hosts fail.
    pub failures: Option<crate::spec::FailureSpec>,
    /// Racks (0: none; else 1 ≤ racks ≤ hosts): hosts fill them in order, hosts/racks
    /// (rounded up) each.
    pub racks: u32,
    /// Each rack's crash/repair process, if racks fail.
    pub rack_failures: Option<crate::spec::FailureSpec>,
}

/// How replicas are placed on hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Replica i on host i mod hosts (anti-affinity: neighbours apart).
    Spread,
    /// Hosts filled in order, ceil(replicas / hosts) each (bin packing).
    Packed,
}

impl HostsSpec {
    /// The host of replica `i` of `n`.
    pub fn host_of(&self, i: u32, n: u32) -> u32 {
        match self.placement {
            Placement::Spread => i % self.hosts,
            Placement::Packed => i / n.div_ceil(self.hosts),
        }
    }

    /// The rack of host `h`, when there are racks.
    pub fn rack_of(&self, h: u32) -> Option<u32> {
        (self.racks > 0).then(|| h / self.hosts.div_ceil(self.racks))
    }
}

/// A group of identical replicas inside a pool, e.g. four small machines and two large ones.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSpec {
    /// How reports name it.
    pub name: String,
    /// Its replicas (≥ 1).
    pub count: u32,
    /// Service speed relative to the pool's `service` (> 0): a request takes its drawn service
    /// time divided by `speed`.
    pub speed: f64,
    /// Concurrent requests each of its replicas serves (≥ 1).
    pub workers: u32,
    /// Its replicas' weight for the weighted balancing policies (validation feeds it to a
    /// weighted policy that gives no weights of its own).
    pub weight: u32,
}

impl FleetSpec {
    /// Speed and workers of replica `i` (within the pool), given the pool's own workers.
    pub fn replica(&self, i: u32, pool_workers: u32) -> (f64, u32) {
        let mut first = 0u32;
        for g in &self.groups {
            if i < first + g.count {
                return (g.speed, g.workers);
            }
            first += g.count;
        }
        (1.0, pool_workers)
    }

    /// The group of replica `i`, if the pool has groups.
    pub fn group_of(&self, i: u32) -> Option<usize> {
        let mut first = 0u32;
        for (k, g) in self.groups.iter().enumerate() {
            if i < first + g.count {
                return Some(k);
            }
            first += g.count;
        }
        None
    }
}

/// k repair crews and the replicas waiting for one (a pool's, while it has limited crews).
#[derive(Clone, Debug, Default)]
pub struct Crews {
    /// Crews in all; `u32::MAX`: one per replica.
    pub crews: u32,
    /// Crews repairing now.
    pub busy: u32,
    /// Replicas (global index) down and waiting for a crew, first come first served.
    pub waiting: std::collections::VecDeque<u32>,
}

impl Crews {
    /// Crews for `spec` (unlimited when it sets none).
    pub fn new(spec: &FleetSpec) -> Self {
        Crews {
            crews: spec.repair_crews.unwrap_or(u32::MAX),
            busy: 0,
            waiting: std::collections::VecDeque::new(),
        }
    }

    /// True when crews are shared (a crashed replica may wait).
    pub fn limited(&self) -> bool {
        self.crews != u32::MAX
    }

    /// Replica `r` needs a repair: true if a crew takes it now, else it waits its turn.
    pub fn request(&mut self, r: u32) -> bool {
        if self.busy < self.crews {
            self.busy += 1;
            true
        } else {
            self.waiting.push_back(r);
            false
        }
    }

    /// A crew finished a repair: the replica it takes next, if one waits (else it goes idle).
    pub fn finished(&mut self) -> Option<u32> {
        assert!(
            self.busy > 0,
            "invariant: a repair finished with no crew busy"
        );
        match self.waiting.pop_front() {
            Some(r) => Some(r),
            None => {
                self.busy -= 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crews_serve_the_waiting_in_order_and_go_idle_when_none_waits() {
        let mut c = Crews::new(&FleetSpec {
            groups: Vec::new(),
            repair_crews: Some(2),
            hosts: None,
            restart: None,
        });
        assert!(c.request(7) && c.request(3));
        assert!(!c.request(5) && !c.request(1));
        assert_eq!(c.finished(), Some(5));
        assert_eq!(c.finished(), Some(1));
        assert_eq!((c.finished(), c.busy), (None, 1));
        assert_eq!((c.finished(), c.busy), (None, 0));
    }

    #[test]
    fn replicas_take_their_groups_speed_and_workers() {
        let g = |count, speed, workers| GroupSpec {
            name: "g".into(),
            count,
            speed,
            workers,
            weight: 1,
        };
        let f = FleetSpec {
            groups: vec![g(4, 1.0, 1), g(2, 2.0, 4)],
            repair_crews: None,
            hosts: None,
            restart: None,
        };
        assert_eq!(f.replica(3, 9), (1.0, 1));
        assert_eq!(f.replica(4, 9), (2.0, 4));
        assert_eq!(f.group_of(5), Some(1));
        assert_eq!(FleetSpec::default().replica(5, 9), (1.0, 9));
    }

    #[test]
    fn placement_spreads_or_packs_and_hosts_fill_racks_in_order() {
        let h = |placement| HostsSpec {
            hosts: 3,
            placement,
            failures: None,
            racks: 2,
            rack_failures: None,
        };
        let on = |s: &HostsSpec| (0..7).map(|i| s.host_of(i, 7)).collect::<Vec<_>>();
        assert_eq!(on(&h(Placement::Spread)), [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(on(&h(Placement::Packed)), [0, 0, 0, 1, 1, 1, 2]);
        let racks: Vec<_> = (0..3).map(|x| h(Placement::Spread).rack_of(x)).collect();
        assert_eq!(racks, [Some(0), Some(0), Some(1)]);
    }

    /// Kubernetes' schedule: 10 s doubling to 5 min, back to 10 s after 10 min of good running.
    #[test]
    fn restart_backoff_doubles_to_its_cap_and_resets_after_a_good_run() {
        let s = |x: u64| SimDuration(x * 1_000_000_000);
        let spec = RestartSpec {
            initial_backoff: s(10),
            max_backoff: s(300),
            reset_after: s(600),
            readiness_delay: s(2),
        };
        let waits: Vec<u64> = (0..8).map(|k| spec.backoff(k).0 / 1_000_000_000).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(spec.backoff(200), s(300));
        let mut st = Restarts::default();
        let mut now = SimTime(0);
        let mut downs = Vec::new();
        // Crashes 60 s after each start: never a good run long enough.
        for _ in 0..7 {
            now = SimTime(now.0 + s(60).0);
            let d = spec.down_time(&mut st, now, s(1));
            assert_eq!(st.started, SimTime(now.0 + d.0 - s(2).0));
            downs.push(d.0 / 1_000_000_000);
            now = SimTime(now.0 + d.0);
        }
        assert_eq!(downs, [13, 23, 43, 83, 163, 303, 303]);
        // 600 s after its last start (598 s after it became ready): k back to 0.
        let at = SimTime(st.started.0 + s(600).0);
        let d = spec.down_time(&mut st, at, s(1));
        assert_eq!((d, st.in_a_row), (s(13), 1));
        // 599 s after: not yet.
        let at = SimTime(st.started.0 + s(599).0);
        let d = spec.down_time(&mut st, at, s(1));
        assert_eq!((d, st.in_a_row), (s(23), 2));
    }
}

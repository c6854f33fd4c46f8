//! A lock service as plain data, already validated: lease-based locks on one server, on a
//! majority of independent servers (Redlock) or on a consensus group, held by clients around a
//! critical section that ends with a write to a protected resource. Re-exported by
//! [`crate::store_spec`]; the model is [`crate::store::LockService`].

use crate::spec::FailureSpec;
use sim_core::{Dist, SimDuration};

/// How the lock is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// One lock server (a single Redis): its crash loses every lease it granted, and nothing
    /// is granted while it is down.
    SingleNode,
    /// Redlock: `servers` independent servers; a lock is held when a majority granted it
    /// within the lease's validity. A crashed server forgets its leases.
    Redlock {
        /// Independent servers (1 to 31).
        servers: u32,
    },
    /// A consensus group (etcd, ZooKeeper): the lease is replicated, so it survives crashes;
    /// the service grants while a majority of its `servers` is up, each grant with the next
    /// revision (a monotonically increasing fencing token).
    Consensus {
        /// Members (1 to 31).
        servers: u32,
    },
}

impl LockKind {
    /// Servers of the service.
    pub fn servers(self) -> u32 {
        match self {
            LockKind::SingleNode => 1,
            LockKind::Redlock { servers } | LockKind::Consensus { servers } => servers,
        }
    }

    /// Servers that must be up (and, for Redlock, grant) for a lock to be granted.
    pub fn majority(self) -> u32 {
        self.servers() / 2 + 1
    }

    /// The name a report prints.
    pub fn name(self) -> &'static str {
        match self {
            LockKind::SingleNode => "single_node",
            LockKind::Redlock { .. } => "redlock",
            LockKind::Consensus { .. } => "consensus",
        }
    }
}

/// Stop-the-world pauses of a holder (GC, swap, a stopped VM): one may strike between the
/// holder's last check of its lease and its write reaching the resource.
#[derive(Clone, Debug)]
pub struct PauseSpec {
    /// Probability that a critical section is paused (0–1).
    pub probability: f64,
    /// How long a pause lasts.
    pub duration: Dist,
}

/// A lock server down from `at` for `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LockFault {
    /// When.
    pub at: SimDuration,
    /// How long it stays down.
    pub duration: SimDuration,
    /// Which server (0-based).
    pub server: u32,
}

/// A lock service and the clients that take its lock in a loop.
#[derive(Clone, Debug)]
pub struct LockSpec {
    /// Unique name among stores (names its random streams `store/<name>/…`).
    pub name: String,
    /// Single node, Redlock or consensus.
    pub kind: LockKind,
    /// The resource rejects a write (and a read) whose fencing token is lower than one it has
    /// seen; refused for Redlock, which has no tokens.
    pub fencing: bool,
    /// Clients that loop: think, acquire, critical section, write, release (0: only the
    /// requests that call the lock).
    pub clients: u32,
    /// Lease time to live, by the granting server's clock.
    pub ttl: SimDuration,
    /// A client gives up acquiring this long after its first attempt.
    pub acquire_timeout: SimDuration,
    /// Wait between a refused attempt and the next.
    pub retry: SimDuration,
    /// A looping client's time between its release and its next acquisition.
    pub think: Dist,
    /// The critical section's work, from the lock's grant reaching the holder to its check
    /// of the lease before the write.
    pub hold: Dist,
    /// GC pauses, if any.
    pub pauses: Option<PauseSpec>,
    /// Bound on clock rate error: each server's and client's clock runs at a rate drawn
    /// uniformly in [1 − drift, 1 + drift].
    pub clock_drift: f64,
    /// A holder trusts its lease until `ttl − drift_allowance` by its own clock, counted from
    /// the moment it sent the acquire (Redlock's validity time).
    pub drift_allowance: SimDuration,
    /// Client ↔ server round trip, one draw per server asked.
    pub round_trip: Dist,
    /// Random crash/repair of each server.
    pub failures: Option<FailureSpec>,
    /// Server crashes at fixed times, in time order.
    pub faults: Vec<LockFault>,
}

impl LockSpec {
    /// A holder's trust is positive: the drift allowance is shorter than the TTL.
    pub fn allowance_ok(&self) -> bool {
        self.drift_allowance < self.ttl
    }
}

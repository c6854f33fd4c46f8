//! Typed ids: an index into one table of the running system, so that a call cannot be used
//! where an attempt is meant. Each is a `u32` (tables stay small and `Copy`); `NONE` is the
//! sentinel of fields that may name nothing, kept in-band so that the structs stay packed.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// Names nothing.
            pub const NONE: $name = $name(u32::MAX);

            /// As an index into its table.
            #[inline]
            pub fn ix(self) -> usize {
                self.0 as usize
            }

            /// True for [`Self::NONE`].
            #[inline]
            pub fn is_none(self) -> bool {
                self.0 == u32::MAX
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// A call: a client's request or a dependency call (a slot of the call slab).
    CallId
);
id!(
    /// One try of a call at a replica (a slot of the attempt slab).
    AttemptId
);
id!(
    /// A caller: a client, or a hop (clients first, then hops in `Spec::hops` order).
    CallerId
);
id!(
    /// A replica, numbered across pools in pool order.
    ReplicaId
);
id!(
    /// A pool.
    PoolId
);
id!(
    /// A balancer instance: balancer `b`'s first instance is `b`; per-client ones follow.
    InstanceId
);
id!(
    /// A balancer (the scenario's `balancers`).
    BalancerId
);

impl CallerId {
    /// The hop this caller is (callers `n_clients..` are hops), or `None` for a client.
    #[inline]
    pub fn hop(self, n_clients: u32) -> Option<u32> {
        self.0.checked_sub(n_clients)
    }
}

/// `table[id]` for the tables an id names.
macro_rules! index {
    ($id:ty => $t:ty) => {
        impl std::ops::Index<$id> for Vec<$t> {
            type Output = $t;
            #[inline]
            fn index(&self, i: $id) -> &$t {
                &self[i.ix()]
            }
        }
        impl std::ops::IndexMut<$id> for Vec<$t> {
            #[inline]
            fn index_mut(&mut self, i: $id) -> &mut $t {
                &mut self[i.ix()]
            }
        }
    };
}

index!(CallId => super::Call);
index!(AttemptId => super::Attempt);
index!(CallerId => super::Client);
index!(ReplicaId => crate::pool::Replica);
index!(PoolId => crate::pool::Pool);
index!(InstanceId => crate::balancer::Balancer);

//! `models` holds hasim's HA building blocks (clients, balancers, replica pools, failures) and
//! wires them into one [`sim_core::Model`], [`System`]. It knows nothing of files, RON or
//! output formats: it takes a validated [`spec::Spec`] and emits [`Record`]s to an observer.

#![warn(missing_docs)]
// The module maps of `system` link to its private subsystems: they are for readers of
// `cargo doc --document-private-items`; the public docs show their names.
#![allow(rustdoc::private_intra_doc_links)]

pub mod arrivals;
pub mod balancer;
pub mod breaker;
pub mod fleet;
pub mod lb_pair;
pub mod limit;
mod lock_spec;
pub mod pool;
mod record;
pub mod retry;
pub mod spec;
mod stats;
pub mod store;
pub mod store_spec;
pub mod system;

pub use record::{Outcome, REPLICA_SAMPLES, Record};
pub use stats::{TimeWeighted, spread};
pub use system::{
    Conservation, Event, HopSummary, ReplicaSummary, ResilienceCounts, Summary, System,
};

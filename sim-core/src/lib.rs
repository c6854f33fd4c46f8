//! `sim-core` is hasim's kernel: virtual time, the event queue, named random streams, samplers
//! and the run loop. It is **not** a place for load balancers, replicas or anything HA: models
//! live in the `models` crate and plug in through [`Model`] and [`Observer`].
//!
//! # Event ordering guarantees
//!
//! * Virtual time is an integer count of nanoseconds ([`SimTime`]); it never runs backwards.
//! * Events fire in order of `(time, insertion sequence)`: two events scheduled for the same
//!   instant fire in the order they were scheduled (FIFO). Nothing else breaks ties, so a run is
//!   a pure function of the model, its parameters and the seed.
//! * A cancelled timer never fires. Cancelling is O(1); cancelled entries are purged in bulk
//!   once they outnumber the live ones, so memory stays proportional to pending work.
//!
//! # Randomness
//!
//! Every draw comes from a [`Stream`]: ChaCha8 keyed by `(seed, replication)`, the stream chosen
//! by a stable 64-bit id hashed from the consumer's name (`"pool/web/service"`). Adding a
//! component never shifts another component's draws. Samplers use `libm`, never the platform's
//! `f64::ln`/`exp`, so the same seed gives the same bits on every machine.

#![warn(missing_docs)]
mod custom_dist;
mod dist;
mod hosted;
mod observe;
mod queue;
mod rng;
mod sim;
mod time;
mod ziggurat;

pub use custom_dist::{CustomDist, CustomDistribution};
pub use dist::{Dist, DistError};
pub use hosted::{EventSlots, HostedScheduler, Schedule};
pub use observe::{NullObserver, Observer};
pub use queue::{EventQueue, TimerId};
pub use rng::{Stream, StreamKey, stream_id};
pub use sim::{Model, RunStats, STALL_EVENTS, Scheduler, StopReason, Until, run};
pub use time::{DurationError, SimDuration, SimTime, format_duration, parse_duration};

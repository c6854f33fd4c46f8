//! The observer hook: models emit typed records; reports (or tests) consume them.
//!
//! The observer is a type parameter of the model, so a record costs a direct (usually inlined)
//! call, never a dynamic dispatch or an allocation.

use crate::time::SimTime;

/// Receives the records `R` a model emits, in simulation order.
pub trait Observer<R> {
    /// Called once per record, at virtual time `now`.
    fn record(&mut self, now: SimTime, record: &R);

    /// True when the observer wants detail records (a request's every step), which a model
    /// emits only then: without such an observer they cost one constant-false branch.
    #[inline]
    fn detailed(&self) -> bool {
        false
    }
}

/// Discards every record.
#[derive(Clone, Copy, Default, Debug)]
pub struct NullObserver;

impl<R> Observer<R> for NullObserver {
    #[inline]
    fn record(&mut self, _now: SimTime, _record: &R) {}
}

impl<R, O: Observer<R>> Observer<R> for &mut O {
    #[inline]
    fn record(&mut self, now: SimTime, record: &R) {
        (**self).record(now, record)
    }

    #[inline]
    fn detailed(&self) -> bool {
        (**self).detailed()
    }
}

/// Two observers fed the same records, in order: `(a, b)`.
impl<R, A: Observer<R>, B: Observer<R>> Observer<R> for (A, B) {
    #[inline]
    fn record(&mut self, now: SimTime, record: &R) {
        self.0.record(now, record);
        self.1.record(now, record);
    }

    #[inline]
    fn detailed(&self) -> bool {
        self.0.detailed() || self.1.detailed()
    }
}

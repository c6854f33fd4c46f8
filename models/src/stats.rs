//! Time-weighted levels (busy workers, queue length, replicas up), kept inside the models
//! because they change at nearly every event and an observer call per change would cost more.

use sim_core::SimTime;

/// The integral over time of an integer level, from `since` to the last update.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeWeighted {
    level: u64,
    last: SimTime,
    since: SimTime,
    area: u128,
}

impl TimeWeighted {
    /// Sets the level at `now`, accumulating the old level's area.
    #[inline]
    pub fn set(&mut self, now: SimTime, level: u64) {
        self.area += self.level as u128 * (now.0 - self.last.0) as u128;
        self.last = now;
        self.level = level;
    }

    /// Current level.
    #[inline]
    pub fn level(&self) -> u64 {
        self.level
    }

    /// Forgets the area so far (end of warm-up): the window starts at `now`.
    pub fn restart(&mut self, now: SimTime) {
        self.set(now, self.level);
        self.area = 0;
        self.since = now;
    }

    /// Area (level × ns) up to `now`, and the window length in ns.
    pub fn area_until(&self, now: SimTime) -> (u128, u64) {
        let area = self.area + self.level as u128 * (now.0 - self.last.0) as u128;
        (area, now.0 - self.since.0)
    }

    /// Mean level over the window ending at `now`.
    pub fn mean_until(&self, now: SimTime) -> f64 {
        let (a, t) = self.area_until(now);
        if t == 0 {
            self.level as f64
        } else {
            a as f64 / t as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_levels_and_restarts() {
        let mut w = TimeWeighted::default();
        w.set(SimTime(10), 2); // level 0 on [0,10)
        w.set(SimTime(20), 1); // level 2 on [10,20)
        assert_eq!(w.area_until(SimTime(30)), (20 + 10, 30));
        w.restart(SimTime(30));
        assert_eq!(w.area_until(SimTime(40)), (10, 10));
        assert_eq!(w.mean_until(SimTime(40)), 1.0);
    }
}

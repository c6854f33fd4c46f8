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

/// The median, 90th and 99th percentiles (nearest rank) and the maximum of `values`
/// (reordered; zeros when empty), in O(n).
pub fn spread(values: &mut [f64]) -> [f64; 4] {
    let n = values.len();
    if n == 0 {
        return [0.0; 4];
    }
    let rank = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    // Each selection leaves the larger values after its rank: the next one searches only them.
    let mut out = [0.0; 4];
    let mut from = 0;
    for (o, q) in out.iter_mut().zip([0.5, 0.9, 0.99]) {
        let k = rank(q).max(from);
        *o = *values[from..]
            .select_nth_unstable_by(k - from, f64::total_cmp)
            .1;
        from = k;
    }
    out[3] = values[from..].iter().copied().fold(out[2], f64::max);
    out
}

/// [`spread`] of non-negative values given as their bits (`f64::to_bits`), which order as the
/// values do: the same result, with integer comparisons where `total_cmp` costs several
/// instructions per comparison (a fleet's spread is taken over every replica at every window).
pub fn spread_of_bits(bits: &mut [u64]) -> [f64; 4] {
    let n = bits.len();
    if n == 0 {
        return [0.0; 4];
    }
    debug_assert!(bits.iter().all(|&b| b >> 63 == 0), "negative values");
    let rank = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    let mut out = [0.0; 4];
    let mut from = 0;
    for (o, q) in out.iter_mut().zip([0.5, 0.9, 0.99]) {
        let k = rank(q).max(from);
        *o = f64::from_bits(*bits[from..].select_nth_unstable(k - from).1);
        from = k;
    }
    out[3] = f64::from_bits(
        bits[from..]
            .iter()
            .copied()
            .fold(out[2].to_bits(), u64::max),
    );
    out
}

/// `x` as a float, through `u64` when it fits: a few instructions where `u128` takes a
/// software routine, and the same value (both round to nearest).
#[inline]
pub fn u128_to_f64(x: u128) -> f64 {
    match u64::try_from(x) {
        Ok(small) => u64_to_f64(small),
        Err(_) => x as f64,
    }
}

/// Out of line, or the optimiser folds the two conversions above back into the slow one.
#[inline(never)]
fn u64_to_f64(x: u64) -> f64 {
    x as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=200).rev().map(f64::from).collect();
        assert_eq!(spread(&mut v), [100.0, 180.0, 198.0, 200.0]);
        assert_eq!(spread(&mut [3.0]), [3.0; 4]);
        // The integer version agrees on any non-negative values, ties and zeros included.
        let mut rng = sim_core::StreamKey::new(2, 0).stream("test");
        for n in [0usize, 1, 2, 3, 10, 99, 100, 101, 1000] {
            let v: Vec<f64> = (0..n)
                .map(|_| match rng.below(3) {
                    0 => 0.0,
                    1 => f64::from(rng.below(4)),
                    _ => rng.uniform() * 7.0,
                })
                .collect();
            let mut bits: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
            let want = spread(&mut v.clone());
            assert_eq!(
                spread_of_bits(&mut bits).map(f64::to_bits),
                want.map(f64::to_bits)
            );
        }
        assert_eq!(spread(&mut []), [0.0; 4]);
    }

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

//! A kinetic tournament: the greatest of `n` lines `a[i] + t·w[i]` at an integer time `t` that
//! only moves forward, ties going to the lowest position, in O(log n) per change of a line and
//! per overtaking. What makes NGINX's smooth weighted round robin O(log n) per pick: its
//! current weights all grow by their weights at every pick (the clock ticks), and only the
//! chosen one drops (one line changes).
//!
//! Each internal node holds the winner of its subtree at the current time and, below it, the
//! earliest time at which any node of the subtree will see its two children's winners swap
//! places (two lines cross at most once: the steeper one overtakes for good). Advancing the
//! clock repairs only the nodes whose certificate failed, deepest first.

const NONE: u32 = u32::MAX;
const NEVER: u64 = u64::MAX;

/// See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Tournament {
    /// Leaves at `size..size + n`.
    size: usize,
    n: usize,
    a: Vec<i64>,
    w: Vec<i64>,
    /// Node `k`'s winner (a position), `NONE` below an empty subtree.
    win: Vec<u32>,
    /// The earliest time > `t` at which a node of `k`'s subtree changes its winner.
    next: Vec<u64>,
    t: u64,
    /// Certificates repaired so far (a measure of the work, for tests).
    pub repairs: u64,
}

impl Tournament {
    /// Lines given as (value now, slope ≥ 0); the clock restarts at 0. O(n).
    pub fn build(&mut self, a: impl IntoIterator<Item = (i64, i64)>) {
        self.a.clear();
        self.w.clear();
        for (ai, wi) in a {
            debug_assert!(wi >= 0);
            self.a.push(ai);
            self.w.push(wi);
        }
        self.n = self.a.len();
        self.size = self.n.max(1).next_power_of_two();
        self.t = 0;
        self.win.clear();
        self.win.resize(2 * self.size, NONE);
        self.next.clear();
        self.next.resize(2 * self.size, NEVER);
        for i in 0..self.n {
            self.win[self.size + i] = i as u32;
        }
        for k in (1..self.size).rev() {
            self.pull(k);
        }
    }

    /// The clock, in ticks since the last [`Tournament::build`].
    #[inline]
    pub fn time(&self) -> u64 {
        self.t
    }

    /// Number of lines.
    #[inline]
    pub fn len(&self) -> usize {
        self.n
    }

    /// Line `i`'s value at the current time.
    #[inline]
    pub fn value(&self, i: usize) -> i64 {
        self.a[i] + self.t as i64 * self.w[i]
    }

    /// The position of the greatest line now (the lowest among equals); `None` if empty.
    #[inline]
    pub fn best(&self) -> Option<usize> {
        let b = self.win[1];
        (b != NONE).then_some(b as usize)
    }

    /// Moves the clock one tick forward and repairs the certificates that fail then.
    #[inline]
    pub fn tick(&mut self) {
        self.t += 1;
        while self.next[1] <= self.t {
            // Descend to a node whose own certificate failed and whose children are sound.
            let mut k = 1;
            while k < self.size {
                if self.next[2 * k] <= self.t {
                    k *= 2;
                } else if self.next[2 * k + 1] <= self.t {
                    k = 2 * k + 1;
                } else {
                    break;
                }
            }
            self.repairs += 1;
            self.fix_up(k);
        }
    }

    /// Adds `delta` to line `i` (its value now and at every later time).
    #[inline]
    pub fn shift(&mut self, i: usize, delta: i64) {
        self.a[i] += delta;
        self.fix_up((self.size + i) / 2);
    }

    #[inline]
    fn fix_up(&mut self, mut k: usize) {
        while k >= 1 {
            self.pull(k);
            k /= 2;
        }
    }

    /// Recomputes node `k` from its children at the current time.
    #[inline]
    fn pull(&mut self, k: usize) {
        let (l, r) = (self.win[2 * k], self.win[2 * k + 1]);
        let below = self.next[2 * k].min(self.next[2 * k + 1]);
        let (win, fail) = if r == NONE {
            (l, NEVER)
        } else if l == NONE {
            (r, NEVER)
        } else {
            let (l, r) = (l as usize, r as usize);
            let t = self.t as i64;
            let (al, wl, ar, wr) = (self.a[l], self.w[l], self.a[r], self.w[r]);
            if al + t * wl >= ar + t * wr {
                // The left one (the lower position) wins ties; the right one overtakes at
                // the first t with ar + t·wr > al + t·wl, if it is steeper.
                let fail = if wr > wl {
                    (al - ar).div_euclid(wr - wl) as u64 + 1
                } else {
                    NEVER
                };
                (l as u32, fail)
            } else {
                // The left one takes over at the first t with al + t·wl ≥ ar + t·wr.
                let fail = if wl > wr {
                    let (num, den) = (ar - al, wl - wr);
                    (num.div_euclid(den) + i64::from(num.rem_euclid(den) != 0)) as u64
                } else {
                    NEVER
                };
                (r as u32, fail)
            }
        };
        debug_assert!(fail > self.t);
        self.win[k] = win;
        self.next[k] = fail.min(below);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_winner_is_the_greatest_line_lowest_first() {
        let mut rng = sim_core::StreamKey::new(5, 0).stream("test");
        for n in [1usize, 2, 3, 5, 8, 13, 64, 100] {
            let mut a: Vec<i64> = (0..n).map(|_| rng.below(200) as i64 - 100).collect();
            let w: Vec<i64> = (0..n).map(|_| rng.below(6) as i64).collect();
            let mut k = Tournament::default();
            k.build(a.iter().copied().zip(w.iter().copied()));
            for t in 0..300i64 {
                if t > 0 {
                    k.tick();
                }
                let value = |i: usize, a: &[i64]| a[i] + t * w[i];
                let want = (0..n).fold(0, |b, i| if value(i, &a) > value(b, &a) { i } else { b });
                assert_eq!(k.best(), Some(want), "n = {n}, t = {t}");
                let i = rng.below(n as u32) as usize;
                let d = rng.below(40) as i64 - 30;
                a[i] += d;
                k.shift(i, d);
            }
        }
    }
}

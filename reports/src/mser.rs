//! MSER-5 (White 1997; the truncation rule JMT uses): choose the warm-up that minimises the
//! marginal standard error of what remains. Response times are grouped in batches of 5 in
//! completion order; the truncation point d* minimises Σ_{i≥d}(x_i − x̄_d)² / (n − d)² over the
//! first half of the batches (a minimum in the second half means no steady state was seen).
//! Memory is bounded: past `CAP` batches, neighbours merge and the batch size doubles.

use models::{Outcome, Record};
use sim_core::{Observer, SimTime};

const CAP: usize = 1 << 14;

/// Batches of response times with the time each batch ended.
#[derive(Clone, Debug)]
pub struct Mser5 {
    batch: u64,
    sums: Vec<f64>,
    ends: Vec<SimTime>,
    current: f64,
    in_current: u64,
}

impl Default for Mser5 {
    fn default() -> Self {
        Mser5 {
            batch: 5,
            sums: Vec::new(),
            ends: Vec::new(),
            current: 0.0,
            in_current: 0,
        }
    }
}

/// The truncation MSER-5 chose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Truncation {
    /// Batches dropped.
    pub batches: usize,
    /// Batches seen.
    pub of: usize,
    /// The warm-up: end of the last dropped batch.
    pub warmup: SimTime,
}

impl Mser5 {
    /// Adds one observation made at `now`.
    pub fn push(&mut self, x: f64, now: SimTime) {
        self.current += x;
        self.in_current += 1;
        if self.in_current == self.batch {
            self.sums.push(self.current);
            self.ends.push(now);
            self.current = 0.0;
            self.in_current = 0;
            if self.sums.len() == CAP {
                for i in 0..CAP / 2 {
                    self.sums[i] = self.sums[2 * i] + self.sums[2 * i + 1];
                    self.ends[i] = self.ends[2 * i + 1];
                }
                self.sums.truncate(CAP / 2);
                self.ends.truncate(CAP / 2);
                self.batch *= 2;
            }
        }
    }

    /// The MSER truncation, or None with fewer than 10 batches.
    pub fn truncation(&self) -> Option<Truncation> {
        let n = self.sums.len();
        if n < 10 {
            return None;
        }
        let b = self.batch as f64;
        let x: Vec<f64> = self.sums.iter().map(|s| s / b).collect();
        // Suffix sums, accumulated from the end in a fixed order.
        let (mut s1, mut s2) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        for i in (0..n).rev() {
            s1[i] = s1[i + 1] + x[i];
            s2[i] = s2[i + 1] + x[i] * x[i];
        }
        let mut best = (f64::INFINITY, 0usize);
        for d in 0..=n / 2 {
            let m = (n - d) as f64;
            let ss = (s2[d] - s1[d] * s1[d] / m).max(0.0);
            let v = ss / (m * m);
            if v < best.0 {
                best = (v, d);
            }
        }
        let d = best.1;
        Some(Truncation {
            batches: d,
            of: n,
            warmup: if d == 0 {
                SimTime::ZERO
            } else {
                self.ends[d - 1]
            },
        })
    }
}

impl Observer<Record> for Mser5 {
    fn record(&mut self, now: SimTime, r: &Record) {
        if let Record::Finished {
            outcome: Outcome::Succeeded,
            latency,
            ..
        } = *r
        {
            self.push(latency.0 as f64, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transient of known length on top of noise: MSER-5 must cut near its end, not at zero
    /// and not far into the steady state.
    #[test]
    fn finds_the_end_of_a_transient() {
        let mut rng = sim_core::StreamKey::new(2, 0).stream("mser");
        let mut m = Mser5::default();
        for i in 0..50_000u64 {
            let noise = rng.uniform() - 0.5;
            // Decays from +40 to 0 over the first 5 000 observations.
            let transient = if i < 5_000 {
                40.0 * (1.0 - i as f64 / 5_000.0)
            } else {
                0.0
            };
            m.push(10.0 + transient + noise, SimTime(i));
        }
        let t = m.truncation().expect("enough batches");
        assert!((4_000..6_500).contains(&t.warmup.0), "{t:?}");
    }

    #[test]
    fn constant_data_needs_no_warmup_and_memory_stays_capped() {
        let mut m = Mser5::default();
        for i in 0..1_000_000u64 {
            m.push(7.0, SimTime(i));
        }
        assert!(m.sums.len() <= CAP, "{}", m.sums.len());
        let t = m.truncation().expect("enough batches");
        assert_eq!((t.batches, t.warmup), (0, SimTime::ZERO));
    }
}

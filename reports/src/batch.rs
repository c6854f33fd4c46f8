//! Batch means: a confidence interval for the mean of an autocorrelated sequence (response
//! times queueing behind each other are far from independent) in bounded memory.
//!
//! Observations fill batches of size `b`; when 64 batches are full, neighbours are merged into
//! 32 batches of size `2b`. At the end there are 32–63 equal, full batches (a trailing partial
//! batch is dropped), whose means are close to independent when `b` is long compared with the
//! correlation time. The half-width is `t(0.975, k−1) · s / √k` over the k batch means.

use statrs::distribution::{ContinuousCDF, StudentsT};

const MAX_BATCHES: usize = 64;

/// Running batch means of a sequence of observations.
#[derive(Clone, Debug)]
pub struct BatchMeans {
    batch_size: u64,
    sums: Vec<f64>,
    current: f64,
    in_current: u64,
    count: u64,
    total: f64,
}

impl Default for BatchMeans {
    fn default() -> Self {
        BatchMeans {
            batch_size: 1,
            sums: Vec::with_capacity(MAX_BATCHES),
            current: 0.0,
            in_current: 0,
            count: 0,
            total: 0.0,
        }
    }
}

impl BatchMeans {
    /// Adds one observation.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        self.total += x;
        self.current += x;
        self.in_current += 1;
        if self.in_current == self.batch_size {
            self.sums.push(self.current);
            self.current = 0.0;
            self.in_current = 0;
            if self.sums.len() == MAX_BATCHES {
                for i in 0..MAX_BATCHES / 2 {
                    self.sums[i] = self.sums[2 * i] + self.sums[2 * i + 1];
                }
                self.sums.truncate(MAX_BATCHES / 2);
                self.batch_size *= 2;
            }
        }
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean of every observation.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.total / self.count as f64
        }
    }

    /// Number of full batches (the CI's degrees of freedom + 1).
    pub fn batches(&self) -> usize {
        self.sums.len()
    }

    /// Half-width of the 95% confidence interval of the mean, or NaN with fewer than 10 batches.
    pub fn half_width_95(&self) -> f64 {
        self.half_width(0.975)
    }

    /// Half-width at two-sided level `2·q − 1` (q = 0.975 for 95%).
    pub fn half_width(&self, q: f64) -> f64 {
        let k = self.sums.len();
        if k < 10 {
            return f64::NAN;
        }
        let b = self.batch_size as f64;
        let means = self.sums.iter().map(|s| s / b);
        let m = means.clone().sum::<f64>() / k as f64;
        let var = means.map(|x| (x - m) * (x - m)).sum::<f64>() / (k - 1) as f64;
        student_t(q, k - 1) * (var / k as f64).sqrt()
    }
}

fn student_t(q: f64, dof: usize) -> f64 {
    StudentsT::new(0.0, 1.0, dof as f64)
        .map(|t| t.inverse_cdf(q))
        .unwrap_or(f64::NAN)
}

/// The 97.5% quantile of Student's t with `dof` degrees of freedom.
pub fn student_t_975(dof: usize) -> f64 {
    student_t(0.975, dof)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_between_32_and_64_and_equal() {
        let mut b = BatchMeans::default();
        for i in 0..100_000u64 {
            b.push(i as f64);
        }
        assert!((32..64).contains(&b.batches()), "{}", b.batches());
        assert_eq!(b.count(), 100_000);
        assert_eq!(b.mean(), 49_999.5);
    }

    #[test]
    fn student_t_matches_tables() {
        assert!((student_t_975(9) - 2.262_157).abs() < 1e-6);
        assert!((student_t_975(31) - 2.039_513).abs() < 1e-6);
    }

    /// For independent N(0,1) data the 95% interval must cover 0 about 95% of the time:
    /// over 400 independent sequences, coverage is Binomial(400, 0.95), sd ≈ 4.4 sequences.
    #[test]
    fn interval_covers_the_true_mean_at_the_nominal_rate() {
        let mut rng = sim_core::StreamKey::new(11, 0).stream("batch-test");
        let normal =
            sim_core::Dist::normal(sim_core::SimDuration(1_000), sim_core::SimDuration(100))
                .unwrap();
        let mut covered = 0;
        for _ in 0..400 {
            let mut b = BatchMeans::default();
            for _ in 0..3_200 {
                b.push(normal.sample_ns(&mut rng));
            }
            if (b.mean() - 1_000.0).abs() <= b.half_width_95() {
                covered += 1;
            }
        }
        // 380 expected; 5 sd below is 358.
        assert!((358..=400).contains(&covered), "coverage {covered}/400");
    }
}

//! Samplers for durations: ziggurat normals and exponentials (crate::ziggurat) or inverse
//! transforms over a [`Stream`], with `libm` for every transcendental function so that results
//! are bit-identical on every platform.
//!
//! Parameters are held in nanoseconds; [`Dist::sample`] returns a [`SimDuration`] rounded to the
//! nearest nanosecond and never negative (a normal draw below zero is clamped to zero).

use crate::rng::Stream;
use crate::time::SimDuration;
use crate::ziggurat::{std_exponential, std_normal};
use std::fmt;

/// The 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_840_8;

/// A distribution of durations.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // each variant's line names its fields and their units
pub enum Dist {
    /// Always the same value (ns).
    Constant { value: f64 },
    /// Exponential with the given mean (ns).
    Exponential { mean: f64 },
    /// Uniform on [low, high) (ns).
    Uniform { low: f64, high: f64 },
    /// Normal, clamped at zero (ns).
    Normal { mean: f64, sd: f64 },
    /// exp(N(mu, sigma²)), with mu and sigma in log-nanoseconds.
    LogNormal { mu: f64, sigma: f64 },
    /// Sum of `k` exponentials, total mean `mean` (ns).
    Erlang { k: u32, mean: f64 },
    /// Branch `i` with probability `p_i`, then exponential with mean `mean_i`; stored as
    /// (cumulative probability, mean ns).
    HyperExponential { branches: Vec<(f64, f64)> },
    /// Pareto type I: scale × U^(−1/shape) (scale in ns).
    Pareto { scale: f64, shape: f64 },
    /// Weibull: scale × (−ln U)^(1/shape) (scale in ns).
    Weibull { scale: f64, shape: f64 },
    /// One of the observed values (ns), each equally likely.
    Empirical { values: Vec<f64> },
    /// A user's distribution (see [`crate::CustomDistribution`]).
    Custom(crate::CustomDist),
}

/// A parameter that makes no distribution.
#[derive(Clone, Debug, PartialEq)]
pub struct DistError {
    /// The offending parameter's name.
    pub parameter: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.parameter, self.message)
    }
}

impl std::error::Error for DistError {}

fn check(ok: bool, parameter: &'static str, message: &str) -> Result<(), DistError> {
    if ok {
        Ok(())
    } else {
        Err(DistError {
            parameter,
            message: message.to_string(),
        })
    }
}

fn finite_nonneg(x: f64, p: &'static str) -> Result<(), DistError> {
    check(x.is_finite() && x >= 0.0, p, "must be a finite number ≥ 0")
}

fn finite_pos(x: f64, p: &'static str) -> Result<(), DistError> {
    check(x.is_finite() && x > 0.0, p, "must be a finite number > 0")
}

impl Dist {
    /// Always `d`.
    pub fn constant(d: SimDuration) -> Dist {
        Dist::Constant { value: d.0 as f64 }
    }

    /// Exponential with mean `mean`.
    pub fn exponential(mean: SimDuration) -> Result<Dist, DistError> {
        finite_pos(mean.0 as f64, "mean")?;
        Ok(Dist::Exponential {
            mean: mean.0 as f64,
        })
    }

    /// Uniform on [low, high).
    pub fn uniform(low: SimDuration, high: SimDuration) -> Result<Dist, DistError> {
        check(high >= low, "high", "must be ≥ low")?;
        Ok(Dist::Uniform {
            low: low.0 as f64,
            high: high.0 as f64,
        })
    }

    /// Normal with mean and standard deviation (draws below zero become zero).
    pub fn normal(mean: SimDuration, sd: SimDuration) -> Result<Dist, DistError> {
        Ok(Dist::Normal {
            mean: mean.0 as f64,
            sd: sd.0 as f64,
        })
    }

    /// Lognormal with the given mean and standard deviation of the duration itself.
    pub fn lognormal_mean_sd(mean: SimDuration, sd: SimDuration) -> Result<Dist, DistError> {
        let (m, s) = (mean.0 as f64, sd.0 as f64);
        finite_pos(m, "mean")?;
        finite_nonneg(s, "sd")?;
        let cv2 = (s / m) * (s / m);
        let sigma2 = libm::log1p(cv2);
        Ok(Dist::LogNormal {
            mu: libm::log(m) - sigma2 / 2.0,
            sigma: libm::sqrt(sigma2),
        })
    }

    /// Lognormal with the given median and 99th percentile (the way latency is usually quoted).
    pub fn lognormal_median_p99(median: SimDuration, p99: SimDuration) -> Result<Dist, DistError> {
        let (m, p) = (median.0 as f64, p99.0 as f64);
        finite_pos(m, "median")?;
        check(p >= m, "p99", "must be ≥ median")?;
        let mu = libm::log(m);
        Ok(Dist::LogNormal {
            mu,
            sigma: (libm::log(p) - mu) / Z99,
        })
    }

    /// Erlang-k with total mean `mean`.
    pub fn erlang(k: u32, mean: SimDuration) -> Result<Dist, DistError> {
        check(k >= 1, "k", "must be ≥ 1")?;
        finite_pos(mean.0 as f64, "mean")?;
        Ok(Dist::Erlang {
            k,
            mean: mean.0 as f64,
        })
    }

    /// Hyperexponential from (probability, mean) branches; probabilities must sum to 1.
    pub fn hyperexponential(branches: &[(f64, SimDuration)]) -> Result<Dist, DistError> {
        check(
            !branches.is_empty(),
            "branches",
            "needs at least one branch",
        )?;
        let mut cum = 0.0;
        let mut out = Vec::with_capacity(branches.len());
        for &(p, mean) in branches {
            check(
                p.is_finite() && p > 0.0 && p <= 1.0,
                "p",
                "each probability must be in (0, 1]",
            )?;
            finite_pos(mean.0 as f64, "mean")?;
            cum += p;
            out.push((cum, mean.0 as f64));
        }
        check(
            (cum - 1.0).abs() < 1e-9,
            "p",
            "branch probabilities must sum to 1",
        )?;
        if let Some(last) = out.last_mut() {
            last.0 = 1.0;
        }
        Ok(Dist::HyperExponential { branches: out })
    }

    /// Pareto type I with minimum `scale` and tail index `shape`.
    pub fn pareto(scale: SimDuration, shape: f64) -> Result<Dist, DistError> {
        finite_pos(scale.0 as f64, "scale")?;
        finite_pos(shape, "shape")?;
        Ok(Dist::Pareto {
            scale: scale.0 as f64,
            shape,
        })
    }

    /// Weibull with the given scale and shape.
    pub fn weibull(scale: SimDuration, shape: f64) -> Result<Dist, DistError> {
        finite_pos(scale.0 as f64, "scale")?;
        finite_pos(shape, "shape")?;
        Ok(Dist::Weibull {
            scale: scale.0 as f64,
            shape,
        })
    }

    /// Resampling of observed values.
    pub fn empirical(values: &[SimDuration]) -> Result<Dist, DistError> {
        check(!values.is_empty(), "values", "needs at least one value")?;
        check(
            values.len() <= u32::MAX as usize,
            "values",
            "too many values",
        )?;
        Ok(Dist::Empirical {
            values: values.iter().map(|v| v.0 as f64).collect(),
        })
    }

    /// One draw, in nanoseconds (not rounded, may be negative only for `Normal`).
    #[inline]
    pub fn sample_ns(&self, rng: &mut Stream) -> f64 {
        match self {
            Dist::Constant { value } => *value,
            Dist::Exponential { mean } => mean * std_exponential(rng),
            Dist::Uniform { low, high } => low + (high - low) * rng.uniform(),
            Dist::Normal { mean, sd } => mean + sd * std_normal(rng),
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * std_normal(rng)),
            Dist::Erlang { k, mean } => {
                let mut s = 0.0;
                for _ in 0..*k {
                    s += std_exponential(rng);
                }
                s * mean / *k as f64
            }
            Dist::HyperExponential { branches } => {
                let u = rng.uniform();
                let mean = branches
                    .iter()
                    .find(|(c, _)| u < *c)
                    .map_or(branches[branches.len() - 1].1, |b| b.1);
                mean * std_exponential(rng)
            }
            Dist::Pareto { scale, shape } => scale * libm::pow(rng.uniform_open0(), -1.0 / shape),
            Dist::Weibull { scale, shape } => scale * libm::pow(std_exponential(rng), 1.0 / shape),
            Dist::Empirical { values } => values[rng.below(values.len() as u32) as usize],
            Dist::Custom(c) => c.sample_ns(rng),
        }
    }

    /// One draw as a duration: rounded to the nearest nanosecond, never negative.
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> SimDuration {
        let x = self.sample_ns(rng);
        // `as u64` saturates: +inf and huge Pareto draws become u64::MAX, NaN cannot occur.
        SimDuration(if x > 0.0 { (x + 0.5) as u64 } else { 0 })
    }

    /// The mean in nanoseconds (infinite for a Pareto with shape ≤ 1). `Normal` ignores clamping.
    pub fn mean_ns(&self) -> f64 {
        match self {
            Dist::Constant { value } => *value,
            Dist::Exponential { mean } | Dist::Erlang { mean, .. } => *mean,
            Dist::Uniform { low, high } => (low + high) / 2.0,
            Dist::Normal { mean, .. } => *mean,
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * sigma / 2.0),
            Dist::HyperExponential { branches } => {
                let mut prev = 0.0;
                let mut m = 0.0;
                for &(c, mean) in branches {
                    m += (c - prev) * mean;
                    prev = c;
                }
                m
            }
            Dist::Pareto { scale, shape } => {
                if *shape <= 1.0 {
                    f64::INFINITY
                } else {
                    shape * scale / (shape - 1.0)
                }
            }
            Dist::Weibull { scale, shape } => scale * gamma(1.0 + 1.0 / shape),
            Dist::Empirical { values } => values.iter().sum::<f64>() / values.len() as f64,
            Dist::Custom(c) => c.mean_ns(),
        }
    }

    /// True for the exponential distribution (where queueing theory has closed forms).
    pub fn is_exponential(&self) -> bool {
        matches!(self, Dist::Exponential { .. })
    }
}

fn gamma(x: f64) -> f64 {
    libm::tgamma(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::StreamKey;

    fn mean_of(d: &Dist, n: usize) -> (f64, f64) {
        let mut s = StreamKey::new(3, 0).stream("dist-test");
        let mut sum = 0.0;
        let mut sum2 = 0.0;
        for _ in 0..n {
            let x = d.sample_ns(&mut s);
            sum += x;
            sum2 += x * x;
        }
        let m = sum / n as f64;
        (m, (sum2 / n as f64 - m * m).max(0.0))
    }

    /// Sample means within 5 standard errors of the true mean (the standard error from the
    /// sample's own variance): fails for a wrong formula, passes by chance < 1e-6.
    #[test]
    fn sample_means_match_the_distribution_means() {
        let ms = SimDuration::from_millis;
        let cases = vec![
            Dist::exponential(ms(100)).unwrap(),
            Dist::uniform(ms(10), ms(30)).unwrap(),
            Dist::normal(ms(100), ms(10)).unwrap(),
            Dist::lognormal_mean_sd(ms(100), ms(50)).unwrap(),
            Dist::lognormal_median_p99(ms(50), ms(400)).unwrap(),
            Dist::erlang(3, ms(90)).unwrap(),
            Dist::hyperexponential(&[(0.9, ms(10)), (0.1, ms(910))]).unwrap(),
            Dist::pareto(ms(10), 3.5).unwrap(),
            Dist::weibull(ms(100), 1.5).unwrap(),
            Dist::empirical(&[ms(1), ms(2), ms(6)]).unwrap(),
        ];
        let n = 400_000;
        for d in cases {
            let (m, var) = mean_of(&d, n);
            let se = (var / n as f64).sqrt();
            let want = d.mean_ns();
            assert!(
                (m - want).abs() <= 5.0 * se,
                "{d:?}: sample mean {m} vs {want} (se {se})"
            );
        }
    }

    #[test]
    fn lognormal_median_p99_quantiles() {
        let d =
            Dist::lognormal_median_p99(SimDuration::from_millis(50), SimDuration::from_millis(400))
                .unwrap();
        let mut s = StreamKey::new(9, 0).stream("ln");
        let n = 200_000;
        let (mut below_median, mut above_p99) = (0u32, 0u32);
        for _ in 0..n {
            let x = d.sample_ns(&mut s);
            below_median += (x < 50e6) as u32;
            above_p99 += (x > 400e6) as u32;
        }
        // Binomial standard errors: sqrt(n p (1-p)) = 224 and 44.5; 5 of them.
        assert!(
            (below_median as f64 - 100_000.0).abs() < 5.0 * 224.0,
            "{below_median}"
        );
        assert!(
            (above_p99 as f64 - 2_000.0).abs() < 5.0 * 44.5,
            "{above_p99}"
        );
    }

    #[test]
    fn bad_parameters_are_errors() {
        let z = SimDuration::ZERO;
        assert!(Dist::exponential(z).is_err());
        assert!(Dist::uniform(SimDuration(5), SimDuration(4)).is_err());
        assert!(Dist::erlang(0, SimDuration(5)).is_err());
        assert!(Dist::hyperexponential(&[(0.5, SimDuration(1))]).is_err());
        assert!(Dist::pareto(SimDuration(1), 0.0).is_err());
        assert!(Dist::weibull(SimDuration(1), f64::NAN).is_err());
        assert!(Dist::empirical(&[]).is_err());
        assert!(Dist::lognormal_median_p99(SimDuration(10), SimDuration(5)).is_err());
    }

    #[test]
    fn samples_are_never_negative() {
        let d = Dist::normal(SimDuration(10), SimDuration(1000)).unwrap();
        let mut s = StreamKey::new(1, 0).stream("neg");
        // Half the draws fall below zero; they must clamp to exactly zero, not wrap around.
        let zeros = (0..10_000)
            .filter(|_| d.sample(&mut s) == SimDuration::ZERO)
            .count();
        assert!((4_000..6_000).contains(&zeros), "{zeros}");
    }
}

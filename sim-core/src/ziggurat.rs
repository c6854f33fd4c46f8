//! Standard normal and exponential variates by the ziggurat method (Marsaglia and Tsang, 2000,
//! in the floating-point form of Doornik, 2005). About 99% of draws cost one 64-bit random
//! number, a table look-up and a multiply; the rest fall back to an exact rejection step. Box–
//! Muller needed a logarithm, a square root and a cosine per normal, and `-ln U` a logarithm per
//! exponential: these two samplers were the largest part of a web-tier run's sampling time.
//!
//! The tables are computed once, with `libm`, from the published constants (layer count, the
//! base layer's right edge `r` and the common layer area `v`), so every platform gets the same
//! bits. Each draw splits one `u64`: the low bits pick the layer (and, for the normal, the
//! sign), the top 53 bits make the uniform.

use crate::rng::Stream;
use std::sync::OnceLock;

/// Layers, edges and heights of one ziggurat for a decreasing density `f` on [0, ∞).
struct Table<const N: usize> {
    /// Right edges: `x[0]` is the base layer's equivalent width `v / f(r)`, `x[1] = r`,
    /// decreasing to `x[N] = 0`.
    x: [f64; N],
    x_end: f64,
    /// `f(x[i])`, with `f(x[N]) = f(0)`.
    f: [f64; N],
    f_end: f64,
}

impl<const N: usize> Table<N> {
    fn new(r: f64, v: f64, density: fn(f64) -> f64, inverse: fn(f64) -> f64) -> Self {
        let mut x = [0.0; N];
        let mut f = [0.0; N];
        x[0] = v / density(r);
        x[1] = r;
        for i in 2..N {
            x[i] = inverse(v / x[i - 1] + density(x[i - 1]));
        }
        for i in 0..N {
            f[i] = density(x[i]);
        }
        Table {
            x,
            x_end: 0.0,
            f,
            f_end: density(0.0),
        }
    }

    #[inline(always)]
    fn edge(&self, i: usize) -> f64 {
        if i + 1 < N { self.x[i + 1] } else { self.x_end }
    }

    #[inline(always)]
    fn height(&self, i: usize) -> f64 {
        if i + 1 < N { self.f[i + 1] } else { self.f_end }
    }
}

const NORMAL_LAYERS: usize = 128;
const NORMAL_R: f64 = 3.442_619_855_899;
const NORMAL_V: f64 = 9.912_563_035_262_17e-3;

const EXP_LAYERS: usize = 256;
const EXP_R: f64 = 7.697_117_470_131_05;
const EXP_V: f64 = 3.949_659_822_581_572e-3;

fn normal_density(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

fn normal_inverse(y: f64) -> f64 {
    libm::sqrt(-2.0 * libm::log(y))
}

fn exp_density(x: f64) -> f64 {
    libm::exp(-x)
}

fn exp_inverse(y: f64) -> f64 {
    -libm::log(y)
}

fn normal_table() -> &'static Table<NORMAL_LAYERS> {
    static T: OnceLock<Table<NORMAL_LAYERS>> = OnceLock::new();
    T.get_or_init(|| Table::new(NORMAL_R, NORMAL_V, normal_density, normal_inverse))
}

fn exp_table() -> &'static Table<EXP_LAYERS> {
    static T: OnceLock<Table<EXP_LAYERS>> = OnceLock::new();
    T.get_or_init(|| Table::new(EXP_R, EXP_V, exp_density, exp_inverse))
}

/// The top 53 bits of `bits` as a uniform on [0, 1).
#[inline(always)]
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal variate.
#[inline]
pub fn std_normal(rng: &mut Stream) -> f64 {
    let t = normal_table();
    loop {
        let bits = rng.next_u64();
        let i = (bits & (NORMAL_LAYERS as u64 - 1)) as usize;
        let negative = bits & NORMAL_LAYERS as u64 != 0;
        let x = unit(bits) * t.x[i];
        let sign = |v: f64| if negative { -v } else { v };
        if x < t.edge(i) {
            return sign(x);
        }
        if i == 0 {
            // The tail beyond r (Marsaglia, 1964): r + a, a exponential-like, accepted with the
            // right weight.
            loop {
                let a = -libm::log(rng.uniform_open0()) / NORMAL_R;
                let b = -libm::log(rng.uniform_open0());
                if 2.0 * b >= a * a {
                    return sign(NORMAL_R + a);
                }
            }
        }
        // The wedge between this layer's rectangle and the curve.
        let y = t.f[i] + rng.uniform() * (t.height(i) - t.f[i]);
        if y < normal_density(x) {
            return sign(x);
        }
    }
}

/// A standard exponential variate (mean 1).
#[inline]
pub fn std_exponential(rng: &mut Stream) -> f64 {
    let t = exp_table();
    let mut shift = 0.0;
    loop {
        let bits = rng.next_u64();
        let i = (bits & (EXP_LAYERS as u64 - 1)) as usize;
        let x = unit(bits) * t.x[i];
        if x < t.edge(i) {
            return shift + x;
        }
        if i == 0 {
            // Memoryless tail: beyond r the excess is again standard exponential.
            shift += EXP_R;
            continue;
        }
        let y = t.f[i] + rng.uniform() * (t.height(i) - t.f[i]);
        if y < exp_density(x) {
            return shift + x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::StreamKey;

    fn normal_cdf(x: f64) -> f64 {
        0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
    }

    /// Counts of draws below each cut point against the exact CDF, each within 5 binomial
    /// standard errors, cuts chosen to cover the layers, the wedges and the tails (beyond r).
    fn check_cdf(
        draw: impl Fn(&mut Stream) -> f64,
        cdf: impl Fn(f64) -> f64,
        cuts: &[f64],
        name: &str,
    ) {
        let n = 4_000_000u32;
        let mut s = StreamKey::new(11, 0).stream(name);
        let mut below = vec![0u32; cuts.len()];
        for _ in 0..n {
            let x = draw(&mut s);
            for (b, c) in below.iter_mut().zip(cuts) {
                *b += (x < *c) as u32;
            }
        }
        for (b, c) in below.iter().zip(cuts) {
            let p = cdf(*c);
            let se = (n as f64 * p * (1.0 - p)).sqrt().max(1.0);
            let want = n as f64 * p;
            assert!(
                (*b as f64 - want).abs() <= 5.0 * se,
                "{name}: {b} draws below {c}, expected {want:.1} ± {se:.1}"
            );
        }
    }

    #[test]
    fn normal_matches_its_cdf_in_the_body_and_the_tails() {
        let cuts = [
            -4.5, -3.8, -3.44, -3.0, -2.0, -1.3, -0.7, -0.2, 0.0, 0.05, 0.5, 1.0, 1.7, 2.5, 3.2,
            3.44, 3.6, 4.2,
        ];
        check_cdf(std_normal, normal_cdf, &cuts, "zig-normal");
    }

    #[test]
    fn normal_moments() {
        let n = 2_000_000;
        let mut s = StreamKey::new(12, 0).stream("zig-normal-moments");
        let (mut m1, mut m2, mut m4) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let x = std_normal(&mut s);
            m1 += x;
            m2 += x * x;
            m4 += x * x * x * x;
        }
        let (m1, m2, m4) = (m1 / n as f64, m2 / n as f64, m4 / n as f64);
        // Standard errors: sqrt(1/n), sqrt(2/n), sqrt(96/n).
        let k = 5.0 / (n as f64).sqrt();
        assert!(m1.abs() < k, "mean {m1}");
        assert!((m2 - 1.0).abs() < k * 2f64.sqrt(), "variance {m2}");
        assert!((m4 - 3.0).abs() < k * 96f64.sqrt(), "fourth moment {m4}");
    }

    #[test]
    fn exponential_matches_its_cdf_in_the_body_and_the_tail() {
        let cuts = [
            0.001, 0.01, 0.1, 0.3, 0.69, 1.0, 1.5, 2.3, 3.0, 4.6, 6.0, 7.0, 7.69, 8.0, 9.0, 11.0,
        ];
        check_cdf(
            std_exponential,
            |x| 1.0 - libm::exp(-x),
            &cuts,
            "zig-exponential",
        );
    }

    #[test]
    fn the_constants_close_each_ziggurat_at_the_mode() {
        // The top layer, from x[N−1] to the mode, must have the common area v too: otherwise
        // the published (r, v) would not fit this layer count and every layer would be off.
        let t = normal_table();
        let x = t.x[NORMAL_LAYERS - 1];
        let top = x * (1.0 - normal_density(x));
        assert!(
            (top / NORMAL_V - 1.0).abs() < 1e-6,
            "normal top layer {top}"
        );
        let e = exp_table();
        let x = e.x[EXP_LAYERS - 1];
        let top = x * (1.0 - exp_density(x));
        assert!(
            (top / EXP_V - 1.0).abs() < 1e-6,
            "exponential top layer {top}"
        );
    }
}

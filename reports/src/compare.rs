//! `hasim compare`: every variant's absolute figures beside its paired difference from a
//! baseline, a ranking per metric with which differences are significant (a compact letter
//! display: variants sharing a letter are not told apart), a practical-significance threshold,
//! and variants whose figures are identical flagged. Table, JSON and CSV come from one struct.
//!
//! Differences are paired replication by replication (common random numbers: replication r of
//! every variant draws the same numbers), each with a Student-t 95% interval. Pairwise tests
//! are not corrected for multiplicity: with many variants, read a lone significant pair with
//! care (the table says so).

use crate::sweep::{Column, Estimate, SweepMeta, estimate, unpaired_half_width};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The request metrics a comparison shows, in order; it also shows every store metric that
/// every variant has.
pub const HEADLINE: &[&str] = &[
    "latency_ms_mean",
    "latency_ms_p99",
    "availability_request",
    "throughput_rps",
];

/// A whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    /// Who ran what.
    #[serde(flatten)]
    pub meta: SweepMeta,
    /// The baseline variant's index.
    pub baseline: usize,
    /// Differences smaller than this fraction of the baseline's value are "no practical
    /// difference", significant or not.
    pub min_effect: f64,
    /// Every variant's label, by index.
    pub variants: Vec<String>,
    /// One block per headline metric.
    pub metrics: Vec<MetricComparison>,
    /// Groups of variants whose every figure was equal in every replication, and why.
    pub identical: Vec<Identical>,
}

/// One metric across all variants.
#[derive(Clone, Debug, Serialize)]
pub struct MetricComparison {
    /// Its key (`latency_ms_mean`).
    pub name: String,
    /// What a person calls it.
    pub label: String,
    /// `lower` or `higher`.
    pub better: &'static str,
    /// Best first.
    pub ranking: Vec<Ranked>,
}

/// One variant's place in a metric's ranking.
#[derive(Clone, Debug, Serialize)]
pub struct Ranked {
    /// 1 for the best; tied variants (identical figures) share a rank.
    pub rank: usize,
    /// The variant's index.
    pub variant: usize,
    /// Its label.
    pub label: String,
    /// Mean and 95% half-width over replications.
    pub value: Estimate,
    /// Compact letter display: variants sharing a letter are not significantly (or not
    /// practically) different.
    pub group: String,
    /// The paired difference from the baseline (absent for the baseline itself).
    pub vs_baseline: Option<Difference>,
}

/// A paired difference from the baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    /// Mean of (variant − baseline) over replications, and its 95% half-width.
    pub delta: Estimate,
    /// delta / baseline mean (null when the baseline is 0).
    pub relative: Option<f64>,
    /// The half-width had the variants used independent streams (with `--independent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub independent_ci95: Option<f64>,
    /// `better`, `worse`, `not significant`, `no practical difference` or `no verdict`.
    pub verdict: &'static str,
}

/// Variants that gave the same figures in every replication.
#[derive(Clone, Debug, Serialize)]
pub struct Identical {
    /// Their indices.
    pub variants: Vec<usize>,
    /// Why, in words.
    pub why: String,
}

/// What a comparison needs besides the values.
pub struct CompareInput<'a> {
    /// Who ran what.
    pub meta: SweepMeta,
    /// Variant labels.
    pub labels: &'a [String],
    /// The metrics of `values`' rows, in order (those every variant has).
    pub columns: &'a [Column],
    /// `[variant][replication][metric]` in `columns` order.
    pub values: &'a [Vec<Vec<f64>>],
    /// The baseline variant.
    pub baseline: usize,
    /// The same sweep with independent streams, if run.
    pub independent: Option<&'a [Vec<Vec<f64>>]>,
    /// The practical threshold, a fraction.
    pub min_effect: f64,
    /// Why variants `a` and `b` may have given identical figures.
    pub why_identical: &'a dyn Fn(usize, usize) -> String,
}

fn column(vs: &[Vec<Vec<f64>>], v: usize, i: usize) -> Vec<f64> {
    vs[v].iter().map(|rep| rep[i]).collect()
}

/// True when `a` and `b` differ significantly and by at least `min_effect` of the larger of
/// their means: paired, replication by replication.
fn differ(values: &[Vec<Vec<f64>>], a: usize, b: usize, i: usize, min_effect: f64) -> bool {
    let (x, y) = (column(values, a, i), column(values, b, i));
    let d: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p - q).collect();
    let e = estimate(&d);
    let Some(ci) = e.ci95 else { return false };
    let scale = estimate(&x).mean.abs().max(estimate(&y).mean.abs());
    e.mean.abs() > ci && e.mean.abs() >= min_effect * scale
}

/// Compact letter display (Piepho's insert-and-absorb): starts with one group holding every
/// variant and splits each group holding a pair that differs, dropping groups contained in
/// others. Two variants share a letter exactly when no test told them apart. Letters go in
/// order of each group's best member in `order`.
pub fn letters(order: &[usize], differs: impl Fn(usize, usize) -> bool) -> Vec<String> {
    let n = order.iter().copied().max().map_or(0, |m| m + 1);
    let mut groups: Vec<BTreeSet<usize>> = vec![order.iter().copied().collect()];
    for (k, &a) in order.iter().enumerate() {
        for &b in &order[k + 1..] {
            if !differs(a, b) {
                continue;
            }
            let mut next = Vec::new();
            for g in groups {
                if g.contains(&a) && g.contains(&b) {
                    let mut without_a = g.clone();
                    without_a.remove(&a);
                    let mut without_b = g;
                    without_b.remove(&b);
                    next.push(without_a);
                    next.push(without_b);
                } else {
                    next.push(g);
                }
            }
            // Absorb: a group inside another says nothing more.
            next.sort();
            next.dedup();
            let kept: Vec<BTreeSet<usize>> = next
                .iter()
                .filter(|g| !g.is_empty() && !next.iter().any(|h| h != *g && g.is_subset(h)))
                .cloned()
                .collect();
            groups = kept;
        }
    }
    let pos = |v: usize| order.iter().position(|&x| x == v).unwrap_or(usize::MAX);
    groups.sort_by_key(|g| {
        let mut ps: Vec<usize> = g.iter().map(|&v| pos(v)).collect();
        ps.sort();
        ps
    });
    let mut out = vec![String::new(); n];
    for (k, g) in groups.iter().enumerate() {
        let letter = letter(k);
        for &v in g {
            out[v].push_str(&letter);
        }
    }
    out
}

fn letter(k: usize) -> String {
    if k < 26 {
        ((b'a' + k as u8) as char).to_string()
    } else {
        format!("{}{}", letter(k / 26 - 1), letter(k % 26))
    }
}

fn verdict(m: &Column, e: &Estimate, base_mean: f64, min_effect: f64) -> &'static str {
    let Some(ci) = e.ci95 else {
        return "no verdict";
    };
    if e.mean.abs() <= ci || ci.is_nan() {
        "not significant"
    } else if e.mean.abs() < min_effect * base_mean.abs() {
        "no practical difference"
    } else if (e.mean < 0.0) == m.lower_is_better {
        "better"
    } else {
        "worse"
    }
}

impl CompareReport {
    /// Builds the comparison.
    pub fn new(input: &CompareInput<'_>) -> CompareReport {
        let (values, baseline) = (input.values, input.baseline);
        let nv = values.len();
        // Identical variants: every metric of every replication equal.
        let mut identical: Vec<Identical> = Vec::new();
        let mut seen = vec![false; nv];
        for a in 0..nv {
            if seen[a] {
                continue;
            }
            let same: Vec<usize> = (a..nv).filter(|&b| values[b] == values[a]).collect();
            if same.len() > 1 {
                for &b in &same {
                    seen[b] = true;
                }
                let why = (input.why_identical)(same[0], same[1]);
                identical.push(Identical {
                    variants: same,
                    why,
                });
            }
        }
        let shown = |m: &Column| HEADLINE.contains(&m.name.as_str()) || m.name.contains('.');
        let metrics = (input.columns.iter().enumerate())
            .filter(|(_, m)| shown(m))
            .map(|(i, m)| {
                let est: Vec<Estimate> = (0..nv).map(|v| estimate(&column(values, v, i))).collect();
                let mut order: Vec<usize> = (0..nv).collect();
                // Best first; ties by index, so the order is deterministic.
                order.sort_by(|&a, &b| {
                    let (x, y) = (est[a].mean, est[b].mean);
                    let c = if m.lower_is_better {
                        x.total_cmp(&y)
                    } else {
                        y.total_cmp(&x)
                    };
                    c.then(a.cmp(&b))
                });
                let groups = letters(&order, |a, b| differ(values, a, b, i, input.min_effect));
                let base = column(values, baseline, i);
                let base_mean = estimate(&base).mean;
                let mut ranking: Vec<Ranked> = Vec::new();
                for (k, &v) in order.iter().enumerate() {
                    let rank = match ranking.last() {
                        Some(prev) if values[prev.variant] == values[v] => prev.rank,
                        Some(prev) if column(values, prev.variant, i) == column(values, v, i) => {
                            prev.rank
                        }
                        _ => k + 1,
                    };
                    let vs_baseline = (v != baseline).then(|| {
                        let d: Vec<f64> = column(values, v, i)
                            .iter()
                            .zip(&base)
                            .map(|(a, b)| a - b)
                            .collect();
                        let delta = estimate(&d);
                        let independent_ci95 = input.independent.and_then(|ind| {
                            unpaired_half_width(&column(ind, v, i), &column(ind, baseline, i))
                        });
                        Difference {
                            relative: (base_mean != 0.0).then(|| delta.mean / base_mean.abs()),
                            verdict: verdict(m, &delta, base_mean, input.min_effect),
                            delta,
                            independent_ci95,
                        }
                    });
                    ranking.push(Ranked {
                        rank,
                        variant: v,
                        label: input.labels[v].clone(),
                        value: est[v].clone(),
                        group: groups[v].clone(),
                        vs_baseline,
                    });
                }
                MetricComparison {
                    name: m.name.clone(),
                    label: m.label.clone(),
                    better: if m.lower_is_better { "lower" } else { "higher" },
                    ranking,
                }
            })
            .collect();
        CompareReport {
            meta: input.meta.clone(),
            baseline,
            min_effect: input.min_effect,
            variants: input.labels.to_vec(),
            metrics,
            identical,
        }
    }

    /// JSON, pretty, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// One row per (metric, variant), best first within a metric.
    pub fn to_csv(&self) -> String {
        let mut o = String::from(
            "metric,rank,variant,label,mean,ci95,group,delta,delta_ci95,relative,verdict\n",
        );
        let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        for m in &self.metrics {
            for r in &m.ranking {
                let d = r.vs_baseline.as_ref();
                let _ = writeln!(
                    o,
                    "{},{},{},\"{}\",{},{},{},{},{},{},{}",
                    m.name,
                    r.rank,
                    r.variant,
                    r.label.replace('"', "\"\""),
                    r.value.mean,
                    opt(r.value.ci95),
                    r.group,
                    opt(d.map(|d| d.delta.mean)),
                    opt(d.and_then(|d| d.delta.ci95)),
                    opt(d.and_then(|d| d.relative)),
                    d.map_or("baseline", |d| d.verdict),
                );
            }
        }
        o
    }

    /// A table for people: per metric, the ranking with values, differences and groups.
    pub fn to_table(&self) -> String {
        let m = &self.meta;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "hasim {} · compare {} · seed {} · {} paired replications (common random numbers)",
            m.hasim_version, m.sweep, m.seed, m.replications
        );
        let _ = writeln!(
            o,
            "baseline: #{} {} · differences below {} of the baseline count as no practical difference (--min-effect)",
            self.baseline,
            short(&self.variants[self.baseline]),
            percent(self.min_effect)
        );
        let _ = writeln!(
            o,
            "group letters: variants sharing a letter are not significantly different (paired 95% CIs, no multiplicity correction)"
        );
        let w = self
            .variants
            .iter()
            .enumerate()
            .map(|(i, l)| format!("#{i} {}", short(l)).chars().count())
            .max()
            .unwrap_or(7)
            .max(7);
        for mc in &self.metrics {
            let _ = writeln!(o, "\n{} — {} is better", mc.label, mc.better);
            let _ = writeln!(
                o,
                "  {:<4} {:<w$}  {:>22}  {:>30}  {:<23}  group",
                "rank", "variant", "value", "Δ vs baseline", "verdict"
            );
            for r in &mc.ranking {
                let name = format!("#{} {}", r.variant, short(&r.label));
                let value = pm(r.value.mean, r.value.ci95);
                let (delta, verdict) = match &r.vs_baseline {
                    None => ("—".to_string(), "baseline".to_string()),
                    Some(d) => {
                        let mut s = signed_pm(d.delta.mean, d.delta.ci95);
                        if let Some(rel) = d.relative {
                            s.push_str(&format!(" ({})", signed_percent(rel)));
                        }
                        if let Some(w) = d.independent_ci95 {
                            s.push_str(&format!(" [± {} indep.]", human(w)));
                        }
                        (s, d.verdict.to_string())
                    }
                };
                let _ = writeln!(
                    o,
                    "  {:<4} {:<w$}  {:>22}  {:>30}  {:<23}  {}",
                    r.rank, name, value, delta, verdict, r.group
                );
            }
        }
        if !self.identical.is_empty() {
            let _ = writeln!(o);
            for g in &self.identical {
                let names: Vec<String> = g
                    .variants
                    .iter()
                    .map(|&v| format!("#{v} {}", short(&self.variants[v])))
                    .collect();
                let _ = writeln!(
                    o,
                    "identical: {} gave the same figures in every replication: {}",
                    names.join(" and "),
                    g.why
                );
            }
        }
        let _ = writeln!(o, "\nreproduce: {}", m.reproduce);
        o
    }
}

/// `path=value, path2=value2` → `value, value2`: what a person calls the variant.
pub fn short(label: &str) -> String {
    label
        .split(", ")
        .map(|p| p.split_once('=').map_or(p, |(_, v)| v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number for people: four significant digits, no exponent for everyday magnitudes, and
/// trailing zeros dropped (`1670`, `2.347`, `0.0005817`).
pub fn human(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-6..1e12).contains(&a) {
        return format!("{x:.3e}");
    }
    // Digits before the point, so that four significant digits remain.
    let magnitude = a.log10().floor() as i32;
    let decimals = (3 - magnitude).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn pm(mean: f64, ci: Option<f64>) -> String {
    match ci {
        Some(c) => format!("{} ± {}", human(mean), human(c)),
        None => human(mean),
    }
}

fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", human(x))
    } else if x < 0.0 {
        format!("−{}", human(-x))
    } else {
        "0".into()
    }
}

fn signed_pm(mean: f64, ci: Option<f64>) -> String {
    match ci {
        Some(c) => format!("{} ± {}", signed(mean), human(c)),
        None => signed(mean),
    }
}

/// `0.0123` → `1.23%`.
pub fn percent(x: f64) -> String {
    format!("{}%", human(100.0 * x))
}

fn signed_percent(x: f64) -> String {
    format!("{}%", signed(100.0 * x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(human(1670.234), "1670");
        assert_eq!(human(2.3471), "2.347");
        assert_eq!(human(0.000_581_7), "0.0005817");
        assert_eq!(human(0.5), "0.5");
        assert_eq!(human(-12.5), "-12.5");
        assert_eq!(human(0.0), "0");
        assert_eq!(percent(0.026), "2.6%");
        assert_eq!(percent(0.000_057_5), "0.00575%");
        assert_eq!(signed(-0.25), "−0.25");
    }

    #[test]
    fn letters_split_only_what_differs() {
        // 0 < 1 < 2 < 3 by rank; 0 and 3 differ, so do 0 and 2; the others do not.
        let order = [0, 1, 2, 3];
        let differs = |a: usize, b: usize| matches!((a.min(b), a.max(b)), (0, 2) | (0, 3));
        let l = letters(&order, differs);
        assert_eq!(l, ["a", "ab", "b", "b"]);
        // Nothing differs: one group.
        assert_eq!(letters(&order, |_, _| false), ["a", "a", "a", "a"]);
        // Everything differs: one letter each, best first.
        assert_eq!(
            letters(&[2, 0, 1], |a, b| a != b),
            ["b", "c", "a"],
            "letters follow the ranking, not the indices"
        );
        // Sharing a letter ⇔ not told apart, on a case without a contiguous solution.
        let differs = |a: usize, b: usize| matches!((a.min(b), a.max(b)), (0, 1) | (2, 3));
        let l = letters(&[0, 1, 2, 3], differs);
        for a in 0..4 {
            for b in a + 1..4 {
                let share = l[a].chars().any(|c| l[b].contains(c));
                assert_eq!(share, !differs(a, b), "{a} {b}: {l:?}");
            }
        }
    }
}

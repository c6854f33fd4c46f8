//! Many runs: what one (variant, replication) unit leaves behind as integers
//! ([`UnitResult`], exact to merge and to ship between machines), and the figures over
//! replications (mean and Student-t 95% interval per metric), plus paired comparisons.
//!
//! Every float here is computed from integers, one unit at a time, and every sum over units runs
//! in unit order on one thread, so results do not depend on thread counts or sharding.

use crate::batch::student_t_975;
use crate::collector::Collector;
use crate::store_metrics::StoreValue;
use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use models::{Outcome, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The integer results of one (variant, replication) unit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UnitResult {
    /// Unit index: variant × replications + replication.
    pub unit: u64,
    /// Variant index.
    pub variant: u32,
    /// Replication index.
    pub replication: u32,
    /// Requests offered in the window.
    pub offered: u64,
    /// Outcomes in [`Outcome::ALL`] order.
    pub outcomes: [u64; Outcome::COUNT],
    /// Σ latency of successes, ns (decimal string: JSON numbers are not u128-safe everywhere).
    #[serde(with = "u128_string")]
    pub latency_sum_ns: u128,
    /// Largest success latency, ns.
    pub latency_max_ns: u64,
    /// Successes that waited.
    pub waited_count: u64,
    /// Σ waiting time, ns.
    #[serde(with = "u128_string")]
    pub wait_sum_ns: u128,
    /// Statistics window, ns.
    pub window_ns: u64,
    /// ∫ service up dt, ns.
    #[serde(with = "u128_string")]
    pub service_up_area: u128,
    /// Σ over replicas of ∫ busy workers dt.
    #[serde(with = "u128_string")]
    pub busy_area: u128,
    /// Σ over replicas of workers × window.
    #[serde(with = "u128_string")]
    pub busy_capacity: u128,
    /// Σ over replicas of ∫ queue length dt.
    #[serde(with = "u128_string")]
    pub queue_area: u128,
    /// Σ over replicas of ∫ up dt.
    #[serde(with = "u128_string")]
    pub up_area: u128,
    /// Number of replicas.
    pub replicas: u32,
    /// Events handled.
    pub events: u64,
    /// Trajectory fingerprint.
    pub fingerprint: u64,
    /// Success latencies (HDR V2, deflated, base64).
    #[serde(with = "hdr_base64")]
    pub latency: Histogram<u64>,
    /// Every store's metrics, stores in the scenario's order (each in
    /// [`crate::store_metric_names`] order); none without stores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<StoreValue>,
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

mod hdr_base64 {
    use super::*;
    pub fn serialize<S: serde::Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(h, &mut buf)
            .map_err(|e| serde::ser::Error::custom(format!("{e:?}")))?;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(buf))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("{e:?}")))
    }
}

impl UnitResult {
    /// The unit's integers from one run's collector and summary.
    pub fn new(unit: u64, variant: u32, replication: u32, c: Collector, s: &Summary) -> UnitResult {
        UnitResult {
            unit,
            variant,
            replication,
            offered: c.offered,
            outcomes: c.outcomes,
            latency_sum_ns: c.latency_sum_ns,
            latency_max_ns: c.latency_max_ns,
            waited_count: c.waited_count,
            wait_sum_ns: c.wait_sum_ns,
            window_ns: s.window_ns,
            service_up_area: s.service_up_area,
            busy_area: s.replicas.iter().map(|r| r.busy_area).sum(),
            busy_capacity: s
                .replicas
                .iter()
                .map(|r| r.workers as u128 * s.window_ns as u128)
                .sum(),
            queue_area: s.replicas.iter().map(|r| r.queue_area).sum(),
            up_area: s.replicas.iter().map(|r| r.up_area).sum(),
            replicas: s.replicas.len() as u32,
            events: s.run.events,
            fingerprint: c.fingerprint,
            latency: c.latency,
            stores: Vec::new(),
        }
    }

    fn succeeded(&self) -> u64 {
        self.outcomes[Outcome::Succeeded as usize]
    }

    /// True when the run had a request path (a scenario of stores alone has none, and its
    /// request metrics are left out rather than shown as zeros).
    pub fn has_requests(&self) -> bool {
        self.replicas > 0
    }

    /// Every metric this unit has, in order: [`METRICS`] (with a request path), then its
    /// stores'.
    pub fn columns(&self) -> Vec<Column> {
        let requests = METRICS
            .iter()
            .filter(|_| self.has_requests())
            .map(|m| Column {
                name: m.name.to_string(),
                label: m.label.to_string(),
                lower_is_better: m.lower_is_better,
            });
        let stores = self.stores.iter().map(|v| Column {
            name: v.name.clone(),
            label: v.name.clone(),
            lower_is_better: v.lower_is_better,
        });
        requests.chain(stores).collect()
    }

    /// The values of [`Self::columns`], in the same order.
    pub fn row(&self) -> Vec<f64> {
        let requests = METRICS
            .iter()
            .filter(|_| self.has_requests())
            .map(|m| (m.value)(self));
        requests
            .chain(self.stores.iter().map(|v| v.value))
            .collect()
    }
}

/// A metric by name, wherever it comes from (the request path or a store).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Its key in JSON and CSV (`latency_ms_p99`, `kv.write_availability`).
    pub name: String,
    /// What a person calls it.
    pub label: String,
    /// True when lower is better.
    pub lower_is_better: bool,
}

fn ratio(a: u128, b: u128) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// A figure computed from one unit.
pub struct Metric {
    /// Its key in JSON and CSV.
    pub name: &'static str,
    /// What a person calls it.
    pub label: &'static str,
    /// True when lower is better (latency), false when higher is (availability).
    pub lower_is_better: bool,
    /// The value for one unit.
    pub value: fn(&UnitResult) -> f64,
}

fn quantile(u: &UnitResult, q: f64) -> f64 {
    if u.succeeded() == 0 {
        0.0
    } else {
        u.latency.value_at_quantile(q) as f64 / 1e6
    }
}

/// Every metric a sweep reports, in report order.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "availability_request",
        label: "availability",
        lower_is_better: false,
        value: |u| {
            ratio(
                u.succeeded() as u128,
                u.outcomes.iter().sum::<u64>() as u128,
            )
        },
    },
    Metric {
        name: "availability_time",
        label: "service up (time share)",
        lower_is_better: false,
        value: |u| ratio(u.service_up_area, u.window_ns as u128),
    },
    Metric {
        name: "latency_ms_mean",
        label: "mean latency (ms)",
        lower_is_better: true,
        value: |u| ratio(u.latency_sum_ns, u.succeeded() as u128) / 1e6,
    },
    Metric {
        name: "latency_ms_p50",
        label: "p50 (ms)",
        lower_is_better: true,
        value: |u| quantile(u, 0.5),
    },
    Metric {
        name: "latency_ms_p90",
        label: "p90 (ms)",
        lower_is_better: true,
        value: |u| quantile(u, 0.9),
    },
    Metric {
        name: "latency_ms_p99",
        label: "p99 (ms)",
        lower_is_better: true,
        value: |u| quantile(u, 0.99),
    },
    Metric {
        name: "latency_ms_p999",
        label: "p99.9 (ms)",
        lower_is_better: true,
        value: |u| quantile(u, 0.999),
    },
    Metric {
        name: "latency_ms_max",
        label: "max latency (ms)",
        lower_is_better: true,
        value: |u| u.latency_max_ns as f64 / 1e6,
    },
    Metric {
        name: "throughput_rps",
        label: "throughput (req/s)",
        lower_is_better: false,
        value: |u| ratio(u.succeeded() as u128 * 1_000_000_000, u.window_ns as u128),
    },
    Metric {
        name: "failed",
        label: "failed requests",
        lower_is_better: true,
        value: |u| (u.outcomes.iter().sum::<u64>() - u.succeeded()) as f64,
    },
    Metric {
        name: "p_wait",
        label: "P(wait)",
        lower_is_better: true,
        value: |u| ratio(u.waited_count as u128, u.succeeded() as u128),
    },
    Metric {
        name: "utilisation",
        label: "utilisation",
        lower_is_better: true,
        value: |u| ratio(u.busy_area, u.busy_capacity),
    },
    Metric {
        name: "offered",
        label: "requests offered",
        lower_is_better: false,
        value: |u| u.offered as f64,
    },
    Metric {
        name: "succeeded",
        label: "requests succeeded",
        lower_is_better: false,
        value: |u| u.succeeded() as f64,
    },
    Metric {
        name: "in_flight",
        label: "in flight at the horizon",
        lower_is_better: true,
        value: |u| (u.offered - u.outcomes.iter().sum::<u64>()) as f64,
    },
    Metric {
        name: "rejected",
        label: "rejected (queue full)",
        lower_is_better: true,
        value: |u| u.outcomes[Outcome::Rejected as usize] as f64,
    },
    Metric {
        name: "timed_out",
        label: "timed out",
        lower_is_better: true,
        value: |u| u.outcomes[Outcome::TimedOut as usize] as f64,
    },
    Metric {
        name: "crashed",
        label: "lost in crashes",
        lower_is_better: true,
        value: |u| u.outcomes[Outcome::Crashed as usize] as f64,
    },
    Metric {
        name: "refused",
        label: "refused (replica down)",
        lower_is_better: true,
        value: |u| u.outcomes[Outcome::Refused as usize] as f64,
    },
    Metric {
        name: "mean_wait_ms",
        label: "mean wait (ms)",
        lower_is_better: true,
        value: |u| ratio(u.wait_sum_ns, u.succeeded() as u128) / 1e6,
    },
    Metric {
        name: "mean_queue_length",
        label: "mean queue length per replica",
        lower_is_better: true,
        value: |u| {
            ratio(
                u.queue_area,
                u.window_ns as u128 * u.replicas.max(1) as u128,
            )
        },
    },
    Metric {
        name: "up_fraction",
        label: "replica up fraction",
        lower_is_better: false,
        value: |u| ratio(u.up_area, u.window_ns as u128 * u.replicas.max(1) as u128),
    },
];

/// Mean and 95% half-width of a metric over replications.
#[derive(Clone, Debug, Serialize)]
pub struct Estimate {
    /// Mean over replications.
    pub mean: f64,
    /// Student-t 95% half-width (null with one replication).
    pub ci95: Option<f64>,
}

fn round(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e6).round() / 1e6
    } else {
        x
    }
}

/// Mean and half-width of `xs`, summed in order.
pub fn estimate(xs: &[f64]) -> Estimate {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let ci95 = (n > 1).then(|| {
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        round(student_t_975(n - 1) * (var / n as f64).sqrt())
    });
    Estimate {
        mean: round(mean),
        ci95,
    }
}

/// One variant's figures.
#[derive(Clone, Debug, Serialize)]
pub struct VariantReport {
    /// Index in the cross product.
    pub index: usize,
    /// `path=value, …`.
    pub label: String,
    /// Replications it holds.
    pub replications: u64,
    /// The warm-up used (statistics start after it), seconds.
    pub warmup_s: f64,
    /// Every metric of [`METRICS`] (none for stores alone) and of its stores
    /// (`<store>.<metric>`), by name.
    pub metrics: BTreeMap<String, Estimate>,
    /// Its store metrics' names in their stores' order (the table shows each store's first).
    #[serde(skip)]
    pub store_metrics: Vec<String>,
    /// Latency percentiles over all replications pooled (HDR, 3 significant digits).
    pub pooled_latency_ms: Pooled,
    /// Order-independent hash of the replications' trajectory fingerprints.
    pub fingerprint: String,
}

/// Who ran what.
#[derive(Clone, Debug, Serialize)]
pub struct SweepMeta {
    /// hasim's version.
    pub hasim_version: String,
    /// The sweep file.
    pub sweep: String,
    /// Hash of the sweep file and every variant's scenario text.
    pub sweep_hash: String,
    /// The base scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Replications per variant.
    pub replications: u32,
    /// How warm-ups were chosen.
    pub warmup_rule: String,
    /// The command that reproduces this report.
    pub reproduce: String,
}

/// A whole sweep's report.
#[derive(Clone, Debug, Serialize)]
pub struct SweepReport {
    /// Who ran what.
    #[serde(flatten)]
    pub meta: SweepMeta,
    /// Per variant.
    pub variants: Vec<VariantReport>,
    /// Per variant, the CDF of its pooled latencies (ms, fraction ≤), for charts.
    #[serde(skip)]
    pub latency_curves: Vec<Vec<(f64, f64)>>,
}

/// Metric values are summed as integers in millionths, so that aggregates merge exactly in any
/// order: a shard's sums plus another's are the sums of the whole, bit for bit.
const SCALE: f64 = 1e6;

fn quantize(x: f64) -> i64 {
    if x.is_finite() {
        (x * SCALE).round() as i64
    } else {
        0
    }
}

/// Exact, order-independent aggregates of one variant over any set of its replications.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct VariantAgg {
    /// Replications folded in.
    pub n: u64,
    /// Σ quantized value per metric (METRICS order).
    #[serde(with = "i128_strings")]
    pub sum: Vec<i128>,
    /// Σ quantized value² per metric.
    #[serde(with = "u128_strings")]
    pub sum_sq: Vec<u128>,
    /// Wrapping sum of mix(unit, fingerprint): a fingerprint of the set, independent of order.
    pub fingerprint: u64,
    /// Every replication's success latencies, merged (exact integer counts).
    #[serde(with = "hdr_base64")]
    pub latency: Histogram<u64>,
    /// The variant has no request path (stores alone): its request metrics are left out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_requests: bool,
    /// Per store metric, in the units' order: exact sums as for [`METRICS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<StoreAgg>,
}

/// Exact sums of one store metric over replications.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoreAgg {
    /// `<store>.<metric>`.
    pub name: String,
    /// True when lower is better.
    pub lower_is_better: bool,
    /// Σ quantized value.
    #[serde(with = "i128_string")]
    pub sum: i128,
    /// Σ quantized value².
    #[serde(with = "u128_string")]
    pub sum_sq: u128,
}

mod i128_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

mod i128_strings {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[i128], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i128>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|x| x.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

mod u128_strings {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u128], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u128>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|x| x.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

impl Default for VariantAgg {
    fn default() -> Self {
        VariantAgg {
            n: 0,
            sum: vec![0; METRICS.len()],
            sum_sq: vec![0; METRICS.len()],
            fingerprint: 0,
            // Auto-resizing: an empty aggregate costs almost nothing, and bucket boundaries
            // (lowest 1 ns, 3 significant digits) match the collectors' exactly.
            latency: Histogram::new(3)
                .unwrap_or_else(|_| unreachable!("3 significant digits is valid")),
            no_requests: false,
            stores: Vec::new(),
        }
    }
}

impl VariantAgg {
    /// Folds one replication in.
    pub fn add(&mut self, u: &UnitResult) {
        if self.n == 0 {
            self.no_requests = !u.has_requests();
            self.stores = (u.stores.iter())
                .map(|v| StoreAgg {
                    name: v.name.clone(),
                    lower_is_better: v.lower_is_better,
                    sum: 0,
                    sum_sq: 0,
                })
                .collect();
        }
        // Every replication of a variant runs the same stores.
        assert!(
            self.stores.len() == u.stores.len()
                && self
                    .stores
                    .iter()
                    .zip(&u.stores)
                    .all(|(a, v)| a.name == v.name),
            "invariant: a variant's units carry the same store metrics"
        );
        for (a, v) in self.stores.iter_mut().zip(&u.stores) {
            let q = quantize(v.value);
            a.sum += q as i128;
            a.sum_sq += (q as i128 * q as i128) as u128;
        }
        self.n += 1;
        for (i, m) in METRICS.iter().enumerate() {
            let q = quantize((m.value)(u));
            self.sum[i] += q as i128;
            self.sum_sq[i] += (q as i128 * q as i128) as u128;
        }
        let mixed = (u.unit.rotate_left(32) ^ u.fingerprint).wrapping_mul(0x517c_c1b7_2722_0a95);
        self.fingerprint = self.fingerprint.wrapping_add(mixed);
        let _ = self.latency.add(&u.latency);
    }

    /// Folds another set of replications in (exact: integers only).
    pub fn merge(&mut self, o: &VariantAgg) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            self.no_requests = o.no_requests;
            self.stores = o.stores.clone();
        } else {
            assert!(
                self.stores.len() == o.stores.len()
                    && self
                        .stores
                        .iter()
                        .zip(&o.stores)
                        .all(|(a, b)| a.name == b.name),
                "invariant: a variant's aggregates carry the same store metrics"
            );
            for (a, b) in self.stores.iter_mut().zip(&o.stores) {
                a.sum += b.sum;
                a.sum_sq += b.sum_sq;
            }
        }
        self.n += o.n;
        for i in 0..METRICS.len() {
            self.sum[i] += o.sum[i];
            self.sum_sq[i] += o.sum_sq[i];
        }
        self.fingerprint = self.fingerprint.wrapping_add(o.fingerprint);
        let _ = self.latency.add(&o.latency);
    }

    /// [`Self::merge`] of an aggregate read from a file: refuses arrays of the wrong length
    /// and sums that overflow or that no replications could give.
    pub fn checked_merge(&mut self, o: &VariantAgg) -> Result<(), String> {
        let m = METRICS.len();
        if o.sum.len() != m || o.sum_sq.len() != m {
            return Err(format!(
                "{} sums and {} sums of squares, not {m} of each",
                o.sum.len(),
                o.sum_sq.len()
            ));
        }
        // Each quantized value is an i64, so |Σx| ≤ n·2⁶³ and Σx² ≤ n·2¹²⁶.
        let n = u128::from(o.n);
        let in_range = |s: i128, ss: u128| {
            s.unsigned_abs() <= n.saturating_mul(1 << 63) && ss <= n.saturating_mul(1 << 126)
        };
        if o.n > 0 && self.n > 0 {
            let theirs: Vec<&str> = o.stores.iter().map(|a| a.name.as_str()).collect();
            let ours: Vec<&str> = self.stores.iter().map(|a| a.name.as_str()).collect();
            if theirs != ours || o.no_requests != self.no_requests {
                return Err(format!(
                    "its metrics ({}) are not the other files' ({})",
                    theirs.join(", "),
                    ours.join(", ")
                ));
            }
        }
        if let Some(a) = o.stores.iter().find(|a| !in_range(a.sum, a.sum_sq)) {
            return Err(format!(
                "metric {}: sums out of range for {} replications",
                a.name, o.n
            ));
        }
        if o.n > 0 && self.n == 0 {
            self.no_requests = o.no_requests;
            self.stores = (o.stores.iter())
                .map(|a| StoreAgg {
                    sum: 0,
                    sum_sq: 0,
                    ..a.clone()
                })
                .collect();
        }
        if o.n > 0 {
            for (a, b) in self.stores.iter_mut().zip(&o.stores) {
                a.sum = a
                    .sum
                    .checked_add(b.sum)
                    .ok_or_else(|| format!("metric {}: sum overflows", a.name))?;
                a.sum_sq = a
                    .sum_sq
                    .checked_add(b.sum_sq)
                    .ok_or_else(|| format!("metric {}: sum of squares overflows", a.name))?;
            }
        }
        for i in 0..m {
            let (s, ss) = (o.sum[i], o.sum_sq[i]);
            if s.unsigned_abs() > n.saturating_mul(1 << 63) || ss > n.saturating_mul(1 << 126) {
                return Err(format!(
                    "metric {i}: sums out of range for {} replications",
                    o.n
                ));
            }
            self.sum[i] = self.sum[i]
                .checked_add(s)
                .ok_or_else(|| format!("metric {i}: sum overflows"))?;
            self.sum_sq[i] = self.sum_sq[i]
                .checked_add(ss)
                .ok_or_else(|| format!("metric {i}: sum of squares overflows"))?;
        }
        self.n = self
            .n
            .checked_add(o.n)
            .ok_or("replication count overflows")?;
        self.fingerprint = self.fingerprint.wrapping_add(o.fingerprint);
        self.latency
            .add(&o.latency)
            .map_err(|e| format!("latency histogram: {e:?}"))?;
        Ok(())
    }

    /// Mean and Student-t half-width of metric `i`, from the exact sums.
    pub fn estimate(&self, i: usize) -> Estimate {
        self.estimate_of(self.sum[i], self.sum_sq[i])
    }

    /// Mean and Student-t half-width from the exact sums `s` and `ss` of its replications.
    fn estimate_of(&self, s: i128, ss: u128) -> Estimate {
        let n = self.n as f64;
        let mean = s as f64 / n / SCALE;
        let ci95 = (self.n > 1).then(|| {
            // n·Σx² − (Σx)² exactly in integers, then one division: no cancellation.
            // Saturating: aggregates read from a file are range-checked, not trusted.
            let num = (self.n as i128)
                .saturating_mul(i128::try_from(ss).unwrap_or(i128::MAX))
                .saturating_sub(s.saturating_mul(s));
            let var = num.max(0) as f64 / (n * (n - 1.0)) / (SCALE * SCALE);
            round(student_t_975(self.n as usize - 1) * (var / n).sqrt())
        });
        Estimate {
            mean: round(mean),
            ci95,
        }
    }
}

/// Pooled latency percentiles over every replication of a variant, ms.
#[derive(Clone, Debug, Serialize)]
pub struct Pooled {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

impl SweepReport {
    /// Per-variant figures from the variants' aggregates.
    pub fn new(
        meta: SweepMeta,
        labels: &[String],
        aggs: &[VariantAgg],
        warmups_ns: &[u64],
    ) -> SweepReport {
        let variants = labels
            .iter()
            .zip(aggs)
            .enumerate()
            .map(|(v, (label, a))| {
                let warmup_s = warmups_ns.get(v).map_or(0.0, |w| *w as f64 / 1e9);
                let requests = METRICS
                    .iter()
                    .enumerate()
                    .filter(|_| !a.no_requests)
                    .map(|(i, m)| (m.name.to_string(), a.estimate(i)));
                let stores =
                    (a.stores.iter()).map(|s| (s.name.clone(), a.estimate_of(s.sum, s.sum_sq)));
                let metrics = requests.chain(stores).collect();
                let q = |p: f64| {
                    if a.latency.is_empty() {
                        0.0
                    } else {
                        round(a.latency.value_at_quantile(p) as f64 / 1e6)
                    }
                };
                VariantReport {
                    index: v,
                    label: label.clone(),
                    replications: a.n,
                    warmup_s,
                    metrics,
                    store_metrics: a.stores.iter().map(|s| s.name.clone()).collect(),
                    pooled_latency_ms: Pooled {
                        p50: q(0.5),
                        p99: q(0.99),
                        p999: q(0.999),
                    },
                    fingerprint: format!("{:016x}", a.fingerprint),
                }
            })
            .collect();
        let latency_curves = aggs
            .iter()
            .map(|a| crate::report::cdf_points(&a.latency))
            .collect();
        SweepReport {
            meta,
            variants,
            latency_curves,
        }
    }

    /// JSON, pretty, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// One row per (variant, metric).
    pub fn to_csv(&self) -> String {
        let mut o = String::from("variant,label,metric,mean,ci95\n");
        for v in &self.variants {
            for (name, e) in &v.metrics {
                let ci = e.ci95.map_or(String::new(), |c| c.to_string());
                let _ = writeln!(
                    o,
                    "{},\"{}\",{name},{},{ci}",
                    v.index,
                    v.label.replace('"', "\"\""),
                    e.mean
                );
            }
        }
        o
    }

    /// A table for people: the headline metrics per variant.
    pub fn to_table(&self) -> String {
        let m = &self.meta;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "hasim {} · sweep {} ({}) · scenario {} · seed {} · {} replications per variant",
            m.hasim_version, m.sweep, m.sweep_hash, m.scenario, m.seed, m.replications
        );
        let _ = writeln!(
            o,
            "mean ± 95% CI over replications · warm-up: {}\n",
            m.warmup_rule
        );
        let cols = [
            "availability_request",
            "latency_ms_mean",
            "latency_ms_p99",
            "throughput_rps",
        ];
        let w = self
            .variants
            .iter()
            .map(|v| v.label.chars().count())
            .max()
            .unwrap_or(7)
            .max(7);
        let requests = self
            .variants
            .iter()
            .any(|v| v.metrics.contains_key(cols[0]));
        if requests {
            let _ = writeln!(
                o,
                "{:<4} {:<w$} {:>22} {:>22} {:>22} {:>20}",
                "#", "variant", "availability", "mean latency ms", "p99 ms", "throughput/s"
            );
        } else {
            let _ = writeln!(o, "no request path (stores alone): no request metrics");
        }
        for v in self.variants.iter().filter(|_| requests) {
            let cell = |name: &str| cell(v, name);
            let _ = writeln!(
                o,
                "{:<4} {:<w$} {:>22} {:>22} {:>22} {:>20}",
                v.index,
                v.label,
                cell(cols[0]),
                cell(cols[1]),
                cell(cols[2]),
                cell(cols[3])
            );
        }
        self.store_tables(&mut o, w);
        let _ = writeln!(o, "\nreproduce: {}", m.reproduce);
        o
    }

    /// Per store, its headline metrics (its first four) per variant; n/a where a variant
    /// does not have the store.
    fn store_tables(&self, o: &mut String, w: usize) {
        // Stores in the order variants name them.
        let mut stores: Vec<&str> = Vec::new();
        for v in &self.variants {
            for name in &v.store_metrics {
                let store = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
                if !stores.contains(&store) {
                    stores.push(store);
                }
            }
        }
        for store in stores {
            let mut cols: Vec<&str> = Vec::new();
            for v in &self.variants {
                for name in &v.store_metrics {
                    if name.rsplit_once('.').is_some_and(|(s, _)| s == store)
                        && !cols.contains(&name.as_str())
                        && cols.len() < 4
                    {
                        cols.push(name);
                    }
                }
            }
            let _ = writeln!(
                o,
                "\nstore {store} · mean ± 95% CI (every store metric is in the JSON and CSV)"
            );
            let width = |c: &str| c.len().max(20);
            let _ = write!(o, "{:<4} {:<w$}", "#", "variant");
            for c in &cols {
                let short = c.rsplit_once('.').map_or(*c, |(_, m)| m);
                let _ = write!(o, " {:>cw$}", short, cw = width(c) + 2);
            }
            let _ = writeln!(o);
            for v in &self.variants {
                let _ = write!(o, "{:<4} {:<w$}", v.index, v.label);
                for c in &cols {
                    let _ = write!(o, " {:>cw$}", cell(v, c), cw = width(c) + 2);
                }
                let _ = writeln!(o);
            }
        }
    }
}

/// A variant's figure for a table: `mean ± half-width`, or n/a when it does not have it.
fn cell(v: &VariantReport, name: &str) -> String {
    v.metrics
        .get(name)
        .map_or("n/a".to_string(), |e| match e.ci95 {
            Some(c) => format!("{} ± {}", sig(e.mean), sig(c)),
            None => sig(e.mean),
        })
}

/// A number with about 5 significant digits, for tables.
fn sig(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.5}")
    }
}

/// Welch half-width of the difference of two independent samples' means.
pub fn unpaired_half_width(a: &[f64], b: &[f64]) -> Option<f64> {
    let (ea, eb) = (estimate(a), estimate(b));
    let (n, m) = (a.len() as f64, b.len() as f64);
    let va = a.iter().map(|x| (x - ea.mean) * (x - ea.mean)).sum::<f64>() / (n - 1.0);
    let vb = b.iter().map(|x| (x - eb.mean) * (x - eb.mean)).sum::<f64>() / (m - 1.0);
    let se2 = va / n + vb / m;
    if !(se2.is_finite()) || a.len() < 2 || b.len() < 2 {
        return None;
    }
    // Welch–Satterthwaite degrees of freedom.
    let dof = se2 * se2 / ((va / n) * (va / n) / (n - 1.0) + (vb / m) * (vb / m) / (m - 1.0));
    let dof = if dof.is_finite() {
        dof.floor().max(1.0) as usize
    } else {
        (n + m - 2.0) as usize
    };
    Some(round(student_t_975(dof) * se2.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_matches_hand_computation() {
        let e = estimate(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        // sd = 1.290994, se = 0.645497, t(3) = 3.182446 → 2.054260
        assert!((e.ci95.unwrap() - 2.054_260).abs() < 1e-5, "{:?}", e.ci95);
        assert!(estimate(&[7.0]).ci95.is_none());
    }
}

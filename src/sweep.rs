//! Sweeps: every (variant, replication) unit of a sweep file, on a rayon pool, in shards, with
//! checkpoints. The single-machine sweep is "every shard + merge" in one process: both paths
//! build the report from the same sorted list of integer [`UnitResult`]s, so they cannot drift.

use indicatif::{ParallelProgressIterator, ProgressBar, ProgressStyle};
use rayon::prelude::*;
use reports::{Column, METRICS, Mser5, SweepMeta, SweepReport, UnitResult, VariantAgg};
use scenarios::SweepFile;
use scenarios::WarmupRule;
use serde::{Deserialize, Serialize};
use sim_core::{SimTime, StreamKey};
use std::path::{Path, PathBuf};

/// Partial-file format written by `--shard` and read by `merge` (2: with a checksum; 3: with
/// store metrics).
pub const PARTIAL_FORMAT: &str = "hasim-partial/3";

/// Which slice of the units to run: shard `k` of `n` (1-based) takes units with `u mod n = k−1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 1.
    pub k: u64,
    /// Number of shards.
    pub n: u64,
}

impl Shard {
    /// Every unit.
    pub const ALL: Shard = Shard { k: 1, n: 1 };

    /// Parses `K/N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not K/N (e.g. 2/8)"))?;
        let (k, n) = (k.trim().parse::<u64>(), n.trim().parse::<u64>());
        match (k, n) {
            (Ok(k), Ok(n)) if n >= 1 && (1..=n).contains(&k) => Ok(Shard { k, n }),
            _ => Err(format!("`{s}` is not a shard K/N with 1 ≤ K ≤ N")),
        }
    }

    /// From a cluster engine's environment: Slurm job arrays or Kubernetes indexed jobs.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        shards: Option<u64>,
    ) -> Result<Shard, String> {
        let num = |k: &str| get(k).and_then(|v| v.trim().parse::<u64>().ok());
        if let (Some(id), Some(count)) = (num("SLURM_ARRAY_TASK_ID"), num("SLURM_ARRAY_TASK_COUNT"))
        {
            let min = num("SLURM_ARRAY_TASK_MIN").unwrap_or(0);
            return Shard::parse(&format!("{}/{count}", id.saturating_sub(min) + 1));
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX") {
            let n = shards.ok_or("JOB_COMPLETION_INDEX is set but --shards N is not (Kubernetes does not export the count)")?;
            return Shard::parse(&format!("{}/{n}", index + 1));
        }
        Err("--shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (Slurm job array) or JOB_COMPLETION_INDEX with --shards N (Kubernetes Indexed Job)".into())
    }

    /// True when unit `u` belongs to this shard.
    pub fn owns(&self, u: u64) -> bool {
        u % self.n == self.k - 1
    }
}

/// What identifies a sweep: partials and checkpoints from another sweep are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`PARTIAL_FORMAT`].
    pub format: String,
    /// hasim's version.
    pub hasim_version: String,
    /// Hash of the sweep file and base scenario texts.
    pub sweep_hash: String,
    /// The sweep file as given.
    pub sweep: String,
    /// The base scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Replications per variant.
    pub replications: u32,
    /// Variant labels, in order.
    pub variants: Vec<String>,
    /// Total units of the whole sweep.
    pub units_total: u64,
    /// Independent streams per variant instead of common random numbers.
    pub independent_streams: bool,
    /// How warm-ups were chosen, in words.
    pub warmup_rule: String,
    /// Each variant's warm-up, ns.
    pub warmups_ns: Vec<u64>,
}

/// A shard's output file: integer aggregates per variant, never per-unit floats.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Partial {
    /// Identifies the sweep.
    pub header: Header,
    /// Which shard this is.
    pub shard: Shard,
    /// How many units it ran (all those with `u mod N = K−1`).
    pub units: u64,
    /// Per variant, the exact sums over this shard's replications.
    pub variants: Vec<VariantAgg>,
    /// [`checksum`] of everything else in the file: `merge` refuses a file whose numbers were
    /// altered (or cut short) after `sweep --shard` wrote it.
    #[serde(default)]
    pub checksum: String,
}

/// FNV-1a 64 of a partial's content: its compact JSON without the `checksum` field (object
/// keys sorted, so the text depends only on the values).
pub fn checksum(v: &serde_json::Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("checksum");
    }
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    fnv(
        &mut h,
        serde_json::to_string(&v).unwrap_or_default().as_bytes(),
    );
    format!("fnv1a64:{h:016x}")
}

impl Partial {
    /// The file's text, with its checksum.
    pub fn to_file(&self) -> String {
        let mut part = self.clone();
        part.checksum = String::new();
        part.checksum = checksum(&serde_json::to_value(&part).unwrap_or_default());
        to_json(&part)
    }

    /// Reads a partial file's text (`name` for messages): its format, its checksum, then its
    /// fields. Checked further against the others by [`merge`].
    pub fn from_file(name: &str, text: &str) -> Result<Partial, String> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("{name}: not a hasim partial file: {e}"))?;
        let format = v
            .pointer("/header/format")
            .and_then(|f| f.as_str())
            .unwrap_or("none");
        if format != PARTIAL_FORMAT {
            return Err(format!(
                "{name}: format `{format}` is not `{PARTIAL_FORMAT}` (write it again with this hasim's `sweep --shard`)"
            ));
        }
        let written = v.get("checksum").and_then(|c| c.as_str()).unwrap_or("");
        let actual = checksum(&v);
        if written != actual {
            return Err(format!(
                "{name}: checksum mismatch (file says `{written}`, content gives `{actual}`): the file was altered or cut short after `sweep --shard` wrote it"
            ));
        }
        serde_json::from_value(v).map_err(|e| format!("{name}: not a hasim partial file: {e}"))
    }
}

/// Units of the sweep that shard `shard` owns: those `u < total` with `u mod n = k − 1`.
pub fn units_of(shard: Shard, total: u64) -> u64 {
    let first = shard.k.saturating_sub(1);
    if shard.n == 0 || total <= first {
        0
    } else {
        (total - first - 1) / shard.n + 1
    }
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= *b as u64;
        *h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// The seed a sweep runs with: the command line's, else the sweep file's, else its first
/// variant's scenario's, else [`crate::DEFAULT_SEED`].
pub fn seed_of(s: &SweepFile, seed: Option<u64>) -> u64 {
    seed.or(s.seed)
        .or_else(|| s.variants.first().and_then(|v| v.loaded.seed))
        .unwrap_or(crate::DEFAULT_SEED)
}

/// The header of `sweep` run with `seed`.
pub fn header(sweep: &SweepFile, seed: u64, independent_streams: bool) -> Header {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    fnv(&mut h, sweep.source.as_bytes());
    for v in &sweep.variants {
        fnv(&mut h, v.loaded.source.as_bytes());
    }
    Header {
        format: PARTIAL_FORMAT.into(),
        hasim_version: crate::VERSION.into(),
        sweep_hash: format!("{h:016x}"),
        sweep: sweep.file_name.clone(),
        scenario: sweep
            .variants
            .first()
            .map(|v| v.loaded.spec.name.clone())
            .unwrap_or_default(),
        seed,
        replications: sweep.replications,
        variants: sweep.variants.iter().map(|v| v.label.clone()).collect(),
        units_total: sweep.variants.len() as u64 * sweep.replications as u64,
        independent_streams,
        warmup_rule: match &sweep.warmup {
            WarmupRule::Scenario => "each scenario's own".into(),
            WarmupRule::Mser5 => "MSER-5 on a pilot run (replication 0 of each variant)".into(),
            WarmupRule::Fixed(d) => format!("fixed {d}"),
        },
        warmups_ns: sweep
            .variants
            .iter()
            .map(|v| v.loaded.spec.warmup.0)
            .collect(),
    }
}

/// Applies the sweep's warm-up rule: for MSER-5, runs each variant's pilot (replication 0, no
/// warm-up) and sets its warm-up where MSER-5 truncates. Deterministic, so every shard of a
/// sweep computes the same warm-ups.
pub fn prepare(sweep: &mut SweepFile, seed: u64, jobs: usize) -> Result<(), String> {
    if sweep.warmup != WarmupRule::Mser5 {
        return Ok(());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let chosen: Vec<Option<SimTime>> = pool.install(|| {
        sweep
            .variants
            .par_iter()
            .map(|v| {
                let mut spec = v.loaded.spec.clone();
                spec.warmup = sim_core::SimDuration::ZERO;
                let (_, mser) =
                    models::System::new(&spec, StreamKey::new(seed, 0), Mser5::default()).run();
                mser.truncation().map(|t| t.warmup)
            })
            .collect()
    });
    for (v, w) in sweep.variants.iter_mut().zip(chosen) {
        // Too few completions to judge: keep the scenario's warm-up.
        if let Some(w) = w {
            v.loaded.spec.warmup = sim_core::SimDuration(w.0.min(v.loaded.spec.horizon.0 / 2));
        }
    }
    Ok(())
}

/// Runs unit `u` of `sweep`.
pub fn run_unit(
    sweep: &SweepFile,
    seed: u64,
    u: u64,
    independent_streams: bool,
) -> Result<UnitResult, String> {
    let r = u % sweep.replications as u64;
    let v = u / sweep.replications as u64;
    run_replication(sweep, seed, v, r, u, independent_streams)
}

/// Runs replication `r` of variant `v`, labelled unit `u`. A broken invariant becomes an error
/// naming the unit and the command that reproduces it alone.
pub fn run_replication(
    sweep: &SweepFile,
    seed: u64,
    v: u64,
    r: u64,
    u: u64,
    independent_streams: bool,
) -> Result<UnitResult, String> {
    // Common random numbers: replication r of every variant draws from the same streams.
    // Independent streams give each variant its own block of replication keys instead.
    let stream_replication = if independent_streams {
        (v << 32) | r
    } else {
        r
    };
    let variant = &sweep.variants[v as usize];
    let result = crate::guarded(|| {
        let sim = crate::Run::new(&variant.loaded)
            .seed(seed)
            .replication(stream_replication)
            .simulate();
        match &sim.summary.stalled {
            Some(why) => Err(why.clone()),
            None => Ok(sim.unit(u, v as u32, r as u32)),
        }
    });
    match result {
        Ok(Ok(unit)) => Ok(unit),
        Ok(Err(why)) => Err(format!(
            "variant {v} ({}), replication {r}: {why}\n  reproduce: hasim run {} --variant {v} --replication {r} --seed {seed}",
            variant.label, sweep.file_name
        )),
        Err(m) => {
            let how = if independent_streams {
                " (independent streams)"
            } else {
                ""
            };
            Err(format!(
                "invariant violated in variant {v} ({}), replication {r}{how}: {m}\n  seed {seed}, sweep {}, hasim {}\n  reproduce: hasim run {} --variant {v} --replication {r} --seed {seed}",
                variant.label,
                sweep.file_name,
                crate::VERSION,
                sweep.file_name
            ))
        }
    }
}

/// Runs this shard's units on `jobs` threads, folding each into its variant's aggregate. Units
/// already in `checkpoint` are read, not rerun; each new unit is written there atomically, so an
/// interrupted run resumes where it stopped.
pub fn run_shard(
    sweep: &SweepFile,
    head: &Header,
    shard: Shard,
    jobs: usize,
    checkpoint: Option<&Path>,
    progress: bool,
) -> Result<Vec<VariantAgg>, String> {
    let mut aggs = vec![VariantAgg::default(); sweep.variants.len()];
    // Units already finished (only when resuming): memory proportional to the checkpoint.
    let mut done = std::collections::BTreeSet::new();
    if let Some(dir) = checkpoint {
        fold_checkpoint(dir, head, |u| {
            if shard.owns(u.unit) && done.insert(u.unit) {
                aggs[u.variant as usize].add(&u);
            }
        })?;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        crate::write_atomically(&dir.join("header.json"), to_json(head).as_bytes())
            .map_err(|e| format!("cannot write checkpoint header: {e}"))?;
    }
    let remaining = units_of(shard, head.units_total) - done.len() as u64;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let bar = progress_bar(progress, remaining);
    let independent = head.independent_streams;
    let fresh = || vec![VariantAgg::default(); sweep.variants.len()];
    // Each thread folds its units into its own aggregates, then they merge: the sums are exact
    // integers, so the result is the same bits whatever the split, and no thread waits for
    // another and no unit's histogram outlives its fold.
    let computed = pool.install(|| {
        (0..head.units_total)
            .into_par_iter()
            .filter(|u| shard.owns(*u) && !done.contains(u))
            .try_fold(fresh, |mut acc, u| {
                let r = run_unit(sweep, head.seed, u, independent)?;
                if let Some(dir) = checkpoint {
                    crate::write_atomically(
                        &dir.join(format!("unit-{u:09}.json")),
                        to_json(&r).as_bytes(),
                    )
                    .map_err(|e| format!("cannot write checkpoint: {e}"))?;
                }
                bar.inc(1);
                acc[r.variant as usize].add(&r);
                Ok::<_, String>(acc)
            })
            .try_reduce(fresh, |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.merge(y);
                }
                Ok(a)
            })
    })?;
    for (x, y) in aggs.iter_mut().zip(&computed) {
        x.merge(y);
    }
    bar.finish_and_clear();
    Ok(aggs)
}

/// Adds rounds of `sweep.replications` replications to every variant until each variant's mean
/// latency has a 95% half-width within `target` (relative), or `max` replications. Every
/// variant gets the same count, so common random numbers still pair them. Returns the
/// aggregates and the replications run.
pub fn run_adaptive(
    sweep: &SweepFile,
    head: &Header,
    jobs: usize,
    progress: bool,
    target: f64,
    max: u32,
) -> Result<(Vec<VariantAgg>, u32), String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let step = sweep.replications;
    let mut aggs = vec![VariantAgg::default(); sweep.variants.len()];
    let mut r_done = 0u32;
    let latency = METRICS
        .iter()
        .position(|m| m.name == "latency_ms_mean")
        .unwrap_or(0);
    loop {
        let r_next = (r_done + step).min(max.max(step));
        let work: Vec<(u64, u64)> = (0..sweep.variants.len() as u64)
            .flat_map(|v| (r_done as u64..r_next as u64).map(move |r| (v, r)))
            .collect();
        let bar = progress_bar(progress, work.len() as u64);
        let results: Result<Vec<UnitResult>, String> = pool.install(|| {
            work.par_iter()
                .progress_with(bar.clone())
                .map(|&(v, r)| {
                    run_replication(
                        sweep,
                        head.seed,
                        v,
                        r,
                        v * max as u64 + r,
                        head.independent_streams,
                    )
                })
                .collect()
        });
        bar.finish_and_clear();
        for u in &results? {
            aggs[u.variant as usize].add(u);
        }
        r_done = r_next;
        // A variant of stores alone has no latency to make precise: it holds no one back.
        let precise = aggs.iter().all(|a| {
            if a.no_requests {
                return true;
            }
            let e = a.estimate(latency);
            e.ci95.is_some_and(|c| e.mean > 0.0 && c / e.mean <= target)
        });
        if precise || r_done >= max {
            return Ok((aggs, r_done));
        }
    }
}

fn progress_bar(show: bool, len: u64) -> ProgressBar {
    // indicatif hides the bar by itself when stderr is not a terminal.
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} runs · {per_sec} · eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The metrics a run of `loaded` has, known before it runs: the request path's [`METRICS`]
/// (a scenario of stores alone has none), then each store's `<store>.<metric>`.
pub fn metric_names(loaded: &scenarios::Loaded) -> Vec<String> {
    let requests = METRICS
        .iter()
        .filter(|_| !loaded.spec.pools.is_empty())
        .map(|m| m.name.to_string());
    requests
        .chain(reports::store_metric_list(&loaded.stores))
        .collect()
}

/// Every unit's metric values, for paired comparisons: per variant its metrics (the request
/// path's, then its stores'), and `[variant][replication][metric]` in that order.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Per variant, the metrics it has.
    pub columns: Vec<Vec<Column>>,
    /// `[variant][replication][metric]`, each variant's metrics in its `columns` order.
    pub values: UnitValues,
}

impl Measured {
    fn new(columns: Vec<Vec<Column>>, values: UnitValues) -> Measured {
        Measured { columns, values }
    }

    /// The metrics every variant has (in the first variant's order), and the values of those
    /// alone: what a comparison ranks.
    pub fn common(&self) -> (Vec<Column>, UnitValues) {
        let first = self.columns.first().cloned().unwrap_or_default();
        let common: Vec<Column> = first
            .into_iter()
            .filter(|c| {
                self.columns
                    .iter()
                    .all(|cs| cs.iter().any(|d| d.name == c.name))
            })
            .collect();
        let values = (self.values.iter().zip(&self.columns))
            .map(|(reps, cols)| {
                let at: Vec<usize> = common
                    .iter()
                    .filter_map(|c| cols.iter().position(|d| d.name == c.name))
                    .collect();
                reps.iter()
                    .map(|row| at.iter().map(|&i| row[i]).collect())
                    .collect()
            })
            .collect();
        (common, values)
    }

    /// Variant `v`'s mean of metric `name` over its replications, if it has that metric.
    pub fn mean(&self, v: usize, name: &str) -> Option<f64> {
        let i = self.columns.get(v)?.iter().position(|c| c.name == name)?;
        let xs: Vec<f64> = self.values[v].iter().map(|row| row[i]).collect();
        Some(reports::estimate(&xs).mean)
    }
}

/// One unit's metrics and their values.
type Measurement = (Vec<Column>, Vec<f64>);

/// Every unit's metric values (see [`Measured`]).
pub fn unit_metrics(
    sweep: &SweepFile,
    head: &Header,
    jobs: usize,
    progress: bool,
) -> Result<Measured, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let bar = progress_bar(progress, head.units_total);
    let values: Result<Vec<Measurement>, String> = pool.install(|| {
        (0..head.units_total)
            .into_par_iter()
            .progress_with(bar.clone())
            .map(|u| {
                let r = run_unit(sweep, head.seed, u, head.independent_streams)?;
                Ok((r.columns(), r.row()))
            })
            .collect()
    });
    bar.finish_and_clear();
    let r = head.replications as usize;
    let (mut columns, mut rows) = (Vec::new(), Vec::new());
    for chunk in values?.chunks(r) {
        columns.push(chunk.first().map(|c| c.0.clone()).unwrap_or_default());
        rows.push(chunk.iter().map(|c| c.1.clone()).collect());
    }
    Ok(Measured::new(columns, rows))
}

/// Metric values `[variant][replication][metric]` (METRICS order).
pub type UnitValues = Vec<Vec<Vec<f64>>>;

/// [`unit_metrics`] with rounds of `sweep.replications` replications added until every
/// variant's mean latency has a 95% half-width within `target` of its mean, or `max`
/// replications (as `run_adaptive` does for sweeps). Every variant gets the same count, so the
/// replications stay paired. Returns the values and the replications run.
pub fn unit_metrics_adaptive(
    sweep: &SweepFile,
    head: &Header,
    jobs: usize,
    progress: bool,
    target: f64,
    max: u32,
) -> Result<(Measured, u32), String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let step = sweep.replications;
    let mut values: Vec<Vec<Vec<f64>>> = vec![Vec::new(); sweep.variants.len()];
    let mut columns: Vec<Vec<Column>> = vec![Vec::new(); sweep.variants.len()];
    let mut r_done = 0u32;
    loop {
        let r_next = (r_done + step).min(max.max(step));
        let work: Vec<(u64, u64)> = (0..sweep.variants.len() as u64)
            .flat_map(|v| (r_done as u64..r_next as u64).map(move |r| (v, r)))
            .collect();
        let bar = progress_bar(progress, work.len() as u64);
        let results: Result<Vec<Measurement>, String> = pool.install(|| {
            work.par_iter()
                .progress_with(bar.clone())
                .map(|&(v, r)| {
                    let u = run_replication(
                        sweep,
                        head.seed,
                        v,
                        r,
                        v * max as u64 + r,
                        head.independent_streams,
                    )?;
                    Ok((u.columns(), u.row()))
                })
                .collect()
        });
        bar.finish_and_clear();
        // `work` is in (variant, replication) order, and so are the results.
        for (&(v, _), (cols, row)) in work.iter().zip(results?) {
            values[v as usize].push(row);
            columns[v as usize] = cols;
        }
        r_done = r_next;
        // A variant of stores alone has no latency to make precise: it holds no one back.
        let precise = values.iter().zip(&columns).all(|(reps, cols)| {
            let Some(latency) = cols.iter().position(|c| c.name == "latency_ms_mean") else {
                return true;
            };
            let xs: Vec<f64> = reps.iter().map(|row| row[latency]).collect();
            let e = reports::estimate(&xs);
            e.ci95.is_some_and(|c| e.mean > 0.0 && c / e.mean <= target)
        });
        if precise || r_done >= max {
            return Ok((Measured::new(columns, values), r_done));
        }
    }
}

/// Why variants `a` and `b` of `sweep` may have given the same figures in every replication:
/// the settings that differ between them, and what makes them equivalent here when hasim
/// knows it.
pub fn why_identical(sweep: &SweepFile, a: usize, b: usize) -> String {
    let (va, vb) = (&sweep.variants[a], &sweep.variants[b]);
    let differing: Vec<(String, &str, &str)> = sweep
        .axes
        .iter()
        .zip(va.values.iter().zip(&vb.values))
        .filter(|(_, (x, y))| x != y)
        .map(|(axis, (x, y))| (axis.path.clone(), x.as_str(), y.as_str()))
        .collect();
    let what = differing
        .iter()
        .map(|(p, x, y)| format!("{p} {x} vs {y}"))
        .collect::<Vec<_>>()
        .join(", ");
    let is = |v: &str, name: &str| v.trim().starts_with(name);
    let policies_only = differing.iter().all(|(p, _, _)| p.ends_with(".policy"));
    let spec = &va.loaded.spec;
    let single_replica = spec.balancers.iter().all(|bal| match bal.target {
        models::spec::Target::Pool(p) => spec.pools[p].replicas == 1,
        _ => false,
    });
    let lc_jsq = differing.iter().all(|(_, x, y)| {
        (is(x, "LeastConnections") && is(y, "JoinShortestQueue"))
            || (is(x, "JoinShortestQueue") && is(y, "LeastConnections"))
    });
    // Every pool behind a balancer gets its requests from that balancer alone.
    let sole_source = spec.balancers.iter().enumerate().all(|(i, bal)| {
        let others = spec
            .balancers
            .iter()
            .enumerate()
            .filter(|(j, o)| *j != i && o.target == bal.target)
            .count();
        others == 0 && spec.clients.iter().all(|c| c.target != bal.target)
    });
    let lc_jsq = lc_jsq && sole_source;
    let reason = if policies_only && single_replica && !spec.balancers.is_empty() {
        "each balancer has a single replica to choose from, so every policy picks it"
    } else if policies_only && lc_jsq && !differing.is_empty() {
        "one balancer sends the pool all its requests, so its open connections to a replica are that replica's queue: LeastConnections and JoinShortestQueue see the same numbers and pick alike"
    } else {
        "the settings that differ changed no choice any request met in this scenario"
    };
    if what.is_empty() {
        format!("{reason} (the variants have the same settings)")
    } else {
        format!("{reason} ({what})")
    }
}

/// Feeds every unit checkpointed in `dir` to `f`, one at a time (never all in memory).
fn fold_checkpoint(dir: &Path, head: &Header, mut f: impl FnMut(UnitResult)) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(dir.join("header.json")).unwrap_or_default();
    if !text.is_empty() {
        let old: Header = serde_json::from_str(&text)
            .map_err(|e| format!("{}: unreadable checkpoint header: {e}", dir.display()))?;
        if &old != head {
            return Err(format!(
                "{}: the checkpoint belongs to another sweep (hash {} vs {}); remove it or drop --resume",
                dir.display(),
                old.sweep_hash,
                head.sweep_hash
            ));
        }
    }
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        // Only finished units: a temporary file left by a killed writer is ignored.
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("unit-") && n.ends_with(".json"))
        {
            let t = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            f(serde_json::from_str(&t).map_err(|e| format!("{}: {e}", p.display()))?);
        }
    }
    Ok(())
}

/// Pretty JSON with a trailing newline.
pub fn to_json<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Checks that the partials belong to one sweep and cover every unit exactly once, and sums
/// their aggregates (exact integers: the result equals a single-machine run bit for bit).
pub fn merge(parts: Vec<(String, Partial)>) -> Result<(Header, Vec<VariantAgg>), String> {
    let Some((first_name, first)) = parts.first() else {
        return Err("no partial files given".into());
    };
    let head = first.header.clone();
    let n = first.shard.n;
    check_header(first_name, &head)?;
    if !(1..=n).contains(&first.shard.k) {
        return Err(format!(
            "{first_name}: shard {}/{n} is not a shard K/N with 1 ≤ K ≤ N",
            first.shard.k
        ));
    }
    if n > parts.len() as u64 {
        let given: Vec<u64> = parts.iter().map(|(_, p)| p.shard.k).collect();
        let missing: Vec<String> = (1..=n)
            .filter(|k| !given.contains(k))
            .take(5)
            .map(|k| format!("{k}/{n}"))
            .collect();
        return Err(format!(
            "missing shard{} {}{}: the sweep has {n} shards and {} partial file{} given",
            if n - parts.len() as u64 > 1 { "s" } else { "" },
            missing.join(", "),
            if n - parts.len() as u64 > 5 {
                ", …"
            } else {
                ""
            },
            parts.len(),
            if parts.len() == 1 { " is" } else { "s are" },
        ));
    }
    let mut seen = Vec::new();
    let mut aggs = vec![VariantAgg::default(); head.variants.len()];
    for (name, p) in &parts {
        if p.header != head {
            return Err(format!(
                "{name} and {first_name} come from different sweeps (headers differ: hash {} vs {}, seed {} vs {})",
                p.header.sweep_hash, head.sweep_hash, p.header.seed, head.seed
            ));
        }
        if p.shard.n != n {
            return Err(format!(
                "{name} is shard {}/{} but {first_name} is one of {n}",
                p.shard.k, p.shard.n
            ));
        }
        if seen.contains(&p.shard.k) {
            return Err(format!(
                "shard {}/{n} is given twice ({name}): its units would count twice",
                p.shard.k
            ));
        }
        if !(1..=n).contains(&p.shard.k) {
            return Err(format!(
                "{name}: shard {}/{n} is not a shard K/N with 1 ≤ K ≤ N",
                p.shard.k
            ));
        }
        if p.variants.len() != head.variants.len() {
            return Err(format!(
                "{name}: {} variant aggregates for the sweep's {} variants",
                p.variants.len(),
                head.variants.len()
            ));
        }
        let expected = units_of(p.shard, head.units_total);
        let held = p
            .variants
            .iter()
            .try_fold(0u64, |acc, a| acc.checked_add(a.n))
            .unwrap_or(u64::MAX);
        if p.units != expected || held != expected {
            return Err(format!(
                "{name}: shard {}/{n} should hold {expected} units but holds {held}",
                p.shard.k
            ));
        }
        seen.push(p.shard.k);
        for (v, (a, b)) in aggs.iter_mut().zip(&p.variants).enumerate() {
            a.checked_merge(b)
                .map_err(|e| format!("{name}: variant {v}: {e}"))?;
        }
    }
    // Every variant has all its replications, no more.
    if let Some((v, a)) = aggs
        .iter()
        .enumerate()
        .find(|(_, a)| a.n != u64::from(head.replications))
    {
        return Err(format!(
            "variant {v} has {} replications in the partial files, not {}: a partial file is inconsistent",
            a.n, head.replications
        ));
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !seen.contains(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing shard{} {}: {} units are in no partial file",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            (1..=n)
                .filter(|k| !seen.contains(k))
                .map(|k| units_of(Shard { k, n }, head.units_total))
                .sum::<u64>()
        ));
    }
    Ok((head, aggs))
}

/// A header's own consistency: one label and one warm-up per variant, and the unit count they
/// imply.
fn check_header(name: &str, h: &Header) -> Result<(), String> {
    let units = (h.variants.len() as u64).checked_mul(u64::from(h.replications));
    if h.replications == 0 || units != Some(h.units_total) {
        return Err(format!(
            "{name}: the header's {} variants × {} replications do not make its {} units",
            h.variants.len(),
            h.replications,
            h.units_total
        ));
    }
    if h.warmups_ns.len() != h.variants.len() {
        return Err(format!(
            "{name}: the header has {} warm-ups for {} variants",
            h.warmups_ns.len(),
            h.variants.len()
        ));
    }
    Ok(())
}

/// The report of a complete sweep's aggregates.
pub fn report(head: &Header, aggs: &[VariantAgg], reproduce: String) -> SweepReport {
    let meta = SweepMeta {
        hasim_version: head.hasim_version.clone(),
        sweep: head.sweep.clone(),
        sweep_hash: head.sweep_hash.clone(),
        scenario: head.scenario.clone(),
        seed: head.seed,
        replications: head.replications,
        warmup_rule: head.warmup_rule.clone(),
        reproduce,
    };
    SweepReport::new(meta, &head.variants, aggs, &head.warmups_ns)
}

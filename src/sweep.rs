//! Sweeps: every (variant, replication) unit of a sweep file, on a rayon pool, in shards, with
//! checkpoints. The single-machine sweep is "every shard + merge" in one process: both paths
//! build the report from the same sorted list of integer [`UnitResult`]s, so they cannot drift.

use indicatif::{ParallelProgressIterator, ProgressBar, ProgressStyle};
use rayon::prelude::*;
use reports::{SweepMeta, SweepReport, UnitResult};
use scenarios::SweepFile;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Partial-file format written by `--shard` and read by `merge`.
pub const PARTIAL_FORMAT: &str = "hasim-partial/1";

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
}

/// A shard's output file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Partial {
    /// Identifies the sweep.
    pub header: Header,
    /// Which shard this is.
    pub shard: Shard,
    /// Its units, in index order.
    pub units: Vec<UnitResult>,
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= *b as u64;
        *h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
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
    }
}

/// Runs unit `u` of `sweep`.
pub fn run_unit(sweep: &SweepFile, seed: u64, u: u64, independent_streams: bool) -> UnitResult {
    let r = u % sweep.replications as u64;
    let v = u / sweep.replications as u64;
    // Common random numbers: replication r of every variant draws from the same streams.
    let stream_replication = if independent_streams { u } else { r };
    let (summary, collector) = crate::simulate(
        &sweep.variants[v as usize].loaded.spec,
        seed,
        stream_replication,
    );
    UnitResult::new(u, v as u32, r as u32, &collector, &summary)
}

/// Runs this shard's units on `jobs` threads, skipping those already checkpointed, writing each
/// finished unit to `checkpoint` (atomically) so that an interrupted run can resume.
pub fn run_shard(
    sweep: &SweepFile,
    head: &Header,
    shard: Shard,
    jobs: usize,
    checkpoint: Option<&Path>,
    progress: bool,
) -> Result<Vec<UnitResult>, String> {
    let wanted: Vec<u64> = (0..head.units_total).filter(|&u| shard.owns(u)).collect();
    let mut done = match checkpoint {
        Some(dir) => read_checkpoint(dir, head)?,
        None => Vec::new(),
    };
    done.retain(|d| shard.owns(d.unit));
    let todo: Vec<u64> = wanted
        .iter()
        .copied()
        .filter(|u| !done.iter().any(|d| d.unit == *u))
        .collect();
    if let Some(dir) = checkpoint {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        crate::write_atomically(&dir.join("header.json"), to_json(head).as_bytes())
            .map_err(|e| format!("cannot write checkpoint header: {e}"))?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let bar = if progress {
        ProgressBar::new(todo.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} runs · {per_sec} · eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let independent = head.independent_streams;
    let fresh: Vec<Result<UnitResult, String>> = pool.install(|| {
        todo.par_iter()
            .progress_with(bar.clone())
            .map(|&u| {
                let r = run_unit(sweep, head.seed, u, independent);
                if let Some(dir) = checkpoint {
                    crate::write_atomically(
                        &dir.join(format!("unit-{u:09}.json")),
                        to_json(&r).as_bytes(),
                    )
                    .map_err(|e| format!("cannot write checkpoint: {e}"))?;
                }
                Ok(r)
            })
            .collect()
    });
    bar.finish_and_clear();
    for r in fresh {
        done.push(r?);
    }
    done.sort_by_key(|u| u.unit);
    Ok(done)
}

fn read_checkpoint(dir: &Path, head: &Header) -> Result<Vec<UnitResult>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
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
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("unit-") && n.ends_with(".json"))
        {
            let t = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            out.push(serde_json::from_str(&t).map_err(|e| format!("{}: {e}", p.display()))?);
        }
    }
    Ok(out)
}

/// Pretty JSON with a trailing newline.
pub fn to_json<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Checks that the partials belong to one sweep and hold every unit exactly once; returns the
/// header and the units sorted by index.
pub fn merge(parts: Vec<(String, Partial)>) -> Result<(Header, Vec<UnitResult>), String> {
    let Some((first_name, first)) = parts.first() else {
        return Err("no partial files given".into());
    };
    let head = first.header.clone();
    let n = first.shard.n;
    let mut seen_shards = Vec::new();
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
        if seen_shards.contains(&p.shard.k) {
            return Err(format!("shard {}/{n} is given twice ({name})", p.shard.k));
        }
        seen_shards.push(p.shard.k);
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !seen_shards.contains(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing shard{} {}: its units are not in any partial file",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        ));
    }
    let mut units: Vec<UnitResult> = parts.into_iter().flat_map(|(_, p)| p.units).collect();
    units.sort_by_key(|u| u.unit);
    for (i, u) in units.iter().enumerate() {
        if u.unit != i as u64 {
            let shard = i as u64 % n + 1;
            return Err(if u.unit < i as u64 {
                format!("unit {} appears twice", u.unit)
            } else {
                format!("unit {i} is missing (it belongs to shard {shard}/{n})")
            });
        }
    }
    if units.len() as u64 != head.units_total {
        let i = units.len() as u64;
        return Err(format!(
            "unit {i} is missing (it belongs to shard {}/{n})",
            i % n + 1
        ));
    }
    Ok((head, units))
}

/// The report of a complete, sorted set of units.
pub fn report(head: &Header, units: &[UnitResult], reproduce: String) -> SweepReport {
    let meta = SweepMeta {
        hasim_version: head.hasim_version.clone(),
        sweep: head.sweep.clone(),
        scenario: head.scenario.clone(),
        seed: head.seed,
        replications: head.replications,
        reproduce,
    };
    SweepReport::new(meta, &head.variants, units)
}

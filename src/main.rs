//! The `hasim` command line: parse arguments, load the scenario, run it, print or write the
//! report. The only place that prints. Exit codes: 0 success, 1 an expectation failed,
//! 2 bad input or usage.

/// Printing that tolerates a closed pipe (`hasim run … | head`): a reader that went away is
/// not an error worth a panic. Control characters from the input (a name with an escape
/// sequence) are printed escaped: a terminal would act on them.
macro_rules! out {
    ($($t:tt)*) => {{ use std::io::Write; let _ = write!(std::io::stdout().lock(), "{}", terminal_safe(format!($($t)*))); }};
}
macro_rules! outln {
    ($($t:tt)*) => {{ use std::io::Write; let _ = writeln!(std::io::stdout().lock(), "{}", terminal_safe(format!($($t)*))); }};
}
macro_rules! err {
    ($($t:tt)*) => {{ use std::io::Write; let _ = write!(std::io::stderr().lock(), "{}", terminal_safe(format!($($t)*))); }};
}
macro_rules! errln {
    ($($t:tt)*) => {{ use std::io::Write; let _ = writeln!(std::io::stderr().lock(), "{}", terminal_safe(format!($($t)*))); }};
}

/// `text` with every control character but newline and tab escaped (`\u{1b}`).
fn terminal_safe(text: String) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text;
    }
    text.split_inclusive(['\n', '\t'])
        .map(|part| {
            let (body, end) = match part.strip_suffix(['\n', '\t']) {
                Some(b) => (b, &part[b.len()..]),
                None => (part, ""),
            };
            format!("{}{end}", scenarios::escape_controls(body))
        })
        .collect()
}

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::{SimDuration, SimTime};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hasim",
    version,
    about = "Deterministic discrete-event simulator for high-availability architectures"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Raise every size limit (replicas, workers, keys, variants × replications, events per
    /// simulated second, file size) to its large value: see README, "Limits".
    #[arg(long, global = true, env = "HASIM_ALLOW_LARGE")]
    allow_large: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print its report.
    Run {
        /// The scenario file (RON).
        file: PathBuf,
        /// Seed for every random stream (default: the file's `seed`, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Replication index: an independent run with the same seed.
        #[arg(long, default_value_t = 0)]
        replication: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write the report to this file (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the time series (one CSV row per window) to this file.
        #[arg(long, value_name = "FILE")]
        timeseries: Option<PathBuf>,
        /// Time-series window (e.g. `10s`, `1m`): overrides the scenario's `slo.window`.
        #[arg(long, value_name = "DURATION")]
        window: Option<String>,
        #[command(flatten)]
        visuals: Visuals,
        #[command(flatten)]
        debug: RunDebug,
    },
    /// Parse and validate a scenario (or sweep) file without running it.
    Check {
        /// The scenario or sweep file (RON).
        file: PathBuf,
    },
    /// Run every variant × replication of a sweep file; report each variant's metrics with
    /// 95% confidence intervals. With --shard, run one slice and write a partial file.
    Sweep {
        /// The sweep file (RON).
        file: PathBuf,
        #[command(flatten)]
        run: SweepArgs,
        /// Run only shard K of N (1-based), or `auto` from Slurm / Kubernetes variables.
        #[arg(long)]
        shard: Option<String>,
        /// Number of shards, for `--shard auto` under Kubernetes (JOB_COMPLETION_INDEX).
        #[arg(long)]
        shards: Option<u64>,
        /// Output: a partial file with --shard, else a folder for report.{txt,json,csv}.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue an interrupted run: reuse the units finished in `<out>.units/`.
        #[arg(long)]
        resume: bool,
        /// Output format on standard output (without --shard).
        #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
        format: SweepFormat,
        /// Keep adding rounds of replications until every variant's mean latency has a 95%
        /// half-width within this fraction of the mean (e.g. 0.02).
        #[arg(long)]
        target_ci: Option<f64>,
        /// Upper bound on replications per variant with --target-ci.
        #[arg(long, default_value_t = 1000)]
        max_replications: u32,
        /// Run the sweep on 1 thread and on --jobs (at least 2) threads, and fail unless the
        /// reports are identical.
        #[arg(long)]
        check_determinism: bool,
        /// Exit 1 if this holds for the variants' means (repeatable), e.g.
        /// 'p99_ms(LeastRequest) > p99_ms(RoundRobin)', 'p99_ms > 250' (any variant).
        #[arg(long, value_name = "CONDITION")]
        fail_if: Vec<String>,
    },
    /// Run a scenario under many seeds and list those that miss its expectations or break an
    /// invariant, worst first, each with the command that reproduces it. Exit 1 if any.
    Hunt {
        /// The scenario file (RON), with `expect: [...]`.
        file: PathBuf,
        /// How many seeds to try.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 1)]
        first: u64,
        /// Worker threads (the result does not depend on it).
        #[arg(long, env = "HASIM_JOBS", default_value_t = default_jobs())]
        jobs: usize,
    },
    /// Compare two JSON reports (run or sweep) and print what moved; exit 1 if anything did.
    Diff {
        /// The reference report (e.g. the one committed to the repository).
        old: PathBuf,
        /// The new report.
        new: PathBuf,
        /// Ignore numbers whose relative change is at most this (0.01 = 1%).
        #[arg(long, default_value_t = 0.0)]
        tolerance: f64,
        /// Ignore numbers whose absolute change is at most this.
        #[arg(long, default_value_t = 0.0)]
        absolute: f64,
        /// Count only changes in this direction for --tolerance/--absolute (`higher`: fail
        /// only if a number grew, e.g. for latencies).
        #[arg(long, value_enum, default_value_t = Direction::Either)]
        direction: Direction,
        /// Leave out fields matching this pattern (repeatable): `latency_ms.max`,
        /// `replicas[*].in_flight`, `**.ci95`, `reproduce`.
        #[arg(long, value_name = "FIELD")]
        ignore: Vec<String>,
        /// Compare only fields matching this pattern (repeatable).
        #[arg(long, value_name = "FIELD")]
        select: Vec<String>,
        /// Per-field rules from a file: `Golden(ignore: [...], select: [...],
        /// tolerances: [Tolerance(field: "latency_ms.p99", relative: 0.05, fail_if: Higher)])`,
        /// the format of `hasim test`'s hasim-test.ron.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
    },
    /// Snapshot-test every scenario and sweep file under DIR against the golden file beside it
    /// (`x.ron` → `x.golden.json`); exit 1 if any report moved beyond its rules.
    Test {
        /// The folder of scenario files, their golden files and an optional hasim-test.ron.
        dir: PathBuf,
        /// Write (or rewrite) the golden files from this run's reports.
        #[arg(long, alias = "update")]
        accept: bool,
        /// Also write the results as JUnit XML (for CI systems) to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Worker threads for sweeps (the reports do not depend on it).
        #[arg(long, env = "HASIM_JOBS", default_value_t = default_jobs())]
        jobs: usize,
    },
    /// Print one request's life from a trace (`run --trace RUN.jsonl`), step by step.
    Explain {
        /// The trace (JSON Lines).
        trace: PathBuf,
        /// The request's number.
        request: u64,
    },
    /// Merge the partial files of a sharded sweep into the sweep's report (identical bytes).
    Merge {
        /// The partial files (`--shard K/N --out part-K.json`).
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// A folder for report.{txt,json,csv}.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output format on standard output.
        #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
        format: SweepFormat,
        #[command(flatten)]
        visuals: Visuals,
    },
    /// Compare every variant of a sweep with a baseline: paired differences per replication
    /// (common random numbers), their 95% CI and a verdict per metric.
    Compare {
        /// The sweep file (RON).
        file: PathBuf,
        #[command(flatten)]
        run: SweepArgs,
        /// Index of the baseline variant.
        #[arg(long, default_value_t = 0)]
        baseline: usize,
        /// Also run with independent streams per variant, to show how much CRN narrows the CI.
        #[arg(long)]
        independent: bool,
        /// Differences smaller than this fraction of the baseline's value are "no practical
        /// difference", however significant (0.01 = 1%; 0 to judge by significance alone).
        #[arg(long, default_value_t = 0.01)]
        min_effect: f64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
        format: SweepFormat,
        /// Write the comparison to this file (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Keep adding rounds of replications until every variant's mean latency has a 95%
        /// half-width within this fraction of the mean (e.g. 0.02).
        #[arg(long)]
        target_ci: Option<f64>,
        /// Upper bound on replications per variant with --target-ci.
        #[arg(long, default_value_t = 1000)]
        max_replications: u32,
        /// Exit 1 if this holds for the variants' means (repeatable), e.g.
        /// 'p99_ms(LeastRequest) > p99_ms(RoundRobin)', 'availability(#2) < 0.999'.
        #[arg(long, value_name = "CONDITION")]
        fail_if: Vec<String>,
    },
}

/// Charts and the HTML report.
#[derive(clap::Args, Clone)]
struct Visuals {
    /// Write one self-contained HTML report (summary, charts, the scenario as run, the seed and
    /// the reproduce command) to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write every chart into this folder.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Format of the --charts files.
    #[arg(long, value_enum, default_value_t = ChartFormatArg::Svg)]
    chart_format: ChartFormatArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChartFormatArg {
    /// Vector images (text searchable, small, stable bytes).
    Svg,
    /// Bitmaps (fonts embedded, no system fonts needed).
    Png,
}

impl ChartFormatArg {
    fn get(self) -> reports::charts::ChartFormat {
        match self {
            ChartFormatArg::Svg => reports::charts::ChartFormat::Svg,
            ChartFormatArg::Png => reports::charts::ChartFormat::Png,
        }
    }
}

/// Writes the HTML page and chart files that `v` asks for.
fn write_visuals(
    v: &Visuals,
    charts: impl Fn(reports::charts::ChartFormat) -> Result<Vec<hasim::visual::Chart>, String>,
    page: impl Fn() -> Result<String, String>,
) -> Result<(), String> {
    if let Some(dir) = &v.charts {
        let format = v.chart_format.get();
        let written = hasim::visual::write_charts(dir, &charts(format)?, format)?;
        errln!("wrote {} charts in {}", written.len(), dir.display());
    }
    if let Some(path) = &v.html {
        let html = page()?;
        hasim::write_atomically(path, html.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        errln!("wrote {}", path.display());
    }
    Ok(())
}

/// Reproducing and inspecting one run.
#[derive(clap::Args)]
struct RunDebug {
    /// With a sweep file: run this variant (its index in the sweep report).
    #[arg(long)]
    variant: Option<usize>,
    /// Write the run's event trace to this file (atomically).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Trace format.
    #[arg(long, value_enum, default_value_t = TraceFormatArg::Jsonl)]
    trace_format: TraceFormatArg,
    /// Trace only this component (`client/users`, `web/2`, or `web` for all its replicas).
    #[arg(long)]
    trace_component: Option<String>,
    /// Trace records from this virtual time on (e.g. `10m`).
    #[arg(long)]
    trace_from: Option<String>,
    /// Trace records up to this virtual time.
    #[arg(long)]
    trace_to: Option<String>,
    /// At most this many trace lines.
    #[arg(long, default_value_t = 1_000_000)]
    trace_limit: u64,
    /// Trace only this request (its number in the trace), every step of it: attempts, the
    /// balancer's candidates and pick, queueing, service, retries, the outcome.
    #[arg(long, value_name = "ID")]
    trace_request: Option<u64>,
    /// Run twice and fail with the first diverging event if the trajectories differ.
    #[arg(long)]
    check_determinism: bool,
    /// Exit 1 if this holds, e.g. 'availability < 0.999', 'p99 > 250ms', 'mean > 50ms',
    /// 'throughput < 100', 'error_budget > 0.5' (repeatable; added to the scenario's `expect`).
    #[arg(long, value_name = "CONDITION")]
    fail_if: Vec<String>,
}

/// `availability < 0.999` → the expectation it negates (`Availability(min: 0.999)`).
fn parse_fail_if(text: &str) -> Result<reports::Expectation, String> {
    use reports::Expectation as E;
    let parts: Vec<&str> = text.split_whitespace().collect();
    let hint = "write e.g. 'availability < 0.999', 'p99 > 250ms', 'mean > 50ms', 'throughput < 100', 'error_budget > 0.5' or, for a store, 'kv.write_availability < 0.999'";
    let [metric, op, value] = parts[..] else {
        return Err(format!(
            "--fail-if '{text}': expected METRIC OP VALUE; {hint}"
        ));
    };
    let number = |v: &str| {
        v.parse::<f64>()
            .map_err(|_| format!("--fail-if '{text}': `{v}` is not a number; {hint}"))
    };
    let duration =
        |v: &str| sim_core::parse_duration(v).map_err(|e| format!("--fail-if '{text}': {e}"));
    match (metric, op) {
        // A store's metric, in its own unit (checked against the scenario's stores once it is
        // loaded).
        (m, "<" | ">") if m.contains('.') => Ok(E::Store {
            metric: m.to_string(),
            bound: number(value)?,
            at_least: op == "<",
        }),
        ("availability", "<") => Ok(E::Availability {
            min: number(value)?,
        }),
        ("p99", ">") => Ok(E::LatencyP99 {
            max: duration(value)?,
        }),
        ("mean", ">") => Ok(E::LatencyMean {
            max: duration(value)?,
        }),
        ("throughput", "<") => Ok(E::Throughput {
            min_rps: number(value)?,
        }),
        ("error_budget", ">") => Ok(E::ErrorBudget {
            max: number(value)?,
        }),
        _ => Err(format!("--fail-if '{text}': unsupported condition; {hint}")),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Direction {
    /// Any change beyond the tolerance.
    Either,
    /// Only increases.
    Higher,
    /// Only decreases.
    Lower,
}

#[derive(Clone, Copy, ValueEnum)]
enum TraceFormatArg {
    /// One JSON object per line.
    Jsonl,
    /// Aligned text.
    Text,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Seed (default: the sweep's `seed`, else the scenario's, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (the result does not depend on it).
    #[arg(long, env = "HASIM_JOBS", default_value_t = default_jobs())]
    jobs: usize,
    /// Progress bar on stderr (auto: only when stderr is a terminal).
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
    #[command(flatten)]
    visuals: Visuals,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[derive(Clone, Copy, ValueEnum)]
enum Progress {
    Auto,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum SweepFormat {
    /// Aligned text for people.
    Table,
    /// Stable JSON for programs.
    Json,
    /// One row per variant and metric.
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Aligned text for people.
    Table,
    /// Stable JSON for programs.
    Json,
}

const EXIT_EXPECTATION: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
/// A broken invariant is a bug in hasim, not in the input: the conventional panic code.
const EXIT_INVARIANT: u8 = 101;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    scenarios::limits::allow_large(cli.allow_large);
    // Without it a signal would leave temporary output files behind; the run itself is
    // unaffected, so a failure to install it is not worth refusing to run.
    let _ = hasim::output::remove_temporaries_on_signals();
    // Reports quote the file's path: the same file gives the same report however it was named.
    match &mut cli.command {
        Command::Run { file, .. }
        | Command::Check { file }
        | Command::Sweep { file, .. }
        | Command::Hunt { file, .. }
        | Command::Compare { file, .. } => *file = PathBuf::from(hasim::shown_path(file)),
        Command::Diff { .. }
        | Command::Merge { .. }
        | Command::Test { .. }
        | Command::Explain { .. } => {}
    }
    match cli.command {
        Command::Run {
            file,
            seed,
            replication,
            format,
            out,
            timeseries,
            window,
            visuals,
            debug,
        } => run(
            &file,
            seed,
            replication,
            format,
            out,
            &RunOutputs {
                timeseries,
                window,
                visuals,
            },
            &debug,
        ),
        Command::Sweep {
            file,
            run,
            shard,
            shards,
            out,
            resume,
            format,
            target_ci,
            max_replications,
            check_determinism,
            ..
        } if check_determinism => {
            if shard.is_some() || shards.is_some() || out.is_some() || resume || target_ci.is_some()
            {
                let _ = max_replications;
                return fail(
                    "--check-determinism runs the whole sweep twice on this machine: drop --shard, --out, --resume and --target-ci",
                );
            }
            check_sweep_determinism(&file, &run, format)
        }
        Command::Sweep {
            file,
            run,
            shard,
            shards,
            out,
            resume,
            format,
            target_ci,
            max_replications,
            fail_if,
            ..
        } => {
            let gates = match parse_gates(&fail_if) {
                Ok(g) => g,
                Err(code) => return code,
            };
            let out = out.map(|o| o.components().collect::<PathBuf>());
            match target_ci {
                Some(t) => adaptive(
                    &file,
                    &run,
                    shard.is_some() || resume,
                    out,
                    (format, &gates),
                    t,
                    max_replications,
                ),
                None => sweep(&file, &run, shard, shards, out, resume, (format, &gates)),
            }
        }
        Command::Merge {
            parts,
            out,
            format,
            visuals,
        } => merge(&parts, out, format, &visuals),
        Command::Hunt {
            file,
            seeds,
            first,
            jobs,
        } => hunt(&file, seeds, first, jobs),
        Command::Diff {
            old,
            new,
            tolerance,
            absolute,
            direction,
            ignore,
            select,
            rules,
        } => diff_reports(
            &old,
            &new,
            DiffOptions {
                tolerance,
                absolute,
                direction,
                ignore,
                select,
                rules,
            },
        ),
        Command::Test {
            dir,
            accept,
            junit,
            jobs,
        } => snapshot_test(&dir, accept, junit.as_deref(), jobs),
        Command::Explain { trace, request } => {
            let text = match std::fs::read_to_string(&trace) {
                Ok(t) => t,
                Err(e) => return fail(format!("cannot read {}: {e}", trace.display())),
            };
            match hasim::trace::explain(&text, request) {
                Ok(story) => {
                    out!("{story}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("{}: {e}", trace.display())),
            }
        }
        Command::Compare {
            file,
            run,
            baseline,
            independent,
            min_effect,
            format,
            out,
            target_ci,
            max_replications,
            fail_if,
        } => compare(
            &file,
            &run,
            &CompareArgs {
                baseline,
                independent,
                min_effect,
                format,
                out,
                target_ci,
                max_replications,
                fail_if,
            },
        ),
        Command::Check { file } if is_sweep_file(&file) => match scenarios::load_sweep(&file) {
            Ok(s) => {
                outln!(
                    "{}: ok (sweep: {} × {})",
                    file.display(),
                    plural(s.variants.len(), "variant"),
                    plural(s.replications as usize, "replication")
                );
                ExitCode::SUCCESS
            }
            Err(e) => bad_input(&e),
        },
        Command::Check { file } => match scenarios::load(&file) {
            Ok(loaded) => {
                let stores = match loaded.stores.len() {
                    0 => String::new(),
                    n => format!(", {}", plural(n, "store")),
                };
                outln!(
                    "{}: ok ({}, {}, {}{stores})",
                    file.display(),
                    plural(loaded.spec.clients.len(), "client"),
                    plural(loaded.spec.balancers.len(), "balancer"),
                    plural(loaded.spec.pools.len(), "pool")
                );
                for n in &loaded.notes {
                    outln!("note: {n}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => bad_input(&e),
        },
    }
}

/// What `run` writes besides its report.
struct RunOutputs {
    timeseries: Option<PathBuf>,
    window: Option<String>,
    visuals: Visuals,
}

fn run(
    file: &std::path::Path,
    seed: Option<u64>,
    replication: u64,
    format: Format,
    out: Option<PathBuf>,
    outputs: &RunOutputs,
    debug: &RunDebug,
) -> ExitCode {
    if let Err(code) = check_outputs(
        &[
            out.as_deref(),
            outputs.timeseries.as_deref(),
            outputs.visuals.html.as_deref(),
            debug.trace.as_deref(),
        ],
        &[outputs.visuals.charts.as_deref()],
    ) {
        return code;
    }
    let mut extra_expect = Vec::new();
    for cond in &debug.fail_if {
        match parse_fail_if(cond) {
            Ok(e) => extra_expect.push(e),
            Err(msg) => return fail(msg),
        }
    }
    let mut sweep_seed_default = None;
    let mut variant_note = None;
    let loaded = match (debug.variant, is_sweep_file(file)) {
        (Some(v), true) => match scenarios::load_sweep(file) {
            Ok(mut s) if v < s.variants.len() => {
                // The variant exactly as the sweep runs it: the sweep's seed and warm-up rule.
                let seed = sweep_seed(&s, seed);
                if let Err(e) = hasim::sweep::prepare(&mut s, seed, 1) {
                    return fail(e);
                }
                sweep_seed_default = Some(seed);
                variant_note = Some(format!(
                    "variant {v} of sweep {}: {}",
                    file.display(),
                    s.variants[v].label
                ));
                s.variants[v].loaded.clone()
            }
            Ok(s) => {
                return fail(format!(
                    "--variant {v}: the sweep has variants 0 to {}",
                    s.variants.len().saturating_sub(1)
                ));
            }
            Err(e) => return bad_input(&e),
        },
        (None, true) => {
            return fail(format!(
                "{} is a sweep file: run it with `hasim sweep`, or one variant with --variant I",
                file.display()
            ));
        }
        (Some(_), false) => return fail("--variant applies to sweep files only"),
        (None, false) => match scenarios::load(file) {
            Ok(l) => l,
            Err(e) => return bad_input(&e),
        },
    };
    let mut loaded = loaded;
    let names = reports::store_metric_list(&loaded.stores);
    if loaded.spec.pools.is_empty()
        && let Some(i) = extra_expect
            .iter()
            .position(|e| !matches!(e, reports::Expectation::Store { .. }))
    {
        return fail(format!(
            "--fail-if '{}': {} has no request path (stores alone): bound a store's metric instead, e.g. '{} < 0.999'",
            debug.fail_if[i],
            file.display(),
            names
                .first()
                .map_or("db.write_availability", String::as_str)
        ));
    }
    for e in &extra_expect {
        if let reports::Expectation::Store { metric, .. } = e
            && !names.contains(metric)
        {
            return fail(format!(
                "--fail-if: `{metric}` is not a metric of any store of {}; {}",
                file.display(),
                if names.is_empty() {
                    "it has no stores".to_string()
                } else {
                    format!("its stores' metrics are: {}", names.join(", "))
                }
            ));
        }
    }
    loaded.expect.extend(extra_expect);
    if let Some(w) = &outputs.window {
        let d = match sim_core::parse_duration(w) {
            Ok(d) if d > SimDuration::ZERO => d,
            Ok(_) => return fail("--window must be longer than zero"),
            Err(e) => return fail(format!("--window {w}: {e}")),
        };
        let n = loaded.spec.horizon.0.div_ceil(d.0);
        if n > scenarios::MAX_WINDOWS {
            return fail(format!(
                "--window {w}: {n} windows over the horizon, more than {}",
                scenarios::MAX_WINDOWS
            ));
        }
        if let Err(msg) = scenarios::limits::check_samples(
            loaded.spec.horizon,
            d,
            scenarios::total_replicas(&loaded.spec),
        ) {
            return fail(format!("--window {w}: {msg}"));
        }
        loaded.spec.window = d;
    }
    let mut notes: Vec<String> = variant_note.into_iter().collect();
    let seed = match (seed, sweep_seed_default.or(loaded.seed)) {
        (Some(s), _) => s,
        (None, Some(s)) => s,
        (None, None) => {
            notes.push(format!(
                "seed not set in the file or with --seed: using {}",
                hasim::DEFAULT_SEED
            ));
            hasim::DEFAULT_SEED
        }
    };
    let mut reproduce = format!("hasim run {} --seed {seed}", file.display());
    if let Some(v) = debug.variant {
        reproduce.push_str(&format!(" --variant {v}"));
    }
    if replication != 0 {
        reproduce.push_str(&format!(" --replication {replication}"));
    }
    for cond in &debug.fail_if {
        reproduce.push_str(&format!(" --fail-if '{cond}'"));
    }
    if let Some(w) = &outputs.window {
        reproduce.push_str(&format!(" --window {w}"));
    }
    let context = format!(
        "seed {seed}, replication {replication}, scenario hash {}, hasim {}\n  reproduce: {reproduce}",
        hasim::scenario_hash(&loaded.source),
        hasim::VERSION
    );
    let parse_time = |t: &Option<String>, default: SimTime| match t {
        None => Ok(default),
        Some(text) => sim_core::parse_duration(text)
            .map(|d| SimTime(d.0))
            .map_err(|e| format!("--trace-from/--trace-to: {e}")),
    };
    let filter = match (
        parse_time(&debug.trace_from, SimTime::ZERO),
        parse_time(&debug.trace_to, SimTime::MAX),
    ) {
        (Ok(from), Ok(to)) => hasim::trace::TraceFilter {
            component: debug.trace_component.clone(),
            from,
            to,
            limit: debug.trace_limit,
            request: debug.trace_request,
        },
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let trace_out = match &debug.trace {
        None => None,
        Some(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            match tempfile::NamedTempFile::new_in(dir) {
                Ok(f) => {
                    // A long trace is large: removed if the run is interrupted.
                    let registered = hasim::output::Registered::new(f.path());
                    Some((path.clone(), f, registered))
                }
                Err(e) => return fail(format!("cannot write {}: {e}", path.display())),
            }
        }
    };
    let format_arg = match debug.trace_format {
        TraceFormatArg::Jsonl => hasim::trace::TraceFormat::Jsonl,
        TraceFormatArg::Text => hasim::trace::TraceFormat::Text,
    };
    let result = hasim::guarded(|| {
        let run = || {
            hasim::Run::new(&loaded)
                .seed(seed)
                .replication(replication)
                .reproduce(reproduce.clone())
                .notes(notes.clone())
        };
        if debug.check_determinism {
            // Constant memory: digests at checkpoints; re-runs bisect only if they differ.
            let (first, report, verdict) =
                hasim::trace::check_determinism(|d| run().observe(d).execute());
            let verdict = verdict.and_then(|()| {
                (report.fingerprint == first.fingerprint)
                    .then_some(())
                    .ok_or_else(|| "the fingerprints differ".to_string())
            });
            (report, verdict, None)
        } else if let Some((_, file, _)) = &trace_out {
            let writer = std::io::BufWriter::new(file.as_file());
            let trace = hasim::trace::Trace::new(&loaded.spec, writer, filter.clone(), format_arg);
            let (report, trace) = run().observe(trace).execute();
            let counts = (trace.written, trace.dropped);
            let ok = trace.finish().map(|_| counts).map_err(|e| e.to_string());
            (report, Ok(()), Some(ok))
        } else {
            (run().execute().0, Ok(()), None)
        }
    });
    let (report, determinism, traced) = match result {
        Ok(r) => r,
        Err(msg) => {
            errln!("error: invariant violated during the run: {msg}\n  {context}");
            return ExitCode::from(EXIT_INVARIANT);
        }
    };
    if let Some(why) = &report.stalled {
        // The temporary trace file is removed as `trace_out` drops.
        return fail(format!(
            "{why}\n  the scenario loops at one instant: look for zero times there\n  {context}"
        ));
    }
    if let Err(msg) = determinism {
        errln!("error: determinism check failed: {msg}\n  {context}");
        return ExitCode::from(EXIT_INVARIANT);
    }
    if debug.check_determinism {
        errln!(
            "determinism check passed: two runs, identical trajectories (fingerprint {})",
            report.fingerprint
        );
    }
    if let (Some(result), Some((path, file, _registered))) = (traced, trace_out) {
        let persisted = result.and_then(|c| {
            hasim::output::refuse_special(&path).map_err(|e| e.to_string())?;
            file.persist(&path)
                .map(|_| c)
                .map_err(|e| e.error.to_string())
        });
        match persisted {
            Ok((written, dropped)) => {
                let more = if dropped > 0 {
                    format!(
                        "; {dropped} more not written: raise --trace-limit or narrow the filter"
                    )
                } else {
                    String::new()
                };
                errln!("wrote {} ({written} trace lines{more})", path.display());
                if written == 0 && dropped == 0 && filter.narrows() {
                    errln!(
                        "warning: the trace filter matched no record: components are named client/NAME, POOL/INDEX (or POOL for all its replicas), a balancer's NAME, hop/NAME; requests by their number, from 0"
                    );
                }
            }
            Err(e) => return fail(format!("cannot write {}: {e}", path.display())),
        }
    }
    let text = match format {
        Format::Table => reports::render_table(&report),
        Format::Json => report.to_json(),
    };
    match &out {
        None => out!("{text}"),
        Some(path) => match hasim::write_atomically(path, text.as_bytes()) {
            Ok(()) => errln!("wrote {}", path.display()),
            Err(e) => {
                errln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
    }
    if let Some(path) = &outputs.timeseries {
        let csv = hasim::visual::timeseries_csv(&report);
        if let Err(e) = hasim::write_atomically(path, csv.as_bytes()) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
        errln!("wrote {} ({} windows)", path.display(), report.series.len());
    }
    let shown = file.display().to_string();
    if let Err(e) = write_visuals(
        &outputs.visuals,
        |f| hasim::visual::run_charts(&report, f),
        || hasim::visual::run_page(&report, &shown, &loaded.source),
    ) {
        return fail(e);
    }
    if report.all_met() {
        return ExitCode::SUCCESS;
    }
    for v in report.expectations.iter().filter(|v| !v.met) {
        errln!("expectation failed: {}", v.miss());
    }
    errln!("  {context}");
    ExitCode::from(EXIT_EXPECTATION)
}

fn hunt(file: &std::path::Path, seeds: u64, first: u64, jobs: usize) -> ExitCode {
    if seeds > scenarios::limits::limits().runs {
        return fail(format!(
            "--seeds {seeds}: more runs than the limit of {} (each seed is a whole simulation); run with --allow-large to raise it",
            scenarios::limits::limits().runs
        ));
    }
    let loaded = match scenarios::load(file) {
        Ok(l) => l,
        Err(e) => return bad_input(&e),
    };
    if loaded.expect.is_empty() {
        errln!(
            "note: {} states no `expect: [...]`: only invariant violations can be found",
            file.display()
        );
    }
    let last = first.saturating_add(seeds);
    let found = match hasim::hunt::hunt(&loaded, &file.display().to_string(), first..last, jobs) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    outln!(
        "hasim {} · hunt {} · seeds {first}..{} · {} of {seeds} failed",
        hasim::VERSION,
        file.display(),
        last - 1,
        found.len()
    );
    for f in &found {
        outln!("\nseed {}: {}", f.seed, f.problems.join("; "));
        outln!("  reproduce: {}", f.reproduce);
    }
    if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_EXPECTATION)
    }
}

struct DiffOptions {
    tolerance: f64,
    absolute: f64,
    direction: Direction,
    ignore: Vec<String>,
    select: Vec<String>,
    rules: Option<PathBuf>,
}

fn diff_reports(old: &std::path::Path, new: &std::path::Path, o: DiffOptions) -> ExitCode {
    let (tolerance, absolute) = (o.tolerance, o.absolute);
    if !(tolerance >= 0.0 && absolute >= 0.0) {
        return fail("--tolerance and --absolute must be ≥ 0");
    }
    let fail_if = match o.direction {
        Direction::Either => scenarios::raw::FailIf::Either,
        Direction::Higher => scenarios::raw::FailIf::Higher,
        Direction::Lower => scenarios::raw::FailIf::Lower,
    };
    let mut rules = hasim::diff::Rules::everywhere(tolerance, absolute, fail_if);
    rules.ignore = o.ignore;
    rules.select = o.select;
    if let Some(path) = &o.rules {
        match scenarios::load_golden(path) {
            Ok(g) => rules.extend(&g),
            Err(e) => return bad_input(&e),
        }
    }
    if let Err(e) = rules.validate() {
        return fail(e);
    }
    let read = |p: &std::path::Path| -> Result<serde_json::Value, String> {
        let text = read_input(p, "report")?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a JSON report: {e}",
                p.display(),
                e.line(),
                e.column()
            )
        })
    };
    let (a, b) = match (read(old), read(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let changes = hasim::diff::diff_with(&a, &b, &rules);
    if changes.is_empty() {
        outln!("no differences beyond tolerance {tolerance} (relative) / {absolute} (absolute)");
        return ExitCode::SUCCESS;
    }
    outln!(
        "{} value(s) moved between {} and {}:",
        changes.len(),
        old.display(),
        new.display()
    );
    for c in &changes {
        outln!("  {}: {}", c.path, c.what);
    }
    ExitCode::from(EXIT_EXPECTATION)
}

fn snapshot_test(
    dir: &std::path::Path,
    accept: bool,
    junit: Option<&std::path::Path>,
    jobs: usize,
) -> ExitCode {
    use hasim::snapshot::{
        Outcome, describe, discover, folder_rules, junit as junit_xml, test_case,
    };
    let cases = match discover(dir) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if cases.is_empty() {
        return fail(format!(
            "{}: no .ron files to test (scenario and sweep files, each with a .golden.json beside it)",
            dir.display()
        ));
    }
    let folder = match folder_rules(dir) {
        Ok(r) => r,
        Err(e) => return bad_input(&e),
    };
    if let Err(e) = folder.validate() {
        return fail(format!(
            "{}: {e}",
            dir.join(hasim::snapshot::CONFIG).display()
        ));
    }
    let shown = hasim::shown_path(dir);
    outln!(
        "hasim {} · test {shown} · {} file(s){}",
        hasim::VERSION,
        cases.len(),
        if accept { " · accepting" } else { "" }
    );
    let mut results = Vec::new();
    for case in &cases {
        let r = test_case(case, &folder, jobs, accept);
        let golden = hasim::shown_path(&r.golden);
        match &r.outcome {
            Outcome::Passed => outln!("ok       {}", r.name),
            Outcome::Accepted { new: true, .. } => {
                outln!("accepted {} (new golden {golden})", r.name)
            }
            Outcome::Accepted { changes, .. } => {
                outln!(
                    "accepted {} ({} field(s) moved; rewrote {golden})",
                    r.name,
                    changes.len()
                )
            }
            Outcome::Failed(changes) => {
                outln!("FAILED   {}: {} field(s) moved", r.name, changes.len());
                // Enough to see what happened; all of them are in the JUnit file.
                const SHOWN: usize = 25;
                for line in describe(&changes[..changes.len().min(SHOWN)]).lines() {
                    outln!("           {line}");
                }
                if changes.len() > SHOWN {
                    outln!(
                        "           … {} more (all in --junit, or `hasim diff {golden} NEW.json`)",
                        changes.len() - SHOWN
                    );
                }
                outln!("           golden: {golden}");
                outln!("           reproduce (in {shown}): {}", r.reproduce);
            }
            Outcome::Missing => outln!(
                "MISSING  {}: no golden file {golden} (write it with --accept)",
                r.name
            ),
            Outcome::Error(e) => {
                outln!("ERROR    {}:", r.name);
                for line in e.lines() {
                    outln!("           {line}");
                }
            }
        }
        results.push(r);
    }
    let count = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
    let passed = count(|o| matches!(o, Outcome::Passed));
    let accepted = count(|o| matches!(o, Outcome::Accepted { .. }));
    let failed = count(|o| matches!(o, Outcome::Failed(_) | Outcome::Missing));
    let errors = count(|o| matches!(o, Outcome::Error(_)));
    outln!(
        "\nhasim test {shown}: {passed} ok, {accepted} accepted, {failed} failed, {errors} could not run"
    );
    if let Some(path) = junit {
        let xml = junit_xml(&format!("hasim test {shown}"), &results);
        if let Err(e) = hasim::write_atomically(path, xml.as_bytes()) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
        errln!("wrote {}", path.display());
    }
    if errors > 0 {
        ExitCode::from(EXIT_BAD_INPUT)
    } else if failed > 0 {
        if !accept {
            errln!("a change that is intended: rerun with --accept and commit the golden files");
        }
        ExitCode::from(EXIT_EXPECTATION)
    } else {
        ExitCode::SUCCESS
    }
}

/// True when the file's first value is a `Sweep(…)`. Reads through the loader's guard, so a
/// device or an oversized file is left for the loader to refuse.
fn is_sweep_file(file: &std::path::Path) -> bool {
    let Ok(bytes) = scenarios::read_bounded(file, "scenario") else {
        return false;
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#!"))
        .is_some_and(|l| l.starts_with("Sweep"))
}

/// `1 client`, `2 clients`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Checks every output path before any simulation: files (`--out`, `--html`, …) and folders
/// (`--charts`, a sweep's `--out`). A run must not compute for an hour and then find that it
/// cannot write its result.
fn check_outputs(
    files: &[Option<&std::path::Path>],
    dirs: &[Option<&std::path::Path>],
) -> Result<(), ExitCode> {
    for f in files.iter().flatten() {
        hasim::output::check_file(f).map_err(fail)?;
    }
    for d in dirs.iter().flatten() {
        hasim::output::check_dir(d).map_err(fail)?;
    }
    Ok(())
}

/// A regular file's text, within the input size limit (a device or FIFO is refused).
fn read_input(p: &std::path::Path, what: &str) -> Result<String, String> {
    let bytes =
        scenarios::read_bounded(p, what).map_err(|(m, h)| format!("{}: {m}; {h}", p.display()))?;
    String::from_utf8(bytes)
        .map_err(|_| format!("{}: the {what} file is not UTF-8 text", p.display()))
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    errln!("error: {msg}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Loads a sweep file, picks its seed and applies its warm-up rule.
fn load_prepared(
    file: &std::path::Path,
    run: &SweepArgs,
) -> Result<(scenarios::SweepFile, u64), ExitCode> {
    let mut s = scenarios::load_sweep(file).map_err(|e| bad_input(&e))?;
    let seed = sweep_seed(&s, run.seed);
    hasim::sweep::prepare(&mut s, seed, run.jobs).map_err(fail)?;
    Ok((s, seed))
}

fn sweep_seed(s: &scenarios::SweepFile, seed: Option<u64>) -> u64 {
    hasim::sweep::seed_of(s, seed)
}

fn sweep(
    file: &std::path::Path,
    run: &SweepArgs,
    shard: Option<String>,
    shards: Option<u64>,
    out: Option<PathBuf>,
    resume: bool,
    (format, gates): (SweepFormat, &[hasim::gate::Condition]),
) -> ExitCode {
    use hasim::sweep::{Shard, header, run_shard};
    let (out_file, out_dir) = match shard {
        Some(_) => (out.as_deref(), None),
        None => (None, out.as_deref()),
    };
    if let Err(code) = check_outputs(
        &[out_file, run.visuals.html.as_deref()],
        &[out_dir, run.visuals.charts.as_deref()],
    ) {
        return code;
    }
    let (s, seed) = match load_prepared(file, run) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(code) = check_gates_first(gates, &s) {
        return code;
    }
    let head = header(&s, seed, false);
    let shard = match shard.as_deref() {
        None => None,
        Some("auto") => match Shard::from_env(|k| std::env::var(k).ok(), shards) {
            Ok(sh) => Some(sh),
            Err(e) => return fail(e),
        },
        Some(text) => match Shard::parse(text) {
            Ok(sh) => Some(sh),
            Err(e) => return fail(e),
        },
    };
    if shard.is_some() && out.is_none() {
        return fail(
            "--shard needs --out PART.json: a shard writes a partial file for `hasim merge`",
        );
    }
    let checkpoint = out
        .as_ref()
        .map(|o| PathBuf::from(format!("{}.units", o.display())));
    if let (Some(dir), false) = (&checkpoint, resume) {
        // A fresh start: forget what an earlier, different run left.
        let _ = std::fs::remove_dir_all(dir);
    }
    let progress = matches!(run.progress, Progress::Auto);
    let units = match run_shard(
        &s,
        &head,
        shard.unwrap_or(Shard::ALL),
        run.jobs,
        checkpoint.as_deref(),
        progress,
    ) {
        Ok(u) => u,
        Err(e) => return fail(e),
    };
    let done = |code: ExitCode| {
        if let Some(dir) = &checkpoint {
            let _ = std::fs::remove_dir_all(dir);
        }
        code
    };
    if let (Some(shard), Some(out)) = (shard, &out) {
        let part = hasim::sweep::Partial {
            units: hasim::sweep::units_of(shard, head.units_total),
            header: head,
            shard,
            variants: units,
            checksum: String::new(), // set by to_file
        };
        return match hasim::write_atomically(out, part.to_file().as_bytes()) {
            Ok(()) => {
                errln!(
                    "wrote {} (shard {}/{}, {} units)",
                    out.display(),
                    shard.k,
                    shard.n,
                    part.units
                );
                done(ExitCode::SUCCESS)
            }
            Err(e) => fail(format!("cannot write {}: {e}", out.display())),
        };
    }
    let code = emit_sweep(&head, &units, out.as_deref(), format, &run.visuals, gates);
    done(code)
}

fn adaptive(
    file: &std::path::Path,
    run: &SweepArgs,
    sharded: bool,
    out: Option<PathBuf>,
    (format, gates): (SweepFormat, &[hasim::gate::Condition]),
    target: f64,
    max: u32,
) -> ExitCode {
    if sharded {
        return fail(
            "--target-ci decides the replication count as it goes: run it on one machine, without --shard or --resume",
        );
    }
    if !(target.is_finite() && target > 0.0) {
        return fail(format!(
            "--target-ci {target}: give a positive fraction, e.g. 0.02"
        ));
    }
    if let Err(code) = check_outputs(
        &[run.visuals.html.as_deref()],
        &[out.as_deref(), run.visuals.charts.as_deref()],
    ) {
        return code;
    }
    let (s, seed) = match load_prepared(file, run) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(code) = check_gates_first(gates, &s) {
        return code;
    }
    if (s.variants.len() as u64).saturating_mul(u64::from(max)) > scenarios::limits::limits().runs {
        return fail(format!(
            "{} variants × --max-replications {max} could make more runs than the limit of {}: lower --max-replications, or run with --allow-large",
            s.variants.len(),
            scenarios::limits::limits().runs
        ));
    }
    let mut head = hasim::sweep::header(&s, seed, false);
    let progress = matches!(run.progress, Progress::Auto);
    let (aggs, r) = match hasim::sweep::run_adaptive(&s, &head, run.jobs, progress, target, max) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    head.replications = r;
    head.units_total = r as u64 * s.variants.len() as u64;
    let report = hasim::sweep::report(
        &head,
        &aggs,
        format!(
            "hasim sweep {} --seed {seed} --target-ci {target} --max-replications {max}",
            head.sweep
        ),
    );
    emit_report(&report, out.as_deref(), format, &run.visuals, gates)
}

fn check_sweep_determinism(
    file: &std::path::Path,
    run: &SweepArgs,
    format: SweepFormat,
) -> ExitCode {
    use hasim::sweep::{Shard, header, report, run_shard};
    let (s, seed) = match load_prepared(file, run) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let head = header(&s, seed, false);
    let progress = matches!(run.progress, Progress::Auto);
    let many = run.jobs.max(2);
    let mut reports = Vec::new();
    for jobs in [1, many] {
        match run_shard(&s, &head, Shard::ALL, jobs, None, progress) {
            Ok(aggs) => reports.push(report(&head, &aggs, sweep_reproduce(&head))),
            Err(e) => return fail(e),
        }
    }
    let (one, other) = (reports[0].to_json(), reports[1].to_json());
    if one != other {
        let first = reports[0]
            .variants
            .iter()
            .zip(&reports[1].variants)
            .find(|(a, b)| a.fingerprint != b.fingerprint || a.metrics.len() != b.metrics.len());
        let which = first.map_or("the reports".to_string(), |(a, _)| {
            format!("variant {} ({})", a.index, a.label)
        });
        errln!(
            "error: determinism check failed: --jobs 1 and --jobs {many} differ in {which}\n  reproduce: {}",
            sweep_reproduce(&head)
        );
        return ExitCode::from(EXIT_INVARIANT);
    }
    errln!("determinism check passed: --jobs 1 and --jobs {many} give identical reports");
    emit_report(&reports[1], None, format, &run.visuals, &[])
}

fn sweep_reproduce(head: &hasim::sweep::Header) -> String {
    format!("hasim sweep {} --seed {}", head.sweep, head.seed)
}

fn emit_sweep(
    head: &hasim::sweep::Header,
    units: &[reports::VariantAgg],
    out: Option<&std::path::Path>,
    format: SweepFormat,
    visuals: &Visuals,
    gates: &[hasim::gate::Condition],
) -> ExitCode {
    let report = hasim::sweep::report(head, units, sweep_reproduce(head));
    emit_report(&report, out, format, visuals, gates)
}

fn emit_report(
    report: &reports::SweepReport,
    out: Option<&std::path::Path>,
    format: SweepFormat,
    visuals: &Visuals,
    gates: &[hasim::gate::Condition],
) -> ExitCode {
    let labels: Vec<String> = report.variants.iter().map(|v| v.label.clone()).collect();
    let names = |v: usize| report.variants[v].metrics.keys().cloned().collect();
    for g in gates {
        if let Err(e) = hasim::gate::check(g, &labels, &names) {
            return fail(e);
        }
    }
    let (table, json, csv) = (report.to_table(), report.to_json(), report.to_csv());
    let labels: Vec<String> = report.variants.iter().map(|v| v.label.clone()).collect();
    let axes = hasim::visual::Axes::from_labels(&labels);
    // The sweep file as run, when it is still where the report says.
    let source = read_input(std::path::Path::new(&report.meta.sweep), "sweep").unwrap_or_default();
    if let Err(e) = write_visuals(
        visuals,
        |f| hasim::visual::sweep_charts(report, &axes, f),
        || {
            let charts =
                hasim::visual::sweep_charts(report, &axes, reports::charts::ChartFormat::Svg)?;
            Ok(hasim::visual::sweep_page(
                &format!("hasim sweep — {}", report.meta.sweep),
                &table,
                report,
                &charts,
                &report.meta.sweep,
                &source,
            ))
        },
    ) {
        return fail(e);
    }
    if let Some(dir) = out {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return fail(format!("cannot create {}: {e}", dir.display()));
        }
        for (name, text) in [
            ("report.txt", &table),
            ("report.json", &json),
            ("report.csv", &csv),
        ] {
            if let Err(e) = hasim::write_atomically(&dir.join(name), text.as_bytes()) {
                return fail(format!("cannot write {}: {e}", dir.join(name).display()));
            }
        }
        errln!("wrote {}", dir.join("report.{txt,json,csv}").display());
    }
    out!(
        "{}",
        match format {
            SweepFormat::Table => table,
            SweepFormat::Json => json,
            SweepFormat::Csv => csv,
        }
    );
    let mean = |v: usize, m: &str| report.variants[v].metrics.get(m).map(|e| e.mean);
    check_gates(gates, &labels, mean)
}

/// Checks a sweep's `--fail-if` conditions before it runs: the variants they name exist and
/// have the metrics they read (exit 2 otherwise).
fn check_gates_first(
    gates: &[hasim::gate::Condition],
    s: &scenarios::SweepFile,
) -> Result<(), ExitCode> {
    let labels: Vec<String> = s.variants.iter().map(|v| v.label.clone()).collect();
    let names = |v: usize| hasim::sweep::metric_names(&s.variants[v].loaded);
    for g in gates {
        hasim::gate::check(g, &labels, &names).map_err(fail)?;
    }
    Ok(())
}

/// Parses every `--fail-if` of a sweep or comparison (exit 2 on the first bad one).
fn parse_gates(texts: &[String]) -> Result<Vec<hasim::gate::Condition>, ExitCode> {
    texts
        .iter()
        .map(|t| hasim::gate::parse(t).map_err(fail))
        .collect()
}

/// Exit 1, naming each condition that held and where, or 0.
fn check_gates(
    gates: &[hasim::gate::Condition],
    labels: &[String],
    mean: impl Fn(usize, &str) -> Option<f64>,
) -> ExitCode {
    let mut failed = false;
    for g in gates {
        match hasim::gate::evaluate(g, labels, &mean) {
            Ok(held) => {
                for h in held {
                    errln!("fail-if held: '{}': {h}", g.text);
                    failed = true;
                }
            }
            Err(e) => return fail(e),
        }
    }
    if failed {
        ExitCode::from(EXIT_EXPECTATION)
    } else {
        ExitCode::SUCCESS
    }
}

fn merge(
    parts: &[PathBuf],
    out: Option<PathBuf>,
    format: SweepFormat,
    visuals: &Visuals,
) -> ExitCode {
    if let Err(code) = check_outputs(
        &[visuals.html.as_deref()],
        &[out.as_deref(), visuals.charts.as_deref()],
    ) {
        return code;
    }
    let mut loaded = Vec::new();
    for p in parts {
        let text = match read_input(p, "partial") {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        match hasim::sweep::Partial::from_file(&p.display().to_string(), &text) {
            Ok(part) => loaded.push((p.display().to_string(), part)),
            Err(e) => return fail(e),
        }
    }
    match hasim::sweep::merge(loaded) {
        Ok((head, units)) => emit_sweep(&head, &units, out.as_deref(), format, visuals, &[]),
        Err(e) => fail(e),
    }
}

struct CompareArgs {
    baseline: usize,
    independent: bool,
    min_effect: f64,
    format: SweepFormat,
    out: Option<PathBuf>,
    target_ci: Option<f64>,
    max_replications: u32,
    fail_if: Vec<String>,
}

fn compare(file: &std::path::Path, run: &SweepArgs, a: &CompareArgs) -> ExitCode {
    use hasim::sweep::{header, unit_metrics, unit_metrics_adaptive};
    let baseline = a.baseline;
    if !(a.min_effect.is_finite() && a.min_effect >= 0.0) {
        return fail(format!(
            "--min-effect {}: give a fraction ≥ 0, e.g. 0.01 for 1%",
            a.min_effect
        ));
    }
    if let Some(t) = a.target_ci
        && !(t.is_finite() && t > 0.0)
    {
        return fail(format!(
            "--target-ci {t}: give a positive fraction, e.g. 0.02"
        ));
    }
    let gates = match parse_gates(&a.fail_if) {
        Ok(g) => g,
        Err(code) => return code,
    };
    if let Err(code) = check_outputs(
        &[run.visuals.html.as_deref(), a.out.as_deref()],
        &[run.visuals.charts.as_deref()],
    ) {
        return code;
    }
    let (s, seed) = match load_prepared(file, run) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if s.variants.len() < 2 {
        return fail(format!(
            "{}: compare needs at least two variants (add an axis)",
            file.display()
        ));
    }
    if baseline >= s.variants.len() {
        return fail(format!(
            "--baseline {baseline}: the sweep has variants 0 to {}",
            s.variants.len() - 1
        ));
    }
    if s.replications < 2 {
        return fail("compare needs at least 2 replications for a confidence interval");
    }
    let labels: Vec<String> = s.variants.iter().map(|v| v.label.clone()).collect();
    if let Err(code) = check_gates_first(&gates, &s) {
        return code;
    }
    let progress = matches!(run.progress, Progress::Auto);
    let mut paired = header(&s, seed, false);
    let units = match a.target_ci {
        Some(t) => {
            match unit_metrics_adaptive(&s, &paired, run.jobs, progress, t, a.max_replications) {
                Ok((u, r)) => {
                    paired.replications = r;
                    u
                }
                Err(e) => return fail(e),
            }
        }
        None => match unit_metrics(&s, &paired, run.jobs, progress) {
            Ok(u) => u,
            Err(e) => return fail(e),
        },
    };
    let ind_units = if a.independent {
        let mut ind = s.clone();
        ind.replications = paired.replications;
        let mut head = header(&ind, seed, true);
        head.replications = paired.replications;
        match unit_metrics(&ind, &head, run.jobs, progress) {
            Ok(u) => Some(u),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    let mut reproduce = format!(
        "hasim compare {} --seed {seed} --baseline {baseline} --min-effect {}",
        file.display(),
        a.min_effect
    );
    if let Some(t) = a.target_ci {
        reproduce.push_str(&format!(
            " --target-ci {t} --max-replications {}",
            a.max_replications
        ));
    }
    if a.independent {
        reproduce.push_str(" --independent");
    }
    let meta = reports::SweepMeta {
        hasim_version: hasim::VERSION.into(),
        sweep: file.display().to_string(),
        sweep_hash: paired.sweep_hash.clone(),
        scenario: paired.scenario.clone(),
        seed,
        replications: paired.replications,
        warmup_rule: paired.warmup_rule.clone(),
        reproduce,
    };
    let why = |x: usize, y: usize| hasim::sweep::why_identical(&s, x, y);
    let (columns, values) = units.common();
    let independent = ind_units.map(|u| u.common().1);
    let report = reports::compare::CompareReport::new(&reports::compare::CompareInput {
        meta: meta.clone(),
        labels: &paired.variants,
        columns: &columns,
        values: &values,
        baseline,
        independent: independent.as_deref(),
        min_effect: a.min_effect,
        why_identical: &why,
    });
    let text = match a.format {
        SweepFormat::Table => report.to_table(),
        SweepFormat::Json => report.to_json(),
        SweepFormat::Csv => report.to_csv(),
    };
    match &a.out {
        None => out!("{text}"),
        Some(path) => match hasim::write_atomically(path, text.as_bytes()) {
            Ok(()) => errln!("wrote {}", path.display()),
            Err(e) => return fail(format!("cannot write {}: {e}", path.display())),
        },
    }
    let source = read_input(file, "sweep").unwrap_or_default();
    if let Err(e) = write_visuals(
        &run.visuals,
        |f| hasim::visual::compare_charts(&paired.variants, (&columns, &values), baseline, f),
        || {
            let charts = hasim::visual::compare_charts(
                &paired.variants,
                (&columns, &values),
                baseline,
                reports::charts::ChartFormat::Svg,
            )?;
            Ok(hasim::visual::compare_page(
                &report,
                &charts,
                &file.display().to_string(),
                &source,
            ))
        },
    ) {
        return fail(e);
    }
    check_gates(&gates, &labels, |v, m| units.mean(v, m))
}

/// Renders a scenario error once, and exits 2: where and what on one line, then the source
/// snippet with what was expected there and the hint (or, without a position, the plain text).
fn bad_input(e: &scenarios::ScenarioError) -> ExitCode {
    let plain = e.to_string();
    let snippet = match (e.span.clone(), e.source_text.is_empty()) {
        (Some(span), false) => {
            let mut diag = miette::MietteDiagnostic::new(e.message.clone()).with_labels([
                miette::LabeledSpan::at(
                    span,
                    e.expected
                        .clone()
                        .map_or("here".to_string(), |x| format!("expected {x}")),
                ),
            ]);
            if let Some(h) = &e.help {
                diag = diag.with_help(h.clone());
            }
            let report = miette::Report::new(diag).with_source_code(miette::NamedSource::new(
                e.file.clone(),
                e.source_text.clone(),
            ));
            let handler = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            );
            let mut out = String::new();
            handler
                .render_report(&mut out, report.as_ref())
                .ok()
                // The header repeats the message printed above: keep the snippet on.
                .and_then(|_| {
                    out.find('╭')
                        .map(|i| out[..i].rfind('\n').map_or(0, |n| n + 1))
                })
                .map(|start| out[start..].to_string())
        }
        _ => None,
    };
    match snippet {
        Some(snippet) => {
            errln!("error: {}", plain.lines().next().unwrap_or(""));
            err!("{snippet}");
        }
        None => errln!("error: {plain}"),
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

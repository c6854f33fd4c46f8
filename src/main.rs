//! The `hasim` command line: parse arguments, load the scenario, run it, print or write the
//! report. The only place that prints. Exit codes: 0 success, 1 an expectation failed,
//! 2 bad input or usage.

use clap::{Parser, Subcommand, ValueEnum};
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
    },
    /// Parse and validate a scenario without running it.
    Check {
        /// The scenario file (RON).
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Aligned text for people.
    Table,
    /// Stable JSON for programs.
    Json,
}

const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            file,
            seed,
            replication,
            format,
            out,
        } => run(&file, seed, replication, format, out),
        Command::Check { file } => match scenarios::load(&file) {
            Ok(loaded) => {
                println!(
                    "{}: ok ({} clients, {} balancers, {} pools)",
                    file.display(),
                    loaded.spec.clients.len(),
                    loaded.spec.balancers.len(),
                    loaded.spec.pools.len()
                );
                for n in &loaded.notes {
                    println!("note: {n}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => bad_input(&e),
        },
    }
}

fn run(
    file: &std::path::Path,
    seed: Option<u64>,
    replication: u64,
    format: Format,
    out: Option<PathBuf>,
) -> ExitCode {
    let loaded = match scenarios::load(file) {
        Ok(l) => l,
        Err(e) => return bad_input(&e),
    };
    let mut notes = Vec::new();
    let seed = match (seed, loaded.seed) {
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
    if replication != 0 {
        reproduce.push_str(&format!(" --replication {replication}"));
    }
    let report = hasim::run_report(&loaded, seed, replication, reproduce, notes);
    let text = match format {
        Format::Table => reports::render_table(&report),
        Format::Json => report.to_json(),
    };
    match out {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some(path) => match hasim::write_atomically(&path, text.as_bytes()) {
            Ok(()) => {
                eprintln!("wrote {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
    }
}

/// Renders a scenario error with its source snippet and exits 2.
fn bad_input(e: &scenarios::ScenarioError) -> ExitCode {
    eprintln!("error: {e}");
    if let (Some(span), false) = (e.span.clone(), e.source_text.is_empty()) {
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
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        if handler.render_report(&mut out, report.as_ref()).is_ok() {
            eprint!("{out}");
        }
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

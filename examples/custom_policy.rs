//! Bring your own balancing algorithm: "least loaded of d, with a latency penalty", compared
//! with power of two choices (`LeastRequest(choices: 2)`) and round robin on the model of
//! `scenarios/lb-compare.ron` (`scenarios/lb-p2c.ron`: 10 single-worker replicas at 90% load),
//! replication r of every policy on the same arrivals and service times (common random
//! numbers), so the paired differences are the policies' own.
//!
//! ```text
//! cargo run --release --example custom_policy [REPLICATIONS]
//! ```

use hasim::{CustomPolicy, Extensions, ParamError, PolicyView, Run, SimDuration, SimTime, Stream};

/// Samples `d` eligible backends (with replacement) and sends to the one with the lowest score:
/// its in-flight requests plus `penalty_per_ms` for each millisecond of its recent latency (an
/// exponentially weighted average with weight `alpha` on each new answer).
#[derive(Clone, Debug)]
pub struct LeastLoadedLatency {
    d: u32,
    penalty_per_ms: f64,
    alpha: f64,
    /// Per backend: the latency average, ms (0 until it answers).
    latency_ms: Vec<f64>,
}

impl CustomPolicy for LeastLoadedLatency {
    fn pick(&mut self, view: &PolicyView<'_>, rng: &mut Stream) -> usize {
        let e = view.eligible();
        let mut best = (f64::INFINITY, e[0] as usize);
        for _ in 0..self.d {
            let b = e[rng.below(e.len() as u32) as usize] as usize;
            let score = view.in_flight(b) as f64 + self.penalty_per_ms * self.latency_ms[b];
            if score < best.0 {
                best = (score, b);
            }
        }
        best.1
    }

    fn on_complete(&mut self, backend: usize, latency: SimDuration, _now: SimTime) {
        let ms = latency.0 as f64 / 1e6;
        let avg = &mut self.latency_ms[backend];
        *avg += self.alpha * (ms - *avg);
    }
}

/// The extensions this example registers: `least_loaded_latency` with parameters `d` (≥ 1,
/// default 2), `penalty_per_ms` (≥ 0, default 0.002) and `alpha` (in (0, 1], default 0.1).
pub fn extensions() -> Extensions {
    Extensions::new().policy("least_loaded_latency", |p| {
        let d = p.u32_or("d", 2)?;
        if d == 0 {
            return Err(p
                .error("d", "d must be at least 1")
                .with_help("d = 2 is the usual choice"));
        }
        let penalty_per_ms = p.f64_or("penalty_per_ms", 0.002)?;
        if penalty_per_ms < 0.0 {
            return Err(p.error("penalty_per_ms", "penalty_per_ms must not be negative"));
        }
        let alpha = p.f64_or("alpha", 0.1)?;
        if !(alpha > 0.0 && alpha <= 1.0) {
            return Err(ParamError::at("alpha", "alpha must be in (0, 1]")
                .with_help("0.1 averages over about ten answers"));
        }
        Ok(move |backends: usize| LeastLoadedLatency {
            d,
            penalty_per_ms,
            alpha,
            latency_ms: vec![0.0; backends],
        })
    })
}

/// One policy's figures over the replications.
#[derive(Clone, Debug)]
pub struct Row {
    /// The policy as written in the scenario.
    pub policy: String,
    /// Mean latency, ms, averaged over replications.
    pub mean_ms: f64,
    /// p99 latency, ms, averaged over replications.
    pub p99_ms: f64,
    /// Mean latency minus round robin's, per replication (common random numbers).
    pub vs_round_robin_ms: Vec<f64>,
}

/// The policies compared, as a scenario writes them.
pub const POLICIES: [&str; 3] = [
    "RoundRobin",
    "LeastRequest(choices: 2)",
    r#"Custom(name: "least_loaded_latency", params: {"d": 2, "penalty_per_ms": 0.002})"#,
];

/// Runs every policy of [`POLICIES`] for `replications` replications of lb-compare's model
/// with lb-compare's seed (11).
pub fn compare(replications: u64) -> Result<Vec<Row>, String> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/lb-p2c.ron");
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let ext = extensions();
    let mut means: Vec<Vec<f64>> = Vec::new();
    let mut rows = Vec::new();
    for policy in POLICIES {
        let written = "policy: LeastRequest(choices: 2)";
        if !text.contains(written) {
            return Err(format!("{file} no longer has `{written}`"));
        }
        let variant = text.replacen(written, &format!("policy: {policy}"), 1);
        let loaded = hasim::parse_str_with(&variant, file, &ext).map_err(|e| e.to_string())?;
        let (mut mean, mut p99) = (Vec::new(), Vec::new());
        for r in 0..replications {
            let (report, _) = Run::new(&loaded).seed(11).replication(r).execute();
            mean.push(report.latency_ms.mean);
            p99.push(report.latency_ms.p99);
        }
        let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        rows.push(Row {
            policy: policy.to_string(),
            mean_ms: avg(&mean),
            p99_ms: avg(&p99),
            vs_round_robin_ms: match means.first() {
                Some(rr) => mean.iter().zip(rr).map(|(m, r)| m - r).collect(),
                None => vec![0.0; mean.len()],
            },
        });
        means.push(mean);
    }
    Ok(rows)
}

/// The rows as a table: mean and p99 latency, and the mean paired difference from round robin
/// with its 95% confidence half-width.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<84} {:>9} {:>9} {:>20}\n",
        "policy", "mean ms", "p99 ms", "vs RoundRobin ms"
    );
    for r in rows {
        let n = r.vs_round_robin_ms.len();
        let d = r.vs_round_robin_ms.iter().sum::<f64>() / n as f64;
        let var = (r.vs_round_robin_ms.iter())
            .map(|x| (x - d) * (x - d))
            .sum::<f64>()
            / (n.max(2) - 1) as f64;
        #[allow(clippy::disallowed_methods)] // a confidence interval of the output, not a draw
        let half = reports::student_t_975(n.max(2) - 1) * (var / n as f64).sqrt();
        out += &format!(
            "{:<84} {:>9.1} {:>9.1} {:>11.1} ± {:>6.1}\n",
            r.policy, r.mean_ms, r.p99_ms, d, half
        );
    }
    out
}

#[allow(dead_code)] // tests/it/examples.rs includes this file for its functions
fn main() -> std::process::ExitCode {
    let replications = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    match compare(replications) {
        Ok(rows) => {
            print!("{}", table(&rows));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

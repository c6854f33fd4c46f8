//! `--fail-if` on sweeps and comparisons: a condition over variants' mean figures that fails
//! the command (exit 1) when it holds, e.g. `p99_ms(LeastRequest) > p99_ms(RoundRobin)`,
//! `availability(#2) < 0.999`, `p99_ms > 250` (any variant), or over a store's metric,
//! `kv.write_availability(#0) < kv.write_availability(#2)`. A metric that a variant named (or,
//! without a variant, any variant) does not have is refused, with the names it has.

use reports::METRICS;

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

/// `METRIC` or `METRIC(VARIANT)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// The metric's key: a [`METRICS`] name, or a store's `<store>.<metric>`.
    pub metric: String,
    /// The variant as written (`#2`, `2`, a label or a unique part of one); none for every
    /// variant.
    pub variant: Option<String>,
}

/// The right-hand side.
#[derive(Clone, Debug, PartialEq)]
pub enum Rhs {
    /// A number in the metric's unit.
    Number(f64),
    /// Another variant's figure.
    Term(Term),
}

/// One `--fail-if` condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// As written.
    pub text: String,
    /// Left side.
    pub lhs: Term,
    /// Operator.
    pub op: Op,
    /// Right side.
    pub rhs: Rhs,
}

const HINT: &str = "write e.g. 'p99_ms(LeastRequest) > p99_ms(RoundRobin)', 'availability(#2) < 0.999' or 'mean_ms > 50' (metrics: p50_ms, p90_ms, p99_ms, p999_ms, mean_ms, max_ms, availability, throughput, any sweep metric name, or a store's STORE.METRIC such as kv.write_availability)";

/// The metric a person's name stands for: a [`METRICS`] name (or its short form), or a
/// store's `<store>.<metric>`, which only the sweep's variants can confirm (see [`check`]).
fn metric(name: &str) -> Option<String> {
    if let Some((store, m)) = name.rsplit_once('.')
        && !store.is_empty()
        && !m.is_empty()
    {
        return Some(name.to_string());
    }
    let key = match name {
        "p50" | "p50_ms" => "latency_ms_p50",
        "p90" | "p90_ms" => "latency_ms_p90",
        "p99" | "p99_ms" => "latency_ms_p99",
        "p999" | "p999_ms" => "latency_ms_p999",
        "mean" | "mean_ms" => "latency_ms_mean",
        "max" | "max_ms" => "latency_ms_max",
        "availability" => "availability_request",
        "throughput" | "throughput_rps" => "throughput_rps",
        other => other,
    };
    METRICS
        .iter()
        .find(|m| m.name == key)
        .map(|m| m.name.to_string())
}

fn term(text: &str, whole: &str) -> Result<Term, String> {
    let t = text.trim();
    let (name, variant) = match t.split_once('(') {
        Some((n, rest)) => {
            let Some(v) = rest.strip_suffix(')') else {
                return Err(format!(
                    "--fail-if '{whole}': `{t}` has no closing `)`; {HINT}"
                ));
            };
            (n.trim(), Some(v.trim().to_string()))
        }
        None => (t, None),
    };
    let metric = metric(name)
        .ok_or_else(|| format!("--fail-if '{whole}': `{name}` is not a metric; {HINT}"))?;
    Ok(Term { metric, variant })
}

/// Parses `LHS OP RHS`.
pub fn parse(text: &str) -> Result<Condition, String> {
    // The operator outside parentheses (labels may hold `<`? they hold `(`, `,` and `:`).
    let mut depth = 0i32;
    let mut found = None;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'<' | b'>' if depth == 0 => {
                let eq = bytes.get(i + 1) == Some(&b'=');
                let op = match (b, eq) {
                    (b'>', false) => Op::Gt,
                    (b'>', true) => Op::Ge,
                    (b'<', false) => Op::Lt,
                    _ => Op::Le,
                };
                found = Some((i, op, if eq { 2 } else { 1 }));
                break;
            }
            _ => {}
        }
    }
    let Some((at, op, len)) = found else {
        return Err(format!(
            "--fail-if '{text}': no comparison (<, <=, >, >=); {HINT}"
        ));
    };
    let lhs = term(&text[..at], text)?;
    let right = text[at + len..].trim();
    let rhs = match right.parse::<f64>() {
        Ok(x) if x.is_finite() => Rhs::Number(x),
        _ => Rhs::Term(term(right, text)?),
    };
    if let Rhs::Term(r) = &rhs
        && (r.variant.is_none() || lhs.variant.is_none())
    {
        return Err(format!(
            "--fail-if '{text}': comparing two figures needs a variant on each side, e.g. p99_ms(#1) > p99_ms(#0)"
        ));
    }
    Ok(Condition {
        text: text.to_string(),
        lhs,
        op,
        rhs,
    })
}

/// The variant `sel` names among `labels`: `#2` or `2`, a label, the label's values
/// (`LeastRequest(choices: 2)`), or a part of exactly one label.
pub fn variant(sel: &str, labels: &[String]) -> Result<usize, String> {
    let index = sel.strip_prefix('#').unwrap_or(sel);
    if let Ok(i) = index.parse::<usize>() {
        return if i < labels.len() {
            Ok(i)
        } else {
            Err(format!(
                "variant #{i}: the sweep has variants 0 to {}",
                labels.len().saturating_sub(1)
            ))
        };
    }
    let lower = sel.to_lowercase();
    if let Some(i) = labels.iter().position(|l| {
        l.to_lowercase() == lower || reports::compare::short(l).to_lowercase() == lower
    }) {
        return Ok(i);
    }
    let hits: Vec<usize> = (0..labels.len())
        .filter(|&i| {
            labels[i].to_lowercase().contains(&lower)
                || reports::compare::short(&labels[i])
                    .to_lowercase()
                    .contains(&lower)
        })
        .collect();
    match hits[..] {
        [i] => Ok(i),
        [] => Err(format!(
            "no variant matches `{sel}`; the variants are: {}",
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| format!("#{i} {}", reports::compare::short(l)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Err(format!(
            "`{sel}` matches {} variants ({}): give more of the label, or #INDEX",
            hits.len(),
            hits.iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Checks that every variant a condition names exists and has the metric it reads (without a
/// variant: that every variant has it). `metrics(v)` lists variant `v`'s metric names.
pub fn check(
    c: &Condition,
    labels: &[String],
    metrics: &dyn Fn(usize) -> Vec<String>,
) -> Result<(), String> {
    let err = |e: String| format!("--fail-if '{}': {e}", c.text);
    let has = |t: &Term, v: usize| -> Result<(), String> {
        let names = metrics(v);
        if names.contains(&t.metric) {
            return Ok(());
        }
        let what = if t.metric.contains('.') {
            "store metric"
        } else {
            "request metric"
        };
        Err(err(format!(
            "variant #{v} ({}) has no {what} `{}`; it has: {}",
            reports::compare::short(&labels[v]),
            t.metric,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )))
    };
    match &c.lhs.variant {
        Some(v) => has(&c.lhs, variant(v, labels).map_err(err)?)?,
        None => (0..labels.len()).try_for_each(|v| has(&c.lhs, v))?,
    }
    if let Rhs::Term(t) = &c.rhs
        && let Some(v) = &t.variant
    {
        has(t, variant(v, labels).map_err(err)?)?;
    }
    Ok(())
}

/// Where the condition holds: one line per variant it holds for (empty when it does not).
/// `mean(variant, metric)` gives a variant's mean figure (none: it does not have it, an error).
pub fn evaluate(
    c: &Condition,
    labels: &[String],
    mean: impl Fn(usize, &str) -> Option<f64>,
) -> Result<Vec<String>, String> {
    let err = |e: String| format!("--fail-if '{}': {e}", c.text);
    let name =
        |t: &Term, v: usize| format!("{}(#{v} {})", t.metric, reports::compare::short(&labels[v]));
    let mean = |v: usize, t: &Term| {
        mean(v, &t.metric).ok_or_else(|| err(format!("variant #{v} has no metric `{}`", t.metric)))
    };
    let lhs: Vec<usize> = match &c.lhs.variant {
        Some(v) => vec![variant(v, labels).map_err(err)?],
        None => (0..labels.len()).collect(),
    };
    let mut held = Vec::new();
    for v in lhs {
        let a = mean(v, &c.lhs)?;
        let (b, rhs) = match &c.rhs {
            Rhs::Number(x) => (*x, reports::compare::human(*x)),
            Rhs::Term(t) => {
                let w = variant(t.variant.as_deref().unwrap_or(""), labels).map_err(err)?;
                let b = mean(w, t)?;
                (
                    b,
                    format!("{} = {}", name(t, w), reports::compare::human(b)),
                )
            }
        };
        if c.op.holds(a, b) {
            held.push(format!(
                "{} = {} {} {rhs}",
                name(&c.lhs, v),
                reports::compare::human(a),
                c.op.text()
            ));
        }
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        [
            "balancers[lb].policy=RoundRobin",
            "balancers[lb].policy=Random",
            "balancers[lb].policy=LeastRequest(choices: 2)",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn parses_and_evaluates() {
        let c = parse("p99_ms(LeastRequest) > p99_ms(RoundRobin)").expect("parses");
        assert_eq!(c.op, Op::Gt);
        // p99 of variant v is 10 − v: LeastRequest (2) has 8, RoundRobin (0) has 10.
        let mean = |v: usize, m: &str| (m == "latency_ms_p99").then_some(10.0 - v as f64);
        assert!(evaluate(&c, &labels(), mean).expect("ok").is_empty());
        let c = parse("p99_ms(RoundRobin) >= p99_ms(#2)").expect("parses");
        let held = evaluate(&c, &labels(), mean).expect("ok");
        assert_eq!(held.len(), 1, "{held:?}");
        assert!(held[0].contains("= 10 >= latency_ms_p99(#2"), "{held:?}");
        // Without a variant: every variant it holds for.
        let c = parse("p99 > 8.5").expect("parses");
        assert_eq!(evaluate(&c, &labels(), mean).expect("ok").len(), 2);
    }

    #[test]
    fn bad_conditions_say_why() {
        assert!(
            parse("p99_ms(RoundRobin)")
                .unwrap_err()
                .contains("no comparison")
        );
        assert!(
            parse("p42(RoundRobin) > 1")
                .unwrap_err()
                .contains("not a metric")
        );
        assert!(
            parse("p99 > p99(#1)")
                .unwrap_err()
                .contains("variant on each side")
        );
        let all = |_: usize| METRICS.iter().map(|m| m.name.to_string()).collect();
        let c = parse("p99(Least) > 1").expect("parses");
        assert!(check(&c, &labels(), &all).is_ok());
        let c = parse("p99(policy) > 1").expect("parses");
        assert!(
            check(&c, &labels(), &all)
                .unwrap_err()
                .contains("matches 3 variants")
        );
        let c = parse("p99(#7) > 1").expect("parses");
        assert!(check(&c, &labels(), &all).unwrap_err().contains("0 to 2"));
        // A store metric parses, and is refused where a variant does not have it.
        let c = parse("kv.write_availability(#1) < 0.99").expect("parses");
        assert_eq!(c.lhs.metric, "kv.write_availability");
        let e = check(&c, &labels(), &all).unwrap_err();
        assert!(
            e.contains("variant #1 (Random) has no store metric `kv.write_availability`; it has: availability_request"),
            "{e}"
        );
        let kv = |v: usize| {
            let mut m = all(v);
            if v == 1 {
                m.push("kv.write_availability".to_string());
            }
            m
        };
        assert!(check(&c, &labels(), &kv).is_ok());
        // Without a variant, every variant must have it.
        let c = parse("kv.write_availability < 0.99").expect("parses");
        assert!(
            check(&c, &labels(), &kv)
                .unwrap_err()
                .contains("variant #0")
        );
    }
}

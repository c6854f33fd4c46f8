//! Hints for diagnostics: the closest known name to a misspelt one ("did you mean `timeout`?"),
//! lists of what would have been accepted, and a short example of each part of the format.

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo: at most
/// one edit away for short names and two for longer ones (case ignored, a swap of neighbours
/// counts as one edit), or one name a prefix of the other. Ties go to the earliest candidate.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // The edit distance costs the product of the lengths: names longer than this are not
    // typos worth a quadratic search (a 64 KiB name would take seconds).
    const LONGEST: usize = 256;
    let w = word.to_lowercase();
    let wn = w.chars().count();
    candidates
        .into_iter()
        .filter(|c| !c.is_empty() && *c != word)
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let cn = cl.chars().count();
            let shortest = wn.min(cn);
            let limit = if shortest <= 3 { 1 } else { 2 };
            let prefix = shortest >= 3 && (cl.starts_with(&w) || w.starts_with(&cl));
            // Lengths further apart than the limit cannot be within it.
            let d = if wn.abs_diff(cn) > limit || wn.max(cn) > LONGEST {
                usize::MAX
            } else {
                edit_distance(&w, &cl)
            };
            (d <= limit || prefix).then_some((d, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance between `a` and `b` in characters: insertions, deletions, substitutions and
/// swaps of two neighbours (optimal string alignment), each costing one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the dynamic-programming table: two back (for swaps), previous, current.
    let mut back2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let at = |row: &[usize], k: usize| row.get(k).copied().unwrap_or(usize::MAX - 1);
            let mut d = (at(&prev, j) + usize::from(ca != cb))
                .min(at(&prev, j + 1) + 1)
                .min(at(&cur, j) + 1);
            let swapped = i > 0
                && j > 0
                && a.get(i - 1) == Some(&cb)
                && b.get(j - 1) == Some(&ca)
                && ca != cb;
            if swapped {
                d = d.min(at(&back2, j - 1) + 1);
            }
            cur.push(d);
        }
        back2 = std::mem::replace(&mut prev, cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// "`a`", or "one of `a`, `b`, `c`".
pub fn one_of<S: AsRef<str>>(names: &[S]) -> String {
    match names {
        [] => "nothing here".into(),
        [one] => format!("`{}`", one.as_ref()),
        _ => format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{}`", n.as_ref()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A short, valid example of a struct or variant of the format, by name. `arrivals` tells the
/// two `Constant`s apart (a rate of arrivals, or a constant duration).
pub fn example(name: &str, arrivals: bool) -> Option<&'static str> {
    Some(match name {
        "Scenario" => {
            "Scenario(name: \"web\", horizon: \"1h\", clients: [Client(…)], pools: [Pool(…)])"
        }
        "Client" => "Client(name: \"users\", arrivals: Poisson(rate_per_s: 10.0), target: \"web\")",
        "Balancer" => "Balancer(name: \"lb\", policy: RoundRobin, target: \"web\")",
        "Pool" => "Pool(name: \"web\", replicas: 1, service: Exponential(mean: \"10ms\"))",
        "Failures" => {
            "Failures(time_to_failure: Exponential(mean: \"2h\"), time_to_repair: Exponential(mean: \"5m\"))"
        }
        "GrayFailures" => {
            "GrayFailures(time_between: Exponential(mean: \"2h\"), duration: Exponential(mean: \"10m\"), factor: 5.0)"
        }
        "Poisson" => "Poisson(rate_per_s: 10.0)",
        "Constant" if arrivals => "Constant(rate_per_s: 10.0)",
        "Uniform" if arrivals => "Uniform(min: \"50ms\", max: \"150ms\")",
        "Constant" => "Constant(\"10ms\")",
        "Uniform" => "Uniform(low: \"0s\", high: \"2s\")",
        "Exponential" => "Exponential(mean: \"10ms\")",
        "Normal" => "Normal(mean: \"100ms\", sd: \"10ms\")",
        "LogNormal" => {
            "LogNormal(median: \"20ms\", p99: \"150ms\") or LogNormal(mean: \"30ms\", sd: \"20ms\")"
        }
        "Erlang" => "Erlang(k: 2, mean: \"1s\")",
        "HyperExponential" => {
            "HyperExponential(branches: [(p: 0.9, mean: \"10ms\"), (p: 0.1, mean: \"1s\")])"
        }
        "Pareto" => "Pareto(scale: \"10ms\", shape: 2.5)",
        "Weibull" => "Weibull(scale: \"1s\", shape: 1.5)",
        "Empirical" => "Empirical([\"10ms\", \"12ms\", \"40ms\"])",
        "LeastRequest" => "LeastRequest(choices: 2)",
        "Availability" => "Availability(min: 0.999)",
        "LatencyP99" => "LatencyP99(max: \"200ms\")",
        "LatencyMean" => "LatencyMean(max: \"50ms\")",
        "Throughput" => "Throughput(min_rps: 100.0)",
        _ => return None,
    })
}

/// A short example of a field with a plausible value, by field name.
pub fn field_example(field: &str) -> String {
    let value = match field {
        "name" => "\"web\"",
        "target" => "\"web\"",
        "horizon" => "\"1h\"",
        "warmup" => "\"5m\"",
        "timeout" => "\"300ms\"",
        "clients" => "[Client(…)]",
        "pools" => "[Pool(…)]",
        "balancers" => "[Balancer(…)]",
        "arrivals" => "Poisson(rate_per_s: 10.0)",
        "policy" => "RoundRobin",
        "replicas" | "workers" => "1",
        "choices" => "2",
        "service" | "time_to_failure" | "time_to_repair" => "Exponential(mean: \"10ms\")",
        "time_between" => "Exponential(mean: \"2h\")",
        "rate_per_s" => "10.0",
        "mean" | "median" | "low" => "\"10ms\"",
        "sd" => "\"5ms\"",
        "p99" | "high" => "\"150ms\"",
        "min" => "\"50ms\"",
        "max" => "\"150ms\"",
        "k" => "2",
        "p" => "0.5",
        "scale" => "\"10ms\"",
        "shape" => "2.5",
        "branches" => "[(p: 0.9, mean: \"10ms\"), (p: 0.1, mean: \"1s\")]",
        _ => "…",
    };
    format!("{field}: {value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits_and_swaps() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("timeot", "timeout"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("wbe", "web"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("ca", "abc"), 3);
        assert_eq!(edit_distance("ré", "re"), 1, "characters, not bytes");
    }

    #[test]
    fn suggests_only_near_names() {
        let fields = ["name", "arrivals", "timeout", "target"];
        assert_eq!(did_you_mean("timeot", fields), Some("timeout"));
        assert_eq!(did_you_mean("Target", fields), Some("target"));
        assert_eq!(did_you_mean("arrival", fields), Some("arrivals"));
        assert_eq!(did_you_mean("wbe", ["web", "lb"]), Some("web"));
        assert_eq!(
            did_you_mean("LeastRequests", ["RoundRobin", "LeastRequest"]),
            Some("LeastRequest")
        );
        assert_eq!(did_you_mean("zzzzzz", ["web", "lb"]), None);
        assert_eq!(did_you_mean("db", ["lb", "web"]), Some("lb"));
        assert_eq!(did_you_mean("xy", ["lb"]), None, "two edits in two letters");
        assert_eq!(did_you_mean("colour", fields), None);
        assert_eq!(did_you_mean("web", ["web"]), None, "not itself");
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(one_of::<&str>(&[]), "nothing here");
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b"]), "one of `a`, `b`");
    }
}

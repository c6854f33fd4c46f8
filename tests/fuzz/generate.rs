//! Random scenario ASTs from the raw schema (scenarios/src/raw.rs): every component, field and
//! variant, rendered as RON. Values are ordinary most of the time, so that runs go deep into
//! the models, and hostile sometimes (`Rng::hostile`). Fields are sometimes left out, sometimes
//! doubled, sometimes unknown; references usually name a component that exists.

use crate::Rng;

/// Chance that an optional field is written (in a clean scenario: fewer, so that more of
/// them are valid).
const OPTIONAL: f64 = 0.3;
const OPTIONAL_CLEAN: f64 = 0.08;

/// Variant and struct names of the format, for mutations.
pub const VARIANTS: &[&str] = &[
    "Scenario",
    "Sweep",
    "Client",
    "Balancer",
    "Pool",
    "Poisson",
    "Constant",
    "Uniform",
    "PoissonSteps",
    "Exponential",
    "Normal",
    "LogNormal",
    "Erlang",
    "HyperExponential",
    "Pareto",
    "Weibull",
    "Empirical",
    "RoundRobin",
    "Random",
    "LeastConnections",
    "LeastRequest",
    "JoinShortestQueue",
    "SmoothWeightedRoundRobin",
    "WeightedRoundRobin",
    "WeightedRandom",
    "WeightedLeastConnections",
    "PeakEwma",
    "LeastResponseTime",
    "FirstAvailable",
    "RingHash",
    "Maglev",
    "JoinIdleQueue",
    "DnsRoundRobin",
    "Crash",
    "PoolOutage",
    "ZoneOutage",
    "RollingRestart",
    "Slow",
    "Partition",
    "BalancerOutage",
    "Failures",
    "GrayFailures",
    "HealthCheck",
    "OutlierDetection",
    "Retry",
    "Hedge",
    "Breaker",
    "Count",
    "Time",
    "Envoy",
    "Throttle",
    "Fifo",
    "Lifo",
    "AdaptiveLifo",
    "ProcessorSharing",
    "Autoscale",
    "Utilisation",
    "InFlight",
    "QueueLength",
    "PrimaryBackup",
    "Quorum",
    "Election",
    "Broker",
    "Cache",
    "Synchronous",
    "Asynchronous",
    "Availability",
    "LatencyP99",
    "LatencyMean",
    "Throughput",
    "ErrorBudget",
    "MaxRpo",
    "MaxRto",
    "Slo",
    "Some",
    "None",
    "All",
    "First",
    "Sequence",
    "Zipf",
    "Full",
    "Equal",
    "Decorrelated",
    "Error",
    "TimedOut",
    "Crashed",
    "Refused",
    "Rejected",
    "Standby",
    "SlowStart",
    "Dependencies",
    "Registry",
    "TokenBucket",
    "Axis",
    "Mser5",
    "Fixed",
    "Restart",
    "LeaderCrash",
    "ConsumerCrash",
    "Disaster",
    "Snapshots",
];

/// Names components draw from: a few ordinary ones (so that references resolve), and hostile
/// ones.
const NAMES: &[&str] = &["users", "web", "lb", "db", "api", "edge", "a", "b"];

pub fn hostile_number(rng: &mut Rng) -> String {
    rng.pick(&[
        "0",
        "1",
        "-1",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "2147483648",
        "1e308",
        "-1e308",
        "1e-308",
        "1e12",
        "1e9",
        "1e7",
        "NaN",
        "inf",
        "-inf",
        "0.0",
        "100000",
        "100001",
        "1000000",
        "3000000000",
        "65537",
        "5000011",
        "0.5",
        "1.0000001",
        "99999999999999999999999",
    ])
    .to_string()
}

/// A number: usually small and plausible, sometimes hostile.
pub fn number(rng: &mut Rng) -> String {
    if rng.chance(rng.hostile) {
        hostile_number(rng)
    } else {
        match rng.below(3) {
            0 => format!("{}", rng.below(5)),
            1 => format!("{}", 1 + rng.below(200)),
            _ => format!("{}.{}", rng.below(100), rng.below(10)),
        }
    }
}

fn count(rng: &mut Rng, typical: usize) -> String {
    if rng.chance(rng.hostile) {
        rng.pick(&[
            "0",
            "1",
            "4294967295",
            "100001",
            "3000000000",
            "65536",
            "1000001",
        ])
        .to_string()
    } else {
        format!("{}", 1 + rng.below(typical))
    }
}

fn float(rng: &mut Rng, lo: f64, hi: f64) -> String {
    if rng.chance(rng.hostile) {
        hostile_number(rng)
    } else {
        let x = lo + (hi - lo) * rng.below(1001) as f64 / 1000.0;
        let s = format!("{x}");
        if s.contains('.') || s.contains('e') {
            s
        } else {
            format!("{s}.0")
        }
    }
}

fn fraction(rng: &mut Rng) -> String {
    float(rng, 0.0, 1.0)
}

/// A duration string: usually plausible, sometimes hostile.
pub fn duration(rng: &mut Rng) -> String {
    if rng.chance(rng.hostile) {
        rng.pick(&[
            "0s",
            "0ns",
            "1ns",
            "-1s",
            "",
            "s",
            "1",
            "1e3s",
            "NaNs",
            "18446744073709551615ns",
            "18446744074s",
            "9999999999h",
            "1000000000000d",
            "0.0000000001s",
            "1.5.5s",
            "1 s",
            "1ms1s",
            "∞s",
            "1y",
        ])
        .to_string()
    } else {
        let unit = rng.pick(&["ns", "us", "ms", "s", "m", "h"]);
        let n = match *unit {
            "ns" | "us" => 1 + rng.below(100_000),
            "ms" => 1 + rng.below(2_000),
            "s" => 1 + rng.below(120),
            "m" => 1 + rng.below(30),
            _ => 1 + rng.below(3),
        };
        format!("{n}{unit}")
    }
}

/// A component name: usually one of `NAMES`, sometimes hostile.
pub fn name(rng: &mut Rng) -> String {
    if rng.chance(rng.hostile) {
        match rng.below(6) {
            0 => String::new(),
            // 64 KiB now and then; shorter mostly, as lists of names multiply them.
            1 if rng.chance(0.1) => "x".repeat(65_536 + rng.below(1000)),
            1 => "x".repeat(1 + rng.below(300)),
            2 => "\u{1b}[31mred\u{7}".to_string(),
            3 => "web\nlb".to_string(),
            4 => "ünï©ødé 名前".to_string(),
            _ => " ".to_string(),
        }
    } else {
        rng.pick(NAMES).to_string()
    }
}

/// `s` as the inside of a RON string.
pub fn escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if c.is_control() => o.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

fn q(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

fn qd(rng: &mut Rng) -> String {
    q(&duration(rng))
}

/// `name: value` fields, each optional one kept with probability `OPTIONAL`; sometimes an
/// unknown field or a doubled one.
fn fields(required: Vec<(&str, String)>, optional: Vec<(&str, String)>, rng: &mut Rng) -> String {
    let mut out: Vec<String> = Vec::new();
    for (k, v) in required {
        if !rng.chance(rng.noise) {
            out.push(format!("{k}: {v}"));
        }
    }
    for (k, v) in optional {
        let p = if rng.noise == 0.0 {
            OPTIONAL_CLEAN
        } else {
            OPTIONAL
        };
        if rng.chance(p) {
            out.push(format!("{k}: {v}"));
        }
    }
    if rng.chance(rng.noise) && !out.is_empty() {
        let d = out[rng.below(out.len())].clone();
        out.push(d);
    }
    if rng.chance(rng.noise) {
        out.push("frobnicate: 1".into());
    }
    out.join(", ")
}

fn list(rng: &mut Rng, max: usize, mut f: impl FnMut(&mut Rng) -> String) -> String {
    let n = if rng.chance(rng.hostile / 4.0) {
        64
    } else {
        rng.below(max + 1)
    };
    let items: Vec<String> = (0..n).map(|_| f(rng)).collect();
    format!("[{}]", items.join(", "))
}

pub fn dist(rng: &mut Rng) -> String {
    match rng.below(11) {
        0 => format!("Constant({})", qd(rng)),
        1..=3 => format!("Exponential(mean: {})", qd(rng)),
        4 => format!("Uniform(low: {}, high: {})", qd(rng), qd(rng)),
        5 => format!("Normal(mean: {}, sd: {})", qd(rng), qd(rng)),
        6 => {
            if rng.chance(0.5) {
                format!("LogNormal(median: {}, p99: {})", qd(rng), qd(rng))
            } else {
                format!("LogNormal(mean: {}, sd: {})", qd(rng), qd(rng))
            }
        }
        7 => format!("Erlang(k: {}, mean: {})", count(rng, 5), qd(rng)),
        8 => format!(
            "HyperExponential(branches: {})",
            list(rng, 3, |r| format!("(p: {}, mean: {})", fraction(r), qd(r)))
        ),
        9 => format!(
            "{}(scale: {}, shape: {})",
            rng.pick(&["Pareto", "Weibull"]),
            qd(rng),
            float(rng, 0.1, 4.0)
        ),
        _ => format!("Empirical({})", list(rng, 5, qd)),
    }
}

fn arrivals(rng: &mut Rng) -> String {
    match rng.below(6) {
        0..=2 => format!("Poisson(rate_per_s: {})", float(rng, 0.1, 300.0)),
        3 => format!("Constant(rate_per_s: {})", float(rng, 0.1, 300.0)),
        4 => format!("Uniform(min: {}, max: {})", qd(rng), qd(rng)),
        _ => {
            let first = format!("(\"0s\", {})", float(rng, 0.1, 300.0));
            let rest = list(rng, 3, |r| format!("({}, {})", qd(r), float(r, 0.1, 300.0)));
            let rest = rest.trim_start_matches('[').trim_end_matches(']');
            if rest.is_empty() || rng.chance(rng.noise * 10.0) {
                format!("PoissonSteps(steps: [{first}])")
            } else {
                // Steps out of order are refused: sometimes, on purpose.
                format!("PoissonSteps(steps: [{first}, {rest}])")
            }
        }
    }
}

fn failures(rng: &mut Rng) -> String {
    format!(
        "Failures(time_to_failure: {}, time_to_repair: {})",
        dist(rng),
        dist(rng)
    )
}

fn retry(rng: &mut Rng) -> String {
    let backoff = format!(
        "Backoff({})",
        fields(
            vec![],
            vec![
                ("base", qd(rng)),
                ("max", qd(rng)),
                (
                    "jitter",
                    rng.pick(&["None", "Full", "Equal", "Decorrelated"])
                        .to_string()
                ),
            ],
            rng
        )
    );
    let budget = if rng.chance(0.5) {
        format!(
            "Envoy({})",
            fields(
                vec![],
                vec![
                    ("percent", float(rng, 0.0, 100.0)),
                    ("min_concurrency", count(rng, 5))
                ],
                rng
            )
        )
    } else {
        format!(
            "Throttle(max_tokens: {}, token_ratio: {})",
            float(rng, 0.0, 100.0),
            fraction(rng)
        )
    };
    let on = format!(
        "[{}{}]",
        rng.pick(&["Error", "TimedOut", "Crashed", "Refused", "Rejected"]),
        list(rng, 2, |r| {
            format!(
                ", {}",
                r.pick(&["Error", "TimedOut", "Crashed", "Refused", "Rejected"])
            )
        })
        .trim_start_matches('[')
        .trim_end_matches(']')
        .replace(", ,", ",")
    );
    format!(
        "Retry({})",
        fields(
            vec![],
            vec![
                ("max_attempts", count(rng, 4)),
                ("per_try_timeout", qd(rng)),
                ("retry_on", on),
                ("backoff", backoff),
                ("budget", budget),
            ],
            rng
        )
    )
}

fn breaker(rng: &mut Rng) -> String {
    let window = if rng.chance(0.5) {
        format!("Count({})", count(rng, 50))
    } else {
        format!("Time(length: {}, buckets: {})", qd(rng), count(rng, 10))
    };
    format!(
        "Breaker({})",
        fields(
            vec![],
            vec![
                ("window", window),
                ("minimum_calls", count(rng, 20)),
                ("failure_rate_threshold", fraction(rng)),
                ("open_duration", qd(rng)),
                ("half_open_calls", count(rng, 3)),
            ],
            rng
        )
    )
}

fn hedge(rng: &mut Rng) -> String {
    format!(
        "Hedge({})",
        fields(
            vec![("delay", qd(rng))],
            vec![("max_copies", format!("{}", 1 + rng.below(3)))],
            rng
        )
    )
}

fn client(rng: &mut Rng, targets: &[String]) -> String {
    let target = if targets.is_empty() || rng.chance(rng.hostile) {
        name(rng)
    } else {
        rng.pick(targets).clone()
    };
    let n = name(rng);
    client_to(rng, &n, &target)
}

fn client_to(rng: &mut Rng, name_: &str, target: &str) -> String {
    // Retry or hedge (both is an error: now and then, on purpose).
    let (retry_, hedge_) = match rng.below(3) {
        0 => (retry(rng), String::new()),
        1 => (String::new(), hedge(rng)),
        _ => (retry(rng), hedge(rng)),
    };
    let mut optional = vec![
        ("timeout", qd(rng)),
        ("breaker", breaker(rng)),
        ("max_in_flight", count(rng, 100)),
        ("zone", q(&name(rng))),
        ("priority", count(rng, 3)),
    ];
    if !retry_.is_empty() {
        optional.push(("retry", retry_));
    }
    if !hedge_.is_empty() {
        optional.push(("hedge", hedge_));
    }
    format!(
        "Client({})",
        fields(
            vec![
                ("name", q(name_)),
                ("arrivals", arrivals(rng)),
                ("target", q(target)),
            ],
            optional,
            rng
        )
    )
}

fn keys(rng: &mut Rng) -> String {
    if rng.chance(0.5) {
        format!("Uniform(n: {})", count(rng, 1000))
    } else {
        format!("Zipf(n: {}, s: {})", count(rng, 1000), float(rng, 0.1, 2.0))
    }
}

/// Weights for `backends` backends (any number, in a noisy scenario).
fn weights(rng: &mut Rng, backends: usize) -> String {
    if rng.noise == 0.0 {
        let w: Vec<String> = (0..backends.min(64)).map(|_| count(rng, 5)).collect();
        format!("[{}]", w.join(", "))
    } else {
        list(rng, 4, |r| count(r, 5))
    }
}

fn policy(rng: &mut Rng, backends: usize) -> String {
    let choices = if rng.noise == 0.0 {
        format!("{}", 1 + rng.below(backends.max(1)))
    } else {
        count(rng, 3)
    };
    match rng.below(17) {
        0 => "RoundRobin".into(),
        1 => "Random".into(),
        2 => "LeastConnections".into(),
        3 => format!(
            "LeastRequest({})",
            fields(
                vec![("choices", choices)],
                vec![
                    ("replacement", rng.pick(&["true", "false"]).to_string()),
                    ("weights", weights(rng, backends)),
                    ("active_request_bias", float(rng, 0.0, 2.0)),
                ],
                rng
            )
        ),
        4 => "JoinShortestQueue".into(),
        5 => format!(
            "SmoothWeightedRoundRobin(weights: {})",
            weights(rng, backends)
        ),
        6 => format!("WeightedRoundRobin(weights: {})", weights(rng, backends)),
        7 => format!("WeightedRandom(weights: {})", weights(rng, backends)),
        8 => format!(
            "WeightedLeastConnections(weights: {})",
            weights(rng, backends)
        ),
        9 | 10 => format!(
            "{}({})",
            rng.pick(&["PeakEwma", "LeastResponseTime"]),
            fields(
                vec![],
                vec![("decay", qd(rng)), ("default_rtt", qd(rng))],
                rng
            )
        ),
        11 => format!("FirstAvailable(maxconn: {})", count(rng, 5)),
        12 => format!(
            "RingHash({})",
            fields(
                vec![("keys", keys(rng))],
                vec![("minimum_ring_size", count(rng, 2000))],
                rng
            )
        ),
        13 => format!(
            "Maglev({})",
            fields(
                vec![("keys", keys(rng))],
                vec![(
                    "table_size",
                    rng.pick(&["65537", "251", "4", "5000011"]).to_string()
                )],
                rng
            )
        ),
        14 => "JoinIdleQueue".into(),
        _ => format!(
            "DnsRoundRobin({})",
            fields(vec![], vec![("ttl", qd(rng))], rng)
        ),
    }
}

fn balancer(rng: &mut Rng, name_: &str, target: &str, backends: usize) -> String {
    let hc = format!(
        "HealthCheck({})",
        fields(
            vec![],
            vec![
                ("interval", qd(rng)),
                ("timeout", qd(rng)),
                ("unhealthy_threshold", count(rng, 3)),
                ("healthy_threshold", count(rng, 3)),
                ("jitter", qd(rng)),
            ],
            rng
        )
    );
    let od = format!(
        "OutlierDetection({})",
        fields(
            vec![],
            vec![
                ("consecutive_errors", count(rng, 5)),
                ("base_ejection_time", qd(rng)),
                ("max_ejection_time", qd(rng)),
                ("max_ejection_percent", fraction(rng)),
            ],
            rng
        )
    );
    let ss = format!(
        "SlowStart({})",
        fields(
            vec![("window", qd(rng))],
            vec![
                ("aggression", float(rng, 0.1, 3.0)),
                ("min_weight_percent", fraction(rng))
            ],
            rng
        )
    );
    format!(
        "Balancer({})",
        fields(
            vec![
                ("name", q(name_)),
                ("policy", policy(rng, backends)),
                ("target", q(target)),
            ],
            vec![
                ("health_check", hc),
                ("outlier_detection", od),
                ("panic_threshold", fraction(rng)),
                ("zone", q(&name(rng))),
                ("failures", failures(rng)),
                ("standby", format!("Standby(failover_delay: {})", qd(rng))),
                ("zone_aware", rng.pick(&["true", "false"]).to_string()),
                ("slow_start", ss),
                ("per_client", rng.pick(&["true", "false"]).to_string()),
            ],
            rng
        )
    )
}

fn pool(rng: &mut Rng, name_: &str, others: &[String], replicas: &str) -> String {
    let discipline = match rng.below(4) {
        0 => "Fifo".to_string(),
        1 => "Lifo".to_string(),
        2 => format!("AdaptiveLifo(above: {})", count(rng, 10)),
        _ => "ProcessorSharing".to_string(),
    };
    let deps = format!(
        "Dependencies({})",
        fields(
            vec![(
                "calls",
                list(rng, 2, |r| {
                    let t = if others.is_empty() {
                        name(r)
                    } else {
                        r.pick(others).clone()
                    };
                    format!(
                        "Dependency({})",
                        fields(
                            vec![("target", q(&t))],
                            vec![
                                ("copies", count(r, 2)),
                                ("timeout", qd(r)),
                                ("retry", retry(r)),
                                ("hedge", hedge(r)),
                                ("breaker", breaker(r)),
                                ("max_in_flight", count(r, 10)),
                            ],
                            r
                        )
                    )
                })
            )],
            vec![(
                "wait_for",
                match rng.below(4) {
                    0 => "All".to_string(),
                    1 => "First".to_string(),
                    2 => format!("Quorum({})", count(rng, 2)),
                    _ => "Sequence".to_string(),
                }
            )],
            rng
        )
    );
    let metric = match rng.below(3) {
        0 => format!("Utilisation(target: {})", fraction(rng)),
        1 => format!("InFlight(per_replica: {})", float(rng, 0.5, 20.0)),
        _ => format!("QueueLength(per_replica: {})", float(rng, 0.5, 20.0)),
    };
    let autoscale = format!(
        "Autoscale({})",
        fields(
            vec![
                ("metric", metric),
                ("min", count(rng, 2)),
                ("max", count(rng, 6)),
            ],
            vec![
                ("initial", count(rng, 3)),
                ("evaluation_period", qd(rng)),
                ("evaluation_periods", count(rng, 3)),
                ("scale_in_periods", count(rng, 3)),
                ("cooldown", qd(rng)),
                ("scale_in_cooldown", qd(rng)),
                ("warm_up", qd(rng)),
                ("drain", qd(rng)),
                ("tolerance", fraction(rng)),
            ],
            rng
        )
    );
    let gray = format!(
        "GrayFailures({})",
        fields(
            vec![("time_between", dist(rng)), ("duration", dist(rng))],
            vec![
                ("factor", float(rng, 0.5, 10.0)),
                ("error_rate", fraction(rng))
            ],
            rng
        )
    );
    let discovery = format!(
        "Registry({})",
        fields(
            vec![],
            vec![
                ("registration_delay", qd(rng)),
                ("ttl", qd(rng)),
                ("heartbeat", qd(rng)),
            ],
            rng
        )
    );
    let mut optional = vec![
        ("workers", count(rng, 4)),
        ("queue_capacity", count(rng, 50)),
        ("failures", failures(rng)),
        ("gray_failures", gray),
        ("zones", list(rng, 3, |r| q(&name(r)))),
        ("error_rate", fraction(rng)),
        ("drop_stale", rng.pick(&["true", "false"]).to_string()),
        ("discipline", discipline),
        (
            "rate_limit",
            format!(
                "TokenBucket(rate_per_s: {}, burst: {})",
                float(rng, 0.1, 300.0),
                count(rng, 10)
            ),
        ),
        ("slowdown_per_request", float(rng, 0.0, 0.2)),
        ("dependencies", deps),
        ("discovery", discovery),
    ];
    let mut required = vec![("name", q(name_)), ("service", dist(rng))];
    if rng.chance(0.15) && replicas != "1" {
        required.push(("autoscale", autoscale));
    } else {
        required.push(("replicas", replicas.to_string()));
        if rng.chance(rng.noise) {
            optional.push(("autoscale", autoscale));
        }
    }
    format!("Pool({})", fields(required, optional, rng))
}

fn window(rng: &mut Rng) -> String {
    format!("at: {}, duration: {}", qd(rng), qd(rng))
}

fn fault(rng: &mut Rng, pools: &[String], balancers: &[String]) -> String {
    let pool = if pools.is_empty() {
        name(rng)
    } else {
        rng.pick(pools).clone()
    };
    match rng.below(7) {
        0 => format!(
            "Crash(pool: {}, replica: {}, {})",
            q(&pool),
            count(rng, 3),
            window(rng)
        ),
        1 => format!("PoolOutage(pool: {}, {})", q(&pool), window(rng)),
        2 => format!("ZoneOutage(zone: {}, {})", q(&name(rng)), window(rng)),
        3 => format!(
            "RollingRestart(pool: {}, at: {}, downtime: {}, gap: {})",
            q(&pool),
            qd(rng),
            qd(rng),
            qd(rng)
        ),
        4 => format!(
            "Slow(pool: {}, replica: {}, {}{})",
            q(&pool),
            count(rng, 3),
            window(rng),
            if rng.chance(0.7) {
                format!(", factor: {}", float(rng, 0.5, 10.0))
            } else {
                format!(", error_rate: {}", fraction(rng))
            }
        ),
        5 => format!(
            "Partition(groups: {}, {})",
            list(rng, 3, |r| list(r, 2, |r| q(&name(r)))),
            window(rng)
        ),
        _ => {
            let b = if balancers.is_empty() {
                name(rng)
            } else {
                rng.pick(balancers).clone()
            };
            format!("BalancerOutage(balancer: {}, {})", q(&b), window(rng))
        }
    }
}

fn store(rng: &mut Rng) -> String {
    let n = q(&format!("s{}", rng.below(3)));
    let store_fault = |r: &mut Rng| match r.below(3) {
        0 => format!("Crash({})", window(r)),
        1 => format!(
            "Partition({}, clients_with_old_primary: {})",
            window(r),
            fraction(r)
        ),
        _ => format!("Disaster(at: {})", qd(r)),
    };
    match rng.below(5) {
        0 => {
            let replication = if rng.chance(0.5) {
                format!("Synchronous(round_trip: {})", dist(rng))
            } else {
                format!("Asynchronous(lag: {})", dist(rng))
            };
            let faults = list(rng, 2, store_fault);
            format!(
                "PrimaryBackup({})",
                fields(
                    vec![
                        ("name", n),
                        ("backups", count(rng, 3)),
                        ("writes", arrivals(rng)),
                        ("replication", replication),
                    ],
                    vec![
                        ("reads", arrivals(rng)),
                        ("heartbeat", qd(rng)),
                        ("lease", qd(rng)),
                        ("promotion", dist(rng)),
                        ("fencing", rng.pick(&["true", "false"]).to_string()),
                        ("failures", failures(rng)),
                        ("faults", faults),
                        (
                            "snapshots",
                            format!("Snapshots(interval: {}, restore: {})", qd(rng), dist(rng)),
                        ),
                    ],
                    rng
                )
            )
        }
        1 => format!(
            "Quorum({})",
            fields(
                vec![
                    ("name", n),
                    ("replicas", count(rng, 5)),
                    ("read_quorum", count(rng, 3)),
                    ("write_quorum", count(rng, 3)),
                    ("writes", arrivals(rng)),
                    ("response", dist(rng)),
                ],
                vec![("reads", arrivals(rng)), ("failures", failures(rng))],
                rng
            )
        ),
        2 => {
            let faults = list(rng, 2, store_fault);
            format!(
                "Election({})",
                fields(
                    vec![
                        ("name", n),
                        ("nodes", count(rng, 5)),
                        ("round_trip", dist(rng)),
                    ],
                    vec![
                        ("heartbeat", qd(rng)),
                        ("election_timeout", qd(rng)),
                        ("failures", failures(rng)),
                        ("faults", faults),
                    ],
                    rng
                )
            )
        }
        3 => {
            let consumers = format!(
                "ConsumerGroup({})",
                fields(
                    vec![("consumers", count(rng, 4)), ("processing", dist(rng)),],
                    vec![
                        ("failure_rate", fraction(rng)),
                        ("heartbeat_interval", qd(rng)),
                        ("session_timeout", qd(rng)),
                        ("rebalance_pause", qd(rng)),
                        ("visibility_timeout", qd(rng)),
                        ("max_receives", count(rng, 5)),
                        ("commit_interval", qd(rng)),
                        ("failures", failures(rng)),
                    ],
                    rng
                )
            );
            let producer = format!(
                "Producer({})",
                fields(
                    vec![("messages", arrivals(rng))],
                    vec![("acks", rng.pick(&["Zero", "One", "All"]).to_string())],
                    rng
                )
            );
            let faults = list(rng, 2, |r| {
                if r.chance(0.5) {
                    format!("LeaderCrash({}, partition: {})", window(r), count(r, 3))
                } else {
                    format!("ConsumerCrash({}, consumer: {})", window(r), count(r, 3))
                }
            });
            format!(
                "Broker({})",
                fields(
                    vec![
                        ("name", n),
                        ("partitions", count(rng, 6)),
                        ("replication_factor", count(rng, 3)),
                        ("follower_lag", dist(rng)),
                        ("producer", producer),
                        ("consumers", consumers),
                    ],
                    vec![
                        ("brokers", count(rng, 4)),
                        ("min_insync_replicas", count(rng, 2)),
                        ("leader_failover", dist(rng)),
                        ("retention", qd(rng)),
                        ("window", qd(rng)),
                        ("failures", failures(rng)),
                        ("faults", faults),
                    ],
                    rng
                )
            )
        }
        _ => {
            let backend = format!(
                "Backend({})",
                fields(
                    vec![("workers", count(rng, 8)), ("service", dist(rng))],
                    vec![("queue_limit", count(rng, 100)), ("timeout", qd(rng))],
                    rng
                )
            );
            let faults = list(rng, 2, |r| {
                format!("Restart(at: {}, duration: {})", qd(r), qd(r))
            });
            format!(
                "Cache({})",
                fields(
                    vec![
                        ("name", n),
                        ("requests", arrivals(rng)),
                        ("keys", keys(rng)),
                        ("backend", backend),
                    ],
                    vec![
                        ("ttl", qd(rng)),
                        ("capacity", count(rng, 500)),
                        ("hit_latency", dist(rng)),
                        ("coalesce_misses", rng.pick(&["true", "false"]).to_string()),
                        ("failures", failures(rng)),
                        ("faults", faults),
                    ],
                    rng
                )
            )
        }
    }
}

fn expect(rng: &mut Rng) -> String {
    match rng.below(7) {
        0 => format!("Availability(min: {})", fraction(rng)),
        1 => format!("LatencyP99(max: {})", qd(rng)),
        2 => format!("LatencyMean(max: {})", qd(rng)),
        3 => format!("Throughput(min_rps: {})", float(rng, 0.0, 100.0)),
        4 => format!("ErrorBudget(max: {})", fraction(rng)),
        5 => format!("MaxRpo(writes: {})", count(rng, 10)),
        _ => format!("MaxRto(max: {})", qd(rng)),
    }
}

/// A random piece of a scenario (for splicing into example files).
pub fn snippet(rng: &mut Rng) -> String {
    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    match rng.below(6) {
        0 => client(rng, &names),
        1 => {
            let (a, b) = (name(rng), name(rng));
            balancer(rng, &a, &b, 2)
        }
        2 => {
            let a = name(rng);
            let n = count(rng, 4);
            pool(rng, &a, &names, &n)
        }
        3 => fault(rng, &names, &names),
        4 => store(rng),
        _ => dist(rng),
    }
}

/// A whole random scenario: clean (every field right, values ordinary) a third of the time,
/// so that runs reach deep into the models; else with some hostile values, some wrong fields.
pub fn scenario(rng: &mut Rng) -> String {
    rng.hostile = *rng.pick(&[0.0, 0.02, 0.08]);
    rng.noise = *rng.pick(&[0.0, 0.0, 0.02]);
    let clean = rng.noise == 0.0;
    let n_pools = rng.below(4) + usize::from(clean);
    let n_balancers = rng.below(4);
    let pools: Vec<String> = (0..n_pools)
        .map(|i| {
            if clean || rng.chance(0.9) {
                format!("p{i}")
            } else {
                name(rng)
            }
        })
        .collect();
    let replicas: Vec<String> = (0..n_pools).map(|_| count(rng, 4)).collect();
    let balancers: Vec<String> = (0..n_balancers)
        .map(|i| {
            if clean || rng.chance(0.9) {
                format!("b{i}")
            } else {
                name(rng)
            }
        })
        .collect();
    // Balancers target pools or later balancers (a loop now and then, when noisy).
    let mut targeted = vec![false; n_balancers + n_pools];
    let bal_text: Vec<String> = balancers
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let later: Vec<usize> = (i + 1..n_balancers).collect();
            let (t, backends) = if !later.is_empty() && rng.chance(0.3) {
                let j = *rng.pick(&later);
                targeted[j] = true;
                (balancers[j].clone(), 1)
            } else if !pools.is_empty() && (clean || rng.chance(0.95)) {
                let j = rng.below(n_pools);
                targeted[n_balancers + j] = true;
                (pools[j].clone(), replicas[j].parse().unwrap_or(1))
            } else {
                (name(rng), 1)
            };
            balancer(rng, b, &t, backends)
        })
        .collect();
    let targets: Vec<String> = balancers.iter().chain(&pools).cloned().collect();
    let mut replicas = replicas;
    let mut clients: Vec<String> = Vec::new();
    if clean {
        // A pool no balancer targets gets one replica, so that a client may target it.
        for (j, r) in replicas.iter_mut().enumerate() {
            if !targeted[n_balancers + j] && rng.chance(0.9) {
                *r = "1".to_string();
            }
        }
        // A client for every entry: each balancer and single-replica pool nothing else
        // targets (a pool of several replicas nothing targets is refused: on purpose).
        for (j, t) in targets.iter().enumerate() {
            let single = j < n_balancers || replicas[j - n_balancers] == "1";
            if !targeted[j] && single {
                let c = format!("c{}", clients.len());
                let text = client_to(rng, &c, t);
                clients.push(text);
            }
        }
    } else {
        clients = (0..rng.below(4)).map(|_| client(rng, &targets)).collect();
    }
    let pool_text: Vec<String> = pools
        .iter()
        .enumerate()
        .map(|(i, p)| pool(rng, p, &targets[..n_balancers + i], &replicas[i]))
        .collect();
    let faults = list(rng, 3, |r| fault(r, &pools, &balancers));
    let stores = if rng.chance(0.2) {
        list(rng, 2, store)
    } else {
        "[]".to_string()
    };
    let horizon = if rng.chance(rng.hostile) {
        duration(rng)
    } else {
        format!("{}s", 1 + rng.below(600))
    };
    let slo = format!(
        "Slo({})",
        fields(
            vec![],
            vec![("availability", fraction(rng)), ("window", qd(rng))],
            rng
        )
    );
    format!(
        "Scenario(\n    {},\n)\n",
        fields(
            vec![
                ("name", q(&name(rng))),
                ("horizon", q(&horizon)),
                ("clients", format!("[{}]", clients.join(",\n        "))),
                ("balancers", format!("[{}]", bal_text.join(",\n        "))),
                ("pools", format!("[{}]", pool_text.join(",\n        "))),
            ],
            vec![
                ("seed", count(rng, 100)),
                ("warmup", qd(rng)),
                ("max_events", count(rng, 100_000)),
                ("expect", list(rng, 2, expect)),
                ("slo", slo),
                ("faults", faults),
                ("stores", stores),
            ],
            rng
        )
        .replace(", ", ",\n    ")
    )
}

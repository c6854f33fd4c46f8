//! What people look at: the charts of a run, a sweep or a comparison, the self-contained HTML
//! page that holds them, and the time series as CSV. Drawing is `reports::charts`, the page is
//! `reports::html`; this module decides what to show and how to label it.

use reports::charts::{self, Band, Bar, ChartFormat, Panel, Series, Shade};
use reports::html::{HtmlChart, HtmlPage, HtmlTable, HtmlVerdict};
use reports::{Report, SweepReport};

/// A rendered chart: a file stem (`timeline`), a caption for people, and its bytes.
pub struct Chart {
    /// File name without extension.
    pub name: &'static str,
    /// What it shows, in a sentence.
    pub caption: String,
    /// SVG text or PNG bytes.
    pub bytes: Vec<u8>,
}

type Rendered = Result<Vec<u8>, charts::ChartError>;

fn push(
    out: &mut Vec<Chart>,
    name: &'static str,
    caption: String,
    r: Rendered,
) -> Result<(), String> {
    let bytes = r.map_err(|e| format!("chart {name}: {e}"))?;
    out.push(Chart {
        name,
        caption,
        bytes,
    });
    Ok(())
}

/// The charts of one run: latency CDF, the service over time with its faults shaded, and the
/// replicas' load over time.
pub fn run_charts(r: &Report, format: ChartFormat) -> Result<Vec<Chart>, String> {
    let mut out = Vec::new();
    let who = format!("{} · seed {}", r.scenario, r.seed);
    if !r.stores_only() {
        topology_charts(r, format, &who, &mut out)?;
    }
    store_charts(r, format, &who, &mut out)?;
    Ok(out)
}

/// The stores' per-window series, one panel per measure (name and unit), one line per store.
fn store_charts(
    r: &Report,
    format: ChartFormat,
    who: &str,
    out: &mut Vec<Chart>,
) -> Result<(), String> {
    let mut panels: Vec<(String, String, Panel)> = Vec::new();
    let mut windows: Vec<String> = Vec::new();
    for series in r.stores.iter().flat_map(|s| s.series()) {
        let w = format!("{} s", series.window_s);
        if !windows.contains(&w) {
            windows.push(w);
        }
        let line = Series {
            name: series.store.clone(),
            points: series.points,
        };
        match panels
            .iter_mut()
            .find(|(n, u, _)| *n == series.name && *u == series.unit)
        {
            Some((_, _, p)) => p.series.push(line),
            None => panels.push((
                series.name.clone(),
                series.unit.clone(),
                Panel {
                    y_label: format!("{} ({})", series.name, series.unit),
                    series: vec![line],
                    y_range: None,
                    spread: None,
                },
            )),
        }
    }
    if panels.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = panels.iter().map(|(n, _, _)| n.clone()).collect();
    let panels: Vec<Panel> = panels.into_iter().map(|(_, _, p)| p).collect();
    push(
        out,
        "stores",
        format!(
            "The stores over time ({} windows): {}, one line per store. A broker's backlog is time-averaged over the window (messages not yet processed); its consumer lag is the largest in the window, counted from the committed offsets, which a message waiting for its visibility timeout holds back.",
            windows.join(", "),
            names.join("; ")
        ),
        charts::timeline(&format!("Stores over time — {who}"), &panels, &[], format),
    )
}

/// The request topology's charts: latency CDF, the service over time, load per replica.
fn topology_charts(
    r: &Report,
    format: ChartFormat,
    who: &str,
    out: &mut Vec<Chart>,
) -> Result<(), String> {
    push(
        out,
        "latency-cdf",
        format!(
            "Latency of successful requests after warm-up: the fraction of requests (y) answered within a time (x). p50 {} ms, p99 {} ms.",
            r.latency_ms.p50, r.latency_ms.p99
        ),
        charts::latency_cdf(
            &format!("Latency CDF — {who}"),
            &[Series {
                name: "successes".to_string(),
                points: r.latency_curve.clone(),
            }],
            format,
        ),
    )?;

    let rows = &r.series;
    let mid = |row: &reports::WindowRow| (row.start_ns + row.end_ns) as f64 / 2e9;
    let success: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|w| w.success_rate().map(|s| (mid(w), 100.0 * s)))
        .collect();
    let objective: Vec<(f64, f64)> = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => vec![
            (a.start_ns as f64 / 1e9, 100.0 * r.sre.slo_availability),
            (b.end_ns as f64 / 1e9, 100.0 * r.sre.slo_availability),
        ],
        _ => Vec::new(),
    };
    let line = |name: &str, f: &dyn Fn(&reports::WindowRow) -> Option<f64>| Series {
        name: name.to_string(),
        points: rows
            .iter()
            .filter_map(|w| f(w).map(|y| (mid(w), y)))
            .collect(),
    };
    let ms = |ns: u64| (ns > 0).then(|| ns as f64 / 1e6);
    let shades = fault_shades(r);
    let window = format!("{}s windows", r.sre.window_s);
    push(
        out,
        "timeline",
        format!(
            "The service over time ({window}): success rate against the {}% objective, throughput, latency and replicas up. Shaded: warm-up and each fault (a replica down or slow).",
            100.0 * r.sre.slo_availability
        ),
        charts::timeline(
            &format!("Service over time — {who}"),
            &[
                Panel {
                    y_label: "success rate (%)".into(),
                    series: vec![
                        Series {
                            name: "success rate".into(),
                            points: success,
                        },
                        Series {
                            name: "objective".into(),
                            points: objective,
                        },
                    ],
                    y_range: None,
                    spread: None,
                },
                Panel {
                    y_label: "requests per second".into(),
                    series: vec![
                        line("offered", &|w| {
                            Some(w.offered as f64 / w.seconds().max(1e-9))
                        }),
                        line("succeeded", &|w| Some(w.goodput_rps())),
                    ],
                    y_range: None,
                    spread: None,
                },
                Panel {
                    y_label: "latency (ms)".into(),
                    series: vec![
                        line("p50", &|w| ms(w.p50_ns)),
                        line("p99", &|w| ms(w.p99_ns)),
                    ],
                    y_range: None,
                    spread: None,
                },
                Panel {
                    y_label: "replicas up".into(),
                    series: vec![line("replicas up", &|w| Some(w.replicas_up))],
                    y_range: Some((0.0, r.replicas.len() as f64 + 0.5)),
                    spread: None,
                },
            ],
            &shades,
            format,
        ),
    )?;

    if rows.iter().any(|w| w.fleet_load.is_some()) {
        // A large fleet: the spread across replicas, not a line per replica.
        let spread = |k: usize, name: &str| Series {
            name: name.into(),
            points: (rows.iter())
                .filter_map(|w| w.fleet_load.map(|l| (mid(w), l[k])))
                .collect(),
        };
        return push(
            out,
            "replicas",
            format!(
                "Load across the {} replicas over time ({window}, time-averaged): the median, 90th and 99th percentiles and the maximum of requests in flight (in service + queued). Shaded: each fault (a replica down or slow).",
                r.replicas.len()
            ),
            charts::timeline(
                &format!("Load across replicas — {who}"),
                &[Panel {
                    y_label: "in flight (requests)".into(),
                    series: vec![
                        spread(0, "median"),
                        spread(1, "p90"),
                        spread(2, "p99"),
                        spread(3, "max"),
                    ],
                    y_range: None,
                    spread: None,
                }],
                &shades,
                format,
            ),
        );
    }
    let kept = rows.iter().map(|w| w.replicas.len()).max().unwrap_or(0);
    let load = |l: &reports::ReplicaLoad| l.in_service + l.queued;
    // Past eight lines the palette repeats: then the busiest replicas (by mean load) get lines
    // and the others one grey band, their range at each window, with their median.
    let drawn = replicas_drawn(rows, kept, &load);
    let per_replica = |f: &dyn Fn(&reports::ReplicaLoad) -> f64| -> Vec<Series> {
        drawn
            .iter()
            .map(|&i| Series {
                name: r.replica_names.get(i).cloned().unwrap_or(format!("#{i}")),
                points: rows
                    .iter()
                    .filter_map(|w| w.replicas.get(i).map(|l| (mid(w), f(l))))
                    .collect(),
            })
            .collect()
    };
    let others = (drawn.len() < kept).then(|| kept - drawn.len());
    let spread = |f: &dyn Fn(&reports::ReplicaLoad) -> f64| {
        others.map(|n| Band {
            name: format!("the other {n}: range, median"),
            points: rows
                .iter()
                .filter_map(|w| {
                    let mut v: Vec<f64> = (0..kept)
                        .filter(|i| !drawn.contains(i))
                        .filter_map(|i| w.replicas.get(i).map(f))
                        .collect();
                    v.sort_by(f64::total_cmp);
                    let median = *v.get(v.len() / 2)?;
                    Some((mid(w), median, v[0], v[v.len() - 1]))
                })
                .collect(),
        })
    };
    let mut more = if r.replicas.len() > kept {
        format!(" (the first {kept} of {} replicas)", r.replicas.len())
    } else {
        String::new()
    };
    if let Some(n) = others {
        more += &format!(
            "; a line for each of the {} busiest replicas (by mean load), a grey band for the range of the other {n} with their median",
            drawn.len()
        );
    }
    push(
        out,
        "replicas",
        format!(
            "Each replica's load over time ({window}, time-averaged){more}: requests in flight (in service + queued) and queue length. Shaded: each fault (a replica down or slow)."
        ),
        charts::timeline(
            &format!("Load per replica — {who}"),
            &[
                Panel {
                    y_label: "in flight (requests)".into(),
                    series: per_replica(&load),
                    y_range: None,
                    spread: spread(&load),
                },
                Panel {
                    y_label: "queue length (requests)".into(),
                    series: per_replica(&|l| l.queued),
                    y_range: None,
                    spread: spread(&|l| l.queued),
                },
            ],
            &shades,
            format,
        ),
    )?;
    Ok(())
}

/// Replicas drawn as lines in the per-replica chart: all of them up to [`REPLICA_LINES`], else
/// the [`BUSIEST`] with the highest mean `load` over the windows (ties by index), in index order.
fn replicas_drawn(
    rows: &[reports::WindowRow],
    kept: usize,
    load: &dyn Fn(&reports::ReplicaLoad) -> f64,
) -> Vec<usize> {
    if kept <= REPLICA_LINES {
        return (0..kept).collect();
    }
    let mean = |i: usize| {
        let v: Vec<f64> = rows
            .iter()
            .filter_map(|w| w.replicas.get(i).map(load))
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let mut order: Vec<(usize, f64)> = (0..kept).map(|i| (i, mean(i))).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut top: Vec<usize> = order.into_iter().take(BUSIEST).map(|(i, _)| i).collect();
    top.sort_unstable();
    top
}

/// Up to this many replicas, one line each (the palette has eight colours).
const REPLICA_LINES: usize = 8;
/// With more, lines for this many of the busiest.
const BUSIEST: usize = 5;

fn fault_shades(r: &Report) -> Vec<Shade> {
    let mut shades = Vec::new();
    if r.window.warmup_s > 0.0 {
        shades.push(Shade {
            from: 0.0,
            to: r.window.warmup_s,
            label: "warm-up (not counted)".into(),
        });
    }
    for f in &r.faults.listed {
        shades.push(Shade {
            from: f.down_s,
            to: f.up_s.unwrap_or(r.window.horizon_s),
            label: "replica down".into(),
        });
    }
    for s in &r.faults.slowdowns {
        shades.push(Shade {
            from: s.from_s,
            to: s.to_s.unwrap_or(r.window.horizon_s),
            label: if s.random {
                format!("replica gray at random (×{})", s.factor)
            } else {
                format!("replica slow (×{})", s.factor)
            },
        });
    }
    shades
}

/// The run's time series as CSV, one row per window (ms, seconds and per-second units in the
/// header).
pub fn timeseries_csv(r: &Report) -> String {
    let kept = r.series.iter().map(|w| w.replicas.len()).max().unwrap_or(0);
    let mut o = String::from(
        "start_s,end_s,offered,succeeded,failed,success_rate,throughput_rps,p50_ms,p99_ms,replicas_up",
    );
    for i in 0..kept {
        let n = r.replica_names.get(i).cloned().unwrap_or(format!("#{i}"));
        o.push_str(&format!(",{n} in_service,{n} queued"));
    }
    let fleet = r.series.iter().any(|w| w.fleet_load.is_some());
    if fleet {
        o.push_str(",in_flight_p50,in_flight_p90,in_flight_p99,in_flight_max");
    }
    o.push('\n');
    let f = |x: f64| format!("{}", (x * 1e6).round() / 1e6);
    for w in &r.series {
        o.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}",
            f(w.start_ns as f64 / 1e9),
            f(w.end_ns as f64 / 1e9),
            w.offered,
            w.succeeded,
            w.failed,
            w.success_rate().map_or(String::new(), f),
            f(w.goodput_rps()),
            f(w.p50_ns as f64 / 1e6),
            f(w.p99_ns as f64 / 1e6),
            f(w.replicas_up)
        ));
        for i in 0..kept {
            let l = w.replicas.get(i).copied().unwrap_or_default();
            o.push_str(&format!(",{},{}", f(l.in_service), f(l.queued)));
        }
        if fleet {
            let l = w.fleet_load.unwrap_or_default();
            o.push_str(&format!(",{},{},{},{}", f(l[0]), f(l[1]), f(l[2]), f(l[3])));
        }
        o.push('\n');
    }
    o
}

fn svg_charts(charts: &[Chart]) -> Vec<HtmlChart> {
    charts
        .iter()
        .map(|c| HtmlChart {
            caption: c.caption.clone(),
            svg: String::from_utf8_lossy(&c.bytes).into_owned(),
        })
        .collect()
}

fn pct(x: f64) -> String {
    format!("{} %", (x * 1e6).round() / 1e4)
}

/// The HTML page of one run.
pub fn run_page(r: &Report, scenario_path: &str, scenario_text: &str) -> Result<String, String> {
    let charts = run_charts(r, ChartFormat::Svg)?;
    let s = &r.sre;
    let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("n/a".to_string(), f);
    let mut tables = vec![
        HtmlTable {
            caption: "Requests after warm-up".into(),
            header: vec![
                "offered",
                "succeeded",
                "failed",
                "rejected",
                "timed out",
                "crashed",
                "refused",
                "in flight at the end",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            rows: vec![
                vec![
                    r.requests.offered,
                    r.requests.succeeded,
                    r.requests.failed,
                    r.requests.failed_by.rejected,
                    r.requests.failed_by.timed_out,
                    r.requests.failed_by.crashed,
                    r.requests.failed_by.refused,
                    r.requests.in_flight,
                ]
                .into_iter()
                .map(|n| n.to_string())
                .collect(),
            ],
        },
        HtmlTable {
            caption: "Latency of successful requests (ms)".into(),
            header: vec!["mean", "± 95% CI", "p50", "p90", "p99", "p99.9", "max"]
                .into_iter()
                .map(String::from)
                .collect(),
            rows: vec![vec![
                r.latency_ms.mean.to_string(),
                opt(r.latency_ms.mean_ci95, &|h| h.to_string()),
                r.latency_ms.p50.to_string(),
                r.latency_ms.p90.to_string(),
                r.latency_ms.p99.to_string(),
                r.latency_ms.p999.to_string(),
                r.latency_ms.max.to_string(),
            ]],
        },
        HtmlTable {
            caption: format!(
                "Availability against the objective {} ({}s windows)",
                s.slo_availability, s.window_s
            ),
            header: vec![
                "request availability",
                "nines",
                "windows good / bad / empty",
                "good windows (good / (good + bad))",
                "downtime per year",
                "error budget consumed",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            rows: vec![vec![
                pct(s.request_availability),
                opt(s.nines, &|n| n.to_string()),
                format!(
                    "{} / {} / {}",
                    s.windows.good, s.windows.bad, s.windows.empty
                ),
                opt(s.time_availability, &pct),
                opt(s.downtime_per_year_h, &|h| format!("{h} h")),
                opt(s.error_budget_consumed, &pct),
            ]],
        },
        HtmlTable {
            caption: "Replicas after warm-up".into(),
            header: vec![
                "replica",
                "utilisation",
                "mean queue",
                "up",
                "served",
                "crashes",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            rows: r
                .replicas
                .iter()
                .map(|p| {
                    vec![
                        format!("{}/{}", p.pool, p.index),
                        pct(p.utilisation),
                        p.mean_queue_length.to_string(),
                        pct(p.up_fraction),
                        p.served.to_string(),
                        p.crashes.to_string(),
                    ]
                })
                .collect(),
        },
    ];
    if let Some(x) = &r.resilience {
        let row: Vec<String> = [
            x.attempts_per_request.to_string(),
            x.retries.to_string(),
            x.retries_denied_by_budget.to_string(),
            x.hedges.to_string(),
            x.hedges_cancelled.to_string(),
            x.breaker_openings.to_string(),
            x.short_circuited.to_string(),
            x.bulkhead_rejected.to_string(),
            x.rate_limited.to_string(),
            x.stale_served.to_string(),
            x.stale_dropped.to_string(),
        ]
        .into();
        tables.insert(
            1,
            HtmlTable {
                caption: "Retries, hedges, breakers and bulkheads after warm-up".into(),
                header: [
                    "attempts per request",
                    "retries",
                    "denied by budget",
                    "hedges",
                    "hedges cancelled",
                    "breaker openings",
                    "short-circuited",
                    "bulkhead rejected",
                    "rate limited",
                    "stale work served",
                    "stale work dropped",
                ]
                .map(String::from)
                .into(),
                rows: vec![row],
            },
        );
    }
    if !r.dependencies.is_empty() {
        tables.push(HtmlTable {
            caption: "Dependencies: each hop of a multi-tier request, after warm-up".into(),
            header: [
                "hop",
                "calls",
                "availability",
                "attempts per call",
                "p50 ms",
                "p99 ms",
                "failed",
                "cancelled",
                "retries",
                "breaker openings",
            ]
            .map(String::from)
            .into(),
            rows: r
                .dependencies
                .iter()
                .map(|h| {
                    vec![
                        h.hop.clone(),
                        h.calls.to_string(),
                        pct(h.availability),
                        h.attempts_per_call.to_string(),
                        h.latency_ms.p50.to_string(),
                        h.latency_ms.p99.to_string(),
                        h.failed.to_string(),
                        h.cancelled.to_string(),
                        h.retries.to_string(),
                        h.breaker_openings.to_string(),
                    ]
                })
                .collect(),
        });
    }
    if let Some(g) = &r.faults.gray {
        tables.push(HtmlTable {
            caption: "Random gray failures (pools' gray_failures), whole run: each listed as an incident below, marked (random)".to_string(),
            header: vec!["episodes", "replicas", "time gray (s)", "fraction of replica time gray", "requests succeeded while gray", "requests failed while gray"]
                .into_iter()
                .map(String::from)
                .collect(),
            rows: vec![vec![
                g.episodes.to_string(),
                g.replicas.to_string(),
                g.gray_s.to_string(),
                g.gray_fraction.to_string(),
                g.requests_succeeded.to_string(),
                g.requests_failed.to_string(),
            ]],
        });
    }
    if !s.incidents.is_empty() {
        tables.push(HtmlTable {
            caption: format!(
                "Incidents: {} faults ({} listed), each with what it failed and how the service recovered",
                r.faults.total,
                s.incidents.len()
            ),
            header: vec!["fault", "from – to (s)", "requests failed", "detected after", "windows below objective", "objective met again after (s)", "goodput back after (s)", "verdict"]
                .into_iter()
                .map(String::from)
                .collect(),
            rows: s
                .incidents
                .iter()
                .map(|i| {
                    vec![
                        i.fault.clone(),
                        format!(
                            "{} – {}",
                            i.start_s,
                            i.end_s.map_or("end".to_string(), |e| e.to_string())
                        ),
                        i.requests_failed.to_string(),
                        i.time_to_detect_s
                            .map_or("never (no health check)".to_string(), |t| format!("{t} s")),
                        i.bad_windows.to_string(),
                        opt(i.time_to_recover_s, &|t| t.to_string()),
                        opt(i.goodput_back_after_s, &|t| t.to_string()),
                        i.verdict.clone(),
                    ]
                })
                .collect(),
        });
    }
    for t in &r.theory {
        let f = |x: Option<f64>| x.map_or("— (ρ ≥ 1)".to_string(), |v| v.to_string());
        tables.push(HtmlTable {
            caption: format!(
                "Queueing theory beside the simulation: pool {} is an {}",
                t.pool, t.model
            ),
            header: vec!["", "mean response (ms)", "P(wait)"]
                .into_iter()
                .map(String::from)
                .collect(),
            rows: vec![
                vec!["closed form".into(), f(t.mean_response_ms), f(t.p_wait)],
                vec![
                    "simulated".into(),
                    r.latency_ms.mean.to_string(),
                    r.queueing.p_wait.to_string(),
                ],
            ],
        });
    }
    let mut headline = vec![
        ("Availability".into(), pct(r.availability.request)),
        ("Objective".into(), pct(s.slo_availability)),
        (
            "Error budget".into(),
            opt(s.error_budget_consumed, &|b| format!("{} used", pct(b))),
        ),
        ("p99".into(), format!("{} ms", r.latency_ms.p99)),
        ("Mean latency".into(), format!("{} ms", r.latency_ms.mean)),
        ("Throughput".into(), format!("{} req/s", r.throughput_rps)),
    ];
    if r.stores_only() {
        // No requests: their tables and figures would be zeros.
        tables.clear();
        headline = vec![
            ("Stores".into(), r.stores.len().to_string()),
            ("Events".into(), r.events.to_string()),
        ];
    }
    for st in &r.stores {
        tables.push(HtmlTable {
            caption: format!("Store {}", st.name()),
            header: vec![String::new(), "figures".into()],
            rows: st
                .table_lines()
                .into_iter()
                .map(|(label, text)| vec![label, text])
                .collect(),
        });
    }
    let page = HtmlPage {
        title: format!("hasim report — {}", r.scenario),
        headline,
        verdicts: r
            .expectations
            .iter()
            .map(|v| HtmlVerdict {
                expectation: v.expect.clone(),
                met: v.met,
                detail: v.line(),
            })
            .collect(),
        tables,
        charts: svg_charts(&charts),
        notes: r.notes.clone(),
        scenario_path: scenario_path.to_string(),
        scenario_text: scenario_text.to_string(),
        run_facts: vec![
            ("seed".into(), r.seed.to_string()),
            ("replication".into(), r.replication.to_string()),
            (
                "statistics window".into(),
                format!("{} s → {} s", r.window.warmup_s, r.window.horizon_s),
            ),
            ("events".into(), r.events.to_string()),
            ("trajectory fingerprint".into(), r.fingerprint.clone()),
            ("scenario hash".into(), r.scenario_hash.clone()),
            ("hasim".into(), r.hasim_version.clone()),
        ],
        reproduce: r.reproduce.clone(),
    };
    Ok(reports::html::render(&page))
}

/// A sweep's axes as the charts need them: each axis' path and each variant's value on it.
pub struct Axes {
    /// Axis paths, in order.
    pub paths: Vec<String>,
    /// Per variant, its value's text on each axis.
    pub values: Vec<Vec<String>>,
}

impl Axes {
    /// Recovers the axes from variant labels (`path=value, path=value`), as a merged report has
    /// only those: a new part starts at `, ` followed by `path=`.
    pub fn from_labels(labels: &[String]) -> Axes {
        let split = |label: &str| -> Vec<(String, String)> {
            let mut parts: Vec<(String, String)> = Vec::new();
            for piece in label.split(", ") {
                let starts_part = piece.split_once('=').is_some_and(|(p, _)| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_alphanumeric() || "_.[]-".contains(c))
                });
                match (starts_part, parts.last_mut()) {
                    (false, Some(last)) => {
                        last.1.push_str(", ");
                        last.1.push_str(piece);
                    }
                    _ => {
                        let (p, v) = piece.split_once('=').unwrap_or((piece, ""));
                        parts.push((p.to_string(), v.to_string()));
                    }
                }
            }
            parts
        };
        let split: Vec<Vec<(String, String)>> = labels.iter().map(|l| split(l)).collect();
        let paths = split
            .first()
            .map(|v| v.iter().map(|(p, _)| p.clone()).collect())
            .unwrap_or_default();
        let values = split
            .into_iter()
            .map(|v| v.into_iter().map(|(_, x)| x).collect())
            .collect();
        Axes { paths, values }
    }
}

/// A value as a number: plain, or a duration in seconds.
fn numeric(text: &str) -> Option<f64> {
    let t = text.trim().trim_matches('"');
    t.parse::<f64>()
        .ok()
        .or_else(|| sim_core::parse_duration(t).ok().map(|d| d.0 as f64 / 1e9))
        .filter(|x| x.is_finite())
}

const SWEEP_METRICS: [(&str, &str); 3] = [
    ("latency_ms_mean", "mean latency (ms)"),
    ("latency_ms_p99", "p99 latency (ms)"),
    ("availability_request", "request availability"),
];

/// The charts of a sweep: each metric against the first numeric axis that varies, a line per
/// value of the other axes with its 95% CI band; a heatmap over the first two axes that vary.
pub fn sweep_charts(
    r: &SweepReport,
    axes: &Axes,
    format: ChartFormat,
) -> Result<Vec<Chart>, String> {
    let mut out = Vec::new();
    let n = axes.paths.len();
    let distinct = |a: usize| -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for v in &axes.values {
            if let Some(x) = v.get(a)
                && !seen.contains(x)
            {
                seen.push(x.clone());
            }
        }
        seen
    };
    let varying: Vec<usize> = (0..n).filter(|&a| distinct(a).len() > 1).collect();
    // The latency CDF of each variant (all replications pooled); a chart of more than a dozen
    // lines is unreadable, so larger sweeps show their first dozen.
    let shown = r.variants.len().min(12);
    let curves: Vec<Series> = r
        .variants
        .iter()
        .zip(&r.latency_curves)
        .take(shown)
        .map(|(v, c)| Series {
            name: if varying.is_empty() {
                v.label.clone()
            } else {
                varying
                    .iter()
                    .map(|&a| axes.values[v.index][a].clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            points: c.clone(),
        })
        .collect();
    let of = if shown < r.variants.len() {
        format!(" (the first {shown} of {} variants)", r.variants.len())
    } else {
        String::new()
    };
    push(
        &mut out,
        "latency-cdf",
        format!(
            "Latency of successful requests per variant{of}, all {} replications pooled: the fraction of requests (y) answered within a time (x).",
            r.meta.replications
        ),
        charts::latency_cdf(
            &format!("Latency CDF per variant — {}", r.meta.scenario),
            &curves,
            format,
        ),
    )?;
    let numeric_axis = varying
        .iter()
        .copied()
        .find(|&a| distinct(a).iter().all(|v| numeric(v).is_some()));
    let metric = |v: &reports::VariantReport, m: &str| v.metrics.get(m).cloned();
    if let Some(x) = numeric_axis {
        let others: Vec<usize> = varying.iter().copied().filter(|&a| a != x).collect();
        let group = |vi: usize| -> String {
            if others.is_empty() {
                "all variants".to_string()
            } else {
                others
                    .iter()
                    .map(|&a| axes.values[vi][a].clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        for (i, (m, label)) in SWEEP_METRICS.iter().enumerate() {
            let mut bands: Vec<Band> = Vec::new();
            for (vi, v) in r.variants.iter().enumerate() {
                let (Some(e), Some(xv)) = (
                    metric(v, m),
                    axes.values.get(vi).and_then(|vals| numeric(&vals[x])),
                ) else {
                    continue;
                };
                let h = e.ci95.unwrap_or(0.0);
                let name = group(vi);
                let point = (xv, e.mean, e.mean - h, e.mean + h);
                match bands.iter_mut().find(|b| b.name == name) {
                    Some(b) => b.points.push(point),
                    None => bands.push(Band {
                        name,
                        points: vec![point],
                    }),
                }
            }
            for b in &mut bands {
                b.points.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let name = [
                "metric-vs-parameter-mean",
                "metric-vs-parameter-p99",
                "metric-vs-parameter-availability",
            ][i];
            push(
                &mut out,
                name,
                format!(
                    "{label} against {} ({} replications per point; bands are 95% confidence intervals).",
                    axes.paths[x], r.meta.replications
                ),
                charts::metric_vs_parameter(
                    &format!("{label} vs {} — {}", axes.paths[x], r.meta.scenario),
                    &axes.paths[x],
                    label,
                    &bands,
                    format,
                ),
            )?;
        }
    }
    if varying.len() >= 2 {
        let (ax, ay) = (varying[0], varying[1]);
        let (xs, ys) = (distinct(ax), distinct(ay));
        let fixed: Vec<usize> = varying[2..].to_vec();
        let first_of = |a: usize| distinct(a)[0].clone();
        let mut values = vec![vec![None; xs.len()]; ys.len()];
        for (vi, v) in r.variants.iter().enumerate() {
            let vals = &axes.values[vi];
            if fixed.iter().any(|&a| vals[a] != first_of(a)) {
                continue;
            }
            let (Some(c), Some(row)) = (
                xs.iter().position(|x| *x == vals[ax]),
                ys.iter().position(|y| *y == vals[ay]),
            ) else {
                continue;
            };
            values[row][c] = metric(v, "latency_ms_mean").map(|e| e.mean);
        }
        let at = if fixed.is_empty() {
            String::new()
        } else {
            format!(
                " at {}",
                fixed
                    .iter()
                    .map(|&a| format!("{}={}", axes.paths[a], first_of(a)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        push(
            &mut out,
            "heatmap",
            format!(
                "Mean latency (ms) for each pair of {} and {}{at}; grey cells were not run.",
                axes.paths[ax], axes.paths[ay]
            ),
            charts::heatmap(
                &format!("Mean latency (ms) — {}{at}", r.meta.scenario),
                &axes.paths[ax],
                &axes.paths[ay],
                &xs,
                &ys,
                &values,
                "mean latency (ms)",
                format,
            ),
        )?;
    }
    Ok(out)
}

/// The charts of `compare`: per headline metric, each variant's paired difference from the
/// baseline with its 95% CI.
pub fn compare_charts(
    labels: &[String],
    (columns, values): (&[reports::Column], &[Vec<Vec<f64>>]),
    baseline: usize,
    format: ChartFormat,
) -> Result<Vec<Chart>, String> {
    let mut out = Vec::new();
    let short = |l: &str| {
        l.split(", ")
            .map(|p| p.split_once('=').map_or(p, |(_, v)| v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (name, metric) in [
        ("compare-mean", "latency_ms_mean"),
        ("compare-p99", "latency_ms_p99"),
        ("compare-availability", "availability_request"),
    ] {
        // A comparison of stores alone has no request metrics to chart.
        let Some((i, m)) = columns.iter().enumerate().find(|(_, m)| m.name == metric) else {
            continue;
        };
        let bars: Vec<Bar> = (0..labels.len())
            .filter(|&v| v != baseline)
            .map(|v| {
                let d: Vec<f64> = values[v]
                    .iter()
                    .zip(&values[baseline])
                    .map(|(a, b)| a[i] - b[i])
                    .collect();
                let e = reports::estimate(&d);
                Bar {
                    label: short(&labels[v]),
                    value: e.mean,
                    ci95: e.ci95,
                }
            })
            .collect();
        let better = if m.lower_is_better {
            "below zero is better"
        } else {
            "above zero is better"
        };
        push(
            &mut out,
            name,
            format!(
                "Paired difference in {} from the baseline {} (common random numbers; whiskers are 95% confidence intervals; {better}).",
                m.label,
                short(&labels[baseline])
            ),
            charts::bars(
                &format!("Δ {} vs {}", m.label, short(&labels[baseline])),
                &format!("Δ {}", m.label),
                &bars,
                format,
            ),
        )?;
    }
    Ok(out)
}

/// The HTML page of a sweep or a comparison: its table, its charts, the sweep file as run.
pub fn sweep_page(
    title: &str,
    text_report: &str,
    r: &SweepReport,
    charts: &[Chart],
    sweep_path: &str,
    sweep_text: &str,
) -> String {
    let metric_cols = [
        "availability_request",
        "latency_ms_mean",
        "latency_ms_p99",
        "throughput_rps",
    ];
    let cell = |e: Option<&reports::Estimate>| {
        e.map_or("n/a".into(), |e| match e.ci95 {
            Some(h) => format!("{} ± {}", e.mean, h),
            None => e.mean.to_string(),
        })
    };
    let page = HtmlPage {
        title: title.to_string(),
        headline: vec![
            ("Variants".into(), r.variants.len().to_string()),
            ("Replications each".into(), r.meta.replications.to_string()),
            ("Seed".into(), r.meta.seed.to_string()),
        ],
        verdicts: Vec::new(),
        tables: vec![HtmlTable {
            caption: "Per variant: mean ± 95% CI over replications".into(),
            header: [
                "variant",
                "availability",
                "mean latency (ms)",
                "p99 (ms)",
                "throughput (req/s)",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            rows: r
                .variants
                .iter()
                .map(|v| {
                    std::iter::once(v.label.clone())
                        .chain(metric_cols.iter().map(|m| cell(v.metrics.get(*m))))
                        .collect()
                })
                .collect(),
        }],
        charts: svg_charts(charts),
        notes: vec![text_report.to_string()],
        scenario_path: sweep_path.to_string(),
        scenario_text: sweep_text.to_string(),
        run_facts: vec![
            ("seed".into(), r.meta.seed.to_string()),
            ("replications".into(), r.meta.replications.to_string()),
            ("warm-up".into(), r.meta.warmup_rule.clone()),
            ("sweep hash".into(), r.meta.sweep_hash.clone()),
            ("hasim".into(), r.meta.hasim_version.clone()),
        ],
        reproduce: r.meta.reproduce.clone(),
    };
    reports::html::render(&page)
}

/// The HTML page of `compare`: the paired differences as charts and text, the sweep as run.
pub fn compare_page(
    report: &reports::compare::CompareReport,
    charts: &[Chart],
    sweep_path: &str,
    sweep_text: &str,
) -> String {
    use reports::compare::{human, percent, short};
    let meta = &report.meta;
    let mut tables: Vec<HtmlTable> = report
        .metrics
        .iter()
        .map(|m| HtmlTable {
            caption: format!(
                "{}: {} is better; ranked best first. Variants sharing a group letter are not significantly different (paired 95% CIs).",
                m.label, m.better
            ),
            header: [
                "rank",
                "variant",
                "mean",
                "± 95% CI",
                "Δ vs baseline",
                "± 95% CI",
                "Δ %",
                "verdict",
                "group",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            rows: m
                .ranking
                .iter()
                .map(|r| {
                    let d = r.vs_baseline.as_ref();
                    vec![
                        r.rank.to_string(),
                        format!("#{} {}", r.variant, short(&r.label)),
                        human(r.value.mean),
                        r.value.ci95.map_or("—".into(), human),
                        d.map_or("—".into(), |d| human(d.delta.mean)),
                        d.and_then(|d| d.delta.ci95).map_or("—".into(), human),
                        d.and_then(|d| d.relative).map_or("—".into(), percent),
                        d.map_or("baseline", |d| d.verdict).to_string(),
                        r.group.clone(),
                    ]
                })
                .collect(),
        })
        .collect();
    if !report.identical.is_empty() {
        tables.push(HtmlTable {
            caption: "Variants with the same figures in every replication".into(),
            header: vec!["variants".into(), "why".into()],
            rows: report
                .identical
                .iter()
                .map(|g| {
                    vec![
                        g.variants
                            .iter()
                            .map(|&v| format!("#{v} {}", short(&report.variants[v])))
                            .collect::<Vec<_>>()
                            .join(", "),
                        g.why.clone(),
                    ]
                })
                .collect(),
        });
    }
    let page = HtmlPage {
        title: format!("hasim compare — {}", meta.sweep),
        headline: vec![
            ("Paired replications".into(), meta.replications.to_string()),
            (
                "Baseline".into(),
                format!(
                    "#{} {}",
                    report.baseline,
                    short(&report.variants[report.baseline])
                ),
            ),
            ("Practical threshold".into(), percent(report.min_effect)),
            ("Seed".into(), meta.seed.to_string()),
        ],
        verdicts: Vec::new(),
        tables,
        charts: svg_charts(charts),
        notes: Vec::new(),
        scenario_path: sweep_path.to_string(),
        scenario_text: sweep_text.to_string(),
        run_facts: vec![
            ("seed".into(), meta.seed.to_string()),
            ("replications".into(), meta.replications.to_string()),
            ("warm-up".into(), meta.warmup_rule.clone()),
            ("sweep hash".into(), meta.sweep_hash.clone()),
            ("hasim".into(), meta.hasim_version.clone()),
        ],
        reproduce: meta.reproduce.clone(),
    };
    reports::html::render(&page)
}

/// Writes each chart as `dir/NAME.EXT` (atomically).
pub fn write_charts(
    dir: &std::path::Path,
    charts: &[Chart],
    format: ChartFormat,
) -> Result<Vec<std::path::PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for c in charts {
        let path = dir.join(format!("{}.{}", c.name, format.extension()));
        crate::write_atomically(&path, &c.bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_come_back_from_labels() {
        let a = Axes::from_labels(&[
            "pools[app].replicas=8, balancers[lb].policy=LeastRequest(choices: 2)".into(),
            "pools[app].replicas=10, balancers[lb].policy=Weighted([1, 2])".into(),
        ]);
        assert_eq!(a.paths, ["pools[app].replicas", "balancers[lb].policy"]);
        assert_eq!(a.values[1], ["10", "Weighted([1, 2])"]);
        assert_eq!(numeric("\"6h\""), Some(21600.0));
        assert_eq!(numeric("0.5"), Some(0.5));
        assert_eq!(numeric("RoundRobin"), None);
    }

    /// Twenty replicas: lines for the five busiest (whatever their index), the rest a band;
    /// eight or fewer: a line each.
    #[test]
    fn many_replicas_draw_the_busiest_as_lines() {
        let load = |l: &reports::ReplicaLoad| l.in_service + l.queued;
        let busy = [17, 3, 11, 19, 0];
        let row = |k: u64| reports::WindowRow {
            start_ns: k,
            end_ns: k + 1,
            replicas: (0..20)
                .map(|i| reports::ReplicaLoad {
                    in_service: if busy.contains(&i) {
                        2.0 + i as f64 / 100.0
                    } else {
                        1.0
                    },
                    queued: (k % 2) as f64,
                    up: 1.0,
                })
                .collect(),
            ..Default::default()
        };
        let rows: Vec<_> = (0..5).map(row).collect();
        assert_eq!(replicas_drawn(&rows, 20, &load), [0, 3, 11, 17, 19]);
        assert_eq!(replicas_drawn(&rows, 8, &load), (0..8).collect::<Vec<_>>());
    }
}

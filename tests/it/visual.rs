//! What people read and CI trusts: the time series against the run's own totals, the SRE view,
//! error-budget gates, charts and the HTML report (loaded in headless Chromium when it is there;
//! `.ci/run` installs it, so in CI it always is).

use super::{hasim, load, repo};
use std::path::Path;

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hasim-visual-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d.join(name)
}

/// The windows add up to the run: requests offered and finished over all windows are the
/// whole-run counts, and each replica's time-averaged load over the windows after warm-up is its
/// utilisation in the report (the sampling carries its areas across the warm-up restart).
#[test]
fn time_series_adds_up_to_the_run() {
    let mut loaded = load("scenarios/web-tier.ron");
    // A window that does not divide the warm-up: windows straddle the restart of statistics.
    loaded.spec.window = sim_core::SimDuration::from_secs(70);
    let r = hasim::Run::new(&loaded).seed(42).execute().0;
    let (summary, _) = hasim::Run::new(&loaded).seed(42).simulate().parts();
    let rows = &r.series;
    assert_eq!(rows.len(), (21_600f64 / 70.0).ceil() as usize);
    assert_eq!(rows.last().map(|w| w.end_ns), Some(21_600_000_000_000));
    let offered: u64 = rows.iter().map(|w| w.offered).sum();
    let finished: u64 = rows.iter().map(|w| w.succeeded + w.failed).sum();
    let c = summary.conservation;
    assert_eq!(offered, c.offered);
    assert_eq!(finished, c.succeeded + c.failed);

    // Time-weighted load from the windows, over the whole run, against the run's own areas
    // (the report's utilisation covers warm-up to horizon; windows cover from zero, so compare
    // the windows after a boundary at or past warm-up with the same span of the summary).
    let horizon_s = 21_600.0;
    for (i, rep) in summary.replicas.iter().enumerate() {
        let busy_windows: f64 = rows
            .iter()
            .map(|w| w.replicas[i].in_service * w.seconds())
            .sum();
        let up_windows: f64 = rows.iter().map(|w| w.replicas[i].up * w.seconds()).sum();
        // The summary's areas start at warm-up; the windows' from zero. Their difference is the
        // warm-up's share, which is at most warm-up × workers.
        let busy_after = rep.busy_area as f64 / 1e9;
        let up_after = rep.up_area as f64 / 1e9;
        let warmup_s = 300.0;
        assert!(
            busy_windows >= busy_after - 1e-6 && busy_windows <= busy_after + warmup_s * 4.0,
            "replica {i}: busy {busy_windows} vs {busy_after}"
        );
        assert!(
            up_windows >= up_after - 1e-6 && up_windows <= up_after + warmup_s + 1e-6,
            "replica {i}: up {up_windows} vs {up_after}"
        );
        assert!(up_windows <= horizon_s + 1e-6);
    }
    // Replicas up per window is the sum of the replicas' up fractions.
    for w in rows {
        let sum: f64 = w.replicas.iter().map(|l| l.up).sum();
        assert!((sum - w.replicas_up).abs() < 1e-9);
    }
    // Sampling observes: the trajectory does not change with the window.
    let r2 = hasim::Run::new(&load("scenarios/web-tier.ron"))
        .seed(42)
        .execute()
        .0;
    assert_eq!(r.fingerprint, r2.fingerprint);
    assert_eq!(r.requests.succeeded, r2.requests.succeeded);
}

/// The same areas, exactly, when the windows start at warm-up: the sum of each window's mean
/// load × its length after warm-up is the report's utilisation × workers × window.
#[test]
fn window_load_matches_utilisation_exactly_after_warmup() {
    let mut loaded = load("scenarios/web-tier.ron");
    loaded.spec.window = sim_core::SimDuration::from_secs(60); // divides the 5 min warm-up
    let r = hasim::Run::new(&loaded).seed(7).execute().0;
    let after: Vec<_> = r
        .series
        .iter()
        .filter(|w| w.start_ns >= 300_000_000_000)
        .collect();
    let span: f64 = after.iter().map(|w| w.seconds()).sum();
    for (i, rep) in r.replicas.iter().enumerate() {
        let busy: f64 = after
            .iter()
            .map(|w| w.replicas[i].in_service * w.seconds())
            .sum();
        let util = busy / (span * 4.0);
        assert!(
            (util - rep.utilisation).abs() < 2e-6,
            "replica {i}: {util} vs {}",
            rep.utilisation
        );
    }
}

#[test]
fn sre_view_of_web_tier() {
    let out = hasim(&["run", "scenarios/web-tier.ron", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let s = &v["sre"];
    assert_eq!(s["slo_availability"], 0.99);
    assert_eq!(s["slo_from"], "slo");
    assert_eq!(s["window_s"], 60.0);
    let w = &s["windows"];
    let (total, good, bad) = (
        w["total"].as_u64().unwrap(),
        w["good"].as_u64().unwrap(),
        w["bad"].as_u64().unwrap(),
    );
    assert_eq!(total, 355, "6 h − 5 min warm-up in 1 min windows");
    assert_eq!(good + bad + w["empty"].as_u64().unwrap(), total);
    let ta = s["time_availability"].as_f64().unwrap();
    assert!((ta - good as f64 / (good + bad) as f64).abs() < 1e-6);
    let a = v["availability"]["request"].as_f64().unwrap();
    let budget = s["error_budget_consumed"].as_f64().unwrap();
    assert!((budget - (1.0 - a) / 0.01).abs() < 1e-4, "{budget}");
    let nines = s["nines"].as_f64().unwrap();
    assert!((nines + (1.0 - a).log10()).abs() < 1e-3);
    // One incident per crash, in order, each with its effect and recovery.
    let incidents = s["incidents"].as_array().unwrap();
    assert_eq!(
        incidents.len() as u64,
        v["faults"]["total"].as_u64().unwrap()
    );
    for (i, f) in incidents
        .iter()
        .zip(v["faults"]["listed"].as_array().unwrap())
    {
        let (a, b) = (
            i["start_s"].as_f64().unwrap(),
            f["down_s"].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 5e-4, "{a} vs {b}");
        assert_eq!(
            i["requests_failed"].as_u64(),
            Some(f["requests_lost"].as_u64().unwrap() + f["requests_refused"].as_u64().unwrap())
        );
        assert!(
            i["time_to_detect_s"].is_null(),
            "no health check in web-tier"
        );
    }
    // Without health checks, every crash of this tier costs windows below 99%.
    assert!(
        incidents
            .iter()
            .all(|i| i["bad_windows"].as_u64() > Some(0))
    );
}

#[test]
fn an_exhausted_error_budget_exits_1_and_says_by_how_much() {
    let out = hasim(&["run", "tests/data/good/error-budget.ron"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expectation failed: error budget consumed ≤ 0.5 (objective 0.9999)"),
        "{err}"
    );
    // "got X, over by Y (Z%)": Y is X less the limit, Z is Y as a share of the limit.
    let tail = err.split("got ").nth(1).expect("got …");
    let got: f64 = tail.split(',').next().unwrap().parse().expect("a number");
    let over: f64 = tail
        .split("over by ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .expect("over by …")
        .parse()
        .expect("a number");
    assert!(got > 100.0, "{err}");
    assert!((over - (got - 0.5)).abs() < 0.011, "{err}");
    assert!(
        err.contains("reproduce: hasim run tests/data/good/error-budget.ron"),
        "{err}"
    );
    // The same gate from the command line, on a scenario that meets its own expectations.
    let ok = hasim(&[
        "run",
        "scenarios/mmc.ron",
        "--fail-if",
        "error_budget > 0.5",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let gate = hasim(&[
        "run",
        "scenarios/web-tier.ron",
        "--fail-if",
        "error_budget > 1",
    ]);
    assert_eq!(gate.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gate.stderr).contains("error budget consumed ≤ 1"));
    let bad = hasim(&[
        "run",
        "scenarios/mmc.ron",
        "--fail-if",
        "error_budget > lots",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn charts_are_written_as_svg_and_png() {
    let dir = tmp("charts");
    let d = dir.to_str().expect("utf-8");
    for format in ["svg", "png"] {
        let out = hasim(&[
            "run",
            "scenarios/mmc.ron",
            "--charts",
            d,
            "--chart-format",
            format,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for name in ["latency-cdf", "timeline", "replicas"] {
            let bytes = std::fs::read(dir.join(format!("{name}.{format}"))).expect("chart file");
            match format {
                "svg" => {
                    let text = String::from_utf8(bytes).expect("utf-8");
                    assert!(text.contains("<svg"), "{name}");
                    assert!(text.contains("mmc"), "{name}: the title names the scenario");
                }
                _ => assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn time_series_csv_has_a_row_per_window() {
    let path = tmp("ts.csv");
    let out = hasim(&[
        "run",
        "scenarios/web-tier.ron",
        "--window",
        "10m",
        "--timeseries",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let csv = std::fs::read_to_string(&path).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 36, "header + 6 h / 10 min");
    assert!(lines[0].starts_with("start_s,end_s,offered,succeeded,failed,success_rate"));
    assert!(lines[0].ends_with("web/5 in_service,web/5 queued"));
    assert!(lines[1].starts_with("0,600,"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("windows of 600s"), "{stdout}");
    let reproduce = stdout.lines().last().unwrap_or_default();
    assert!(reproduce.contains("--window 10m"), "{reproduce}");
    let bad = hasim(&["run", "scenarios/web-tier.ron", "--window", "1ms"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("more than 100000"));
    let _ = std::fs::remove_file(&path);
}

/// Loads `page` in headless Chromium and fails unless all `charts` render with no script error.
/// Without Chromium (a developer's machine) it says so and returns; in CI (`CI` set) the check
/// always runs: `.ci/run` installs Chromium, and check.sh installs it if it is missing.
fn browser_check(page: &Path, charts: usize) {
    let chromium = Path::new("/usr/bin/chromium").exists();
    if !chromium && std::env::var_os("CI").is_none() {
        eprintln!(
            "note: chromium is not installed: the browser check runs in CI (.ci/run installs it)"
        );
        return;
    }
    let check = std::process::Command::new("bash")
        .arg(repo("tests/browser/check.sh"))
        .arg(page)
        .arg(charts.to_string())
        .output()
        .expect("bash runs");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The README's page: one self-contained file with the summary, three inline charts, the
/// scenario as run and the reproduce command.
#[test]
fn html_report_is_self_contained_and_loads_in_chromium() {
    let path = tmp("report.html");
    let out = hasim(&[
        "run",
        "scenarios/web-tier.ron",
        "--html",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&path).expect("html");
    assert_eq!(html.matches("<svg").count(), 3);
    for needle in [
        "Availability",
        "hasim run scenarios/web-tier.ron --seed 42",
        "slo: Slo(availability: 0.99, window: &quot;1m&quot;)",
        "Incidents",
        "Latency CDF",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    for external in ["<script src", "<link", "<img", "@import", "url(http"] {
        assert!(
            !html.contains(external),
            "loads nothing from outside: {external}"
        );
    }
    // Same run, same bytes.
    let again = tmp("again.html");
    hasim(&[
        "run",
        "scenarios/web-tier.ron",
        "--html",
        again.to_str().expect("utf-8"),
    ]);
    assert_eq!(std::fs::read(&again).expect("html"), html.as_bytes());

    browser_check(&path, 3);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&again);
}

#[test]
fn sweep_and_compare_write_their_charts_and_pages() {
    let dir = tmp("sweep-charts");
    let page = tmp("sweep.html");
    let out = hasim(&[
        "sweep",
        "tests/data/sweeps/small.ron",
        "--jobs",
        "2",
        "--charts",
        dir.to_str().expect("utf-8"),
        "--html",
        page.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("charts dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let html = std::fs::read_to_string(&page).expect("html");
    assert_eq!(html.matches("<svg").count(), names.len());
    browser_check(&page, names.len());

    let cmp_dir = tmp("compare-charts");
    let out = hasim(&[
        "compare",
        "tests/data/sweeps/small.ron",
        "--jobs",
        "2",
        "--charts",
        cmp_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["compare-mean", "compare-p99", "compare-availability"] {
        let svg = std::fs::read_to_string(cmp_dir.join(format!("{name}.svg"))).expect("chart");
        assert!(svg.contains("<svg"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&cmp_dir);
    let _ = std::fs::remove_file(&page);
}

/// One chart, snapshotted: a change in how charts are drawn shows up in review.
#[test]
fn latency_cdf_svg_snapshot() {
    let loaded = load("tests/data/good/minimal.ron");
    let r = hasim::Run::new(&loaded).seed(1).execute().0;
    let charts = hasim::visual::run_charts(&r, reports::charts::ChartFormat::Svg).expect("charts");
    let cdf = charts
        .iter()
        .find(|c| c.name == "latency-cdf")
        .expect("cdf");
    insta::assert_snapshot!(
        "latency_cdf_minimal_svg",
        String::from_utf8(cdf.bytes.clone()).expect("utf-8")
    );
}

/// A fleet beyond the replicas reported one by one is summarised: the spread across replicas
/// per window (median ≤ p90 ≤ p99 ≤ max, the max at least the busiest sampled replica's load),
/// replicas up still counting every replica, and the table's spread and busiest rows.
#[test]
fn a_large_fleet_is_summarised_not_listed() {
    let loaded = load("tests/data/good/large-fleet.ron");
    let r = hasim::Run::new(&loaded).seed(3).execute().0;
    assert_eq!(r.replicas.len(), 200);
    assert!(!r.series.is_empty());
    for w in &r.series {
        let l = w.fleet_load.expect("every window has the fleet's spread");
        assert!(l[0] <= l[1] && l[1] <= l[2] && l[2] <= l[3], "{l:?}");
        assert_eq!(w.replicas.len(), models::REPLICA_SAMPLES);
        let sampled = (w.replicas.iter())
            .map(|x| x.in_service + x.queued)
            .fold(0.0, f64::max);
        assert!(sampled <= l[3] + 1e-12, "{sampled} > {l:?}");
        assert!((w.replicas_up - 200.0).abs() < 1e-9, "{}", w.replicas_up);
    }
    let table = reports::render_table(&r);
    for label in ["p50", "p90", "p99", "max"] {
        let row = |l: &str| l.split_whitespace().take(2).eq(["app", label]);
        assert!(table.lines().any(row), "{label}\n{table}");
    }
    assert!(
        table.contains("(200 replicas: the spread across them above, the 5 busiest below)"),
        "{table}"
    );
    assert!(
        table.lines().filter(|l| l.starts_with("app ")).count() == 4 + 5,
        "{table}"
    );
    let csv = hasim::visual::timeseries_csv(&r);
    assert!(
        csv.lines().next().is_some_and(
            |h| h.ends_with(",in_flight_p50,in_flight_p90,in_flight_p99,in_flight_max")
        )
    );
}

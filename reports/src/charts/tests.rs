//! Every chart type with realistic data, plus odd inputs. With `HASIM_CHARTS_DIR` set, the demo
//! charts are also written there (`HASIM_CHARTS_DIR=/tmp/charts cargo test -p reports charts`).

use super::lines::{CDF_START, cdf_axis, crossing, from_axis_start};
use super::timeline::{LANE_H, distinct_labels, lanes_height, shaded_across, y_axis};
use super::*;

/// xorshift64*: deterministic noise in [0, 1) without a dependency.
fn noise(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn series(name: &str, points: Vec<(f64, f64)>) -> Series {
    let name = name.to_string();
    Series { name, points }
}

/// Four policies; a product of uniforms is roughly lognormal, and 2% of requests are slow.
fn cdf_curves() -> Vec<Series> {
    let mut u = noise(7);
    let mut curve = |name: &str, base: f64| {
        let mut latency = |_| {
            let body = 4.0 + (0..5).map(|_| 0.45 + u()).product::<f64>() * base;
            if u() < 0.02 {
                body * (8.0 + 20.0 * u())
            } else {
                body
            }
        };
        let mut lat: Vec<f64> = (0..2000).map(&mut latency).collect();
        lat.sort_by(f64::total_cmp);
        let at = |i: usize| (lat[i], (i + 1) as f64 / 2000.0);
        series(name, (0..2000).step_by(10).chain([1999]).map(at).collect())
    };
    let rr = curve("round-robin", 9.0);
    let lr = curve("least-request", 7.0);
    vec![rr, lr, curve("power-of-two", 7.5), curve("random", 10.0)]
}

fn shades() -> Vec<Shade> {
    let shade = |from, to, label: &str| Shade {
        from,
        to,
        label: label.into(),
    };
    let down = "replica web/2 down";
    let zone = shade(18000.0, 18300.0, "zone b partitioned");
    vec![
        shade(3600.0, 4500.0, down),
        shade(12600.0, 13500.0, down),
        zone,
    ]
}

fn panel(y_label: &str, series: Vec<Series>, y_range: Option<(f64, f64)>) -> Panel {
    let y_label = y_label.to_string();
    Panel {
        y_label,
        series,
        y_range,
        spread: None,
    }
}

/// Six hours in one-minute windows: success rate, throughput and replicas up.
fn health() -> Vec<Panel> {
    let (mut u, shades) = (noise(11), shades());
    let (mut ok, mut rate, mut up) = (vec![], vec![], vec![]);
    for t in (0..360).map(|i| 60.0 * f64::from(i) + 30.0) {
        let fault = shades.iter().any(|s| s.from <= t && t < s.to);
        let (f, dip) = if fault { (1.0, 30.0) } else { (0.0, 0.0) };
        ok.push((t, 99.9 - 0.15 * u() - f * (17.0 + 3.0 * u())));
        rate.push((t, 240.0 + 12.0 * (u() - 0.5) - dip));
        up.push((t, 3.0 - f));
    }
    vec![
        panel("success rate (%)", vec![series("success", ok)], None),
        panel("throughput (req/s)", vec![series("completed", rate)], None),
        panel("replicas up", vec![series("web", up)], Some((0.0, 3.5))),
    ]
}

/// In-flight requests per replica: random walks around per-replica levels.
fn replicas(n: u32) -> Vec<Panel> {
    let mut u = noise(13);
    let mut walk = |r: u32| {
        let mut level = 4.0 + f64::from(r) * 0.5;
        let mut step = |i: u32| {
            level = (level + u() - 0.5).clamp(0.0, 20.0);
            (60.0 * f64::from(i), level)
        };
        series(&format!("web/{r}"), (0..360).map(&mut step).collect())
    };
    let all = (0..n).map(&mut walk).collect();
    vec![panel("in-flight requests", all, None)]
}

/// p99 ≈ k / (1 - utilisation), with a ±10% band.
fn sweep() -> Vec<Band> {
    let band = |name: &str, k: f64| {
        let at = |u: f64| {
            (
                u,
                12.0 * k / (1.0 - u),
                10.8 * k / (1.0 - u),
                13.2 * k / (1.0 - u),
            )
        };
        let points = (0..10).map(|i| at(0.5 + 0.05 * f64::from(i))).collect();
        Band {
            name: name.into(),
            points,
        }
    };
    vec![
        band("round-robin", 1.0),
        band("least-request", 0.7),
        band("power-of-two", 0.78),
    ]
}

fn demo_bars() -> Vec<Bar> {
    let bar = |label: &str, value, ci95| Bar {
        label: label.into(),
        value,
        ci95,
    };
    let (lr, p2) = (
        bar("least-request", -4.2, Some(1.1)),
        bar("power-of-two", -2.9, Some(1.4)),
    );
    let (rnd, w) = (
        bar("random", 3.1, Some(2.0)),
        bar("weighted", 0.4, Some(0.9)),
    );
    vec![lr, p2, rnd, w, bar("consistent-hash", 6.8, None)]
}

/// Every chart type with the demo data: (file stem, bytes).
fn demo(f: ChartFormat) -> Vec<(&'static str, Vec<u8>)> {
    let xs: Vec<String> = (5..10).map(|u| format!("0.{u}")).collect();
    let ys: Vec<String> = (2..6).map(|r| format!("{r} replicas")).collect();
    let avail = |r: i32, c: i32| 100.0 - f64::from(c + 1) * 0.8 / f64::from(r);
    let cell = |r: i32, c: i32| ((r, c) != (2, 4)).then(|| avail(r, c));
    let grid: Vec<Vec<_>> = (2..6)
        .map(|r| (0..5).map(|c| cell(r, c)).collect())
        .collect();
    let (sh, p99, diff) = (shades(), "p99 latency (ms)", "paired difference (ms)");
    let charts = [
        ("cdf", latency_cdf("Latency by policy", &cdf_curves(), f)),
        (
            "timeline",
            timeline("Service health over 6 h", &health(), &sh, f),
        ),
        (
            "replicas",
            timeline("In-flight per replica", &replicas(12), &sh[..2], f),
        ),
        (
            "sweep",
            metric_vs_parameter("p99 vs load", "utilisation", p99, &sweep(), f),
        ),
        (
            "heatmap",
            heatmap(
                "Availability",
                "utilisation",
                "replicas",
                &xs,
                &ys,
                &grid,
                "availability (%)",
                f,
            ),
        ),
        (
            "bars",
            bars("Mean latency vs round-robin", diff, &demo_bars(), f),
        ),
    ];
    charts
        .map(|(name, r)| (name, r.unwrap_or_else(|e| panic!("{name}: {e}"))))
        .to_vec()
}

#[test]
fn svg_carries_titles_and_axis_labels() {
    let expect = [
        "Latency by policy|latency (ms)|fraction of requests ≤ latency|least-request|p99",
        "Service health over 6 h|time (s)|success rate (%)|throughput (req/s)|zone b",
        "In-flight per replica|in-flight requests|web/11",
        "p99 vs load|utilisation|p99 latency (ms)|power-of-two|0.95",
        "Availability|replicas|availability (%)|0.9|n/a|99.84",
        "Mean latency vs round-robin|paired difference (ms)|consistent-hash|-4.2 ± 1.1",
    ];
    for ((name, svg), words) in demo(ChartFormat::Svg).into_iter().zip(expect) {
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains(r#"font-family="sans-serif""#));
        for w in words.split('|') {
            assert!(svg.contains(w), "{name}: {w:?} missing");
        }
        // Windows that share a label share one legend entry.
        assert!(svg.matches("replica web/2 down").count() <= 1, "{name}");
    }
}

#[test]
fn png_is_a_png_and_renders_are_byte_identical() {
    for format in [ChartFormat::Svg, ChartFormat::Png] {
        for ((name, a), (_, b)) in demo(format).into_iter().zip(demo(format)) {
            assert!(a == b, "{name} {format:?} differs between runs");
            if format == ChartFormat::Png {
                assert!(a.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"), "{name}");
                assert!(a.ends_with(b"IEND\xae\x42\x60\x82") && a.len() < 200_000);
            }
        }
    }
    let Ok(dir) = std::env::var("HASIM_CHARTS_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for format in [ChartFormat::Svg, ChartFormat::Png] {
        for (name, bytes) in demo(format) {
            let path = format!("{dir}/{name}.{}", format.extension());
            std::fs::write(path, bytes).unwrap();
        }
    }
}

#[test]
fn odd_data_gives_a_chart_or_an_error_never_a_panic() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let inputs: [&[(f64, f64)]; 8] = [
        &[],
        &[(5.0, 0.5)],
        &[(nan, nan), (inf, 1.0)],
        &[(3.0, 1.0), (3.0, 1.0)],
        &[(0.0, 0.0), (0.0, 1.0), (1e9, 1.0), (nan, 0.5)],
        &[(-5.0, 0.2), (1e-300, 0.4), (1e300, 0.9)],
        &[(-f64::MAX, 0.1), (f64::MAX, 0.2), (f64::MIN_POSITIVE, 1.0)],
        &[(0.0, 0.5), (1.0, 1e12), (2.0, -1e12)], // far outside a fixed y range
    ];
    let shade = |from, to| Shade {
        from,
        to,
        label: String::new(),
    };
    let sh = [shade(nan, 1.0), shade(7.0, 7.0), shade(-inf, inf)];
    for f in [ChartFormat::Svg, ChartFormat::Png] {
        for pts in inputs {
            let line = vec![series("", pts.to_vec())];
            let _ = latency_cdf("", &line, f);
            let panels = [
                panel("", line.clone(), Some((0.0, 1.0))),
                panel("", line, Some((1.0, 1.0))),
            ];
            let _ = timeline("", &panels, &sh, f);
            let band = |&(x, y): &(f64, f64)| (x, y, y - 1.0, nan);
            let band = Band {
                name: "".into(),
                points: pts.iter().map(band).collect(),
            };
            let _ = metric_vs_parameter("", "", "", &[band], f);
            let row: Vec<Option<f64>> = pts.iter().map(|p| Some(p.1)).collect();
            let _ = heatmap("", "", "", &[], &[], &[row, vec![], vec![None]], "", f);
            let bar = |p: &(f64, f64)| Bar {
                label: "".into(),
                value: p.0,
                ci95: Some(p.1),
            };
            let _ = bars("", "", &pts.iter().map(bar).collect::<Vec<_>>(), f);
        }
        // No data at all is a chart that says so.
        assert!(latency_cdf("", &[], f).is_ok() && timeline("", &[], &[], f).is_ok());
        assert!(metric_vs_parameter("", "", "", &[], f).is_ok() && bars("", "", &[], f).is_ok());
        assert!(heatmap("", "", "", &[], &[], &[], "", f).is_ok());
        // More lines than the legend can list and than the palette has colours.
        assert!(timeline("many", &replicas(40), &[], f).is_ok());
    }
}

#[test]
fn numbers_are_short() {
    let cases = [
        (0.30000000000000004, "0.3"),
        (240.0, "240"),
        (99.95, "99.95"),
        (-0.0, "0"),
    ];
    let more = [
        (12345.0, "12.3k"),
        (0.001234, "0.00123"),
        (2.5e6, "2.5M"),
        (f64::NAN, "n/a"),
    ];
    for (v, s) in cases.into_iter().chain(more) {
        assert_eq!(short(v), s);
    }
    assert_eq!(
        Axis::linear(0.0, 21600.0, 10).labels[..3],
        ["0", "2000", "4000"]
    );
    assert_eq!(
        Axis::linear(0.4775, 0.9725, 8).labels[..2],
        ["0.50", "0.55"]
    );
    let ticks = ["-6", "-4", "-2", "0", "2", "4", "6", "8"];
    assert_eq!(Axis::linear(-6.9, 8.1, 6).labels, ticks);
    let ticks = ["5", "10", "20", "50", "100", "200", "500"];
    assert_eq!(Axis::log(4.8, 750.0).labels, ticks);
    assert_eq!(clip("a-long-replica-name/12", 9), "a-lo…e/12");
}

/// The CDF's x axis is set by the data: one request of a microsecond among thousands of
/// 10 ms–5 s ones does not start a log axis four decades early.
#[test]
fn cdf_axis_starts_where_the_curves_do() {
    let mut points = vec![(0.0001, 1.0 / 5000.0)];
    points.extend(
        (1..=100)
            .map(f64::from)
            .map(|k| (10.0 * k * k / 2.0, k / 100.0)),
    );
    let c = series("LeastRequest(choices: 2), pools[app].replicas=12", points);
    let x = cdf_axis(std::slice::from_ref(&c)).expect("an axis");
    assert!(x.log, "5 ms … 50 s spans four decades");
    // The 1% point is 5 ms (the first point at or past 0.01): the axis starts within the
    // log axis' margin below it, not at 0.0001 ms.
    let start = crossing(&c.points, CDF_START).expect("crosses 1%");
    assert!(
        (x.lo - (libm::log10(start) - 0.08)).abs() < 1e-9,
        "{} vs {start}",
        x.lo
    );
    assert!((x.hi - (libm::log10(50_000.0) + 0.08)).abs() < 1e-9);
    // The part left of the axis becomes one point on its left edge.
    let shown = from_axis_start(&c.points, true, &x);
    assert_eq!(shown[0].0, x.lo);
    assert!(shown.iter().all(|p| p.0 >= x.lo));
    // A narrow curve gets a linear axis around its own range, not from a far-away outlier.
    let narrow = series(
        "a",
        (0..=50)
            .map(|k| (100.0 + f64::from(k), f64::from(k) / 50.0))
            .collect(),
    );
    let x = cdf_axis(&[narrow]).expect("an axis");
    assert!(!x.log && x.lo > 90.0 && x.hi < 160.0, "{}..{}", x.lo, x.hi);
}

/// Legend names are wrapped, never cut: the lines put back together give the name.
#[test]
fn legend_labels_wrap_without_losing_text() {
    let mut rgb = vec![0u8; 300 * 100 * 3];
    let area = BitMapBackend::with_buffer(&mut rgb, (300, 100)).into_drawing_area();
    fonts().expect("font");
    let style = font(13);
    for name in [
        "LeastRequest(choices: 2), pools[app].replicas=12, horizon=\"6h\"",
        "web/2",
        "averyveryveryveryveryveryveryveryverylongnamewithoutanyspaceatall",
    ] {
        let lines = wrap(&area, name, 120, &style).expect("wrap");
        assert!(
            lines
                .iter()
                .all(|l| area.estimate_text_size(l, &style).unwrap().0 <= 120)
        );
        let joined: String = lines.concat();
        assert_eq!(joined.replace(' ', ""), name.replace(' ', ""), "{lines:?}");
    }
}

/// A whole-run slowdown is drawn in its lane only, so that the crash windows stay visible in
/// the panels (a window over half the axis would tint all of it).
#[test]
fn long_fault_windows_stay_in_their_lane() {
    let shade = |from, to, label: &str| Shade {
        from,
        to,
        label: label.into(),
    };
    let axis = (0.0, 1800.0);
    assert!(!shaded_across(
        &shade(0.0, 1800.0, "replica slow (×3)"),
        axis
    ));
    assert!(!shaded_across(&shade(-100.0, 1e9, "slow"), axis));
    assert!(shaded_across(&shade(480.0, 600.0, "replica down"), axis));
    assert!(shaded_across(&shade(0.0, 120.0, "warm-up"), axis));
    // The image has a lane per kind of window, whatever the windows' lengths.
    let shades = [
        shade(-1e9, 1e9, "slow"),
        shade(480.0, 600.0, "down"),
        shade(900.0, 960.0, "down"),
    ];
    assert_eq!(distinct_labels(&shades), ["slow", "down"]);
    assert_eq!(lanes_height(2), 12 + 2 * LANE_H);
    let svg = timeline("t", &health(), &shades, ChartFormat::Svg).expect("svg");
    let svg = String::from_utf8(svg).expect("utf-8");
    assert!(
        svg.contains("slow (not shaded below)") && svg.contains("down"),
        "lanes named"
    );
}

/// A panel's grey spread band counts in its y range and gets a legend entry.
#[test]
fn spread_band_sets_the_range_and_is_named() {
    let p = Panel {
        y_label: "in flight".into(),
        series: vec![series("web/2", vec![(0.0, 2.0), (60.0, 2.1)])],
        y_range: None,
        spread: Some(Band {
            name: "the other 15: range, median".into(),
            points: vec![(0.0, 1.2, 0.0, 1.4), (60.0, 1.3, 0.9, 5.0)],
        }),
    };
    let y = y_axis(&p);
    assert!(y.lo <= 0.0 && y.hi >= 5.0, "{}..{}", y.lo, y.hi);
    let svg = timeline("t", &[p], &[], ChartFormat::Svg).expect("svg");
    assert!(
        String::from_utf8(svg)
            .expect("utf-8")
            .contains("the other 15: range, median")
    );
}

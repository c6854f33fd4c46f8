//! The scenario files under tests/data, through the library: every bad file fails at the
//! position and with the message its `// expect:` header states; every good file loads into the
//! spec it describes; no prefix or one-character deletion of any file panics, and every error
//! points inside the text it came from.

use models::spec::{Arrivals, PolicySpec, Target};
use sim_core::SimDuration;
use std::path::{Path, PathBuf};

fn data(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.map(|e| e.path()).unwrap_or_default())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

fn good(name: &str) -> scenarios::Loaded {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/good")
        .join(name);
    scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Whatever the outcome, an error's position and span agree and lie inside the text.
fn check_consistent(text: &str, what: &str) {
    let Err(e) = scenarios::parse_str(text, "x.ron") else {
        return;
    };
    let (Some(p), Some(span)) = (e.position, e.span.clone()) else {
        panic!("{what}: an error without a position: {e}");
    };
    let source = e.source_text.as_str();
    assert!(
        span.start <= span.end && source.get(span.clone()).is_some(),
        "{what}: span {span:?} is not a slice of the text: {e}"
    );
    assert_eq!(
        scenarios::line_col(source, span.start),
        (p.line, p.col),
        "{what}: position and span disagree: {e}"
    );
}

#[test]
fn bad_files_fail_where_and_how_they_say() {
    let files = data("bad");
    assert!(files.len() >= 20, "{} bad files", files.len());
    for path in files {
        let name = path.display();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut lines = text.lines();
        let expect = lines
            .next()
            .and_then(|l| l.strip_prefix("// expect: "))
            .unwrap_or_else(|| panic!("{name}: line 1 is not `// expect: LINE:COL MESSAGE`"));
        let (pos, msg) = expect
            .split_once(' ')
            .unwrap_or_else(|| panic!("{name}: `{expect}` is not `LINE:COL MESSAGE`"));
        let help = lines.next().and_then(|l| l.strip_prefix("// help: "));
        let err = match scenarios::parse_str(&text, "f.ron") {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => e,
        };
        let p = err
            .position
            .unwrap_or_else(|| panic!("{name}: no position: {err}"));
        assert_eq!(format!("{}:{}", p.line, p.col), pos, "{name}: {err}");
        assert!(
            err.message.contains(msg),
            "{name}: message `{}` lacks `{msg}`",
            err.message
        );
        if let Some(h) = help {
            assert!(
                err.help.as_deref().unwrap_or("").contains(h),
                "{name}: help {:?} lacks `{h}`",
                err.help
            );
        }
        // The rendered form starts with FILE:LINE:COL: MESSAGE.
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("f.ron:{pos}: {}", err.message)),
            "{name}: {shown}"
        );
        // The span points into the text, at the stated position.
        check_consistent(&text, &name.to_string());
        assert_eq!(err.file, "f.ron");
        assert_eq!(err.source_text, text);
    }
}

#[test]
fn good_files_load() {
    let files = data("good");
    assert!(files.len() >= 3);
    for path in files {
        if let Err(e) = scenarios::load(&path) {
            panic!("{e}");
        }
    }
}

#[test]
fn defaults_are_applied_and_noted() {
    let l = good("minimal.ron");
    let s = &l.spec;
    assert_eq!(s.name, "minimal");
    assert_eq!(s.horizon, SimDuration(60_000_000_000));
    assert_eq!(s.warmup, SimDuration::ZERO);
    assert_eq!(s.max_events, scenarios::DEFAULT_MAX_EVENTS);
    assert_eq!(l.seed, None);
    let pool = &s.pools[0];
    assert_eq!(
        (pool.replicas, pool.workers, pool.queue_capacity),
        (1, 1, None)
    );
    assert!(pool.failures.is_none());
    assert_eq!(s.clients[0].timeout, None);
    assert_eq!(
        l.notes,
        [
            "warmup not set: statistics include the start-up transient",
            "pool `p`: workers not set, using 1 per replica",
            "pool `p`: queue_capacity not set, using an unbounded queue",
            "pool `p`: no failures",
            "client `c`: no timeout (it waits for every response)",
            "no objective set: availability is judged against 0.999 (set it with `slo: Slo(availability: …)`)",
        ]
    );
    // The objective and window defaults: 0.999, and the round window that cuts the 1 min
    // horizon into at most ~400 windows (150 ms → 200 ms).
    assert_eq!(l.slo.availability, 0.999);
    assert_eq!(l.slo.source, reports::SloSource::Default);
    assert_eq!(s.window, SimDuration::from_millis(200));
}

#[test]
fn references_become_indices() {
    let s = good("chained-balancers.ron").spec;
    assert_eq!(s.clients[0].target, Target::Balancer(0));
    assert_eq!(s.balancers[0].target, Target::Balancer(1));
    assert_eq!(s.balancers[1].target, Target::Pool(0));
    assert_eq!(s.balancers[0].policy, PolicySpec::RoundRobin);
    assert_eq!(
        s.balancers[1].policy,
        PolicySpec::LeastRequest { choices: 2 }
    );
    assert_eq!(s.clients[0].timeout, Some(SimDuration(1_000_000_000)));
    assert_eq!(s.pools[0].queue_capacity, Some(16));
    assert_eq!(s.warmup, SimDuration(10_000_000_000));
}

#[test]
fn every_distribution_and_arrival_process_maps_to_the_spec() {
    let l = good("every-distribution.ron");
    let s = &l.spec;
    assert_eq!(l.seed, Some(3));
    assert_eq!(s.max_events, 50_000_000);
    assert!(
        matches!(s.clients[0].arrivals, Arrivals::Poisson { rate_per_s } if rate_per_s == 20.0)
    );
    assert!(
        matches!(s.clients[1].arrivals, Arrivals::Constant { rate_per_s } if rate_per_s == 5.0)
    );
    assert!(matches!(
        s.clients[2].arrivals,
        Arrivals::Uniform { min, max } if min == SimDuration(50_000_000) && max == SimDuration(150_000_000)
    ));
    assert_eq!(s.balancers[0].policy, PolicySpec::JoinShortestQueue);
    assert_eq!(s.balancers[1].policy, PolicySpec::LeastConnections);
    let means: Vec<f64> = s.pools.iter().map(|p| p.service.mean_ns()).collect();
    let expected = [
        10e6,
        2e6,
        10e6,
        10e6,
        f64::NAN,
        10e6,
        0.9 * 5e6 + 0.1 * 55e6,
        43e6 / 3.0,
    ];
    for (i, (m, e)) in means.iter().zip(expected).enumerate() {
        if !e.is_nan() {
            assert!((m - e).abs() < 1e-6 * e, "pool {i}: mean {m}, expected {e}");
        }
    }
    assert!(s.pools[1].failures.is_some());
    assert_eq!(s.pools[0].queue_capacity, Some(0));
}

/// Random gray failures: distributions, the defaults of `factor` (1) and `error_rate` (0), and
/// the notes of a pool that also crashes at random or has a scheduled fault.
#[test]
fn gray_failures_map_to_the_spec() {
    let l = good("gray-failures.ron");
    let (web, db) = (&l.spec.pools[0], &l.spec.pools[1]);
    let g = web.gray_failures.as_ref().expect("web has gray failures");
    assert_eq!((g.factor, g.error_rate), (1.0, 0.05));
    assert_eq!(g.time_between.mean_ns(), 7200e9);
    assert_eq!(g.duration.mean_ns(), 600e9);
    assert!(web.failures.is_some());
    let g = db.gray_failures.as_ref().expect("db has gray failures");
    assert_eq!((g.factor, g.error_rate), (4.0, 0.0));
    assert_eq!(l.spec.faults.len(), 1);
    assert!(
        l.notes
            .contains(&"pool `db`: no random crashes; 1 scheduled replica faults".to_string()),
        "{:?}",
        l.notes
    );
    assert!(
        !l.notes.iter().any(|n| n.contains("`web`: no")),
        "{:?}",
        l.notes
    );
}

#[test]
fn format_corners_are_accepted() {
    let l = good("format-corners.ron");
    assert_eq!(l.spec.name, "coin \"tordu\"");
    assert_eq!(l.spec.clients[0].name, "usagers «été»");
    assert_eq!(l.spec.clients[0].target, Target::Pool(0));
    assert_eq!(l.spec.pools[0].queue_capacity, Some(0));
    assert!(
        !l.source.starts_with('\u{feff}'),
        "the byte-order mark is not part of the text"
    );
}

#[test]
fn errors_render_with_expected_and_help_lines() {
    let src = "Scenario(\n  name: \"x\", horizn: \"1h\",\n)";
    let e = match scenarios::parse_str(src, "s.ron") {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert_eq!(src.get(e.span.clone().unwrap_or(0..0)), Some("horizn"));
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "s.ron:2:14: unknown field `horizn` in `Scenario`");
    assert!(
        lines[1].starts_with("  expected: one of `name`, `seed`, `horizon`"),
        "{shown}"
    );
    assert_eq!(lines[2], "  help: did you mean `horizon`?");
    assert_eq!(lines.len(), 3);
}

#[test]
fn unreadable_files_have_no_position() {
    let missing = Path::new("no/such/dir/scenario.ron");
    let e = match scenarios::load(missing) {
        Ok(_) => panic!("loaded a missing file"),
        Err(e) => e,
    };
    assert_eq!(e.position, None);
    assert_eq!(e.span, None);
    assert!(e.source_text.is_empty());
    assert!(
        e.to_string()
            .starts_with("no/such/dir/scenario.ron: cannot read"),
        "{e}"
    );
}

#[test]
fn text_that_is_not_utf8_is_refused_at_the_bad_byte() {
    let path = std::env::temp_dir().join(format!("hasim-latin1-{}.ron", std::process::id()));
    std::fs::write(&path, b"Scenario(\n  name: \"caf\xe9\",\n)").unwrap_or_else(|e| panic!("{e}"));
    let r = scenarios::load(&path);
    let _ = std::fs::remove_file(&path);
    let e = match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    let p = e.position.unwrap_or_else(|| panic!("no position: {e}"));
    assert_eq!((p.line, p.col), (2, 13), "{e}");
    assert!(e.message.contains("not UTF-8"), "{e}");
}

#[test]
fn no_prefix_of_a_valid_file_is_accepted_or_panics() {
    for path in data("good") {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        for (cut, _) in text.char_indices() {
            let prefix = &text[..cut];
            let what = format!("{} cut at {cut}", path.display());
            check_consistent(prefix, &what);
            // Dropping only trailing blanks or comments leaves a valid file; anything shorter is
            // incomplete.
            let complete = text.get(cut..).is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.is_empty() || rest.starts_with("//")
            }) && prefix.trim_end().ends_with(')');
            if !complete {
                assert!(
                    scenarios::parse_str(prefix, "prefix.ron").is_err(),
                    "accepted {what}"
                );
            }
        }
    }
}

#[test]
fn no_deletion_of_one_character_panics_and_errors_point_inside() {
    for path in data("good").into_iter().chain(data("bad")) {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        for (at, c) in text.char_indices() {
            let mut t = text.clone();
            t.replace_range(at..at + c.len_utf8(), "");
            check_consistent(&t, &format!("{} without byte {at}", path.display()));
        }
        for (cut, _) in text.char_indices() {
            check_consistent(&text[..cut], &format!("{} cut at {cut}", path.display()));
        }
    }
}

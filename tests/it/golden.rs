//! `hasim test`: snapshot tests of a user's scenarios, as a CI system would run them, and
//! reports that do not depend on the path a file was run by.

use super::hasim;
use std::path::Path;

/// The example folder of docs/snapshot-testing.md: a scenario and a sweep over it, with their
/// committed golden files.
const EXAMPLE: &str = "tests/data/snapshots";
const RATE: &str = "rate_per_s: 20.0";

/// Copies the example's `.ron` files (not its goldens) into `dir`.
fn copy_example(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for name in ["shop.ron", "policies.ron"] {
        std::fs::copy(super::repo(EXAMPLE).join(name), dir.join(name)).expect("copy");
    }
}

/// The ```text blocks of a document, in order.
fn text_blocks(doc: &str) -> Vec<String> {
    doc.split("```text\n")
        .skip(1)
        .map(|b| b[..b.find("```").expect("closing fence")].to_string())
        .collect()
}

fn hasim_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("hasim runs")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// (tests, failures, errors, names of failed cases with their messages) from JUnit XML.
fn junit(path: &Path) -> (usize, usize, usize, Vec<(String, String)>) {
    let xml = std::fs::read_to_string(path).expect("junit file");
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a testsuite");
    let attr = |k: &str| -> usize { suite.attribute(k).expect(k).parse().expect("a count") };
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), attr("tests"), "{xml}");
    let failed = cases
        .iter()
        .filter_map(|c| {
            let f = c.children().find(|n| n.has_tag_name("failure"))?;
            Some((
                c.attribute("name").expect("name").to_string(),
                f.attribute("message").expect("message").to_string(),
            ))
        })
        .collect();
    (attr("tests"), attr("failures"), attr("errors"), failed)
}

#[test]
fn accept_rerun_green_change_a_rate_rerun_red_with_the_field_named() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join("snap");
    copy_example(&dir);
    let root = t.path();
    let xml = root.join("junit.xml");
    let xml_arg = xml.to_str().expect("utf-8");

    // No goldens yet: every file fails, and says how to write its golden.
    let first = hasim_in(root, &["test", "snap", "--junit", xml_arg]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert!(text(&first).contains("--accept"), "{}", text(&first));
    assert_eq!(junit(&xml).1, 2);

    let accept = hasim_in(root, &["test", "snap", "--accept"]);
    assert_eq!(accept.status.code(), Some(0), "{}", text(&accept));
    // The goldens written here, in another folder on this machine, are the committed ones byte
    // for byte: they depend on neither the path nor the machine.
    for g in ["shop.golden.json", "policies.golden.json"] {
        let written = std::fs::read_to_string(dir.join(g)).expect(g);
        let committed = std::fs::read_to_string(super::repo(EXAMPLE).join(g)).expect(g);
        assert_eq!(written, committed, "{g}");
        assert!(!written.contains(root.to_str().expect("utf-8")), "{g}");
    }

    // Green again: by the same path, by an absolute path, from inside the folder, on one
    // thread and on three.
    let abs = dir.to_str().expect("utf-8").to_string();
    for (cwd, arg, jobs) in [
        (root, "snap", "1"),
        (root, abs.as_str(), "3"),
        (dir.as_path(), ".", "2"),
    ] {
        let again = hasim_in(cwd, &["test", arg, "--jobs", jobs, "--junit", xml_arg]);
        assert_eq!(
            again.status.code(),
            Some(0),
            "{arg} from {}: {}",
            cwd.display(),
            text(&again)
        );
        assert_eq!(junit(&xml), (2, 0, 0, vec![]));
    }

    // A changed rate: the scenario and the sweep built on it fail, naming what moved.
    let shop = std::fs::read_to_string(dir.join("shop.ron")).expect("read");
    assert!(shop.contains(RATE));
    std::fs::write(dir.join("shop.ron"), shop.replace(RATE, "rate_per_s: 24.0")).expect("write");
    let red = hasim_in(root, &["test", "snap", "--junit", xml_arg]);
    assert_eq!(red.status.code(), Some(1), "{}", text(&red));
    let out = text(&red);
    assert!(out.contains("FAILED   shop.ron"), "{out}");
    assert!(out.contains("FAILED   policies.ron"), "{out}");
    assert!(out.contains("requests.offered: "), "{out}");
    assert!(out.contains("throughput_rps: "), "{out}");
    // shop.ron's own `golden:` rule leaves its fingerprint out; the sweep has no such rule.
    assert!(!out.contains(" fingerprint: "), "{out}");
    assert!(out.contains("variants[0].fingerprint: "), "{out}");
    // The failure quoted in the docs is this one (its lines, less the elided ones).
    let doc = std::fs::read_to_string(super::repo("docs/snapshot-testing.md")).expect("doc");
    // (The passing run above it is a `console` block, run by docs.rs.)
    let quoted = &text_blocks(&doc)[0];
    for line in quoted.lines().filter(|l| !l.trim().starts_with('…')) {
        let line = line.replace("scenarios/snapshots", "snap");
        assert!(out.contains(&line), "docs line `{line}` not in\n{out}");
    }
    let (tests, failures, errors, failed) = junit(&xml);
    assert_eq!((tests, failures, errors), (2, 2, 0));
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["policies.ron", "shop.ron"]);
    assert!(failed[1].1.contains("requests.offered"), "{failed:?}");
    assert!(
        failed[0].1.contains("variants[0].metrics.offered.mean"),
        "{failed:?}"
    );

    // Folder rules: leaving out what a rate moves turns the scenario green; the sweep, whose
    // fields have other names, still fails.
    std::fs::write(
        dir.join("hasim-test.ron"),
        r#"Golden(ignore: ["scenario_hash", "requests", "throughput_rps", "latency_ms", "queueing", "replicas", "sre", "availability", "faults", "theory"])"#,
    )
    .expect("write");
    let ruled = hasim_in(root, &["test", "snap"]);
    let out = text(&ruled);
    assert!(out.contains("ok       shop.ron"), "{out}");
    assert!(out.contains("FAILED   policies.ron"), "{out}");
    assert_eq!(ruled.status.code(), Some(1), "{out}");

    // A malformed rule is bad input.
    std::fs::write(dir.join("hasim-test.ron"), r#"Golden(ignroe: [])"#).expect("write");
    let bad = hasim_in(root, &["test", "snap"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("hasim-test.ron:1:"), "{}", text(&bad));
    std::fs::remove_file(dir.join("hasim-test.ron")).expect("rm");

    // --accept takes the change; then green.
    let accept = hasim_in(root, &["test", "snap", "--update"]);
    assert_eq!(accept.status.code(), Some(0), "{}", text(&accept));
    assert!(text(&accept).contains("accepted shop.ron"));
    let green = hasim_in(root, &["test", "snap"]);
    assert_eq!(green.status.code(), Some(0), "{}", text(&green));
}

/// The docs' first example is the repository's example folder, run as the docs say.
#[test]
fn the_documented_run_is_real() {
    // Its output is compared with docs/snapshot-testing.md by docs.rs (trycmd).
    let out = hasim(&["test", EXAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_file_that_does_not_parse_is_an_error_not_a_failure() {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::write(t.path().join("bad.ron"), "Scenario(name: 3)").expect("write");
    let xml = t.path().join("j.xml");
    let out = hasim_in(
        t.path(),
        &["test", ".", "--junit", xml.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bad.ron:1:"), "{}", text(&out));
    assert_eq!(junit(&xml).2, 1);
    let none = hasim_in(t.path(), &["test", "no-such-dir"]);
    assert_eq!(none.status.code(), Some(2));
}

/// The report quotes the file's path in `reproduce`: relative and absolute spellings of the
/// same file give the same bytes.
#[test]
fn reports_do_not_depend_on_how_the_file_was_named() {
    let abs = super::repo("scenarios/lb-p2c.ron");
    let abs = abs.to_str().expect("utf-8");
    let dotted = "scenarios/../scenarios/./lb-p2c.ron";
    let runs: Vec<Vec<u8>> = ["scenarios/lb-p2c.ron", abs, dotted]
        .iter()
        .map(|p| {
            let out = hasim(&["run", p, "--format", "json"]);
            assert_eq!(out.status.code(), Some(0), "{p}");
            out.stdout
        })
        .collect();
    assert!(
        String::from_utf8_lossy(&runs[0])
            .contains("\"reproduce\": \"hasim run scenarios/lb-p2c.ron --seed 7\""),
        "{}",
        String::from_utf8_lossy(&runs[0])
    );
    assert_eq!(runs[0], runs[1], "absolute path");
    assert_eq!(runs[0], runs[2], "dotted path");
}

/// `hasim diff` shares the rules: ignore, select and one-sided tolerances.
#[test]
fn diff_ignores_selects_and_fails_one_way() {
    let t = tempfile::tempdir().expect("tempdir");
    let (a, b) = (t.path().join("a.json"), t.path().join("b.json"));
    let p = |x: &Path| x.to_str().expect("utf-8").to_string();
    // Seed 8 against seed 7: the same figures up to noise.
    for (seed, path) in [("7", &a), ("8", &b)] {
        let out = hasim(&[
            "run",
            "scenarios/lb-p2c.ron",
            "--seed",
            seed,
            "--format",
            "json",
            "--out",
            &p(path),
        ]);
        assert_eq!(out.status.code(), Some(0));
    }
    let only = hasim(&["diff", &p(&a), &p(&b), "--select", "latency_ms.max"]);
    let out = text(&only);
    assert_eq!(only.status.code(), Some(1), "{out}");
    assert!(out.contains("1 value(s) moved"), "{out}");
    assert!(out.contains("latency_ms.max:"), "{out}");
    let ignored = hasim(&[
        "diff",
        &p(&a),
        &p(&b),
        "--select",
        "latency_ms",
        "--ignore",
        "latency_ms.*",
    ]);
    assert_eq!(ignored.status.code(), Some(0), "{}", text(&ignored));
    // Whichever way the max moved, one direction passes and the other fails.
    let codes: Vec<Option<i32>> = ["higher", "lower"]
        .iter()
        .map(|d| {
            hasim(&[
                "diff",
                &p(&a),
                &p(&b),
                "--select",
                "latency_ms.max",
                "--direction",
                d,
            ])
            .status
            .code()
        })
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(sorted, [Some(0), Some(1)], "{codes:?}");
    let rules = t.path().join("rules.ron");
    std::fs::write(
        &rules,
        r#"Golden(select: ["latency_ms.max"], tolerances: [Tolerance(field: "latency_ms.max", relative: 100.0)])"#,
    )
    .expect("write");
    let loose = hasim(&["diff", &p(&a), &p(&b), "--rules", &p(&rules)]);
    assert_eq!(loose.status.code(), Some(0), "{}", text(&loose));
}

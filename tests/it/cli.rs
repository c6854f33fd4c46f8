//! The command line as users meet it: malformed scenario files (tests/data/bad, each stating
//! the position and message it must produce), exit codes, every example scenario checks.

use std::path::Path;

use super::hasim;

fn expectation(text: &str) -> Option<(String, String)> {
    let line = text.lines().find_map(|l| l.strip_prefix("// expect: "))?;
    let (pos, msg) = line.split_once(' ')?;
    Some((pos.to_string(), msg.to_string()))
}

#[test]
fn every_malformed_file_exits_2_with_its_position_and_message() {
    let dir = super::repo("tests/data/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/bad")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 15, "only {} malformed files", files.len());
    for path in files {
        let rel = path.strip_prefix(super::root()).expect("inside repo");
        let rel = rel.to_str().expect("utf-8");
        let text = std::fs::read_to_string(&path).expect("readable");
        let (pos, msg) = expectation(&text)
            .unwrap_or_else(|| panic!("{rel}: no `// expect: LINE:COL MESSAGE` header"));
        for cmd in ["check", "run"] {
            let out = hasim(&[cmd, rel]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {rel}: exit code\n{err}");
            let head = format!("{rel}:{pos}:");
            assert!(
                err.contains(&head),
                "{cmd} {rel}: expected `{head}` in\n{err}"
            );
            assert!(
                err.contains(&msg),
                "{cmd} {rel}: expected `{msg}` in\n{err}"
            );
            assert!(
                out.stdout.is_empty(),
                "{cmd} {rel}: printed a report for a bad file"
            );
            assert!(!err.contains("panicked"), "{cmd} {rel}: panicked\n{err}");
        }
    }
}

#[test]
fn every_example_scenario_checks() {
    for e in std::fs::read_dir(super::repo("scenarios")).expect("scenarios/") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "ron") {
            let rel = p
                .strip_prefix(super::root())
                .expect("inside")
                .to_str()
                .expect("utf-8")
                .to_string();
            let out = hasim(&["check", &rel]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{rel}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn usage_errors_and_missing_files_exit_2() {
    assert_eq!(hasim(&["run"]).status.code(), Some(2));
    assert_eq!(hasim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        hasim(&["run", "scenarios/mm1.ron", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    let out = hasim(&["run", "no/such/file.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.ron"));
    assert!(Path::new(env!("CARGO_BIN_EXE_hasim")).exists());
}

#[test]
fn the_diagnostic_shows_the_source_line_and_a_hint() {
    let out = hasim(&["check", "tests/data/bad/typo-field.ron"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean"), "{err}");
    assert!(err.contains("timeot"), "the offending line is shown: {err}");
}

/// `hasim diff` for users who commit a report and compare in CI.
#[test]
fn diff_says_what_moved_and_exits_1() {
    let t = tempfile::tempdir().expect("tempdir");
    let (a, b) = (t.path().join("a.json"), t.path().join("b.json"));
    let p = |x: &std::path::Path| x.to_str().expect("utf-8").to_string();
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
    let same = hasim(&["diff", &p(&a), &p(&a)]);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("no differences"));
    let moved = hasim(&["diff", &p(&a), &p(&b), "--tolerance", "0.01"]);
    assert_eq!(moved.status.code(), Some(1));
    let text = String::from_utf8_lossy(&moved.stdout);
    assert!(text.contains("seed: 7 → 8"), "{text}");
    assert!(text.contains("latency_ms.max:"), "{text}");
    // Within a loose tolerance only the non-numeric fields (fingerprint, command) differ.
    let loose = hasim(&["diff", &p(&a), &p(&b), "--tolerance", "10"]);
    let text = String::from_utf8_lossy(&loose.stdout);
    assert!(
        !text.contains("latency_ms.max:") && text.contains("fingerprint:"),
        "{text}"
    );
    let bad = hasim(&["diff", &p(&a), "scenarios/mm1.ron"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// The README's scenario example parses (its commands and outputs are run by `docs.rs`).
#[test]
fn readme_example_scenario_parses() {
    let readme = std::fs::read_to_string(super::repo("README.md")).expect("README");
    let after = "## Scenario files";
    let from = readme.find(after).expect("section") + after.len();
    let fence = "```ron\n";
    let start = readme[from..].find(fence).expect("fence") + from + fence.len();
    let end = readme[start..].find("```").expect("closing fence") + start;
    if let Err(e) = scenarios::parse_str(&readme[start..end], "README.md") {
        panic!("the README's scenario does not parse: {e}");
    }
}

/// Every link of the README and of docs/ leads somewhere: an in-page `#anchor` to one of the
/// page's headings (GitHub's slugs), a relative path to a file of the repository.
#[test]
fn readme_and_docs_links_resolve() {
    let slug = |h: &str| -> String {
        h.trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    };
    let mut pages = vec![super::repo("README.md")];
    for e in std::fs::read_dir(super::repo("docs")).expect("docs") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    let mut broken = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("page");
        let mut in_code = false;
        let mut headings = Vec::new();
        for line in text.lines() {
            in_code ^= line.starts_with("```");
            if !in_code && line.starts_with('#') {
                headings.push(slug(line.trim_start_matches('#')));
            }
        }
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let link = &rest[..end];
            if link.starts_with("http") || link.contains(' ') {
                continue;
            }
            let (file, anchor) = link.split_once('#').unwrap_or((link, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().expect("dir").join(file)
            };
            if !target.exists() {
                broken.push(format!("{}: {link}", page.display()));
            } else if !anchor.is_empty()
                && file.is_empty()
                && !headings.contains(&anchor.to_string())
            {
                broken.push(format!("{}: #{anchor}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// A user of the repository has only the repository: no file may point outside it.
#[test]
fn no_file_points_outside_the_repository() {
    let needle = ["..", "/shared/"].concat();
    let mut stack = vec![super::root().to_path_buf()];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("readable") {
            let p = e.expect("entry").path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(p);
                }
            } else if let Ok(text) = std::fs::read_to_string(&p)
                && text.contains(&needle)
            {
                offenders.push(p.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

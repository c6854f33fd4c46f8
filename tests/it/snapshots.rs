//! Insta snapshots of full reports: any change in behaviour (event order, a dependency's random
//! numbers, a formula) shows up in review as a diff of these files.

use std::process::Command;

fn json(rel: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["run", rel, "--format", "json"])
        .current_dir(super::root())
        .output()
        .expect("hasim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn lb_p2c_table_report() {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["run", "scenarios/lb-p2c.ron"])
        .current_dir(super::root())
        .output()
        .expect("hasim runs");
    insta::assert_snapshot!(String::from_utf8(out.stdout).expect("utf-8"));
}

/// The JSON report of every example scenario, so a change in any figure shows up in review.
#[test]
fn every_example_json_report() {
    let mut files: Vec<_> = std::fs::read_dir(super::repo("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    for p in files {
        if std::fs::read_to_string(&p)
            .expect("read")
            .contains("\nSweep(")
        {
            continue;
        }
        let rel = p
            .strip_prefix(super::root())
            .expect("inside")
            .to_str()
            .expect("utf-8")
            .to_string();
        let name = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("x")
            .to_string();
        insta::assert_snapshot!(format!("example_{name}"), json(&rel));
    }
}

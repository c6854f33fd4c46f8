//! Insta snapshots of full reports: any change in behaviour (event order, a dependency's random
//! numbers, a formula) shows up in review as a diff of these files.

use std::process::Command;

#[test]
fn lb_p2c_table_report() {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["run", "scenarios/lb-p2c.ron"])
        .current_dir(super::root())
        .output()
        .expect("hasim runs");
    insta::assert_snapshot!(String::from_utf8(out.stdout).expect("utf-8"));
}

/// The JSON report of every example scenario, so a change in any figure shows up in review
/// (the first of the three runs the golden fingerprints compare).
#[test]
fn every_example_json_report() {
    for (rel, runs) in super::example_reports() {
        let name = std::path::Path::new(rel)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("x")
            .to_string();
        let json = String::from_utf8(runs[0].clone()).expect("utf-8");
        insta::assert_snapshot!(format!("example_{name}"), json);
    }
}

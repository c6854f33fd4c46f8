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
fn web_tier_json_report() {
    insta::assert_snapshot!(json("scenarios/web-tier.ron"));
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

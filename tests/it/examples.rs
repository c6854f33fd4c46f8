//! The programs in examples/, run as tests: their logic is in functions this module calls (the
//! files are included as modules), so the README's test command runs them on every CI run.

#[path = "../../examples/custom_policy.rs"]
mod custom_policy;
#[path = "../../examples/embed.rs"]
mod embed;

use crate::{load, repo};

#[test]
fn the_custom_policy_example_compares_three_policies_on_common_random_numbers() {
    let rows = custom_policy::compare(4).unwrap_or_else(|e| panic!("{e}"));
    let table = custom_policy::table(&rows);
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    let (rr, p2c, mine) = (&rows[0], &rows[1], &rows[2]);
    // At 90% load, sampling two and taking the less loaded beats round robin by far in every
    // replication (paired on the same work); the custom policy is a P2C with a latency term.
    for r in [p2c, mine] {
        assert!(
            r.vs_round_robin_ms.iter().all(|d| *d < 0.0),
            "{}: {:?}\n{table}",
            r.policy,
            r.vs_round_robin_ms
        );
        assert!(r.p99_ms < rr.p99_ms, "{table}");
    }
    assert!(rr.vs_round_robin_ms.iter().all(|d| *d == 0.0));
    // The custom policy is not P2C under another name: its figures differ.
    assert_ne!(mine.mean_ms, p2c.mean_ms, "{table}");
}

#[test]
fn the_custom_policy_examples_parameters_are_checked() {
    let text = std::fs::read_to_string(repo("scenarios/lb-p2c.ron")).unwrap_or_default();
    let bad = text.replacen(
        "policy: LeastRequest(choices: 2)",
        r#"policy: Custom(name: "least_loaded_latency", params: {"alpha": 1.5})"#,
        1,
    );
    let e = hasim::parse_str_with(&bad, "lb.ron", &custom_policy::extensions()).err();
    let e = e.unwrap_or_else(|| panic!("alpha 1.5 accepted"));
    let at = bad.find("1.5}").unwrap_or_default();
    let (line, col) = scenarios::line_col(&bad, at);
    assert!(
        e.to_string().starts_with(&format!(
            "lb.ron:{line}:{col}: custom policy `least_loaded_latency`: alpha must be in (0, 1]"
        )),
        "{e}"
    );
}

#[test]
fn the_embed_example_reads_the_figures_hasim_run_reports() {
    let f = embed::figures(&repo("scenarios/web-tier.ron"), 42).unwrap_or_else(|e| panic!("{e}"));
    let (report, _) = hasim::Run::new(&load("scenarios/web-tier.ron"))
        .seed(42)
        .execute();
    assert_eq!(f.p99_ms, report.latency_ms.p99);
    assert_eq!(f.availability, report.availability.request);
    assert!(
        f.p99_ms > 0.0 && f.availability > 0.9 && f.availability < 1.0,
        "{f:?}"
    );
}

/// The README's "Use hasim from Rust" excerpts are the examples' code, line for line, and its
/// `ron` line is a balancer the custom policy example's extensions accept.
#[test]
fn the_readme_section_quotes_the_examples() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap_or_default();
    let from = readme.find("## Use hasim from Rust").expect("the section");
    let section = &readme[from..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let code: String = ["examples/embed.rs", "examples/custom_policy.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(repo(f)).unwrap_or_default())
        .collect();
    let code_lines: Vec<&str> = code.lines().map(str::trim).collect();
    let blocks = |fence: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = section;
        while let Some(s) = rest.find(fence) {
            let body = &rest[s + fence.len()..];
            let end = body.find("```").expect("closing fence");
            out.push(body[..end].to_string());
            rest = &body[end + 3..];
        }
        out
    };
    let rust = blocks("```rust\n");
    assert_eq!(rust.len(), 2);
    for line in rust.iter().flat_map(|b| b.lines()) {
        assert!(
            code_lines.contains(&line.trim()),
            "the README quotes a line the examples do not have: {line}"
        );
    }
    let balancer = blocks("```ron\n").concat();
    let text = format!(
        r#"Scenario(name: "r", horizon: "10s",
    clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 5.0), target: "lb")],
    balancers: [{balancer}],
    pools: [Pool(name: "app", replicas: 2, service: Constant("10ms"))])"#
    );
    if let Err(e) = hasim::parse_str_with(&text, "README.md", &custom_policy::extensions()) {
        panic!("the README's balancer does not load: {e}");
    }
}

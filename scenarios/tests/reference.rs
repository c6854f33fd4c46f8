//! docs/scenario-reference.md against the parser: every field and variant the parser accepts is
//! in the reference, and every one the reference names is accepted. The parser's own lists come
//! from serde's errors (an unknown field or variant lists the expected ones), so this test reads
//! exactly what `hasim` reads, not a copy.

use ron::error::Error;
use scenarios::raw;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;

const REFERENCE: &str = include_str!("../../docs/scenario-reference.md");
const RAW: &str = include_str!("../src/raw.rs");

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str::<T>(text)
        .map_err(|e| e.code)
}

/// The fields of struct `T`, as its deserializer lists them for an unknown field.
fn fields<T: DeserializeOwned>(text: &str) -> Option<Vec<String>> {
    match parse::<T>(text) {
        Err(Error::NoSuchStructField { expected, .. }) => {
            Some(expected.iter().map(|s| s.to_string()).collect())
        }
        _ => None,
    }
}

/// What the parser accepts: `Type` → fields (structs) or variants (enums), and
/// `Type::Variant` → fields (struct variants).
fn accepted() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    macro_rules! structs {
        ($($t:ident),* $(,)?) => {$(
            let f = fields::<raw::$t>("(zz_not_a_field: 0)")
                .unwrap_or_else(|| panic!("{}: no field list", stringify!($t)));
            out.push((stringify!($t).to_string(), f));
        )*};
    }
    macro_rules! enums {
        ($($t:ident),* $(,)?) => {$(
            let variants: Vec<String> = match parse::<raw::$t>("ZzNotAVariant") {
                Err(Error::NoSuchEnumVariant { expected, .. }) => {
                    expected.iter().map(|s| s.to_string()).collect()
                }
                e => panic!("{}: no variant list: {e:?}", stringify!($t)),
            };
            for v in &variants {
                if let Some(f) = fields::<raw::$t>(&format!("{v}(zz_not_a_field: 0)")) {
                    out.push((format!("{}::{v}", stringify!($t)), f));
                }
            }
            out.push((stringify!($t).to_string(), variants));
        )*};
    }
    structs!(
        Scenario,
        Golden,
        Tolerance,
        Producer,
        ConsumerGroup,
        Backend,
        Snapshots,
        Slo,
        Client,
        Retry,
        Backoff,
        Hedge,
        Breaker,
        Balancer,
        Standby,
        SlowStart,
        OutlierDetection,
        HealthCheck,
        Pool,
        Dependencies,
        Dependency,
        Autoscale,
        Registry,
        TokenBucket,
        Failures,
        GrayFailures,
        Branch,
        Pauses,
        ReplicaGroup,
        Hosts,
        Restart,
        MmppState,
    );
    enums!(
        FailIf,
        Store,
        Acks,
        BrokerFault,
        CacheFault,
        Replication,
        StoreFault,
        Fault,
        RetryOn,
        Jitter,
        Budget,
        BreakerWindow,
        Discipline,
        Arrivals,
        Policy,
        Keys,
        WaitFor,
        ScaleMetric,
        Dist,
        Expect,
        LockKind,
        LockFault,
        ReadsFrom,
        StoreOp,
        Placement,
    );
    out
}

/// The reference's sections (`### `Type`` or `### `Type::Variant``) and the names in the first
/// column of their tables.
fn documented() -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in REFERENCE.lines() {
        if let Some(h) = line.strip_prefix("### `") {
            let name = h.split('`').next().unwrap_or_default().to_string();
            out.push((name, Vec::new()));
        } else if let Some(row) = line.strip_prefix("| `")
            && let Some((_, names)) = out.last_mut()
        {
            names.push(row.split('`').next().unwrap_or_default().to_string());
        }
    }
    out
}

#[test]
fn every_type_of_the_parser_is_in_this_test() {
    let listed: BTreeSet<String> = accepted()
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| !t.contains("::"))
        .collect();
    for line in RAW.lines() {
        let line = line.trim_start();
        for kw in ["pub struct ", "pub enum "] {
            if let Some(rest) = line.strip_prefix(kw) {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                assert!(
                    listed.contains(&name),
                    "raw::{name} is missing from this test's lists"
                );
            }
        }
    }
}

#[test]
fn the_reference_lists_exactly_what_the_parser_accepts() {
    let accepted = accepted();
    let documented = documented();
    let mut problems = Vec::new();
    for (t, names) in &accepted {
        let Some((_, doc)) = documented.iter().find(|(d, _)| d == t) else {
            problems.push(format!("no section ### `{t}` ({})", names.join(", ")));
            continue;
        };
        let (a, d): (BTreeSet<&String>, BTreeSet<&String>) =
            (names.iter().collect(), doc.iter().collect());
        for missing in a.difference(&d) {
            problems.push(format!("`{t}`: `{missing}` is accepted but not documented"));
        }
        for extra in d.difference(&a) {
            problems.push(format!("`{t}`: `{extra}` is documented but not accepted"));
        }
        if doc.len() != d.len() {
            problems.push(format!("`{t}`: a name is documented twice"));
        }
    }
    for (t, _) in &documented {
        if !accepted.iter().any(|(a, _)| a == t) {
            problems.push(format!("section ### `{t}` is not a type of the parser"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

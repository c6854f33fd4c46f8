//! `hasim diff`: what moved between two JSON reports, for users who snapshot a committed report
//! in CI and want to know whether a change is noise or news.

use serde_json::Value;

/// One difference between two reports, at a JSON path like `latency_ms.p99`.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Where.
    pub path: String,
    /// What, in words: `187.6951 → 190.1 (+1.28%)`.
    pub what: String,
}

/// Differences between `old` and `new`: numbers whose relative change exceeds `tolerance` (and
/// whose absolute change exceeds `absolute`), any other changed value, and added or removed keys.
pub fn diff(old: &Value, new: &Value, tolerance: f64, absolute: f64) -> Vec<Change> {
    let mut out = Vec::new();
    walk(String::new(), old, new, tolerance, absolute, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: String, a: &Value, b: &Value, tol: f64, abs: f64, out: &mut Vec<Change>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = join(&path, k);
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => walk(p, u, v, tol, abs, out),
                    (Some(u), None) => out.push(Change {
                        path: p,
                        what: format!("removed (was {u})"),
                    }),
                    (None, Some(v)) => out.push(Change {
                        path: p,
                        what: format!("added ({v})"),
                    }),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(u), Some(v)) => walk(p, u, v, tol, abs, out),
                    (Some(u), None) => out.push(Change {
                        path: p,
                        what: format!("removed (was {u})"),
                    }),
                    (None, Some(v)) => out.push(Change {
                        path: p,
                        what: format!("added ({v})"),
                    }),
                    (None, None) => {}
                }
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (u, v) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            let d = v - u;
            let rel = if u != 0.0 {
                d / u.abs()
            } else if d == 0.0 {
                0.0
            } else {
                f64::INFINITY
            };
            if d.abs() > abs && rel.abs() > tol {
                let pct = if rel.is_finite() {
                    format!(" ({:+.2}%)", 100.0 * rel)
                } else {
                    String::new()
                };
                out.push(Change {
                    path,
                    what: format!("{x} → {y}{pct}"),
                });
            }
        }
        _ if a != b => out.push(Change {
            path,
            what: format!("{a} → {b}"),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_move_beyond_tolerance_only() {
        let a = json!({"latency_ms": {"p99": 100.0, "p50": 10.0}, "seed": 1, "notes": ["x"]});
        let b = json!({"latency_ms": {"p99": 103.0, "p50": 10.05}, "seed": 1, "notes": ["x", "y"], "new": true});
        let d = diff(&a, &b, 0.01, 0.0);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec!["latency_ms.p99", "new", "notes[1]"]);
        assert!(d[0].what.contains("+3.00%"), "{d:?}");
        assert!(diff(&a, &a, 0.0, 0.0).is_empty());
        assert_eq!(
            diff(&json!({"f": "ab"}), &json!({"f": "cd"}), 1.0, 1.0).len(),
            1,
            "strings always count"
        );
    }
}

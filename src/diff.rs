//! What moved between two JSON reports: `hasim diff` and `hasim test` share this code, so a
//! rule means the same in both. Rules select or ignore fields by pattern and give each field a
//! tolerance, absolute, relative and optionally one-sided ("fail only if it grew").

use scenarios::raw::{FailIf, Golden, Tolerance};
use serde_json::Value;

/// One difference between two reports, at a JSON path like `latency_ms.p99`.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Where.
    pub path: String,
    /// What, in words: `187.6951 → 190.1 (+1.28%)`.
    pub what: String,
}

/// Which fields to compare and how far each may move.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Patterns of fields left out.
    pub ignore: Vec<String>,
    /// When not empty, only fields matching one of these are compared.
    pub select: Vec<String>,
    /// Per-field tolerances; the last one matching a field applies. Fields no rule matches
    /// must not move at all.
    pub tolerances: Vec<Tolerance>,
}

impl Rules {
    /// Rules with one tolerance for every number (what `hasim diff --tolerance` always did).
    pub fn everywhere(relative: f64, absolute: f64, fail_if: FailIf) -> Rules {
        Rules {
            tolerances: vec![Tolerance {
                field: "**".into(),
                relative,
                absolute,
                fail_if,
            }],
            ..Rules::default()
        }
    }

    /// Adds a file's or a folder's `golden` rules after these (so they win where both match).
    pub fn extend(&mut self, g: &Golden) {
        self.ignore.extend(g.ignore.iter().cloned());
        self.select.extend(g.select.iter().cloned());
        self.tolerances.extend(g.tolerances.iter().cloned());
    }

    /// Refuses patterns and tolerances that cannot mean what their writer hoped.
    pub fn validate(&self) -> Result<(), String> {
        for p in self.ignore.iter().chain(&self.select) {
            check_pattern(p)?;
        }
        for t in &self.tolerances {
            check_pattern(&t.field)?;
            let ok = |x: f64| x >= 0.0 && x.is_finite();
            if !ok(t.relative) || !ok(t.absolute) {
                return Err(format!(
                    "tolerance for `{}`: relative and absolute must be finite and ≥ 0",
                    t.field
                ));
            }
        }
        Ok(())
    }

    fn compared(&self, path: &[String]) -> bool {
        if self.ignore.iter().any(|p| matches(p, path)) {
            return false;
        }
        self.select.is_empty() || self.select.iter().any(|p| matches(p, path))
    }

    fn tolerance(&self, path: &[String]) -> Option<&Tolerance> {
        self.tolerances
            .iter()
            .rev()
            .find(|t| matches(&t.field, path))
    }

    /// True when some `select` pattern could match a field below `path` (so the walk must go
    /// on into it).
    fn may_select_below(&self, path: &[String]) -> bool {
        self.select.is_empty() || self.select.iter().any(|p| prefix_may_match(p, path))
    }
}

fn check_pattern(p: &str) -> Result<(), String> {
    if p.trim().is_empty() || segments(p).iter().any(|s| s.is_empty()) {
        return Err(format!(
            "field pattern `{p}`: write dot-separated keys, e.g. `latency_ms.p99`, `replicas[*].in_flight` or `**.ci95`"
        ));
    }
    Ok(())
}

/// `variants[2].metrics.p99` → `variants`, `2`, `metrics`, `p99`.
fn segments(p: &str) -> Vec<String> {
    p.replace('[', ".")
        .replace(']', "")
        .split('.')
        .map(str::to_string)
        .collect()
}

/// `*` within a segment matches any run of characters.
fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

fn match_segs(pat: &[String], path: &[String]) -> bool {
    match pat.split_first() {
        // A pattern that names a field covers everything inside it.
        None => true,
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|i| match_segs(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, more)) => glob(p, s) && match_segs(rest, more),
            None => false,
        },
    }
}

/// True when pattern `p` matches the field at `path` or one that contains it.
pub fn matches(p: &str, path: &[String]) -> bool {
    match_segs(&segments(p), path)
}

/// True when `p` could match `path` or a field inside it.
fn prefix_may_match(p: &str, path: &[String]) -> bool {
    fn go(pat: &[String], path: &[String]) -> bool {
        match (pat.split_first(), path.split_first()) {
            (_, None) | (None, _) => true,
            (Some((p, _)), _) if p == "**" => true,
            (Some((p, rest)), Some((s, more))) => glob(p, s) && go(rest, more),
        }
    }
    go(&segments(p), path)
}

/// Differences between `old` and `new` under `rules`: numbers that moved beyond their
/// tolerance (in the direction that fails), any other changed value, added or removed keys.
pub fn diff_with(old: &Value, new: &Value, rules: &Rules) -> Vec<Change> {
    let mut out = Vec::new();
    walk(&mut Vec::new(), old, new, rules, &mut out);
    out
}

/// Differences with one tolerance for every number: relative change beyond `tolerance` and
/// absolute change beyond `absolute`.
pub fn diff(old: &Value, new: &Value, tolerance: f64, absolute: f64) -> Vec<Change> {
    diff_with(
        old,
        new,
        &Rules::everywhere(tolerance, absolute, FailIf::Either),
    )
}

fn shown(path: &[String], parent_is_array: &[bool]) -> String {
    let mut s = String::new();
    for (seg, arr) in path.iter().zip(parent_is_array) {
        if *arr {
            s.push_str(&format!("[{seg}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(seg);
        }
    }
    s
}

/// A path being walked: its segments and, per segment, whether it indexes an array.
type Path = Vec<(String, bool)>;

fn walk(path: &mut Path, a: &Value, b: &Value, rules: &Rules, out: &mut Vec<Change>) {
    let segs: Vec<String> = path.iter().map(|(s, _)| s.clone()).collect();
    let arrays: Vec<bool> = path.iter().map(|(_, a)| *a).collect();
    if !segs.is_empty() && rules.ignore.iter().any(|p| matches(p, &segs)) {
        return;
    }
    if !rules.may_select_below(&segs) {
        return;
    }
    let mut child =
        |path: &mut Path, key: String, arr: bool, u: Option<&Value>, v: Option<&Value>| {
            path.push((key, arr));
            match (u, v) {
                (Some(u), Some(v)) => walk(path, u, v, rules, out),
                (u, v) => {
                    let segs: Vec<String> = path.iter().map(|(s, _)| s.clone()).collect();
                    if rules.compared(&segs) {
                        let arrays: Vec<bool> = path.iter().map(|(_, a)| *a).collect();
                        let what = match (u, v) {
                            (Some(u), _) => format!("removed (was {u})"),
                            (_, Some(v)) => format!("added ({v})"),
                            _ => String::new(),
                        };
                        out.push(Change {
                            path: shown(&segs, &arrays),
                            what,
                        });
                    }
                }
            }
            path.pop();
        };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                child(path, k.clone(), false, x.get(k), y.get(k));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                child(path, i.to_string(), true, x.get(i), y.get(i));
            }
        }
        _ if !rules.compared(&segs) => {}
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
            let (tol, abs, fail_if) = rules
                .tolerance(&segs)
                .map_or((0.0, 0.0, FailIf::Either), |t| {
                    (t.relative, t.absolute, t.fail_if)
                });
            let direction = match fail_if {
                FailIf::Either => d != 0.0,
                FailIf::Higher => d > 0.0,
                FailIf::Lower => d < 0.0,
            };
            if direction && d.abs() > abs && rel.abs() > tol {
                let pct = if rel.is_finite() {
                    format!(" ({:+.2}%)", 100.0 * rel)
                } else {
                    String::new()
                };
                out.push(Change {
                    path: shown(&segs, &arrays),
                    what: format!("{x} → {y}{pct}"),
                });
            }
        }
        _ if a != b => out.push(Change {
            path: shown(&segs, &arrays),
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

    fn tol(field: &str, relative: f64, fail_if: FailIf) -> Tolerance {
        Tolerance {
            field: field.into(),
            relative,
            absolute: 0.0,
            fail_if,
        }
    }

    #[test]
    fn ignore_and_select_patterns() {
        let a = json!({"latency_ms": {"p99": 100.0, "max": 900.0}, "replicas": [{"in_flight": 3, "up": 1.0}, {"in_flight": 4, "up": 1.0}], "reproduce": "a"});
        let b = json!({"latency_ms": {"p99": 100.0, "max": 950.0}, "replicas": [{"in_flight": 5, "up": 0.9}, {"in_flight": 2, "up": 1.0}], "reproduce": "b"});
        let all: Vec<String> = diff(&a, &b, 0.0, 0.0).into_iter().map(|c| c.path).collect();
        assert_eq!(
            all,
            [
                "latency_ms.max",
                "replicas[0].in_flight",
                "replicas[0].up",
                "replicas[1].in_flight",
                "reproduce"
            ]
        );
        let rules = Rules {
            ignore: vec![
                "latency_ms.max".into(),
                "replicas[*].in_flight".into(),
                "reproduce".into(),
            ],
            ..Rules::default()
        };
        let left: Vec<String> = diff_with(&a, &b, &rules)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(left, ["replicas[0].up"]);
        let rules = Rules {
            select: vec!["latency_ms".into()],
            ..Rules::default()
        };
        let left: Vec<String> = diff_with(&a, &b, &rules)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(left, ["latency_ms.max"]);
        let rules = Rules {
            ignore: vec![
                "**.in_flight".into(),
                "latency_*".into(),
                "reproduce".into(),
            ],
            ..Rules::default()
        };
        let left: Vec<String> = diff_with(&a, &b, &rules)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(left, ["replicas[0].up"]);
    }

    #[test]
    fn one_sided_tolerances_fail_only_in_their_direction() {
        let a = json!({"p99": 100.0, "availability": 0.99});
        let worse = json!({"p99": 110.0, "availability": 0.98});
        let better = json!({"p99": 90.0, "availability": 0.995});
        let rules = Rules {
            tolerances: vec![
                tol("p99", 0.05, FailIf::Higher),
                tol("availability", 0.0, FailIf::Lower),
            ],
            ..Rules::default()
        };
        assert_eq!(diff_with(&a, &worse, &rules).len(), 2);
        assert!(diff_with(&a, &better, &rules).is_empty());
        // Within the tolerance, even in the failing direction.
        let slightly = json!({"p99": 104.0, "availability": 0.99});
        assert!(diff_with(&a, &slightly, &rules).is_empty());
        // The last matching rule wins.
        let mut r = rules.clone();
        r.tolerances.push(tol("p99", 0.2, FailIf::Either));
        assert!(diff_with(&a, &json!({"p99": 81.0, "availability": 0.99}), &r).is_empty());
        assert_eq!(
            diff_with(&a, &json!({"p99": 79.0, "availability": 0.99}), &r).len(),
            1
        );
    }

    #[test]
    fn bad_patterns_are_refused() {
        let r = Rules {
            ignore: vec!["latency_ms..p99".into()],
            ..Rules::default()
        };
        assert!(r.validate().is_err());
        let r = Rules {
            tolerances: vec![tol("p99", -1.0, FailIf::Either)],
            ..Rules::default()
        };
        assert!(r.validate().is_err());
    }
}

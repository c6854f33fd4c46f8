//! Sweep files: a base scenario, axes over any of its parameters by path, and a replication
//! count. Each variant is the base file's text with the axis values spliced in at the spans the
//! [`Locations`] scanner finds, then validated like any scenario, so every check and diagnostic of
//! a scenario applies to every variant. An error in a variant points at the sweep file's value.
//!
//! Paths name list entries by component name or index: `pools[web].replicas`,
//! `balancers[lb].policy`, `clients[users].arrivals.rate_per_s`, `horizon`. A field the base
//! file leaves out (say `workers`) is inserted into its struct.

use crate::locate::Locations;
use crate::{Loaded, ScenarioError, did_you_mean, parse_str_with};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sweep {
    scenario: String,
    replications: u32,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    axes: Vec<Axis>,
    #[serde(default)]
    warmup: Option<RawWarmup>,
    #[serde(default)]
    golden: Option<crate::raw::Golden>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum RawWarmup {
    Scenario,
    Mser5,
    Fixed(String),
}

/// How a sweep chooses each variant's warm-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarmupRule {
    /// Each variant keeps its scenario's `warmup`.
    Scenario,
    /// MSER-5 on a pilot run (replication 0 of the variant, no warm-up).
    Mser5,
    /// This warm-up for every variant (a manual override).
    Fixed(sim_core::SimDuration),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Axis {
    path: String,
    #[allow(dead_code)] // read through the scanner's spans, as text
    values: Vec<IgnoredAny>,
}

/// One axis: a parameter path and the RON text of each value.
#[derive(Clone, Debug)]
pub struct AxisDef {
    /// The path as written, e.g. `pools[web].replicas`.
    pub path: String,
    /// Each value's RON text.
    pub values: Vec<String>,
}

/// One point of the cross product.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Index in the cross product (first axis varies slowest).
    pub index: usize,
    /// `path=value` for each axis, joined by `, ` (`base` when there are no axes).
    pub label: String,
    /// The value's text on each axis.
    pub values: Vec<String>,
    /// The validated scenario of this variant.
    pub loaded: Loaded,
}

/// A validated sweep.
#[derive(Clone, Debug)]
pub struct SweepFile {
    /// The sweep file's name as given.
    pub file_name: String,
    /// Its text.
    pub source: String,
    /// The base scenario's path (relative to the sweep file's directory).
    pub scenario_path: PathBuf,
    /// Replications per variant.
    pub replications: u32,
    /// The sweep's seed, if given (else the scenario's, else the default).
    pub seed: Option<u64>,
    /// The axes.
    pub axes: Vec<AxisDef>,
    /// How warm-ups are chosen.
    pub warmup: WarmupRule,
    /// Every variant, in cross-product order.
    pub variants: Vec<Variant>,
    /// `hasim test`'s comparison rules for this file (`golden:`), if it gives any.
    pub golden: Option<crate::raw::Golden>,
}

/// Reads and validates the sweep file at `path`, expanding every variant.
pub fn load_sweep(path: &Path) -> Result<SweepFile, ScenarioError> {
    load_sweep_with(path, &crate::Extensions::new())
}

/// [`load_sweep`] with the program's own components (`Custom(name: …)` in the base scenario).
pub fn load_sweep_with(path: &Path, ext: &crate::Extensions) -> Result<SweepFile, ScenarioError> {
    let file = path.display().to_string();
    let src = crate::read_text(path, &file, "sweep")?;
    let raw: Sweep = crate::diagnose::parse_as(&src, &file, "Sweep(")?;
    let loc = Locations::scan(&src);
    let at = |path: &str, msg: String| {
        ScenarioError::at(&file, &src, loc.nearest(path).unwrap_or(0..0), msg)
    };
    if raw.replications == 0 {
        return Err(at("replications", "replications must be at least 1".into()));
    }
    let warmup = match &raw.warmup {
        None | Some(RawWarmup::Scenario) => WarmupRule::Scenario,
        Some(RawWarmup::Mser5) => WarmupRule::Mser5,
        Some(RawWarmup::Fixed(text)) => match sim_core::parse_duration(text) {
            Ok(d) => WarmupRule::Fixed(d),
            Err(e) => return Err(at("warmup", e.message).with_help("e.g. warmup: Fixed(\"10m\")")),
        },
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    let scenario_path = dir.join(&raw.scenario);
    let base_src = crate::read_bounded(&scenario_path, "base scenario")
        .and_then(|b| {
            String::from_utf8(b).map_err(|_| {
                (
                    "the base scenario is not UTF-8 text".to_string(),
                    "save the file as UTF-8".to_string(),
                )
            })
        })
        .map_err(|(msg, help)| {
            at("scenario", format!("`{}`: {msg}", scenario_path.display())).with_help(format!(
                "{help}; the path is relative to the sweep file's folder"
            ))
        })?;
    let base_name = scenario_path.display().to_string();
    // The base must be valid on its own: its own diagnostics are the clearest.
    parse_str_with(&base_src, &base_name, ext)?;
    let base_loc = Locations::scan(&base_src);

    let mut axes = Vec::new();
    let mut edits_per_axis: Vec<Vec<(Edit, Range<usize>)>> = Vec::new();
    let mut claimed: Vec<(Range<usize>, &str)> = Vec::new();
    for (i, a) in raw.axes.iter().enumerate() {
        let target = resolve(&a.path, &base_src, &base_loc).map_err(|(msg, help)| {
            let mut e = at(&format!("axes[{i}].path"), msg);
            e.help = help;
            e
        })?;
        // Two axes editing the same text (the same path twice, or a value and a part of it)
        // would splice into each other's edits.
        let range = target.range();
        if let Some((_, other)) = claimed.iter().find(|(r, _)| overlaps(r, &range)) {
            return Err(at(
                &format!("axes[{i}].path"),
                format!("axes `{other}` and `{}` set the same value", a.path),
            )
            .with_help("sweep each parameter on one axis"));
        }
        claimed.push((range, a.path.as_str()));
        let mut values = Vec::new();
        let mut edits = Vec::new();
        for j in 0.. {
            let Some(span) = loc.get(&format!("axes[{i}].values[{j}]")) else {
                break;
            };
            let text = src.get(span.clone()).unwrap_or_default().to_string();
            edits.push((target.with(&text), span));
            values.push(text);
        }
        if values.is_empty() {
            return Err(at(
                &format!("axes[{i}].values"),
                format!("axis `{}` has no values", a.path),
            ));
        }
        axes.push(AxisDef {
            path: a.path.clone(),
            values,
        });
        edits_per_axis.push(edits);
    }

    // Budgets before anything is expanded: checked arithmetic, so that a product past 2⁶⁴
    // is refused instead of wrapping to a small number.
    let lim = crate::limits::limits();
    let variants = edits_per_axis
        .iter()
        .try_fold(1u64, |acc, e| acc.checked_mul(e.len() as u64));
    let Some(total) = variants.filter(|&v| v <= lim.variants) else {
        let lengths: Vec<String> = edits_per_axis.iter().map(|e| e.len().to_string()).collect();
        let count = variants.map_or("more than 2⁶⁴".to_string(), |v| v.to_string());
        return Err(at(
            "axes",
            format!(
                "the axes ({} values) make {count} variants, more than the limit of {} (each variant is a scenario validated and kept in memory)",
                lengths.join(" × "),
                lim.variants
            ),
        )
        .with_help(format!("sweep fewer values, or split the sweep; {}", crate::limits::raise_hint())));
    };
    let runs = total.saturating_mul(u64::from(raw.replications));
    if runs > lim.runs {
        return Err(at(
            "replications",
            format!(
                "{total} variant{} × {} replications make {runs} runs, more than the limit of {} (each run is a whole simulation)",
                if total == 1 { "" } else { "s" },
                raw.replications,
                lim.runs
            ),
        )
        .with_help(format!("use fewer replications (or --target-ci to stop when precise enough); {}", crate::limits::raise_hint())));
    }
    let total = total as usize;
    // Cross product, first axis slowest.
    let mut variants = Vec::with_capacity(total);
    for index in 0..total {
        // The value index on each axis, last axis fastest.
        let mut rest = index;
        let mut choice = Vec::with_capacity(axes.len());
        for e in edits_per_axis.iter().rev() {
            choice.push(rest % e.len());
            rest /= e.len();
        }
        choice.reverse();
        let mut edits: Vec<&(Edit, Range<usize>)> = edits_per_axis
            .iter()
            .zip(&choice)
            .filter_map(|(e, &c)| e.get(c))
            .collect();
        let chosen: Vec<&str> = axes
            .iter()
            .zip(&choice)
            .map(|(a, &c)| a.values.get(c).map_or("", String::as_str))
            .collect();
        let label = if axes.is_empty() {
            "base".to_string()
        } else {
            axes.iter()
                .zip(&chosen)
                .map(|(a, v)| format!("{}={v}", a.path))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Splice from the end so earlier offsets stay valid (the edits do not overlap).
        edits.sort_by_key(|(e, _)| std::cmp::Reverse(e.at.start));
        let mut text = base_src.clone();
        for (e, _) in &edits {
            if text.is_char_boundary(e.at.start)
                && text.is_char_boundary(e.at.end)
                && e.at.start <= e.at.end
            {
                text.replace_range(e.at.clone(), &e.text);
            }
        }
        let loaded =
            parse_str_with(&text, &format!("{base_name} [{label}]"), ext).map_err(|inner| {
                // Blame the first axis value that this variant sets.
                let span = edits.last().map(|(_, s)| s.clone()).unwrap_or(0..0);
                let mut e = ScenarioError::at(
                    &file,
                    &src,
                    span,
                    format!("variant `{label}` is invalid: {}", inner.message),
                );
                e.help = inner.help;
                e.expected = inner.expected;
                e
            })?;
        let mut loaded = loaded;
        if let WarmupRule::Fixed(w) = warmup {
            if w >= loaded.spec.horizon {
                return Err(at(
                    "warmup",
                    format!(
                        "warmup {w} is not shorter than variant `{label}`'s horizon {}",
                        loaded.spec.horizon
                    ),
                ));
            }
            loaded.spec.warmup = w;
        }
        variants.push(Variant {
            index,
            label,
            values: chosen.iter().map(|v| v.to_string()).collect(),
            loaded,
        });
    }
    Ok(SweepFile {
        file_name: file,
        source: src,
        scenario_path,
        replications: raw.replications,
        seed: raw.seed,
        axes,
        warmup,
        variants,
        golden: raw.golden,
    })
}

/// Where and how a value goes into the base text.
#[derive(Clone, Debug)]
struct Edit {
    at: Range<usize>,
    text: String,
}

enum Target {
    Replace(Range<usize>),
    Insert { at: usize, field: String },
}

/// True when an edit of `a` and an edit of `b` would touch the same text. An insertion point
/// touches a range only strictly inside it, so two insertions at one point are fine.
fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    if a.is_empty() && b.is_empty() {
        return false;
    }
    if a.is_empty() || b.is_empty() {
        let (point, r) = if a.is_empty() {
            (a.start, b)
        } else {
            (b.start, a)
        };
        return r.start < point && point < r.end;
    }
    a.start < b.end && b.start < a.end
}

impl Target {
    /// The base text this axis replaces (empty for an insertion).
    fn range(&self) -> Range<usize> {
        match self {
            Target::Replace(r) => r.clone(),
            Target::Insert { at, .. } => *at..*at,
        }
    }

    fn with(&self, value: &str) -> Edit {
        match self {
            Target::Replace(r) => Edit {
                at: r.clone(),
                text: value.to_string(),
            },
            Target::Insert { at, field } => Edit {
                at: *at..*at,
                text: format!("{field}: {value}, "),
            },
        }
    }
}

/// Turns `pools[web].replicas` into a span of the base text (or an insertion point).
fn resolve(path: &str, src: &str, loc: &Locations) -> Result<Target, (String, Option<String>)> {
    let mut concrete = String::new();
    let segments: Vec<&str> = path.split('.').collect();
    for (n, seg) in segments.iter().enumerate() {
        let (field, key) = match seg.split_once('[') {
            Some((f, k)) => (
                f,
                Some(
                    k.strip_suffix(']')
                        .ok_or_else(|| (format!("`{seg}` lacks its closing `]`"), None))?,
                ),
            ),
            None => (*seg, None),
        };
        if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err((
                format!("`{path}` is not a parameter path"),
                Some(
                    "write e.g. `pools[web].replicas` or `clients[users].arrivals.rate_per_s`"
                        .into(),
                ),
            ));
        }
        if !concrete.is_empty() {
            concrete.push('.');
        }
        concrete.push_str(field);
        if let Some(key) = key {
            let index = match key.parse::<usize>() {
                Ok(i) => i,
                Err(_) => {
                    let mut names = Vec::new();
                    let mut found = None;
                    for i in 0.. {
                        if loc.get(&format!("{concrete}[{i}]")).is_none() {
                            break;
                        }
                        let name = loc
                            .get(&format!("{concrete}[{i}].name"))
                            .and_then(|s| src.get(s))
                            .map(|s| s.trim_matches('"').to_string())
                            .unwrap_or_default();
                        if name == key {
                            found = Some(i);
                        }
                        names.push(name);
                    }
                    match found {
                        Some(i) => i,
                        None => {
                            let help = did_you_mean(key, names.iter().map(String::as_str))
                                .map(|m| format!("did you mean `{field}[{m}]`?"));
                            return Err((
                                format!("the base scenario has no `{field}` entry named `{key}`"),
                                help,
                            ));
                        }
                    }
                }
            };
            concrete.push_str(&format!("[{index}]"));
        }
        if loc.get(&concrete).is_none() {
            // The last field may be absent from the file: insert it into its struct.
            let parent = concrete
                .rsplit_once(['.'])
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
            let is_last = n + 1 == segments.len();
            if is_last && key.is_none() {
                let open = if parent.is_empty() {
                    src.find('(')
                } else {
                    loc.get(&parent)
                        .and_then(|s| src.get(s.clone())?.find('(').map(|o| s.start + o))
                };
                if let Some(o) = open {
                    return Ok(Target::Insert {
                        at: o + 1,
                        field: field.to_string(),
                    });
                }
            }
            return Err((
                format!("the base scenario has no parameter `{path}`"),
                Some("paths follow the file's structure, e.g. `pools[web].workers`".into()),
            ));
        }
    }
    loc.get(&concrete)
        .map(Target::Replace)
        .ok_or_else(|| (format!("the base scenario has no parameter `{path}`"), None))
}

#[cfg(test)]
mod tests {
    use super::overlaps;

    #[test]
    fn edits_overlap_only_when_they_share_text() {
        assert!(overlaps(&(3..8), &(5..6)), "a value and a part of it");
        assert!(overlaps(&(3..8), &(3..8)), "the same value twice");
        assert!(!overlaps(&(3..5), &(5..8)), "neighbours");
        assert!(!overlaps(&(4..4), &(4..4)), "two insertions at one point");
        assert!(
            overlaps(&(4..4), &(3..8)),
            "an insertion inside a replaced value"
        );
        assert!(!overlaps(&(3..3), &(3..8)), "an insertion just before it");
    }
}

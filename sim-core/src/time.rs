//! Virtual time: integer nanoseconds, and the `"300ms"` / `"2s"` / `"6h"` duration syntax.

use std::fmt;

/// An instant of virtual time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct SimTime(pub u64);

/// A length of virtual time, in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// Later than any event: used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// This instant plus `d`, saturating at [`SimTime::MAX`] rather than wrapping.
    #[inline]
    pub fn after(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// Time elapsed since `earlier` (zero if `earlier` is later).
    #[inline]
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// Seconds, for reports only (never for simulation logic).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1_000_000)
    }

    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s * 1_000_000_000)
    }

    /// Nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds, for reports and sampler parameters.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Milliseconds, for reports.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(*self))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(SimDuration(self.0)))
    }
}

/// Why a duration string did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    /// What was wrong, in words a user understands.
    pub message: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DurationError {}

const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Parses `"300ms"`, `"2s"`, `"1.5s"`, `"6h"`, `"1h30m"`, `"0"`.
///
/// Decimals are parsed exactly as integers (no float rounding), so `"0.1s"` is exactly
/// 100 000 000 ns. Units: `ns`, `us`/`µs`, `ms`, `s`, `m`/`min`, `h`, `d`.
pub fn parse_duration(text: &str) -> Result<SimDuration, DurationError> {
    let err = |m: String| DurationError { message: m };
    let s = text.trim();
    if s.is_empty() {
        return Err(err(
            "empty duration; write e.g. \"300ms\", \"2s\" or \"6h\"".into(),
        ));
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    if s.starts_with('-') {
        return Err(err(format!(
            "duration `{text}` is negative; durations must be ≥ 0"
        )));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u128 = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_')
        {
            i += 1;
        }
        let number = s[start..i].replace('_', "");
        if number.is_empty() {
            return Err(err(format!(
                "duration `{text}` must start with a number, as in \"300ms\" or \"2s\""
            )));
        }
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let ustart = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b' ') {
            i += 1;
        }
        let unit = &s[ustart..i];
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            let what = if unit.is_empty() {
                "no unit".to_string()
            } else {
                format!("unknown unit `{unit}`")
            };
            return Err(err(format!(
                "duration `{text}` has {what}; use one of ns, us, ms, s, m, h, d (e.g. \"300ms\")"
            )));
        };
        let (int, frac) = match number.split_once('.') {
            Some((a, b)) => (a, b),
            None => (number.as_str(), ""),
        };
        if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
            return Err(err(format!(
                "duration `{text}` has a malformed number `{number}`"
            )));
        }
        let int_v: u128 = if int.is_empty() {
            0
        } else {
            int.parse()
                .map_err(|_| err(format!("duration `{text}` is too large")))?
        };
        let mut part = int_v
            .checked_mul(scale as u128)
            .ok_or_else(|| err(format!("duration `{text}` is too large")))?;
        if !frac.is_empty() {
            // Exact decimal: frac digits / 10^len × scale, truncated to whole nanoseconds.
            if frac.len() > 18 {
                return Err(err(format!("duration `{text}` has too many decimals")));
            }
            let f: u128 = frac
                .parse()
                .map_err(|_| err(format!("duration `{text}` is malformed")))?;
            let denom = 10u128.pow(frac.len() as u32);
            let num = f * scale as u128;
            if !num.is_multiple_of(denom) {
                return Err(err(format!(
                    "duration `{text}` is finer than a nanosecond, hasim's time unit"
                )));
            }
            part += num / denom;
        }
        total += part;
        if total > u64::MAX as u128 {
            return Err(err(format!(
                "duration `{text}` is too large (max ≈ 584 years)"
            )));
        }
    }
    Ok(SimDuration(total as u64))
}

/// Formats a duration in the largest unit that shows it exactly: `"300ms"`, `"2s"`, `"1.5s"`.
pub fn format_duration(d: SimDuration) -> String {
    let ns = d.0;
    if ns == 0 {
        return "0s".into();
    }
    for &(unit, scale) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
    ]
    .iter()
    {
        if ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    if ns >= 1_000_000_000 {
        // Seconds with the decimals needed (at most 9).
        let whole = ns / 1_000_000_000;
        let mut frac = format!("{:09}", ns % 1_000_000_000);
        while frac.ends_with('0') {
            frac.pop();
        }
        return format!("{whole}.{frac}s");
    }
    for &(unit, scale) in [("ms", 1_000_000u64), ("us", 1_000), ("ns", 1)].iter() {
        if ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    unreachable!("every duration is a whole number of ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("300ms").unwrap(), SimDuration(300_000_000));
        assert_eq!(parse_duration("2s").unwrap(), SimDuration(2_000_000_000));
        assert_eq!(
            parse_duration("6h").unwrap(),
            SimDuration(6 * 3_600_000_000_000)
        );
        assert_eq!(
            parse_duration("1h30m").unwrap(),
            SimDuration(5_400_000_000_000)
        );
        assert_eq!(
            parse_duration("1h 30m").unwrap(),
            SimDuration(5_400_000_000_000)
        );
        assert_eq!(parse_duration("0.1s").unwrap(), SimDuration(100_000_000));
        assert_eq!(parse_duration("1.5ms").unwrap(), SimDuration(1_500_000));
        assert_eq!(parse_duration("250us").unwrap(), SimDuration(250_000));
        assert_eq!(parse_duration("0").unwrap(), SimDuration::ZERO);
        assert_eq!(
            parse_duration("1_000s").unwrap(),
            SimDuration::from_secs(1000)
        );
    }

    #[test]
    fn rejects_bad_forms_with_reasons() {
        for (bad, needle) in [
            ("", "empty"),
            ("300", "no unit"),
            ("3 parsecs", "unknown unit `parsecs`"),
            ("-1s", "negative"),
            ("ms", "start with a number"),
            ("1.2.3s", "malformed"),
            ("0.5ns", "finer than a nanosecond"),
            ("999999999999h", "too large"),
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.message.contains(needle), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["300ms", "2s", "6h", "1.5s", "250us", "7ns", "90m"] {
            let d = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{s}");
        }
        assert_eq!(format_duration(SimDuration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(SimDuration::from_secs(120)), "2m");
    }
}

//! Arrivals beyond renewal gaps: closed-loop `Users`, `Mmpp`, rate curves (`Daily`, `Wave`,
//! `FlashCrowd`) and `Trace` replay from a CSV file, whose bad rows are errors naming the CSV
//! file and its line.

use super::Ctx;
use crate::{ScenarioError, raw};
use models::arrivals::{MmppState, RateCurve, TraceSpec};
use models::spec::Arrivals;
use sim_core::SimDuration;
use std::path::Path;

/// The new arrival variants (`None` for the others, and for a mistake, which is recorded).
pub(super) fn arrivals(cx: &mut Ctx<'_>, a: &raw::Arrivals, path: &str) -> Option<Arrivals> {
    match a {
        raw::Arrivals::Users {
            count,
            think,
            ramp_up,
        } => users(cx, *count, think, ramp_up.as_deref(), path),
        raw::Arrivals::Mmpp { states } => mmpp(cx, states, path),
        raw::Arrivals::Daily { profile, period } => daily(cx, profile, period.as_deref(), path),
        raw::Arrivals::Wave {
            trough_per_s,
            peak_per_s,
            period,
            peak_at,
        } => wave(
            cx,
            (*trough_per_s, *peak_per_s),
            period.as_deref(),
            peak_at.as_deref(),
            path,
        ),
        raw::Arrivals::FlashCrowd {
            base_per_s,
            peak_per_s,
            at,
            rise,
            hold,
            fall,
        } => flash_crowd(
            cx,
            (*base_per_s, *peak_per_s),
            [at, rise, hold.as_deref().unwrap_or("0s"), fall],
            path,
        ),
        raw::Arrivals::Trace {
            file,
            speed_up,
            looping,
        } => trace(cx, file, *speed_up, looping.unwrap_or(false), path),
        _ => None,
    }
}

/// The variants only clients of the topology have (stores keep renewal gaps).
pub(crate) fn client_only(a: &raw::Arrivals) -> Option<&'static str> {
    Some(match a {
        raw::Arrivals::PoissonSteps { .. } => "steps",
        raw::Arrivals::Users { .. } => "closed-loop users",
        raw::Arrivals::Mmpp { .. } => "an MMPP",
        raw::Arrivals::Daily { .. } | raw::Arrivals::Wave { .. } => "a rate curve",
        raw::Arrivals::FlashCrowd { .. } => "a flash crowd",
        raw::Arrivals::Trace { .. } => "a trace",
        _ => return None,
    })
}

fn users(
    cx: &mut Ctx<'_>,
    count: u32,
    think: &raw::Dist,
    ramp_up: Option<&str>,
    path: &str,
) -> Option<Arrivals> {
    let lim = crate::limits::limits().users;
    if count == 0 {
        cx.fail_help(
            &format!("{path}.count"),
            "a client needs at least one user",
            "count is the number of users, e.g. 20",
        );
        return None;
    }
    if u64::from(count) > lim {
        cx.fail_help(
            &format!("{path}.count"),
            format!(
                "{count} users is more than the limit of {lim} (each user is a request in flight or a timer)"
            ),
            crate::limits::raise_hint(),
        );
        return None;
    }
    let think_path = format!("{path}.think");
    let think = cx.dist(think, &think_path)?;
    if think.mean_ns() < 1.0 {
        cx.fail_help(
            &think_path,
            "a think time with a mean of zero would let users send again at the same instant for ever",
            "give users a think time, even a short one: Exponential(mean: \"1ms\")",
        );
        return None;
    }
    let ramp_up = match ramp_up {
        Some(t) => cx.duration(t, &format!("{path}.ramp_up"))?,
        None => SimDuration::ZERO,
    };
    Some(Arrivals::Users {
        count,
        think,
        ramp_up,
    })
}

fn mmpp(cx: &mut Ctx<'_>, states: &[raw::MmppState], path: &str) -> Option<Arrivals> {
    let p = format!("{path}.states");
    if states.len() < 2 {
        cx.fail_help(
            &p,
            format!("an MMPP needs at least two states, found {}", states.len()),
            "e.g. states: [MmppState(rate_per_s: 200.0, mean_holding: \"10s\"), MmppState(rate_per_s: 20.0, mean_holding: \"50s\")]; for one rate use Poisson",
        );
        return None;
    }
    let mut out = Vec::with_capacity(states.len());
    for (k, s) in states.iter().enumerate() {
        let sp = format!("{p}[{k}]");
        let rate = if s.rate_per_s == 0.0 {
            Some(0.0)
        } else {
            cx.rate(s.rate_per_s, &format!("{sp}.rate_per_s"))
        };
        let hold = cx.positive_duration(
            &s.mean_holding,
            &format!("{sp}.mean_holding"),
            "mean_holding",
        );
        out.push(MmppState {
            rate_per_s: rate?,
            mean_holding: hold?,
        });
    }
    if out.iter().all(|s| s.rate_per_s == 0.0) {
        cx.fail_help(
            &p,
            "every state has a rate of zero: no request would ever arrive",
            "give at least one state a positive rate_per_s",
        );
        return None;
    }
    Some(Arrivals::Mmpp { states: out })
}

/// A rate of a curve: zero or positive (within the events budget).
fn curve_rate(cx: &mut Ctx<'_>, r: f64, path: &str) -> Option<f64> {
    if r == 0.0 {
        return Some(0.0);
    }
    cx.rate(r, path)
}

fn daily(
    cx: &mut Ctx<'_>,
    profile: &[(String, f64)],
    period: Option<&str>,
    path: &str,
) -> Option<Arrivals> {
    let p = format!("{path}.profile");
    let period = match period {
        Some(t) => cx.positive_duration(t, &format!("{path}.period"), "period")?,
        None => SimDuration::from_secs(86_400),
    };
    if profile.is_empty() {
        cx.fail_help(
            &p,
            "profile is empty",
            "write e.g. [(\"0h\", 20.0), (\"9h\", 200.0), (\"18h\", 120.0)]: the rate at each time of day, linear in between",
        );
        return None;
    }
    let mut points: Vec<(SimDuration, f64)> = Vec::with_capacity(profile.len());
    for (k, (at, rate)) in profile.iter().enumerate() {
        let pp = format!("{p}[{k}]");
        let t = cx.duration(at, &pp)?;
        let r = curve_rate(cx, *rate, &pp)?;
        if k == 0 && t != SimDuration::ZERO {
            cx.fail_help(
                &pp,
                format!("the profile starts at {t}, not at 0s"),
                "start with (\"0h\", rate): the rate at the start of each period",
            );
            return None;
        }
        if t >= period {
            cx.fail_help(
                &pp,
                format!("{t} is not within the period ({period})"),
                "times are times of day (of the period), from 0 up to the period",
            );
            return None;
        }
        if let Some(&(prev, _)) = points.last()
            && t <= prev
        {
            cx.fail(
                &pp,
                format!("profile times must increase: {t} is not after {prev}"),
            );
            return None;
        }
        points.push((t, r));
    }
    if points.iter().all(|p| p.1 == 0.0) {
        cx.fail_help(
            &p,
            "every rate of the profile is zero: no request would ever arrive",
            "give the profile a positive rate somewhere",
        );
        return None;
    }
    Some(Arrivals::Curve {
        curve: RateCurve::Linear {
            points,
            period: Some(period),
        },
    })
}

fn wave(
    cx: &mut Ctx<'_>,
    (trough, peak): (f64, f64),
    period: Option<&str>,
    peak_at: Option<&str>,
    path: &str,
) -> Option<Arrivals> {
    let t = curve_rate(cx, trough, &format!("{path}.trough_per_s"));
    let pk = cx.rate(peak, &format!("{path}.peak_per_s"));
    let period = match period {
        Some(s) => cx.positive_duration(s, &format!("{path}.period"), "period"),
        None => Some(SimDuration::from_secs(86_400)),
    };
    let peak_at = match peak_at {
        Some(s) => cx.duration(s, &format!("{path}.peak_at")),
        None => Some(SimDuration::ZERO),
    };
    let (trough_per_s, peak_per_s, period, peak_at) = (t?, pk?, period?, peak_at?);
    if trough_per_s > peak_per_s {
        cx.fail_help(
            &format!("{path}.trough_per_s"),
            format!("the trough ({trough_per_s}/s) is above the peak ({peak_per_s}/s)"),
            "trough_per_s is the lowest rate, peak_per_s the highest",
        );
        return None;
    }
    Some(Arrivals::Curve {
        curve: RateCurve::Wave {
            trough_per_s,
            peak_per_s,
            period,
            peak_at,
        },
    })
}

fn flash_crowd(
    cx: &mut Ctx<'_>,
    (base, peak): (f64, f64),
    times: [&str; 4],
    path: &str,
) -> Option<Arrivals> {
    let b = curve_rate(cx, base, &format!("{path}.base_per_s"));
    let pk = cx.rate(peak, &format!("{path}.peak_per_s"));
    let names = ["at", "rise", "hold", "fall"];
    let mut d = [SimDuration::ZERO; 4];
    let mut ok = true;
    for (k, t) in times.iter().enumerate() {
        match cx.duration(t, &format!("{path}.{}", names[k])) {
            Some(v) => d[k] = v,
            None => ok = false,
        }
    }
    let (base, peak) = (b?, pk?);
    if !ok {
        return None;
    }
    let [at, rise, hold, fall] = d;
    // Rise and fall of zero would make two points at one instant: a step, one ns wide.
    let (rise, fall) = (rise.0.max(1), fall.0.max(1));
    let mut points = vec![(SimDuration::ZERO, base)];
    let mut t = at.0;
    if t > 0 {
        points.push((SimDuration(t), base));
    }
    t = t.saturating_add(rise);
    points.push((SimDuration(t), peak));
    if hold.0 > 0 {
        t = t.saturating_add(hold.0);
        points.push((SimDuration(t), peak));
    }
    t = t.saturating_add(fall);
    points.push((SimDuration(t), base));
    Some(Arrivals::Curve {
        curve: RateCurve::Linear {
            points,
            period: None,
        },
    })
}

/// A timestamp in decimal seconds (`12`, `12.5`, `1700000000.123456789`) as exact nanoseconds.
fn seconds_ns(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !(frac.is_empty() || digits(frac)) {
        return Err(format!(
            "timestamp `{t}` is not a number of seconds (digits, optionally a point and up to 9 decimals)"
        ));
    }
    if frac.len() > 9 {
        return Err(format!(
            "timestamp `{t}` has more than 9 decimals (time is counted in nanoseconds)"
        ));
    }
    let s: u64 = int
        .parse()
        .map_err(|_| format!("timestamp `{t}` is too large"))?;
    let f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().unwrap_or(0) * 10u64.pow(9 - frac.len() as u32)
    };
    s.checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(f))
        .ok_or_else(|| format!("timestamp `{t}` is too large (past year 2554 in seconds)"))
}

fn trace(
    cx: &mut Ctx<'_>,
    file: &str,
    speed_up: Option<f64>,
    looping: bool,
    path: &str,
) -> Option<Arrivals> {
    let speed_up = speed_up.unwrap_or(1.0);
    if !(speed_up.is_finite() && speed_up > 0.0) {
        cx.fail_help(
            &format!("{path}.speed_up"),
            format!("speed_up must be a positive number, found {speed_up}"),
            "2.0 replays twice as fast, 0.5 at half speed",
        );
        return None;
    }
    // The CSV file is beside the scenario file.
    let full = Path::new(cx.file)
        .parent()
        .map_or_else(|| Path::new(file).to_path_buf(), |d| d.join(file));
    let shown = full.display().to_string();
    let bytes = match crate::read_bounded(&full, "trace") {
        Ok(b) => b,
        Err((msg, help)) => {
            cx.fail_help(&format!("{path}.file"), format!("{shown}: {msg}"), help);
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            cx.fail_help(
                &format!("{path}.file"),
                format!(
                    "{shown}: the file is not UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to()
                ),
                "save the trace as UTF-8 CSV",
            );
            return None;
        }
    };
    match read_trace(&text, &shown, speed_up, looping) {
        Ok(t) => Some(Arrivals::Trace { trace: t }),
        Err(e) => {
            cx.push(e);
            None
        }
    }
}

/// The trace in `text` (CSV with a header naming a `timestamp` column; other columns are
/// allowed and not read), or an error at its bad line.
fn read_trace(
    text: &str,
    file: &str,
    speed_up: f64,
    looping: bool,
) -> Result<TraceSpec, ScenarioError> {
    let at = |start: usize, line: u64, msg: String, help: &str| {
        let end = text[start.min(text.len())..]
            .find('\n')
            .map_or(text.len(), |e| start + e);
        let mut e = ScenarioError::at(file, text, start..end, msg).with_help(help.to_string());
        if let Some(p) = e.position.as_mut() {
            p.line = line as usize;
        }
        e
    };
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rd
        .headers()
        .map_err(|e| {
            at(
                0,
                1,
                format!("the header row is not CSV: {e}"),
                "the first row names the columns, e.g. timestamp,endpoint,key,size",
            )
        })?
        .clone();
    let Some(col) = headers.iter().position(|h| h == "timestamp") else {
        return Err(at(
            0,
            1,
            format!(
                "the header row has no `timestamp` column (found: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
            "the first row names the columns and one of them is `timestamp` (seconds)",
        ));
    };
    let mut raw_ns: Vec<u64> = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rd.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let (start, line) = e
                    .position()
                    .map_or((0, 0), |p| (p.byte() as usize, p.line()));
                return Err(at(
                    start,
                    line,
                    format!("this row is not CSV: {e}"),
                    "every row has as many fields as the header",
                ));
            }
        }
        let (start, line) = rec
            .position()
            .map_or((0, 0), |p| (p.byte() as usize, p.line()));
        let field = rec.get(col).unwrap_or("");
        let ns = seconds_ns(field).map_err(|m| {
            at(
                start,
                line,
                m,
                "timestamps are seconds, e.g. 12.250 or 1700000000.5",
            )
        })?;
        if let Some(&prev) = raw_ns.last()
            && ns < prev
        {
            return Err(at(
                start,
                line,
                format!(
                    "timestamp {field} is earlier than the row before it: the trace must be in time order"
                ),
                "sort the file by timestamp",
            ));
        }
        raw_ns.push(ns);
    }
    let Some(&first) = raw_ns.first() else {
        return Err(at(
            0,
            1,
            "the trace has a header but no rows".into(),
            "add one row per request, e.g. 0.125",
        ));
    };
    let offsets: Vec<u64> = raw_ns
        .iter()
        .map(|&t| {
            let d = t - first;
            // At speed 1 the offsets are the file's own, to the nanosecond.
            if speed_up == 1.0 {
                d
            } else {
                (d as f64 / speed_up).round() as u64
            }
        })
        .collect();
    let span = *offsets.last().unwrap_or(&0);
    let period = if looping {
        if offsets.len() < 2 || span == 0 {
            return Err(at(
                0,
                1,
                "a looping trace needs at least two distinct timestamps".into(),
                "add rows, or set looping: false",
            ));
        }
        // The next pass starts one mean gap after the last row, keeping the mean rate.
        Some(SimDuration(span + span / (offsets.len() as u64 - 1)))
    } else {
        None
    };
    Ok(TraceSpec {
        file: file.to_string(),
        offsets: offsets.into(),
        period,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_exact_nanoseconds() {
        assert_eq!(seconds_ns("12"), Ok(12_000_000_000));
        assert_eq!(seconds_ns("0.000000001"), Ok(1));
        assert_eq!(
            seconds_ns("1700000000.123456789"),
            Ok(1_700_000_000_123_456_789)
        );
        assert!(seconds_ns("1e3").is_err());
        assert!(seconds_ns("-1").is_err());
        assert!(seconds_ns("0.1234567891").is_err());
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let e = read_trace("timestamp,key\n0.5,a\n1.0,b\nx,c\n", "t.csv", 1.0, false)
            .expect_err("bad row");
        assert_eq!(e.file, "t.csv");
        assert_eq!(e.position.map(|p| p.line), Some(4), "{e}");
        let e = read_trace("timestamp\n2\n1\n", "t.csv", 1.0, false).expect_err("order");
        assert_eq!(e.position.map(|p| p.line), Some(3), "{e}");
        let e = read_trace("time\n2\n", "t.csv", 1.0, false).expect_err("no column");
        assert_eq!(e.position.map(|p| p.line), Some(1), "{e}");
        let t = read_trace("k,timestamp\na,10.5\nb,11\nc,12.5\n", "t.csv", 1.0, true).unwrap();
        assert_eq!(&t.offsets[..], &[0, 500_000_000, 2_000_000_000]);
        assert_eq!(t.period, Some(SimDuration(3_000_000_000)));
    }
}

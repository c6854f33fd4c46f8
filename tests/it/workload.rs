//! Workloads as they are: closed-loop users against exact Mean Value Analysis, bursty arrivals
//! (MMPP rate and index of dispersion, a daily curve's counts per hour) and trace replay.
//! Every tolerance is `Z` standard errors from the run's own batch means (or a binomial /
//! Poisson sd), never picked to pass.

use models::spec::Arrivals;
use models::{Outcome, Record, System};
use reports::BatchMeans;
use sim_core::{Observer, SimDuration, SimTime, StreamKey};

const Z: f64 = 4.0;

fn spec(text: &str) -> models::spec::Spec {
    scenarios::parse_str(text, "workload.ron")
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .spec
}

/// |estimate − truth| ≤ Z standard errors, the standard error from a 95% half-width.
fn assert_within(what: &str, estimate: f64, truth: f64, half_width_95: f64, batches: usize) {
    let se = half_width_95 / reports::student_t_975(batches.saturating_sub(1).max(1));
    assert!(se.is_finite() && se > 0.0, "{what}: no usable se");
    assert!(
        (estimate - truth).abs() <= Z * se,
        "{what}: simulated {estimate} vs theory {truth}: off by {:.2} standard errors (se {se})",
        (estimate - truth).abs() / se
    );
}

/// Response times (ms) and completions per `slot` of time, both as batch means, after warm-up.
struct Cycles {
    warmup: SimTime,
    slot_ns: u64,
    slot_end: u64,
    in_slot: u64,
    response: BatchMeans,
    per_slot: BatchMeans,
    offered_at: Vec<SimTime>,
}

impl Observer<Record> for Cycles {
    fn record(&mut self, now: SimTime, r: &Record) {
        if let Record::Offered { .. } = r
            && self.offered_at.len() < 64
        {
            self.offered_at.push(now);
        }
        if let Record::Finished {
            arrived, latency, ..
        } = *r
            && arrived >= self.warmup
        {
            while now.0 >= self.slot_end {
                self.per_slot.push(self.in_slot as f64);
                self.in_slot = 0;
                self.slot_end += self.slot_ns;
            }
            self.in_slot += 1;
            self.response.push(latency.0 as f64 / 1e6);
        }
    }
}

fn cycles(spec: &models::spec::Spec, seed: u64, slot: SimDuration) -> Cycles {
    let obs = Cycles {
        warmup: SimTime(spec.warmup.0),
        slot_ns: slot.0,
        slot_end: spec.warmup.0 + slot.0,
        in_slot: 0,
        response: BatchMeans::default(),
        per_slot: BatchMeans::default(),
        offered_at: Vec::new(),
    };
    System::new(spec, StreamKey::new(seed, 0), obs).run().1
}

fn set_users(spec: &mut models::spec::Spec, n: u32) {
    if let Arrivals::Users { count, .. } = &mut spec.clients[0].arrivals {
        *count = n;
    }
}

/// The machine-repairman model (N users, think Z = 1 s, one exponential server S = 40 ms)
/// against exact MVA at N = 1, 10, 25 (just below saturation N* = 26) and 40 (saturated):
/// throughput from completions per 50 s slot, response time from the requests' own batch
/// means, each within 4 standard errors. The report's MVA line is the same recursion.
#[test]
fn closed_loop_users_follow_exact_mva() {
    let mut s = super::load("scenarios/closed-loop.ron").spec;
    for (n, seed) in [(1, 11), (10, 12), (25, 13), (40, 14)] {
        set_users(&mut s, n);
        let (x, r) = reports::mva(n, 1.0, 0.040);
        let c = cycles(&s, seed, SimDuration::from_secs(50));
        let slot_x = c.per_slot.mean() / 50.0;
        assert_within(
            &format!("N = {n}: throughput (req/s)"),
            slot_x,
            x,
            c.per_slot.half_width_95() / 50.0,
            c.per_slot.batches(),
        );
        assert_within(
            &format!("N = {n}: response (ms)"),
            c.response.mean(),
            r * 1e3,
            c.response.half_width_95(),
            c.response.batches(),
        );
    }
    // The report carries the same figures: its MVA line and its measured cycle N/X ≈ R + Z.
    let loaded = super::load("scenarios/closed-loop.ron");
    let (report, _) = hasim::Run::new(&loaded).seed(1).execute();
    let u = &report.users[0];
    let m = u.mva.as_ref().expect("MVA applies to the example");
    assert_eq!((m.throughput_per_s, m.response_ms), (21.4044, 167.9831));
    let cycle = u.response_ms + u.think_ms;
    assert!(
        (u.cycle_ms - cycle).abs() / cycle < 0.01,
        "cycle {} vs R + Z {cycle}",
        u.cycle_ms
    );
}

/// Users start evenly over the ramp-up: user u of N sends its first request at u·ramp/N.
#[test]
fn users_ramp_up_evenly() {
    let s = spec(
        r#"Scenario(name: "ramp", horizon: "9s",
            clients: [Client(name: "u", arrivals: Users(count: 8, think: Constant("1000s"), ramp_up: "8s"), target: "p")],
            pools: [Pool(name: "p", replicas: 1, service: Constant("1ms"))])"#,
    );
    let c = cycles(&s, 1, SimDuration::from_secs(1));
    let want: Vec<SimTime> = (0..8).map(|u| SimTime(u * 1_000_000_000)).collect();
    assert_eq!(c.offered_at, want);
}

/// A user whose request times out thinks and sends again: with a server that never answers
/// in time, a 1 s timeout and a 2 s think, requests go out every 3 s exactly.
#[test]
fn a_user_gives_up_at_its_timeout_then_thinks() {
    let s = spec(
        r#"Scenario(name: "timeout", horizon: "20s",
            clients: [Client(name: "u", arrivals: Users(count: 1, think: Constant("2s")), target: "p", timeout: "1s")],
            pools: [Pool(name: "p", replicas: 1, service: Constant("1000s"))])"#,
    );
    let c = cycles(&s, 1, SimDuration::from_secs(1));
    let want: Vec<SimTime> = (0..7).map(|k| SimTime(k * 3_000_000_000)).collect();
    assert_eq!(c.offered_at, want);
}

/// Arrivals counted per fixed window after warm-up.
struct Counts {
    window_ns: u64,
    counts: Vec<u64>,
}

impl Observer<Record> for Counts {
    fn record(&mut self, now: SimTime, r: &Record) {
        if let Record::Offered { .. } = r {
            let w = (now.0 / self.window_ns) as usize;
            if w < self.counts.len() {
                self.counts[w] += 1;
            }
        }
    }
}

fn counts(spec: &models::spec::Spec, seed: u64, window: SimDuration) -> Vec<u64> {
    let n = (spec.horizon.0 / window.0) as usize;
    let obs = Counts {
        window_ns: window.0,
        counts: vec![0; n],
    };
    System::new(spec, StreamKey::new(seed, 0), obs)
        .run()
        .1
        .counts
}

/// A two-state MMPP (100/s for 2 s on average, 10/s for 8 s): long-run rate 28/s, and the
/// variance of counts in windows of t = 100 s against the exact
/// Var N(t) = λ̄t + 2 r₁r₂(λ₁−λ₂)²/r³ · (t − (1 − e^{−rt})/r). Windows of 100 s are 16
/// mean cycles long, so neighbours are almost independent: the mean's se is √(Var/K) and the
/// variance's about Var·√(2/(K−1)) (counts near normal), with K = 2000 windows.
#[test]
fn mmpp_rate_and_dispersion_follow_their_formulas() {
    let s = spec(
        r#"Scenario(name: "mmpp", horizon: "200000s",
            clients: [Client(name: "c", arrivals: Mmpp(states: [
                MmppState(rate_per_s: 100.0, mean_holding: "2s"),
                MmppState(rate_per_s: 10.0, mean_holding: "8s"),
            ]), target: "p")],
            pools: [Pool(name: "p", replicas: 1, workers: 1000, service: Constant("1ms"))])"#,
    );
    let t = 100.0;
    let c = counts(&s, 5, SimDuration::from_secs(100));
    let k = c.len() as f64;
    let mean = c.iter().sum::<u64>() as f64 / k;
    let var = c.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let (l1, l2, r1, r2): (f64, f64, f64, f64) = (100.0, 10.0, 0.5, 0.125);
    let r = r1 + r2;
    let lbar = (l1 * r2 + l2 * r1) / r;
    let var_t =
        lbar * t + 2.0 * r1 * r2 * (l1 - l2).powi(2) / r.powi(3) * (t - (1.0 - (-r * t).exp()) / r);
    let mean_se = (var_t / k).sqrt();
    assert!(
        (mean - lbar * t).abs() <= Z * mean_se,
        "mean count {mean} vs {} (se {mean_se})",
        lbar * t
    );
    let var_se = var_t * (2.0 / (k - 1.0)).sqrt();
    assert!(
        (var - var_t).abs() <= Z * var_se,
        "variance of counts {var} vs {var_t} (se {var_se}); index of dispersion {} vs {}",
        var / mean,
        var_t / (lbar * t)
    );
    // Far from Poisson: the asymptotic index of dispersion is the library's formula.
    let idc = models::arrivals::mmpp_index_of_dispersion(&[
        models::arrivals::MmppState {
            rate_per_s: 100.0,
            mean_holding: SimDuration::from_secs(2),
        },
        models::arrivals::MmppState {
            rate_per_s: 10.0,
            mean_holding: SimDuration::from_secs(8),
        },
    ]);
    assert!(
        idc > 20.0 && var / mean > 15.0,
        "idc {idc}, measured {}",
        var / mean
    );
}

/// A daily profile through the whole System: counts per hour of three days against the
/// profile's integral, by a chi-square test over the 72 hours at its 0.999 quantile
/// (χ²₇₂ = 116.09): Poisson counts with those means, a wrong shape fails for sure.
#[test]
fn daily_curve_counts_per_hour_follow_the_profile() {
    let s = spec(
        r#"Scenario(name: "daily", horizon: "72h",
            clients: [Client(name: "c", arrivals: Daily(profile: [("0h", 1.0), ("8h", 6.0), ("12h", 10.0), ("20h", 3.0)]), target: "p")],
            pools: [Pool(name: "p", replicas: 1, workers: 1000, service: Constant("1ms"))])"#,
    );
    let Arrivals::Curve { curve } = &s.clients[0].arrivals else {
        panic!("a curve")
    };
    let hour = 3_600_000_000_000u64;
    let c = counts(&s, 9, SimDuration(hour));
    let chi2: f64 = (0..72u64)
        .map(|h| {
            let e = curve.expected(h * hour, (h + 1) * hour);
            (c[h as usize] as f64 - e).powi(2) / e
        })
        .sum();
    assert!(chi2 < 116.09, "χ² = {chi2}: {c:?}");
}

/// Replay reproduces the file's timestamps exactly (to the nanosecond), relative to its
/// first row; with a speed-up of 2 every offset halves; looping starts the next pass one
/// mean gap after the last row.
#[test]
fn trace_replay_reproduces_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let csv =
        "timestamp,endpoint\n100.000000001,GET /a\n100.5,GET /b\n100.5,GET /a\n103.25,POST /c\n";
    std::fs::write(dir.path().join("t.csv"), csv).expect("csv");
    let ron = |extra: &str| {
        format!(
            r#"Scenario(name: "trace", horizon: "20s",
            clients: [Client(name: "c", arrivals: Trace(file: "t.csv"{extra}), target: "p")],
            pools: [Pool(name: "p", replicas: 1, workers: 100, service: Constant("1ms"))])"#
        )
    };
    let load = |extra: &str| {
        let path = dir.path().join("s.ron");
        std::fs::write(&path, ron(extra)).expect("ron");
        scenarios::load(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .spec
    };
    let offered = |s: &models::spec::Spec| cycles(s, 1, SimDuration::from_secs(1)).offered_at;
    let ns = |v: &[u64]| v.iter().map(|&t| SimTime(t)).collect::<Vec<_>>();
    assert_eq!(
        offered(&load("")),
        ns(&[0, 499_999_999, 499_999_999, 3_249_999_999])
    );
    assert_eq!(
        offered(&load(", speed_up: 2.0")),
        ns(&[0, 250_000_000, 250_000_000, 1_625_000_000])
    );
    // Period = span + span/3 = 3.249999999 + 1.083333333 s.
    let p = 3_249_999_999 + 1_083_333_333;
    let looped = offered(&load(", looping: true"));
    assert_eq!(
        &looped[..8],
        &ns(&[
            0,
            499_999_999,
            499_999_999,
            3_249_999_999,
            p,
            p + 499_999_999,
            p + 499_999_999,
            p + 3_249_999_999
        ])[..]
    );
    let _ = Outcome::Succeeded;
}

/// A bad row of a trace is an error naming the CSV file and its line, exit 2, from `check`
/// and `run` alike.
#[test]
fn a_bad_trace_row_names_the_csv_file_and_line() {
    for cmd in ["check", "run"] {
        let out = super::hasim(&[cmd, "tests/data/bad-trace-row.ron"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("tests/data/traces/bad-row.csv:4:1: timestamp `soon` is not a number"),
            "{cmd}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// A trace file past the file-size budget is refused at validation, before it is read whole.
#[test]
fn a_huge_trace_is_refused_at_validation() {
    let dir = tempfile::tempdir().expect("tmp");
    let big = std::fs::File::create(dir.path().join("big.csv")).expect("csv");
    big.set_len(scenarios::limits::DEFAULT.file_bytes + 1)
        .expect("sparse file");
    let path = dir.path().join("s.ron");
    std::fs::write(
        &path,
        r#"Scenario(name: "big", horizon: "1s",
            clients: [Client(name: "c", arrivals: Trace(file: "big.csv"), target: "p")],
            pools: [Pool(name: "p", replicas: 1, service: Constant("1ms"))])"#,
    )
    .expect("ron");
    let e = scenarios::load(&path).expect_err("too big");
    assert!(
        e.message
            .contains("larger than the limit of 16777216 bytes"),
        "{e}"
    );
    assert!(e.position.is_some(), "{e}");
}

/// "Waited longer than t" over successful requests after warm-up, as batch means.
struct WaitOver {
    warmup: SimTime,
    t_ns: u64,
    over: BatchMeans,
}

impl Observer<Record> for WaitOver {
    fn record(&mut self, _now: SimTime, r: &Record) {
        if let Record::Finished {
            arrived,
            outcome: Outcome::Succeeded,
            waited,
            ..
        } = *r
            && arrived >= self.warmup
        {
            self.over.push((waited.0 > self.t_ns) as u8 as f64);
        }
    }
}

/// The report's waiting-time percentiles of M/M/10 at λ = 9 (Erlang C = 0.668732) against the
/// Erlang C waiting-time law P(Wq > t) = C·e^{−(cμ−λ)t}, whose q-quantile is
/// ln(C/(1 − q))/(cμ − λ) once q > 1 − C. A quantile's standard error is P̂'s (batch means of
/// "waited longer than t_q", measured in the same run) over the density at t_q,
/// (cμ − λ)(1 − q); the HDR bucket adds at most 0.1%.
#[test]
fn mmc_waiting_time_percentiles_follow_erlang_c() {
    let loaded = super::load("scenarios/mmc.ron");
    let (c_erl, gap) = (0.668_732_f64, 1.0_f64); // cμ − λ = 10 − 9 per second
    for (q, pick) in [(0.5, 0usize), (0.9, 1), (0.99, 2), (0.999, 3)] {
        let t_q = (c_erl / (1.0 - q)).ln() / gap;
        let obs = WaitOver {
            warmup: SimTime(loaded.spec.warmup.0),
            t_ns: (t_q * 1e9) as u64,
            over: BatchMeans::default(),
        };
        let (report, obs) = hasim::Run::new(&loaded).seed(21).observe(obs).execute();
        let w = &report.queueing.wait_ms;
        let got_s = [w.p50, w.p90, w.p99, w.p999][pick] / 1e3;
        let se_p = obs.over.half_width_95()
            / reports::student_t_975(obs.over.batches().saturating_sub(1).max(1));
        let se_t = se_p / (gap * (1.0 - q));
        assert!(
            (got_s - t_q).abs() <= Z * se_t + 1e-3 * t_q,
            "wait p{}: report {got_s} s vs Erlang C {t_q} s (se {se_t} s)",
            q * 100.0
        );
    }
}

/// Response times (ms) of successful requests after warm-up, and outcomes.
struct Responses {
    warmup: SimTime,
    ok: BatchMeans,
    failed_by_error: u64,
    other: u64,
}

impl Observer<Record> for Responses {
    fn record(&mut self, _now: SimTime, r: &Record) {
        if let Record::Finished {
            arrived,
            outcome,
            latency,
            ..
        } = *r
            && arrived >= self.warmup
        {
            match outcome {
                Outcome::Succeeded => self.ok.push(latency.0 as f64 / 1e6),
                Outcome::Error => self.failed_by_error += 1,
                _ => self.other += 1,
            }
        }
    }
}

fn responses(text: &str, seed: u64) -> Responses {
    let s = spec(text);
    let obs = Responses {
        warmup: SimTime(s.warmup.0),
        ok: BatchMeans::default(),
        failed_by_error: 0,
        other: 0,
    };
    System::new(&s, StreamKey::new(seed, 0), obs).run().1
}

/// A search fanning out to 300 shards (past the old cap of 64) waits for the slowest: the mean
/// is 1 ms of own work + 10 ms · H₃₀₀ (the maximum of 300 exponentials), within 4 se. With a
/// shard whose error_rate is 1 (now accepted), every request fails with an error.
#[test]
fn a_fan_out_to_hundreds_of_shards_waits_for_the_slowest() {
    let text = |error_rate: &str| {
        format!(
            r#"Scenario(name: "search", horizon: "2000s", warmup: "1s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 5.0), target: "api")],
            pools: [
                Pool(name: "api", replicas: 1, workers: 100, service: Constant("1ms"),
                     dependencies: Dependencies(wait_for: All,
                         calls: [Dependency(target: "shard", copies: 300)])),
                Pool(name: "shard", replicas: 1, workers: 10000, service: Exponential(mean: "10ms"),
                     error_rate: {error_rate}),
            ])"#
        )
    };
    let r = responses(&text("0.0"), 3);
    let h300: f64 = (1..=300).map(|i| 1.0 / i as f64).sum();
    assert_within(
        "fan-out to 300: mean (ms)",
        r.ok.mean(),
        1.0 + 10.0 * h300,
        r.ok.half_width_95(),
        r.ok.batches(),
    );
    assert_eq!(r.failed_by_error + r.other, 0);
    let r = responses(&text("1.0"), 3);
    assert_eq!(r.ok.count(), 0);
    assert_eq!(r.other, 0);
    assert!(r.failed_by_error > 9_000, "{}", r.failed_by_error);
}

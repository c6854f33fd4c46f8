//! Queueing theory as the oracle: M/M/1 and M/M/c (Erlang C) mean response, P(wait), queue
//! length and tail probabilities, with tolerances derived from the run length
//! (M/M/1, Erlang C, and Whitt's run-length formula for the confidence interval).
//!
//! Every tolerance is `Z` standard errors. `Z = 4` means a correct simulator fails a given check
//! with probability about 6e-5; a bias of a few percent fails it for sure at these run lengths.

use models::{Outcome, Record, System};
use reports::BatchMeans;
use sim_core::{Observer, SimTime, StreamKey};

const Z: f64 = 4.0;

/// Batch means of the indicator "response time > t" and "wait > t", for tail checks through
/// the CDF (theory.md B9: compare P(T > t_q) with 1 − q, not quantile values).
struct Tail {
    warmup: SimTime,
    response_ns: u64,
    wait_ns: u64,
    response_over: BatchMeans,
    wait_over: BatchMeans,
}

impl Observer<Record> for Tail {
    fn record(&mut self, _now: SimTime, r: &Record) {
        if let Record::Finished {
            arrived,
            outcome: Outcome::Succeeded,
            latency,
            waited,
            ..
        } = *r
            && arrived >= self.warmup
        {
            self.response_over
                .push((latency.0 > self.response_ns) as u8 as f64);
            self.wait_over.push((waited.0 > self.wait_ns) as u8 as f64);
        }
    }
}

fn tail(spec: &models::spec::Spec, seed: u64, response_s: f64, wait_s: f64) -> Tail {
    let obs = Tail {
        warmup: SimTime(spec.warmup.0),
        response_ns: (response_s * 1e9) as u64,
        wait_ns: (wait_s * 1e9) as u64,
        response_over: BatchMeans::default(),
        wait_over: BatchMeans::default(),
    };
    System::new(spec, StreamKey::new(seed, 0), obs).run().1
}

/// |estimate − truth| ≤ Z standard errors, the standard error from a 95% half-width.
fn assert_within(what: &str, estimate: f64, truth: f64, half_width_95: f64, batches: usize) {
    let se = half_width_95 / reports::student_t_975(batches.saturating_sub(1).max(1));
    assert!(
        se.is_finite() && se > 0.0,
        "{what}: no usable standard error ({half_width_95})"
    );
    assert!(
        (estimate - truth).abs() <= Z * se,
        "{what}: simulated {estimate} vs theory {truth}: off by {:.2} standard errors (se {se})",
        (estimate - truth).abs() / se
    );
}

#[test]
fn mm1_mean_response_matches_theory_and_whitt_variance() {
    let loaded = super::load("scenarios/mm1.ron");
    let spec = &loaded.spec;
    let (summary, c) = hasim::Run::spec(spec).seed(1).simulate().parts();
    let (lambda, mu) = (0.9, 1.0);
    let rho: f64 = lambda / mu;
    // Whitt (1989): the time-average number in system has asymptotic variance
    // 2ρ(1+ρ)/(μ(1−ρ)⁴) per unit time; by Little, W̄ ≈ L̄/λ.
    let t = summary.window_ns as f64 / 1e9;
    let sd_w = (2.0 * rho * (1.0 + rho) / (mu * (1.0 - rho).powi(4)) / t).sqrt() / lambda;
    let w = c.latency_sum_ns as f64 / c.count(Outcome::Succeeded) as f64 / 1e9;
    assert!(
        (w - 10.0).abs() <= Z * sd_w,
        "W = {w} s, theory 10 s, sd {sd_w}"
    );
    // The simulator's own batch-means interval must agree with Whitt's standard error: the
    // estimated sd has ~12% relative error with 32–63 batches, so a factor 1.6 is ~4 sd.
    let se_bm = c.latency_batches.half_width_95()
        / 1e3
        / reports::student_t_975(c.latency_batches.batches() - 1);
    let ratio = se_bm / sd_w;
    assert!(
        (0.6..1.6).contains(&ratio),
        "batch-means se {se_bm} vs Whitt {sd_w} (ratio {ratio})"
    );
}

#[test]
fn mm1_p_wait_queue_length_and_littles_law() {
    let loaded = super::load("scenarios/mm1.ron");
    let (summary, c) = hasim::Run::new(&loaded).seed(1).simulate().parts();
    // P(wait) = ρ (PASTA: an arrival finds the server busy with the time-average probability).
    let pw = &c.waited_batches;
    assert_within(
        "M/M/1 P(wait)",
        pw.mean(),
        0.9,
        pw.half_width_95(),
        pw.batches(),
    );
    let r = &summary.replicas[0];
    let t = summary.window_ns as f64;
    let lq = r.queue_area as f64 / t;
    let busy = r.busy_area as f64 / t;
    // Lq = ρ²/(1−ρ) = 8.1 with Whitt's sd for the time-average number in system.
    let sd_l = (2.0 * 0.9 * 1.9 / 0.1f64.powi(4) / (t / 1e9)).sqrt();
    assert!(
        (lq - 8.1).abs() <= Z * sd_l,
        "Lq = {lq}, theory 8.1, sd {sd_l}"
    );
    // Little's law on the same window: L = λ_eff · W. Only the few requests straddling the window
    // edges differ (≈ L requests out of millions), so 0.1% is generous and still fails any
    // bookkeeping error.
    let n = c.count(Outcome::Succeeded) as f64;
    let w = c.latency_sum_ns as f64 / n / 1e9;
    let l = lq + busy;
    let little = n / (t / 1e9) * w;
    assert!((l - little).abs() / l < 1e-3, "L = {l}, λW = {little}");
}

#[test]
fn mm1_response_time_tail() {
    let loaded = super::load("scenarios/mm1.ron");
    // T ~ Exp(μ − λ): P(T > 46.0517 s) = 1% (the p99); Wq: P(Wq > 44.9981 s) = 1% (its p99).
    let t = tail(&loaded.spec, 1, 46.0517, 44.9981);
    assert_within(
        "M/M/1 P(T > p99)",
        t.response_over.mean(),
        0.01,
        t.response_over.half_width_95(),
        t.response_over.batches(),
    );
    assert_within(
        "M/M/1 P(Wq > p99)",
        t.wait_over.mean(),
        0.01,
        t.wait_over.half_width_95(),
        t.wait_over.batches(),
    );
}

#[test]
fn mmc_erlang_c() {
    let loaded = super::load("scenarios/mmc.ron");
    let (summary, c) = hasim::Run::new(&loaded).seed(1).simulate().parts();
    // theory.md B2, c = 10, λ = 9: C = 0.668732, W = 1.668732, Lq = 6.018584.
    let lat = &c.latency_batches;
    assert_within(
        "M/M/10 mean response (ms)",
        lat.mean(),
        1668.732,
        lat.half_width_95(),
        lat.batches(),
    );
    let pw = &c.waited_batches;
    assert_within(
        "M/M/10 P(wait)",
        pw.mean(),
        0.668732,
        pw.half_width_95(),
        pw.batches(),
    );
    // Lq by Little from the mean wait: the same information, checked through the time average.
    let lq = summary.replicas[0].queue_area as f64 / summary.window_ns as f64;
    let wq = c.wait_sum_ns as f64 / c.count(Outcome::Succeeded) as f64 / 1e9;
    let throughput = c.count(Outcome::Succeeded) as f64 / (summary.window_ns as f64 / 1e9);
    assert!(
        (lq - throughput * wq).abs() / lq < 1e-3,
        "Lq {lq} vs λWq {}",
        throughput * wq
    );
    // Utilisation ρ = 0.9 exactly in expectation; it is a mean of the busy fraction, whose error
    // is far smaller than the waiting time's: the mean-response se bounds it loosely.
    let util = summary.replicas[0].busy_area as f64 / (summary.window_ns as f64 * 10.0);
    assert!((util - 0.9).abs() < 0.01, "utilisation {util}");
}

#[test]
fn mmc_wait_tail() {
    let loaded = super::load("scenarios/mmc.ron");
    // P(Wq > t) = C·e^{−(cμ−λ)t}: with t = 4.2028 s it is 1% (theory.md B2's Wq p99), and with
    // t = 2.5934 s it is 0.668732·e^{−2.5934} = 0.04999802 (the body of the tail, not only p99).
    let t = tail(&loaded.spec, 3, 1e9, 4.2028);
    assert_within(
        "M/M/10 P(Wq > 4.2028 s)",
        t.wait_over.mean(),
        0.01,
        t.wait_over.half_width_95(),
        t.wait_over.batches(),
    );
    let t2 = tail(&loaded.spec, 3, 1e9, 2.5934);
    let p = 0.049_998_02;
    assert_within(
        "M/M/10 P(Wq > 2.5934 s)",
        t2.wait_over.mean(),
        p,
        t2.wait_over.half_width_95(),
        t2.wait_over.batches(),
    );
}

/// Sanity of the instrument itself: at low load nothing waits long, and with infinite workers
/// (M/M/∞ via many workers) nobody waits at all.
#[test]
fn no_one_waits_when_workers_outnumber_the_possible_queue() {
    let mut spec = super::load("scenarios/mmc.ron").spec;
    spec.pools[0].workers = 200;
    spec.horizon = sim_core::SimDuration::from_secs(20_000);
    let (_s, c) = hasim::Run::spec(&spec).seed(5).simulate().parts();
    assert_eq!(c.waited_batches.mean(), 0.0);
    assert!(c.count(Outcome::Succeeded) > 150_000);
}

/// Per-client response times after warm-up, as batch means.
struct PerClient {
    warmup: SimTime,
    response: Vec<BatchMeans>,
}

impl Observer<Record> for PerClient {
    fn record(&mut self, _now: SimTime, r: &Record) {
        if let Record::Finished {
            arrived,
            outcome: Outcome::Succeeded,
            latency,
            client,
            ..
        } = *r
            && arrived >= self.warmup
        {
            self.response[client as usize].push(latency.0 as f64 / 1e6);
        }
    }
}

/// Two priority classes at one M/M/1 server, non-preemptive (Cobham 1954): with R = λE[S²]/2,
/// class 1 waits R/(1 − ρ₁) and class 2 R/((1 − ρ₁)(1 − ρ)). At ρ₁ = 0.3, ρ₂ = 0.5 and a
/// 10 ms mean: 11.43 + 10 ms and 57.14 + 10 ms, each within 4 standard errors; FIFO would
/// give both 50 ms, so the test fails for a queue that ignores classes. The report's per-class
/// figures agree with the observer's.
#[test]
fn two_priority_classes_follow_cobhams_formula() {
    let loaded = scenarios::parse_str(
        r#"Scenario(
            name: "priorities", horizon: "20000s", warmup: "100s",
            clients: [
                Client(name: "checkout", arrivals: Poisson(rate_per_s: 30.0), target: "api", priority: 0),
                Client(name: "browse", arrivals: Poisson(rate_per_s: 50.0), target: "api", priority: 1),
            ],
            pools: [Pool(name: "api", replicas: 1, service: Exponential(mean: "10ms"))],
        )"#,
        "priorities.ron",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let obs = PerClient {
        warmup: SimTime(loaded.spec.warmup.0),
        response: vec![BatchMeans::default(), BatchMeans::default()],
    };
    let o = System::new(&loaded.spec, StreamKey::new(17, 0), obs)
        .run()
        .1;
    let (mu, l1, l2) = (100.0, 30.0, 50.0);
    let (r1, r) = (l1 / mu, (l1 + l2) / mu);
    let residual = (l1 + l2) / (mu * mu); // λ·E[S²]/2 with E[S²] = 2/μ², in s
    let w1 = residual / (1.0 - r1);
    let w2 = residual / ((1.0 - r1) * (1.0 - r));
    for (k, w) in [(0, w1), (1, w2)] {
        let b = &o.response[k];
        assert_within(
            &format!("class {k} mean response (ms)"),
            b.mean(),
            (w + 1.0 / mu) * 1e3,
            b.half_width_95(),
            b.batches(),
        );
    }
    let rep = hasim::Run::new(&loaded).seed(17).execute().0;
    assert_eq!(rep.priorities.len(), 2);
    assert!((rep.priorities[0].latency_ms.mean - o.response[0].mean()).abs() < 1e-3);
    assert!((rep.priorities[1].latency_ms.mean - o.response[1].mean()).abs() < 1e-3);
}

/// M/G/1 processor sharing is insensitive (Kleinrock): the mean response is E[S]/(1 − ρ)
/// whatever the service distribution. With a hyperexponential of mean 10 ms at ρ = 0.7 that is
/// 33.3 ms, where FIFO gives 85.8 ms (Pollaczek–Khinchine, E[S²] = 650 ms²): the test fails for
/// a discipline that queues. A short request overtakes long ones, so PS also beats FIFO's p50.
#[test]
fn processor_sharing_is_insensitive_to_the_service_distribution() {
    let text = |discipline: &str| {
        format!(
            r#"Scenario(
                name: "ps", horizon: "20000s", warmup: "100s",
                clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 70.0), target: "cpu")],
                pools: [Pool(name: "cpu", replicas: 1, discipline: {discipline},
                    service: HyperExponential(branches: [(p: 0.9, mean: "5ms"), (p: 0.1, mean: "55ms")]))],
            )"#
        )
    };
    let loaded =
        scenarios::parse_str(&text("ProcessorSharing"), "ps.ron").unwrap_or_else(|e| panic!("{e}"));
    let (summary, c) = hasim::Run::new(&loaded).seed(23).simulate().parts();
    assert_within(
        "M/H2/1-PS mean response (ms)",
        c.latency_batches.mean(),
        10.0 / 0.3,
        c.latency_batches.half_width_95(),
        c.latency_batches.batches(),
    );
    // The server is busy ρ of the time (a share of one worker at most).
    let r = &summary.replicas[0];
    let busy = r.busy_area as f64 / summary.window_ns as f64;
    assert!((busy - 0.7).abs() < 0.02, "utilisation {busy}");
    let fifo = scenarios::parse_str(&text("Fifo"), "fifo.ron").unwrap_or_else(|e| panic!("{e}"));
    let (_, f) = hasim::Run::new(&fifo).seed(23).simulate().parts();
    assert_within(
        "M/H2/1-FIFO mean response (ms)",
        f.latency_batches.mean(),
        10.0 + 0.07 * 650.0 / (2.0 * 0.3),
        f.latency_batches.half_width_95(),
        f.latency_batches.batches(),
    );
    assert!(c.latency.value_at_quantile(0.5) < f.latency.value_at_quantile(0.5));
}

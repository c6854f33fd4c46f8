//! Lock services (issue 20): lock safety with and without fencing over a swarm of seeds, a
//! single lock server's availability against MTTF / (MTTF + MTTR), and the example
//! `scenarios/lock-lease.ron`, whose answers the README quotes.

use super::{hasim, load};
use reports::{LockReport, StoreReport};

fn locks(r: &reports::Report) -> Vec<&LockReport> {
    r.stores
        .iter()
        .map(|s| match s {
            StoreReport::Lock(l) => l,
            other => panic!("not a lock: {}", other.name()),
        })
        .collect()
}

/// Fifty seeds of holders paused past their lease while servers crash and clocks drift: with
/// fencing not one violation in any seed, on a consensus lock and on a single server (whose
/// token counter survives its crashes), and the late writes were there to be rejected; the
/// same file with fencing off has violations (the test can fail).
#[test]
fn fencing_admits_no_violation_in_a_swarm_of_seeds() {
    let file = "tests/data/good/lock-fencing.ron";
    let fenced = load(file);
    let text = std::fs::read_to_string(super::repo(file)).expect("readable");
    assert_eq!(text.matches("fencing: true").count(), 2);
    let open = scenarios::parse_str(&text.replace("fencing: true", "fencing: false"), file)
        .unwrap_or_else(|e| panic!("{e}"));
    let (mut rejected, mut violations) = (0, 0);
    for seed in 0..50 {
        let r = hasim::Run::new(&fenced).seed(seed).execute().0;
        for l in locks(&r) {
            assert!(l.fencing);
            assert_eq!(l.safety.violations, 0, "seed {seed}: {l:?}");
            assert!(l.sections.written > 1000, "seed {seed}: {l:?}");
            rejected += l.sections.rejected_by_fencing;
        }
        let r = hasim::Run::new(&open).seed(seed).execute().0;
        for l in locks(&r) {
            assert!(!l.fencing && l.sections.rejected_by_fencing == 0);
            violations += l.safety.violations;
        }
    }
    assert!(rejected > 100, "{rejected}");
    assert!(violations > 100, "{violations}");
}

/// A single lock server crashing and being repaired (exponential times, 1 h and 15 min) can
/// grant MTTF / (MTTF + MTTR) = 0.8 of the time: within 4 standard deviations of the time
/// average of an alternating renewal process over the run, 2u²d² / ((u + d)³ T). The Redlock
/// of five such servers is more available than one (a majority up), and its report carries
/// the k-of-n closed form.
#[test]
fn a_single_lock_server_is_available_mttf_over_mttf_plus_mttr() {
    let r = hasim::Run::new(&load("tests/data/good/lock-availability.ron"))
        .execute()
        .0;
    let l = locks(&r);
    let (u, d, t): (f64, f64, f64) = (3600.0, 900.0, 60.0 * 86400.0);
    let sd = (2.0 * u * u * d * d / ((u + d) * (u + d) * (u + d) * t)).sqrt();
    let single = &l[0].availability;
    assert_eq!(single.theory, 0.8);
    assert!(
        (single.time - 0.8).abs() < 4.0 * sd,
        "{} vs 0.8 ± {sd}",
        single.time
    );
    // The attempts that found it down are the ones that failed.
    assert!(l[0].attempts.unavailable > 0 && l[0].acquisitions.timed_out > 0);
    // P(at least 3 of 5 up) at A = 0.8.
    let redlock = &l[1].availability;
    assert!(
        (redlock.theory - 0.94208).abs() < 1e-9,
        "{}",
        redlock.theory
    );
    assert!(redlock.time > single.time + 4.0 * sd, "{redlock:?}");
}

/// The example answers its question: without fencing a lease lock lets paused holders act
/// after their lease passed to another (violations), with fencing the late writes are
/// rejected and none gets through; Redlock, without tokens, has violations too; only the
/// single server is made unavailable by crashes. The README quotes lines of this very output.
#[test]
fn the_lock_lease_example_answers_its_question_and_the_readme_quotes_it() {
    let file = "scenarios/lock-lease.ron";
    let r = hasim::Run::new(&load(file)).execute().0;
    let l = locks(&r);
    let by = |name: &str| *l.iter().find(|x| x.name == name).expect(name);
    let (open, fenced, redlock, redis) = (
        by("etcd-unfenced"),
        by("etcd-fenced"),
        by("redlock"),
        by("redis"),
    );
    assert!(open.safety.violations > 0 && open.safety.pauses_over_ttl > 0);
    assert_eq!(fenced.safety.violations, 0);
    assert!(fenced.sections.rejected_by_fencing > 0);
    assert!(redlock.safety.violations > 0 && !redlock.fencing);
    assert!(redis.safety.violations > 0);
    assert!(redis.availability.time < redis.availability.theory);
    assert!(redis.acquisitions.timed_out > 0);
    for x in [open, fenced, redlock] {
        assert!(x.availability.time > redis.availability.time, "{x:?}");
    }

    let out = hasim(&["run", file]);
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    let readme = std::fs::read_to_string(super::repo("README.md")).expect("README");
    let from = readme.find("### Locks").expect("the README's lock section");
    let start = readme[from..].find("```text\n").expect("its output block") + from + 8;
    let end = readme[start..].find("```").expect("closing fence") + start;
    // Each quoted line is a line of the output, in the output's order.
    let mut rest = printed.as_str();
    let quoted = &readme[start..end];
    assert!(quoted.lines().count() >= 8, "{quoted}");
    for line in quoted.lines() {
        let at = rest.find(&format!("\n{line}\n")).unwrap_or_else(|| {
            panic!("README line not in the output (in order):\n{line}\n\n{printed}")
        });
        rest = &rest[at + 1 + line.len()..];
    }
}

/// Same seed, same fingerprint (and same figures); another seed, another.
#[test]
fn same_seed_same_fingerprint() {
    let s = load("tests/data/good/lock-fencing.ron");
    let a = hasim::Run::new(&s).seed(3).execute().0;
    let b = hasim::Run::new(&s).seed(3).execute().0;
    let c = hasim::Run::new(&s).seed(4).execute().0;
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.stores, b.stores);
    assert_ne!(a.fingerprint, c.fingerprint);
    assert_ne!(locks(&a)[0].fingerprint, locks(&c)[0].fingerprint);
}

//! A client's resilience settings: `retry`, `hedge`, `breaker`. Defaults are those of the
//! systems users copy (Envoy's backoff, the SRE book's three attempts, Hystrix's breaker); every
//! default applied becomes a note in the report.

use super::Ctx;
use crate::raw;
use models::Outcome;
use models::spec::{
    BackoffSpec, BreakerSpec, BreakerWindow, BudgetSpec, HedgeSpec, Jitter, RetryOn, RetrySpec,
    TokenBucketSpec,
};
use sim_core::SimDuration;

/// Whatever sends calls with resilience settings: a client, or a pool calling a dependency.
pub(super) struct Caller<'a> {
    /// How notes name it: "client `users`", "dependency `api → db`".
    pub what: String,
    /// Its path in the file: `clients[0]`, `pools[1].dependencies.calls[0]`.
    pub path: String,
    pub retry: Option<&'a raw::Retry>,
    pub hedge: Option<&'a raw::Hedge>,
    pub breaker: Option<&'a raw::Breaker>,
}

impl<'a> Caller<'a> {
    pub fn client(c: &'a raw::Client, i: usize) -> Self {
        Caller {
            what: format!("client `{}`", c.name),
            path: format!("clients[{i}]"),
            retry: c.retry.as_ref(),
            hedge: c.hedge.as_ref(),
            breaker: c.breaker.as_ref(),
        }
    }
}

/// A note when a per-try timeout is longer than the overall timeout: legal, but the overall
/// deadline always ends the call first, so the per-try timeout never fires.
pub(super) fn note_timeouts(
    cx: &mut Ctx<'_>,
    what: &str,
    timeout: Option<&Option<SimDuration>>,
    retry: Option<&Option<RetrySpec>>,
) {
    if let (Some(Some(t)), Some(Some(r))) = (timeout, retry)
        && let Some(pt) = r.per_try_timeout
        && pt > *t
    {
        cx.notes.push(format!(
            "{what}: per_try_timeout ({pt}) is longer than the overall timeout ({t}): the overall timeout always ends the call first, so no try ever times out on its own"
        ));
    }
}

/// `retry: Retry(...)` of a caller. `None` when invalid (errors recorded).
pub(super) fn retry(cx: &mut Ctx<'_>, c: &Caller<'_>) -> Option<Option<RetrySpec>> {
    let Some(r) = c.retry else {
        return Some(None);
    };
    let at = |f: &str| format!("{}.retry.{f}", c.path);
    let mut defaults = Vec::new();
    let max_attempts = match r.max_attempts {
        Some(n @ 1..=100) => Some(n),
        Some(n) => {
            cx.fail_help(
                &at("max_attempts"),
                format!("max_attempts counts the first try too and must be 1 to 100, found {n}"),
                "3 is the common choice (AWS SDKs, resilience4j, the SRE book's limit)",
            );
            None
        }
        None => {
            defaults.push("max_attempts 3".to_string());
            Some(3)
        }
    };
    let per_try_timeout = match &r.per_try_timeout {
        Some(t) => cx
            .positive_duration(t, &at("per_try_timeout"), "per_try_timeout")
            .map(Some),
        None => Some(None),
    };
    let retry_on = match &r.retry_on {
        None => {
            defaults.push("retry_on every failure".to_string());
            Some(RetryOn(0).with_all_failures())
        }
        Some(list) if list.is_empty() => {
            cx.fail_help(
                &at("retry_on"),
                "retry_on is empty: nothing would be retried",
                "list failures, e.g. [Error, TimedOut, Refused], or leave it out for all",
            );
            None
        }
        Some(list) => Some(list.iter().fold(RetryOn(0), |set, o| {
            set.with(match o {
                raw::RetryOn::Error => Outcome::Error,
                raw::RetryOn::TimedOut => Outcome::TimedOut,
                raw::RetryOn::Crashed => Outcome::Crashed,
                raw::RetryOn::Refused => Outcome::Refused,
                raw::RetryOn::Rejected => Outcome::Rejected,
            })
        })),
    };
    let backoff = backoff(cx, r.backoff.as_ref(), &c.path, &mut defaults);
    let budget = match &r.budget {
        None => Some(None),
        Some(raw::Budget::Envoy {
            percent,
            min_concurrency,
        }) => {
            let percent = percent.unwrap_or(20.0);
            if !(percent.is_finite() && percent > 0.0 && percent <= 100.0) {
                cx.fail_help(
                    &at("budget.percent"),
                    format!("percent must be in (0, 100], found {percent}"),
                    "Envoy's default is 20: retries at most a fifth of active requests",
                );
                None
            } else {
                Some(Some(BudgetSpec::Envoy {
                    percent,
                    min_concurrency: min_concurrency.unwrap_or(3),
                }))
            }
        }
        Some(raw::Budget::Throttle {
            max_tokens,
            token_ratio,
        }) => {
            if !(max_tokens.is_finite() && *max_tokens > 0.0 && *max_tokens <= 1000.0) {
                cx.fail_help(
                    &at("budget.max_tokens"),
                    format!("max_tokens must be in (0, 1000], found {max_tokens}"),
                    "gRPC caps it at 1000; 10 is a usual choice",
                );
                None
            } else if !(token_ratio.is_finite() && *token_ratio > 0.0) {
                cx.fail_help(
                    &at("budget.token_ratio"),
                    format!("token_ratio must be above zero, found {token_ratio}"),
                    "each success returns this many tokens; gRPC examples use 0.1",
                );
                None
            } else {
                Some(Some(BudgetSpec::Throttle {
                    max_tokens: *max_tokens,
                    token_ratio: *token_ratio,
                }))
            }
        }
    };
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "{}: retry defaults: {}",
            c.what,
            defaults.join(", ")
        ));
    }
    Some(Some(RetrySpec {
        max_attempts: max_attempts?,
        per_try_timeout: per_try_timeout?,
        retry_on: retry_on?,
        backoff: backoff?,
        budget: budget?,
    }))
}

fn backoff(
    cx: &mut Ctx<'_>,
    b: Option<&raw::Backoff>,
    path: &str,
    defaults: &mut Vec<String>,
) -> Option<BackoffSpec> {
    let at = |f: &str| format!("{path}.retry.backoff.{f}");
    let mut time = |cx: &mut Ctx<'_>, v: Option<&String>, f: &str, default: SimDuration| match v {
        Some(t) => cx.duration(t, &at(f)),
        None => {
            defaults.push(format!("backoff {f} {default}"));
            Some(default)
        }
    };
    let base = time(
        cx,
        b.and_then(|b| b.base.as_ref()),
        "base",
        SimDuration::from_millis(25),
    );
    let default_max = SimDuration(base.unwrap_or(SimDuration::ZERO).0.saturating_mul(10));
    let max = time(cx, b.and_then(|b| b.max.as_ref()), "max", default_max);
    let jitter = match b.map_or(raw::Jitter::Unset, |b| b.jitter) {
        raw::Jitter::Unset => {
            defaults.push("full jitter".to_string());
            Jitter::Full
        }
        raw::Jitter::None => Jitter::None,
        raw::Jitter::Full => Jitter::Full,
        raw::Jitter::Equal => Jitter::Equal,
        raw::Jitter::Decorrelated => Jitter::Decorrelated,
    };
    if let (Some(base), Some(max)) = (base, max)
        && max < base
    {
        cx.fail_help(
            &at("max"),
            format!("max ({max}) must be at least base ({base})"),
            "backoff grows from base, doubling each retry, up to max (Envoy: max = 10 × base)",
        );
        return None;
    }
    Some(BackoffSpec {
        base: base?,
        max: max?,
        jitter,
    })
}

/// `hedge: Hedge(delay:, max_copies:)` of a caller.
pub(super) fn hedge(cx: &mut Ctx<'_>, c: &Caller<'_>) -> Option<Option<HedgeSpec>> {
    let Some(h) = c.hedge else {
        return Some(None);
    };
    let at = |f: &str| format!("{}.hedge.{f}", c.path);
    let delay = cx.positive_duration(&h.delay, &at("delay"), "the hedging delay");
    let max_copies = match h.max_copies {
        None => 2,
        Some(n @ 2..=10) => n,
        Some(n) => {
            cx.fail_help(
                &at("max_copies"),
                format!("max_copies counts the first copy too and must be 2 to 10, found {n}"),
                "2 sends at most one extra copy (The Tail at Scale)",
            );
            return None;
        }
    };
    Some(Some(HedgeSpec {
        delay: delay?,
        max_copies,
    }))
}

/// `breaker: Breaker(...)` of a caller, with Hystrix's defaults (10 s window in 10 buckets,
/// 20 calls, 50%, 5 s open, one trial call).
pub(super) fn breaker(cx: &mut Ctx<'_>, c: &Caller<'_>) -> Option<Option<BreakerSpec>> {
    let Some(b) = c.breaker else {
        return Some(None);
    };
    let at = |f: &str| format!("{}.breaker.{f}", c.path);
    let mut defaults = Vec::new();
    let window = match &b.window {
        None => {
            defaults.push("window 10s in 10 buckets".to_string());
            Some(BreakerWindow::Time {
                length: SimDuration::from_secs(10),
                buckets: 10,
            })
        }
        Some(raw::BreakerWindow::Count(0)) => {
            cx.fail(&at("window"), "a count window must hold at least 1 call");
            None
        }
        Some(raw::BreakerWindow::Count(n))
            if u64::from(*n) > crate::limits::limits().breaker_calls =>
        {
            cx.fail_help(
                &at("window"),
                format!(
                    "a count window of {n} calls is more than the limit of {} (the breaker keeps every call's outcome)",
                    crate::limits::limits().breaker_calls
                ),
                format!("Resilience4j's default is 100 calls; {}", crate::limits::raise_hint()),
            );
            None
        }
        Some(raw::BreakerWindow::Count(n)) => Some(BreakerWindow::Count(*n)),
        Some(raw::BreakerWindow::Time { length, buckets }) => {
            let length = cx.positive_duration(length, &at("window.length"), "the window");
            if *buckets == 0 || *buckets > 1000 {
                cx.fail_help(
                    &at("window.buckets"),
                    format!("buckets must be 1 to 1000, found {buckets}"),
                    "Hystrix uses 10 buckets over 10 s",
                );
                None
            } else {
                length.map(|length| BreakerWindow::Time {
                    length,
                    buckets: *buckets,
                })
            }
        }
    };
    let minimum_calls = b.minimum_calls.unwrap_or_else(|| {
        defaults.push("minimum_calls 20".to_string());
        20
    });
    let threshold = match b.failure_rate_threshold {
        None => {
            defaults.push("failure_rate_threshold 0.5".to_string());
            Some(0.5)
        }
        Some(t) if t.is_finite() && t > 0.0 && t <= 1.0 => Some(t),
        Some(t) => {
            cx.fail_help(
                &at("failure_rate_threshold"),
                format!("failure_rate_threshold is a fraction in (0, 1], found {t}"),
                "0.5 opens the breaker when half the calls in the window failed",
            );
            None
        }
    };
    let open_duration = match &b.open_duration {
        Some(t) => cx.positive_duration(t, &at("open_duration"), "open_duration"),
        None => {
            defaults.push("open_duration 5s".to_string());
            Some(SimDuration::from_secs(5))
        }
    };
    let half_open_calls = match b.half_open_calls {
        Some(0) => {
            cx.fail(&at("half_open_calls"), "half_open_calls must be at least 1");
            None
        }
        Some(n) => Some(n),
        None => {
            defaults.push("half_open_calls 1".to_string());
            Some(1)
        }
    };
    if !defaults.is_empty() {
        cx.notes.push(format!(
            "{}: circuit breaker defaults (Hystrix's): {}",
            c.what,
            defaults.join(", ")
        ));
    }
    Some(Some(BreakerSpec {
        window: window?,
        minimum_calls,
        failure_rate_threshold: threshold?,
        open_duration: open_duration?,
        half_open_calls: half_open_calls?,
    }))
}

/// `rate_limit: TokenBucket(rate_per_s:, burst:)` of pool `i` (one bucket per replica).
pub(super) fn rate_limit(
    cx: &mut Ctx<'_>,
    p: &raw::Pool,
    i: usize,
) -> Option<Option<TokenBucketSpec>> {
    let Some(b) = &p.rate_limit else {
        return Some(None);
    };
    let at = |f: &str| format!("pools[{i}].rate_limit.{f}");
    if !(b.rate_per_s.is_finite() && b.rate_per_s > 0.0) {
        cx.fail_help(
            &at("rate_per_s"),
            format!("rate_per_s must be above zero, found {}", b.rate_per_s),
            "tokens added per second, per replica",
        );
        return None;
    }
    if b.burst == 0 {
        cx.fail_help(
            &at("burst"),
            "burst must be at least 1",
            "the bucket's size: requests admitted at once after a quiet spell",
        );
        return None;
    }
    Some(Some(TokenBucketSpec {
        rate_per_s: b.rate_per_s,
        burst: b.burst,
    }))
}

//! A pool's `dependencies`: what its replicas call after their own work (multi-tier requests).
//! Each dependency is a hop with a caller's settings of its own (timeout, retries, hedging,
//! breaker, bulkhead), validated by the same code as a client's.

use super::resilience::{self, Caller};
use super::{Ctx, Registry, replicas_of, resolve};
use crate::raw;
use models::spec::{DependenciesSpec, HopSpec, PoolSpec, StoreCall, Target, WaitFor};
use models::store::StoreOp;

/// A calling pool and the target of one of its dependencies (unresolved: `None`).
pub(super) type DependencyEdge = (usize, Option<Target>);

/// Most calls one request may fan out to at one pool: a search service fans out to hundreds of
/// shards. Each call is a call and an attempt in flight (memory grows with it, not with the
/// run), and the per-attempt counters are 16-bit.
const MAX_CALLS: u32 = 10_000;

/// Every pool's dependencies: fills `pools[i].dependencies` and returns the hops (in pool, then
/// file order) and each dependency's resolved target for the topology checks (pool, target).
/// `None` when something is invalid (errors recorded).
pub(super) fn dependencies(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    names: &Registry<'_>,
    pools: &mut [Option<PoolSpec>],
) -> (Option<Vec<HopSpec>>, Vec<DependencyEdge>) {
    let mut hops = Vec::new();
    let mut edges = Vec::new();
    let mut ok = true;
    for (i, p) in raw.pools.iter().enumerate() {
        let Some(d) = &p.dependencies else { continue };
        let at = format!("pools[{i}].dependencies");
        if d.calls.is_empty() {
            cx.fail_help(
                &format!("{at}.calls"),
                format!("pool `{}` lists no dependency calls", p.name),
                "add `Dependency(target: \"db\")`, or leave `dependencies` out",
            );
            ok = false;
            continue;
        }
        let mut calls = Vec::new();
        let mut pool_hops = Vec::new();
        for (j, dep) in d.calls.iter().enumerate() {
            let path = format!("{at}.calls[{j}]");
            let store = store_call(cx, raw, names, dep, &path);
            let target = match store {
                Some(_) => None,
                None => {
                    let t = resolve(cx, names, &dep.target, &format!("{path}.target"));
                    edges.push((i, t));
                    t
                }
            };
            match hop(cx, raw, i, dep, (target, store), &path) {
                Some(mut h) => {
                    let copies = copies(cx, dep, &path).unwrap_or(0);
                    let index = (hops.len() + pool_hops.len()) as u32;
                    calls.extend(std::iter::repeat_n(index, copies as usize));
                    // A cache whose callers fetch its misses: one more hop, for the fetches.
                    let misses = h.store.and_then(|s| misses_from(raw, s.store));
                    if let (Some((k, d2)), Some(s)) = (misses, h.store.as_mut()) {
                        let mpath = format!("stores[{k}].misses_from");
                        let s2 = store_call(cx, raw, names, d2, &mpath);
                        let t2 = match s2 {
                            Some(_) => None,
                            None => {
                                let t = resolve(cx, names, &d2.target, &format!("{mpath}.target"));
                                edges.push((i, t));
                                t
                            }
                        };
                        if let Some(Some(c)) = s2
                            && misses_from(raw, c.store).is_some()
                        {
                            cx.fail_help(
                                &format!("{mpath}.target"),
                                format!("a cache's misses are fetched from `{}`, another cache that has its callers fetch", d2.target),
                                "fetch from the pool or the store behind it",
                            );
                            ok = false;
                        }
                        match hop(cx, raw, i, d2, (t2, s2), &mpath) {
                            Some(mut h2) => {
                                h2.name = format!("{} → {} → {}", p.name, dep.target, d2.target);
                                s.miss_hop = Some(index + 1);
                                pool_hops.push(h);
                                pool_hops.push(h2);
                            }
                            None => {
                                ok = false;
                                pool_hops.push(h);
                            }
                        }
                    } else {
                        pool_hops.push(h);
                    }
                    if copies == 0 {
                        ok = false;
                    }
                }
                None => ok = false,
            }
        }
        let n = calls.len() as u32;
        if n > MAX_CALLS {
            cx.fail_help(
                &format!("{at}.calls"),
                format!(
                    "pool `{}` makes {n} calls per request; at most {MAX_CALLS}",
                    p.name
                ),
                "model a wider fan-out with fewer, slower calls",
            );
            ok = false;
        }
        let wait_for = match d.wait_for {
            None => {
                if n > 1 {
                    cx.notes.push(format!(
                        "pool `{}`: wait_for not set, waiting for All {n} calls in parallel",
                        p.name
                    ));
                }
                WaitFor::All
            }
            Some(raw::WaitFor::All) => WaitFor::All,
            Some(raw::WaitFor::First) => WaitFor::First,
            Some(raw::WaitFor::Sequence) => WaitFor::Sequence,
            Some(raw::WaitFor::Quorum(k)) if k >= 1 && (k <= n || !ok) => WaitFor::Quorum(k),
            Some(raw::WaitFor::Quorum(k)) => {
                cx.fail_help(
                    &format!("{at}.wait_for"),
                    format!("a quorum of {k} out of {n} calls can never be met"),
                    format!("use 1 to {n}, or add copies to the calls"),
                );
                ok = false;
                WaitFor::All
            }
        };
        if let Some(Some(pool)) = pools.get_mut(i) {
            pool.dependencies = Some(DependenciesSpec {
                wait_for,
                calls,
                hops: (hops.len() as u32..(hops.len() + pool_hops.len()) as u32).collect(),
            });
        }
        hops.extend(pool_hops);
    }
    (ok.then_some(hops), edges)
}

/// A cache's `misses_from` (the store's index and the dependency), if store `s` is one.
fn misses_from(raw: &raw::Scenario, s: u32) -> Option<(u32, &raw::Dependency)> {
    match raw.stores.get(s as usize)? {
        raw::Store::Cache {
            misses_from: Some(d),
            ..
        } => Some((s, d)),
        _ => None,
    }
}

fn copies(cx: &mut Ctx<'_>, dep: &raw::Dependency, path: &str) -> Option<u32> {
    match dep.copies {
        None => Some(1),
        Some(k @ 1..=MAX_CALLS) => Some(k),
        Some(k) => {
            cx.fail_help(
                &format!("{path}.copies"),
                format!("copies must be 1 to {MAX_CALLS}, found {k}"),
                "copies: 3 calls the target three times in parallel (a fan-out to shards)",
            );
            None
        }
    }
}

/// A dependency whose target names a store: the store and the operation (`None`: the target is
/// not a store, or the call is invalid, errors recorded — then `op` was checked too).
fn store_call(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    names: &Registry<'_>,
    dep: &raw::Dependency,
    path: &str,
) -> Option<Option<StoreCall>> {
    let Some(i) = raw.stores.iter().position(|s| s.name() == dep.target) else {
        if dep.op.is_some() {
            cx.fail_help(
                &format!("{path}.op"),
                format!(
                    "`{}` is not a store: op applies to calls to a store",
                    dep.target
                ),
                "leave op out for a call to a pool or a balancer",
            );
        }
        return None;
    };
    if names.names.contains_key(dep.target.as_str()) {
        cx.fail_help(
            &format!("{path}.target"),
            format!("`{}` names both a store and a component", dep.target),
            "give the store or the component another name",
        );
        return Some(None);
    }
    let store = &raw.stores[i];
    let serves = store.serves();
    let op = match dep.op {
        Some(op) if serves.contains(&op) => op,
        None if serves.len() == 1 => serves[0],
        given => {
            let list: Vec<String> = serves.iter().map(|o| format!("{o:?}")).collect();
            let what = match given {
                Some(op) => format!("a {} store serves no {op:?} calls", store.kind()),
                None => format!(
                    "a call to {} store `{}` needs an op",
                    store.kind(),
                    dep.target
                ),
            };
            cx.fail_help(
                &format!("{path}.op"),
                what,
                format!("write op: {}", list.join(" or ")),
            );
            return Some(None);
        }
    };
    let op = match op {
        raw::StoreOp::Read => StoreOp::Read,
        raw::StoreOp::Write => StoreOp::Write,
        raw::StoreOp::Lock => StoreOp::Lock,
    };
    Some(Some(StoreCall {
        store: i as u32,
        op,
        miss_hop: None,
    }))
}

fn hop(
    cx: &mut Ctx<'_>,
    raw: &raw::Scenario,
    from_pool: usize,
    dep: &raw::Dependency,
    (target, store): (Option<Target>, Option<Option<StoreCall>>),
    path: &str,
) -> Option<HopSpec> {
    let p = &raw.pools[from_pool];
    let name = format!("{} → {}", p.name, dep.target);
    if let Some(n) = replicas_of(raw, target).filter(|&n| n > 1) {
        cx.fail_help(
            &format!("{path}.target"),
            format!(
                "pool `{}` calls pool `{}` directly, which has {n} replicas",
                p.name, dep.target
            ),
            "put a Balancer in front of it to choose among replicas",
        );
        return None;
    }
    let timeout = match &dep.timeout {
        Some(t) => cx
            .positive_duration(t, &format!("{path}.timeout"), "timeout")
            .map(Some),
        None => {
            cx.notes.push(format!(
                "dependency `{name}`: no timeout (the caller waits for every response)"
            ));
            Some(None)
        }
    };
    let caller = Caller {
        what: format!("dependency `{name}`"),
        path: path.to_string(),
        retry: dep.retry.as_ref(),
        hedge: dep.hedge.as_ref(),
        breaker: dep.breaker.as_ref(),
    };
    let retry = resilience::retry(cx, &caller);
    resilience::note_timeouts(cx, &caller.what, timeout.as_ref(), retry.as_ref());
    let hedge = resilience::hedge(cx, &caller);
    let breaker = resilience::breaker(cx, &caller);
    if dep.max_in_flight == Some(0) {
        cx.fail_help(
            &format!("{path}.max_in_flight"),
            "max_in_flight must be at least 1",
            "leave it out for no limit on calls in flight",
        );
        return None;
    }
    if let (Some(Some(_)), Some(Some(_))) = (&retry, &hedge) {
        cx.fail_help(
            &format!("{path}.hedge"),
            "a dependency has either a retry policy or a hedging policy, not both (as in gRPC)",
            "hedging already resends: a failed copy sends the next one at once, up to max_copies",
        );
        return None;
    }
    let (target, store) = match store {
        // A store's hop has no balancer or pool target: its own pool stands in, unused.
        Some(s) => (Target::Pool(from_pool), Some(s?)),
        None => (target?, None),
    };
    Some(HopSpec {
        name,
        from_pool: from_pool as u32,
        target,
        store,
        timeout: timeout?,
        retry: retry?,
        hedge: hedge?,
        breaker: breaker?,
        max_in_flight: dep.max_in_flight,
    })
}

//! A pool's replica groups in the report: per group its machines, its utilisation and its
//! share of the pool's work (what `groups` in a scenario asks to be compared).

use crate::store::{ratio, round};
use serde::Serialize;

/// One replica group's figures over the window.
#[derive(Clone, Debug, Serialize)]
pub struct GroupReport {
    /// Pool name.
    pub pool: String,
    /// Group name.
    pub group: String,
    /// Its replicas (indices `first` … `first + replicas − 1` of the pool).
    pub replicas: u32,
    /// Index of its first replica within the pool.
    pub first: u32,
    /// Service speed relative to the pool's `service`.
    pub speed: f64,
    /// Workers per replica.
    pub workers: u32,
    /// Weight for weighted policies.
    pub weight: u32,
    /// Mean fraction of its workers busy.
    pub utilisation: f64,
    /// Requests its replicas completed.
    pub served: u64,
    /// Its share of the requests the pool completed.
    pub share_of_work: f64,
}

/// The groups of every pool that has them.
pub fn groups(s: &models::Summary) -> Vec<GroupReport> {
    (s.groups.iter())
        .map(|g| {
            let workers = u128::from(g.group.count) * u128::from(g.group.workers);
            GroupReport {
                pool: g.pool.clone(),
                group: g.group.name.clone(),
                replicas: g.group.count,
                first: g.first,
                speed: g.group.speed,
                workers: g.group.workers,
                weight: g.group.weight,
                utilisation: round(ratio(g.busy_area, workers * u128::from(s.window_ns)), 6),
                served: g.served,
                share_of_work: if g.pool_served == 0 {
                    0.0
                } else {
                    round(ratio(u128::from(g.served), u128::from(g.pool_served)), 6)
                },
            }
        })
        .collect()
}

/// The table's lines for the groups.
pub fn table(w: &mut String, groups: &[GroupReport]) {
    use std::fmt::Write;
    for g in groups {
        let _ = writeln!(
            w,
            "group  {}/{}: {} × (speed {}, workers {}, weight {}) · utilisation {:.4} · served {} ({:.2}% of the pool's)",
            g.pool,
            g.group,
            g.replicas,
            g.speed,
            g.workers,
            g.weight,
            g.utilisation,
            g.served,
            100.0 * g.share_of_work
        );
    }
}

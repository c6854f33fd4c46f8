//! The consumer group: members that crash and come back, the session timeout that detects
//! them, rebalances (a pause, then partitions reassigned), pulls, processing, commits,
//! redelivery after the visibility timeout, the dead-letter queue, retention, window rows.

use super::*;

impl<O: Observer<StoreRecord>> Broker<O> {
    pub(super) fn consumer_crash(&mut self, c: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.counts.consumer_crashes += 1;
        let k = &mut self.consumers[c as usize];
        k.incarnation = k.incarnation.wrapping_add(1);
        if let Some((p, o)) = k.busy.take() {
            let part = &mut self.parts[p as usize];
            if o >= part.base {
                part.log[(o - part.base) as usize].in_flight -= 1;
            }
        }
        // The coordinator hears nothing after the last heartbeat before the crash.
        let period = self.spec.consumers.heartbeat_interval.0.max(1);
        let origin = k.hb_origin.0;
        let last = if now.0 >= origin {
            origin + (now.0 - origin) / period * period
        } else {
            now.0
        };
        let detect = SimTime(last + self.spec.consumers.session_timeout.0).max(now);
        sched.at(
            detect,
            Event::Detect {
                consumer: c,
                incarnation: k.incarnation,
            },
        );
    }

    pub(super) fn rebalance(&mut self, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.counts.rebalances += 1;
        // Members commit what they processed before giving their partitions up.
        self.commit(now);
        if !self.paused {
            self.paused = true;
            self.paused_since = now;
        }
        self.generation = self.generation.wrapping_add(1);
        sched.after(
            self.spec.consumers.rebalance_pause,
            Event::RebalanceEnd {
                generation: self.generation,
            },
        );
    }

    /// Round robin over the live consumers; every partition is read again from its commit.
    pub(super) fn assign(&mut self) {
        let live: Vec<u32> = (0..self.consumers.len() as u32)
            .filter(|&c| self.consumers[c as usize].down == 0)
            .collect();
        for (c, k) in self.consumers.iter_mut().enumerate() {
            k.member = live.contains(&(c as u32));
        }
        for (i, part) in self.parts.iter_mut().enumerate() {
            part.owner = if live.is_empty() {
                NONE
            } else {
                live[i % live.len()]
            };
            part.next = part.base;
            part.retry.clear();
        }
    }

    /// Advances each partition whose owner is alive past its finished messages.
    pub(super) fn commit(&mut self, now: SimTime) {
        let mut advanced = 0;
        for part in &mut self.parts {
            if part.owner == NONE || self.consumers[part.owner as usize].down > 0 {
                continue;
            }
            while part.base < part.hw && part.base < part.next {
                match part.log.front() {
                    Some(m) if m.finished() => {
                        part.log.pop_front();
                        part.base += 1;
                        advanced += 1;
                    }
                    _ => break,
                }
            }
        }
        let _ = now;
        self.add_lag(0, advanced);
    }

    pub(super) fn retention(&mut self, now: SimTime) {
        let keep = self.spec.retention.0;
        let (mut popped, mut lost) = (0u64, 0u64);
        for part in &mut self.parts {
            while part.base < part.hw {
                match part.log.front() {
                    Some(m) if m.produced.0 + keep <= now.0 && m.in_flight == 0 => {
                        if !m.finished() {
                            lost += 1;
                        }
                        part.log.pop_front();
                        part.base += 1;
                        popped += 1;
                    }
                    _ => break,
                }
            }
            part.next = part.next.max(part.base);
        }
        self.counts.lost_retention += lost;
        if lost > 0 {
            self.set_undone(now, -(lost as i64));
        }
        self.add_lag(0, popped);
    }

    pub(super) fn wake_owner(&mut self, p: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let c = self.parts[p as usize].owner;
        if c != NONE {
            self.pull(c, now, sched);
        }
    }

    /// An idle live consumer takes its next message: a failed one now visible again, else the
    /// next below the high watermark, from its partitions in turn.
    pub(super) fn pull(&mut self, c: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let k = self.consumers[c as usize];
        if self.paused || k.down > 0 || k.busy.is_some() {
            return;
        }
        let n = self.spec.partitions;
        for i in 0..n {
            let p = (k.rr + i) % n;
            let part = &self.parts[p as usize];
            if part.owner != c || part.leader == NONE {
                continue;
            }
            if let Some(o) = self.next_message(p, now) {
                let part = &mut self.parts[p as usize];
                part.log[(o - part.base) as usize].in_flight += 1;
                let k = &mut self.consumers[c as usize];
                k.busy = Some((p, o));
                k.rr = (p + 1) % n;
                let incarnation = k.incarnation;
                if self.spec.consumers.pool.is_some() {
                    // The consumer is a pool's replica: it processes the message as a request
                    // to its pool, and the host says how it went (Notice::Processed).
                    let work = super::super::Answer::Work { incarnation };
                    self.answers.push((c, work));
                } else {
                    let d = self.spec.consumers.processing.sample(&mut self.process_rng);
                    let done = Event::Done {
                        consumer: c,
                        incarnation,
                    };
                    sched.after(d, done);
                }
                return;
            }
        }
    }

    /// The next message of `p` to receive, if any; dead-letters those received too often.
    pub(super) fn next_message(&mut self, p: u32, now: SimTime) -> Option<u64> {
        let max = self.spec.consumers.max_receives;
        loop {
            let part = &mut self.parts[p as usize];
            let o = match part.retry.front() {
                Some(&(t, o)) if t <= now => {
                    part.retry.pop_front();
                    if o < part.base {
                        continue;
                    }
                    o
                }
                _ if part.next < part.hw => {
                    part.next += 1;
                    part.next - 1
                }
                _ => return None,
            };
            let m = &mut part.log[(o - part.base) as usize];
            if m.dead {
                continue;
            }
            if !m.delivered {
                if m.receives >= max {
                    m.dead = true;
                    self.counts.dead_lettered += 1;
                    self.set_undone(now, -1);
                    continue;
                }
                m.receives += 1;
            }
            return Some(o);
        }
    }

    /// Consumer `c` finished its message: processed, unless it failed (`known`: the outcome
    /// the pool's request had; `None`: drawn with the group's `failure_rate`).
    pub(super) fn on_done(
        &mut self,
        c: u32,
        known: Option<bool>,
        now: SimTime,
        sched: &mut dyn Schedule<Event>,
    ) {
        let Some((p, o)) = self.consumers[c as usize].busy.take() else {
            unreachable!("a live incarnation's Done has its message");
        };
        let part = &mut self.parts[p as usize];
        if o < part.base {
            // Committed meanwhile: another member finished it first.
            self.counts.duplicates += 1;
            self.record_consumed(now, false, SimDuration::ZERO);
        } else {
            let m = &mut part.log[(o - part.base) as usize];
            m.in_flight -= 1;
            let produced = m.produced;
            if m.finished() {
                self.counts.duplicates += 1;
                self.record_consumed(now, false, SimDuration::ZERO);
            } else if match known {
                Some(ok) => !ok,
                None => self.outcome_rng.chance(self.spec.consumers.failure_rate),
            } {
                self.counts.processing_failures += 1;
                if m.receives >= self.spec.consumers.max_receives {
                    m.dead = true;
                    self.counts.dead_lettered += 1;
                    self.set_undone(now, -1);
                } else {
                    let t = SimTime(now.0 + self.spec.consumers.visibility_timeout.0);
                    part.retry.push_back((t, o));
                    sched.at(t, Event::Visible { partition: p });
                }
            } else {
                m.delivered = true;
                self.counts.delivered += 1;
                self.set_undone(now, -1);
                self.record_consumed(now, true, now.since(produced));
            }
        }
        self.pull(c, now, sched);
    }

    pub(super) fn record_consumed(&mut self, now: SimTime, first: bool, delay: SimDuration) {
        let r = StoreRecord::Consumed {
            store: self.index,
            first,
            delay,
        };
        self.observer.record(now, &r);
    }

    pub(super) fn sample(&mut self, now: SimTime) {
        let area = self.backlog.area_until(now).0;
        let (c, l) = (&self.counts, &self.last_counts);
        self.windows.push(BrokerWindow {
            end: now,
            length_ns: now.since(self.last_sample).0,
            produced: c.produced - l.produced,
            delivered: c.delivered - l.delivered,
            duplicates: c.duplicates - l.duplicates,
            lost: c.lost() - l.lost(),
            backlog_area: area - self.last_area,
            backlog: self.undone,
            lag: self.lag,
            max_lag: self.window_max_lag,
        });
        self.last_counts = self.counts;
        self.last_area = area;
        self.last_sample = now;
        self.window_max_lag = self.lag;
    }

    pub(super) fn fault_start(
        &mut self,
        fault: u32,
        now: SimTime,
        sched: &mut dyn Schedule<Event>,
    ) {
        match self.spec.faults[fault as usize] {
            BrokerFault::LeaderCrash {
                partition,
                duration,
                ..
            } => {
                let part = &self.parts[partition as usize];
                if part.leader == NONE {
                    self.counts.faults_skipped += 1;
                    return;
                }
                let node = self.node_of(partition, part.leader);
                if super::super::hold(&mut self.node_down[node as usize]) {
                    self.node_crash(node, now, sched);
                }
                sched.after(
                    duration,
                    Event::FaultEnd {
                        fault,
                        target: node,
                    },
                );
            }
            BrokerFault::ConsumerCrash {
                consumer, duration, ..
            } => {
                if super::super::hold(&mut self.consumers[consumer as usize].down) {
                    self.consumer_crash(consumer, now, sched);
                } else {
                    self.counts.faults_skipped += 1;
                }
                sched.after(
                    duration,
                    Event::FaultEnd {
                        fault,
                        target: consumer,
                    },
                );
            }
        }
    }

    /// The host's news of a group made of a pool's replicas: a processing ended, a replica
    /// went down or came back (a crash detected by the session timeout, as any member's).
    pub(super) fn on_notice(
        &mut self,
        notice: super::super::Notice,
        now: SimTime,
        sched: &mut dyn Schedule<Event>,
    ) {
        use super::super::Notice;
        match notice {
            Notice::Processed {
                consumer,
                incarnation,
                ok,
            } => {
                let k = &self.consumers[consumer as usize];
                // A crash made it stale: the message was taken back at the crash.
                if k.incarnation == incarnation && k.down == 0 && k.busy.is_some() {
                    self.on_done(consumer, Some(ok), now, sched);
                }
            }
            Notice::Member {
                consumer,
                up: false,
            } => {
                if super::super::hold(&mut self.consumers[consumer as usize].down) {
                    self.consumer_crash(consumer, now, sched);
                }
            }
            Notice::Member { consumer, up: true } => {
                if super::super::release(&mut self.consumers[consumer as usize].down) {
                    self.consumer_back(consumer, now, sched);
                }
            }
            Notice::Fetched { .. } => unreachable!("a broker makes no fetches"),
        }
    }

    pub(super) fn consumer_back(&mut self, c: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        // It joins the group again: a rebalance.
        let _ = c;
        self.rebalance(now, sched);
    }
}

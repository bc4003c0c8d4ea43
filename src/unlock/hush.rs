//! Warnings any local user can cause at will (a connection turned away, a request broken off or
//! refused, a second attempt for one account): logged at most [`BURST`] times a [`WINDOW`] for
//! each uid and kind of warning, with a count of those held back. Without it, one user looping connections
//! wrote 5 MB of log a second (and 40 MB a second with long names in refused requests), and
//! under journald's per-service rate limit that would also drop the daemon's own lines about
//! attempts and refusals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(60);
/// Lines of one kind from one uid logged in a window: a person's own few mistakes are all seen,
/// a loop's are counted.
pub const BURST: u32 = 5;
/// More uids and kinds than this in one window and the oldest are forgotten (a count may be
/// lost, never a first warning).
const MAX_HELD: usize = 4096;

/// A uid, and the kind of warning (one per call site): one kind's line does not hold back
/// another's (a user's flood of refused requests does not hide their remote attempt).
type Key = (u32, &'static str);

#[derive(Clone, Default)]
pub struct Hush(Arc<Mutex<HashMap<Key, Held>>>);

struct Held {
    since: Instant,
    logged: u32,
    count: u64,
}

impl Hush {
    /// Logs `message` for `uid` unless [`BURST`] of its `kind` were logged for it within
    /// [`WINDOW`]; returns whether it was.
    pub fn warn(&self, uid: u32, kind: &'static str, message: impl FnOnce() -> String) -> bool {
        self.warn_at((uid, kind), Instant::now(), message)
    }

    /// Whether [`BURST`] lines of `kind` were logged for `uid` in the [`WINDOW`] that began with
    /// the first of them (a fixed window, as the lines' limit has): what the line is about may
    /// then be held back too (a client hanging up on each prompt turns the camera on for free;
    /// red team s35 #2).
    pub fn spent(&self, uid: u32, kind: &'static str) -> bool {
        self.spent_at((uid, kind), Instant::now())
    }

    fn spent_at(&self, key: Key, now: Instant) -> bool {
        let held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.get(&key)
            .is_some_and(|h| now.duration_since(h.since) < WINDOW && h.logged >= BURST)
    }

    fn warn_at(&self, key: Key, now: Instant, message: impl FnOnce() -> String) -> bool {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = held.get_mut(&key)
            && now.duration_since(h.since) < WINDOW
        {
            if h.logged < BURST {
                h.logged += 1;
                tracing::warn!("{}", message());
                return true;
            }
            h.count += 1;
            return false;
        }
        let before = held.remove(&key).map_or(0, |h| h.count);
        if held.len() >= MAX_HELD {
            held.retain(|_, h| now.duration_since(h.since) < WINDOW);
        }
        let also = if before > 0 {
            format!(
                " (and {before} more like it from uid {} in the minute before, not logged)",
                key.0
            )
        } else {
            String::new()
        };
        tracing::warn!("{}{also}", message());
        held.insert(
            key,
            Held {
                since: now,
                logged: 1,
                count: 0,
            },
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_lines_a_minute_for_each_uid_and_kind() {
        let hush = Hush::default();
        let t0 = Instant::now();
        let logged: Vec<bool> = (0..1000)
            .map(|i| {
                hush.warn_at((1026, "away"), t0 + Duration::from_millis(i), || {
                    "turned away".into()
                })
            })
            .collect();
        assert_eq!(logged.iter().filter(|&&l| l).count(), BURST as usize);
        assert!(
            logged[..BURST as usize].iter().all(|&l| l),
            "the first ones"
        );
        assert!(
            hush.warn_at((1000, "away"), t0, || "another user".into()),
            "each uid its own"
        );
        assert!(
            hush.warn_at((1026, "remote"), t0, || "another kind".into()),
            "each kind its own"
        );
        assert!(hush.spent_at((1026, "away"), t0 + WINDOW / 2));
        assert!(
            !hush.spent_at((1026, "remote"), t0),
            "one line of that kind"
        );
        assert!(
            !hush.spent_at((1026, "away"), t0 + WINDOW),
            "the window has passed"
        );
        assert!(hush.warn_at((1026, "away"), t0 + WINDOW, || "a minute on".into()));
    }
}

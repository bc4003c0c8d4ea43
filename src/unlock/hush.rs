//! Warnings any local user can cause at will (a connection turned away, a request broken off):
//! logged at most once a [`WINDOW`] for each uid, with a count of those held back. Without it,
//! one user looping connections wrote 5 MB of log a second, and under journald's per-service
//! rate limit that would also drop the daemon's own lines about attempts and refusals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(60);
/// More uids than this in one window and the oldest are forgotten (a count may be lost, never a
/// first warning).
const MAX_UIDS: usize = 1024;

#[derive(Clone, Default)]
pub struct Hush(Arc<Mutex<HashMap<u32, Held>>>);

struct Held {
    since: Instant,
    count: u64,
}

impl Hush {
    /// Logs `message` for `uid` unless one was logged for it within [`WINDOW`]; returns
    /// whether it was.
    pub fn warn(&self, uid: u32, message: impl FnOnce() -> String) -> bool {
        self.warn_at(uid, Instant::now(), message)
    }

    fn warn_at(&self, uid: u32, now: Instant, message: impl FnOnce() -> String) -> bool {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = held.get_mut(&uid)
            && now.duration_since(h.since) < WINDOW
        {
            h.count += 1;
            return false;
        }
        let before = held.remove(&uid).map_or(0, |h| h.count);
        if held.len() >= MAX_UIDS {
            held.retain(|_, h| now.duration_since(h.since) < WINDOW);
        }
        let also = if before > 0 {
            format!(" (and {before} more like it from uid {uid} in the minute before, not logged)")
        } else {
            String::new()
        };
        tracing::warn!("{}{also}", message());
        held.insert(
            uid,
            Held {
                since: now,
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
    fn one_line_a_minute_for_each_uid() {
        let hush = Hush::default();
        let t0 = Instant::now();
        let logged: Vec<bool> = (0..1000)
            .map(|i| hush.warn_at(1026, t0 + Duration::from_millis(i), || "turned away".into()))
            .collect();
        assert_eq!(logged.iter().filter(|&&l| l).count(), 1);
        assert!(
            hush.warn_at(1000, t0, || "another user".into()),
            "each uid its own"
        );
        assert!(hush.warn_at(1026, t0 + WINDOW, || "a minute on".into()));
    }
}

//! Rates shown in the status bar, measured over the last second.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct RateMeter {
    ticks: VecDeque<Instant>,
}

impl RateMeter {
    pub fn tick(&mut self, now: Instant) {
        self.ticks.push_back(now);
        while self
            .ticks
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(2))
        {
            self.ticks.pop_front();
        }
    }

    /// Events per second over the window (0 until two events have been seen).
    pub fn rate(&self) -> f32 {
        match (self.ticks.front(), self.ticks.back()) {
            (Some(a), Some(b)) if self.ticks.len() > 1 => {
                let span = b.duration_since(*a).as_secs_f32();
                if span > 0.0 {
                    (self.ticks.len() - 1) as f32 / span
                } else {
                    0.0
                }
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_ticks_a_second_read_as_thirty_fps() {
        let mut m = RateMeter::default();
        let t0 = Instant::now();
        for i in 0..31 {
            m.tick(t0 + Duration::from_millis(i * 1000 / 30));
        }
        assert!((m.rate() - 30.0).abs() < 0.5, "{}", m.rate());
    }
}

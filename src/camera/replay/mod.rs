//! Replays of recorded material: a video file decoded by the ffmpeg CLI, or a folder of stills.
//! Both loop forever (a replay stands in for a camera, which never runs out) and are paced to
//! real time unless asked not to be.

use std::time::{Duration, Instant};

mod folder;
mod video;

pub use folder::FolderReplay;
pub use video::VideoReplay;
pub(crate) use video::ffprobe;

/// Largest side of a clip's frames: 4K cinema. A video decoder holds a dozen reference frames
/// at that size, so a forged 11904² clip of 417 KB made ffmpeg take 4 GB (a 12000 px still, the
/// cap for photos, is one frame).
const MAX_CLIP_SIDE: u32 = 4096;

/// Releases frame n one period after frame n-1, sleeping as needed.
#[derive(Debug)]
pub(crate) struct Pacer {
    period: Option<Duration>,
    next_due: Option<Instant>,
}

impl Pacer {
    pub(crate) fn new(fps: f32, paced: bool) -> Self {
        let period = (paced && fps.is_finite() && fps > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / f64::from(fps)));
        Pacer {
            period,
            next_due: None,
        }
    }

    pub(crate) fn wait(&mut self) {
        let Some(period) = self.period else { return };
        let now = Instant::now();
        let due = self.next_due.unwrap_or(now);
        if due > now {
            std::thread::sleep(due - now);
            self.next_due = Some(due + period);
        } else if now - due > period {
            // A slow consumer (or an ffmpeg restart) fell behind: restart the schedule rather
            // than burst out the missed frames, which would look like fast-forward.
            self.next_due = Some(now + period);
        } else {
            self.next_due = Some(due + period);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_spaces_frames_and_does_not_burst_after_a_stall() {
        let mut pacer = Pacer::new(100.0, true);
        let start = Instant::now();
        for _ in 0..5 {
            pacer.wait();
        }
        // First frame is immediate, the next four 10 ms apart.
        assert!(start.elapsed() >= Duration::from_millis(39));
        std::thread::sleep(Duration::from_millis(50));
        pacer.wait();
        let resumed = Instant::now();
        pacer.wait();
        assert!(resumed.elapsed() >= Duration::from_millis(8));
        let mut unpaced = Pacer::new(100.0, false);
        let start = Instant::now();
        for _ in 0..100 {
            unpaced.wait();
        }
        assert!(start.elapsed() < Duration::from_millis(20));
    }
}

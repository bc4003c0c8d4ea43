//! What an attempt weighs in each frame besides the match: whether the face is bright enough to
//! judge at all, and the texture model's live score (`liveness::pad`) over the tracked face's
//! frames.

use image::RgbImage;
use serde::Serialize;

use crate::vision::BBox;

/// Mean luma (0..255) of the face below which a frame is too dark to judge: under every real face
/// in the shared data (the darkest, audience faces in the Hamilton clip's dark shots, measure 13
/// to 15 and still score live: tests/pad.rs prints them), above a covered lens or an IR camera's
/// unlit frame.
pub const DARK_LIMIT: f32 = 10.0;

/// Mean Rec. 601 luma of the face box (clipped to the frame), on a grid of at most 32×32
/// samples so a large face costs the same as a small one. None when the box misses the frame.
pub fn face_luminance(img: &RgbImage, b: &BBox) -> Option<f32> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    if ![b.x, b.y, b.w, b.h].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (x0, y0) = (b.x.max(0.0), b.y.max(0.0));
    let (x1, y1) = ((b.x + b.w).min(w), (b.y + b.h).min(h));
    if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
        return None;
    }
    const GRID: usize = 32;
    let (mut sum, mut n) = (0.0f32, 0usize);
    for j in 0..GRID {
        let y = (y0 + (j as f32 + 0.5) * (y1 - y0) / GRID as f32).min(h - 1.0) as u32;
        for i in 0..GRID {
            let x = (x0 + (i as f32 + 0.5) * (x1 - x0) / GRID as f32).min(w - 1.0) as u32;
            let [r, g, b] = img.get_pixel(x, y).0;
            sum += 0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32;
            n += 1;
        }
    }
    Some(sum / n as f32)
}

/// How the texture model's per-frame live scores decide an attempt: the `quantile` of the
/// tracked face's scores (a low one, so a few live-looking frames of a screen do not carry it)
/// must reach `threshold`, once at least `min_frames` were scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PadRule {
    pub quantile: f32,
    pub threshold: f32,
    pub min_frames: usize,
}

impl Default for PadRule {
    /// The 20th percentile at 0.5 (where "real" outweighs both spoof classes, upstream's own
    /// argmax rule): the operating point that keeps ≥ 98 % of the shared data's real faces, and
    /// still refuses tablet replays (README, "Passive presentation-attack model").
    fn default() -> Self {
        PadRule {
            quantile: 0.2,
            threshold: crate::liveness::pad::ATTEMPT_THRESHOLD,
            min_frames: 5,
        }
    }
}

impl PadRule {
    /// The rule's low quantile of a face's texture scores, once there are `min_frames` of them.
    pub fn quantile_of(&self, scores: &[f32]) -> Option<f32> {
        if scores.len() < self.min_frames.max(1) {
            return None;
        }
        crate::liveness::quantile(scores, self.quantile)
    }

    /// Whether a face's texture scores look live: judged ([`PadRule::quantile_of`]) and at least
    /// the threshold. None: too few scores to say yet.
    pub fn live(&self, scores: &[f32]) -> Option<bool> {
        self.quantile_of(scores).map(|q| self.passes(q))
    }

    /// Whether a judged quantile looks live.
    pub fn passes(&self, quantile: f32) -> bool {
        quantile >= self.threshold
    }
}

/// Most scores kept: at 30 fps, ten seconds of one face.
const MAX_SCORES: usize = 300;

/// The tracked face's scores since the attempt last started over.
#[derive(Debug, Default, Clone)]
pub(super) struct PadFrames {
    scores: Vec<f32>,
}

impl PadFrames {
    pub(super) fn push(&mut self, score: f32) {
        if score.is_finite() && self.scores.len() < MAX_SCORES {
            self.scores.push(score.clamp(0.0, 1.0));
        }
    }

    pub(super) fn clear(&mut self) {
        self.scores.clear();
    }

    /// The rule's quantile of the scores, once there are enough of them.
    pub(super) fn judged(&self, rule: &PadRule) -> Option<f32> {
        rule.quantile_of(&self.scores)
    }

    /// The rule's verdict on the scores ([`PadRule::live`]).
    pub(super) fn live(&self, rule: &PadRule) -> Option<bool> {
        rule.live(&self.scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luminance_is_of_the_face_box_and_a_box_off_the_frame_has_none() {
        let mut img = RgbImage::from_pixel(100, 100, image::Rgb([200, 200, 200]));
        for y in 20..60 {
            for x in 20..60 {
                img.put_pixel(x, y, image::Rgb([10, 10, 10]));
            }
        }
        let face = |x, y, w, h| BBox { x, y, w, h };
        let dark = face_luminance(&img, &face(20.0, 20.0, 40.0, 40.0)).unwrap();
        assert!((dark - 10.0).abs() < 0.5, "{dark}");
        let bright = face_luminance(&img, &face(-50.0, 70.0, 200.0, 100.0)).unwrap();
        assert!((bright - 200.0).abs() < 0.5, "{bright}");
        assert_eq!(face_luminance(&img, &face(150.0, 0.0, 10.0, 10.0)), None);
        assert_eq!(face_luminance(&img, &face(f32::NAN, 0.0, 10.0, 10.0)), None);
    }

    #[test]
    fn pad_frames_wait_for_enough_scores_and_take_the_low_quantile() {
        let rule = PadRule::default();
        let mut frames = PadFrames::default();
        for s in [0.9, 0.95, 0.99, 0.1] {
            frames.push(s);
        }
        assert_eq!(frames.judged(&rule), None, "four of five frames");
        frames.push(f32::NAN);
        assert_eq!(frames.judged(&rule), None, "a NaN is not a score");
        frames.push(0.97);
        assert_eq!(frames.judged(&rule), Some(0.9));
        frames.clear();
        assert_eq!(frames.judged(&rule), None);
    }
}

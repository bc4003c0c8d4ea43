//! Passive liveness: what a few seconds of one tracked face say about whether it is a live person
//! or a photo (printed, or on a screen) held in front of the camera. No model: three measured
//! signals, each cheap (well under 1 ms a frame on top of detection).
//!
//! - **Non-rigid landmark motion.** A photo is a plane; however it is moved, its image moves by a
//!   homography, which over a face-sized patch is very nearly affine. So the best affine map from
//!   a reference frame's five landmarks to a later frame's leaves only detector jitter. A real
//!   face talking, blinking or turning deforms: mouth corners move against the eyes, the nose
//!   shifts against both under yaw. The residual RMS over the eye distance, at a high percentile
//!   over the window, is the strongest signal.
//! - **Temporal change.** Aligned to its own landmarks (so motion of the whole head is removed),
//!   a live face still changes from frame to frame (mouth, eyes, shading); a still image replayed
//!   as video gives the same pixels, up to sensor noise.
//! - **Texture.** High-frequency share of the aligned chip: print and screen re-capture lose fine
//!   detail (or add moiré). Four stills cannot validate it, so it is measured and shown but does
//!   not vote (weight 0, see [`PassiveConfig`]).

use std::collections::VecDeque;

use image::RgbImage;
use serde::Serialize;

use crate::vision::Face;
use crate::vision::align::{ARCFACE_112, Similarity};

/// Side of the grey chip each frame is reduced to: enough for mouth and eye changes, and the warp
/// is 4096 bilinear samples (~20 µs).
pub const CHIP: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveConfig {
    /// Seconds of one face a verdict looks at.
    pub window_s: f64,
    /// Frames the non-rigid residuals are averaged over (centred): the detector's landmark
    /// jitter is independent from frame to frame and averages down, a mouth opening or a head
    /// turn lasts several frames and stays.
    pub smooth_frames: usize,
    /// Fewest frames a verdict needs (a slow machine analyses few frames in a window).
    pub min_frames: usize,
    /// Midpoints of the logistic maps from each raw signal to 0..1 (on a log scale), set between
    /// the attack and bona fide values `facegate eval liveness` measured; see [`Self::default`].
    pub nonrigid_mid: f32,
    pub temporal_mid: f32,
    pub texture_mid: f32,
    /// Weights of the parts in the score.
    pub nonrigid_weight: f32,
    pub temporal_weight: f32,
    pub texture_weight: f32,
    /// Score at or above which the window counts as live.
    pub threshold: f32,
}

impl Default for PassiveConfig {
    fn default() -> Self {
        PassiveConfig {
            window_s: 2.0,
            smooth_frames: 5,
            min_frames: 16,
            // Measured (`facegate eval liveness --limit 6`, 2-s windows): non-rigid motion
            // 0.018–0.079 (median 0.051) on the 12 real-clip windows; 0 on static replays,
            // ≤ 0.0054 held still with sensor noise, 0.009–0.027 (median 0.014) hand-held.
            // The hand-held and real ranges overlap, so no midpoint separates them all: 0.022
            // sits between the hand-held median and the real median on a log scale.
            nonrigid_mid: 0.022,
            // Aligned frame change: 0 static, 2.7–4.5 held still with noise, 7–14 hand-held
            // (re-alignment on jittery landmarks), 8.2–16 real. It only separates still
            // presentations, which non-rigid motion already refuses: a small second vote.
            temporal_mid: 5.5,
            // High-frequency share: 0.09–0.25 on the photos and 0.11–0.26 on the clips, no
            // separation at 64 px; shown, not voting.
            texture_mid: 0.15,
            nonrigid_weight: 0.85,
            temporal_weight: 0.15,
            texture_weight: 0.0,
            threshold: 0.5,
        }
    }
}

/// One frame of the tracked face.
#[derive(Debug, Clone)]
struct Observation {
    t: f64,
    landmarks: [[f32; 2]; 5],
    chip: Vec<u8>,
    texture: f32,
}

/// The verdict on one window, with its parts for display.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LivenessScore {
    /// Weighted parts, 0 (photo) .. 1 (live).
    pub score: f32,
    pub live: bool,
    /// Raw signals: 90th-percentile affine residual / eye distance; median aligned frame
    /// difference (grey levels); high-frequency share of the chip.
    pub nonrigid: f32,
    pub temporal: f32,
    pub texture: f32,
    /// The same mapped to 0..1.
    pub nonrigid_part: f32,
    pub temporal_part: f32,
    pub texture_part: f32,
    /// Range of the yaw over the window (eye distances), for calibrating the challenge.
    pub yaw_range: f32,
    pub frames: usize,
    pub span_s: f32,
    /// The score `live` was judged against: the window's own, for whoever shows the score.
    pub threshold: f32,
}

/// A sliding window of one tracked face's frames.
#[derive(Debug, Clone)]
pub struct PassiveWindow {
    config: PassiveConfig,
    obs: VecDeque<Observation>,
}

impl PassiveWindow {
    pub fn new(config: PassiveConfig) -> PassiveWindow {
        PassiveWindow {
            config,
            obs: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &PassiveConfig {
        &self.config
    }

    pub fn clear(&mut self) {
        self.obs.clear();
    }

    pub fn len(&self) -> usize {
        self.obs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.obs.is_empty()
    }

    /// Seconds between the oldest and newest frame held.
    pub fn span(&self) -> f64 {
        match (self.obs.front(), self.obs.back()) {
            (Some(a), Some(b)) => b.t - a.t,
            _ => 0.0,
        }
    }

    /// Enough frames over (nearly) the whole window for a verdict.
    pub fn is_full(&self) -> bool {
        self.obs.len() >= self.config.min_frames && self.span() >= self.config.window_s * 0.9
    }

    /// Adds frame `img`'s face seen at `t` seconds (any fixed origin). A face that jumped (not
    /// the one tracked so far) starts a new window; frames older than the window are dropped.
    pub fn push(&mut self, img: &RgbImage, face: &Face, t: f64) {
        if let Some(last) = self.obs.back()
            && !same_face(&last.landmarks, &face.landmarks)
        {
            self.obs.clear();
        }
        let chip = grey_chip(img, &face.landmarks);
        let texture = high_frequency_share(&chip);
        self.obs.push_back(Observation {
            t,
            landmarks: face.landmarks,
            chip,
            texture,
        });
        // A slow machine analyses few frames a second: then the window stretches in time until
        // it holds enough frames for the smoothing to leave a signal, instead of judging 2 s of
        // a handful of frames (a real face then looks as still as a photo).
        while self.obs.len() > self.config.min_frames
            && self
                .obs
                .front()
                .is_some_and(|o| t - o.t > self.config.window_s)
        {
            self.obs.pop_front();
        }
    }

    /// The verdict on the frames held (`None` before two frames).
    pub fn score(&self) -> Option<LivenessScore> {
        if self.obs.len() < 2 {
            return None;
        }
        let shapes: Vec<[[f32; 2]; 5]> = self.obs.iter().map(|o| o.landmarks).collect();
        let nonrigid = nonrigid_motion(&shapes, self.config.smooth_frames);
        let diffs: Vec<f32> = self
            .obs
            .iter()
            .zip(self.obs.iter().skip(1))
            .map(|(a, b)| chip_difference(&a.chip, &b.chip))
            .collect();
        let temporal = super::quantile(&diffs, 0.5).unwrap_or(0.0);
        let textures: Vec<f32> = self.obs.iter().map(|o| o.texture).collect();
        let texture = super::quantile(&textures, 0.5).unwrap_or(0.0);
        let yaws: Vec<f32> = self
            .obs
            .iter()
            .filter_map(|o| super::pose::pose(&o.landmarks).map(|p| p.yaw))
            .collect();
        let yaw_range = yaws.iter().copied().fold(f32::NEG_INFINITY, f32::max)
            - yaws.iter().copied().fold(f32::INFINITY, f32::min);
        let c = &self.config;
        let nonrigid_part = logistic(nonrigid, c.nonrigid_mid);
        let temporal_part = logistic(temporal, c.temporal_mid);
        let texture_part = logistic(texture, c.texture_mid);
        let total = c.nonrigid_weight + c.temporal_weight + c.texture_weight;
        let score = (c.nonrigid_weight * nonrigid_part
            + c.temporal_weight * temporal_part
            + c.texture_weight * texture_part)
            / total.max(f32::EPSILON);
        Some(LivenessScore {
            score,
            live: score >= c.threshold,
            threshold: c.threshold,
            nonrigid,
            temporal,
            texture,
            nonrigid_part,
            temporal_part,
            texture_part,
            yaw_range: if yaw_range.is_finite() {
                yaw_range
            } else {
                0.0
            },
            frames: self.obs.len(),
            span_s: self.span() as f32,
        })
    }
}

/// 0..1, 0.5 at `mid`, on a log scale: the signals span decades (a static replay's frame
/// difference is 0, a talking face's several grey levels). Each factor of e ≈ 2.7 above or below
/// the midpoint moves the part by about a third of the way to 0 or 1.
fn logistic(x: f32, mid: f32) -> f32 {
    let z = ((x.max(1e-6) / mid).ln() / 0.7).clamp(-30.0, 30.0);
    1.0 / (1.0 + (-z).exp())
}

fn eye_distance(l: &[[f32; 2]; 5]) -> f32 {
    ((l[1][0] - l[0][0]).powi(2) + (l[1][1] - l[0][1]).powi(2)).sqrt()
}

/// The same face if its eye midpoint moved less than two eye distances and its size changed by
/// less than half since the last frame: a tracked face moves little between frames, a different
/// face (or a photo swapped in) does not.
fn same_face(a: &[[f32; 2]; 5], b: &[[f32; 2]; 5]) -> bool {
    let (da, db) = (eye_distance(a), eye_distance(b));
    if da <= 0.0 || db <= 0.0 {
        return false;
    }
    let mid = |l: &[[f32; 2]; 5]| [(l[0][0] + l[1][0]) / 2.0, (l[0][1] + l[1][1]) / 2.0];
    let (ma, mb) = (mid(a), mid(b));
    let shift = ((ma[0] - mb[0]).powi(2) + (ma[1] - mb[1]).powi(2)).sqrt();
    let ratio = db / da;
    shift < 2.0 * da && (0.67..1.5).contains(&ratio)
}

/// The non-rigid motion of a window of landmark sets: each frame's residual from the best affine
/// map of the window's mean shape onto it (in its eye distances), averaged over `smooth`
/// neighbouring frames, as an RMS per frame; the 90th percentile over the window.
///
/// The mean shape (every frame mapped affinely onto the first and averaged) is the reference
/// rather than the first frame, whose own jitter would otherwise add to every residual.
pub fn nonrigid_motion(shapes: &[[[f32; 2]; 5]], smooth: usize) -> f32 {
    if shapes.len() < 2 {
        return 0.0;
    }
    let first = &shapes[0];
    let mut mean = [[0.0f32; 2]; 5];
    for s in shapes {
        let fit = Affine::fit(s, first);
        for (m, p) in mean.iter_mut().zip(s) {
            let q = fit.apply(*p);
            m[0] += q[0] / shapes.len() as f32;
            m[1] += q[1] / shapes.len() as f32;
        }
    }
    let residuals: Vec<[[f32; 2]; 5]> = shapes
        .iter()
        .map(|s| {
            let fit = Affine::fit(&mean, s);
            let d = eye_distance(s).max(1e-3);
            let mut r = [[0.0f32; 2]; 5];
            for ((r, m), p) in r.iter_mut().zip(&mean).zip(s) {
                let q = fit.apply(*m);
                *r = [(p[0] - q[0]) / d, (p[1] - q[1]) / d];
            }
            r
        })
        .collect();
    let half = smooth.max(1) / 2;
    let rms: Vec<f32> = (0..residuals.len())
        .map(|t| {
            let lo = t.saturating_sub(half);
            let hi = (t + half + 1).min(residuals.len());
            let n = (hi - lo) as f32;
            let mut sum = 0.0;
            for i in 0..5 {
                for c in 0..2 {
                    let avg: f32 = residuals[lo..hi].iter().map(|r| r[i][c]).sum::<f32>() / n;
                    sum += avg * avg;
                }
            }
            (sum / 5.0).sqrt()
        })
        .collect();
    super::quantile(&rms, 0.9).unwrap_or(0.0)
}

/// A 2-D affine map, fitted by least squares on centred points.
#[derive(Debug, Clone, Copy)]
struct Affine {
    l: [[f64; 2]; 2],
    from: (f64, f64),
    to: (f64, f64),
}

impl Affine {
    fn fit(a: &[[f32; 2]; 5], b: &[[f32; 2]; 5]) -> Affine {
        let centroid = |l: &[[f32; 2]; 5]| {
            let (sx, sy) = l.iter().fold((0.0f64, 0.0f64), |(x, y), p| {
                (x + p[0] as f64, y + p[1] as f64)
            });
            (sx / 5.0, sy / 5.0)
        };
        let (ax, ay) = centroid(a);
        let (bx, by) = centroid(b);
        let (mut sxx, mut sxy, mut syy) = (0.0f64, 0.0f64, 0.0f64);
        let (mut uxx, mut uxy, mut vyx, mut vyy) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (p, q) in a.iter().zip(b) {
            let (x, y) = (p[0] as f64 - ax, p[1] as f64 - ay);
            let (u, v) = (q[0] as f64 - bx, q[1] as f64 - by);
            sxx += x * x;
            sxy += x * y;
            syy += y * y;
            uxx += u * x;
            uxy += u * y;
            vyx += v * x;
            vyy += v * y;
        }
        let det = sxx * syy - sxy * sxy;
        let l = if det.abs() < 1e-9 {
            [[1.0, 0.0], [0.0, 1.0]]
        } else {
            let (i00, i01, i11) = (syy / det, -sxy / det, sxx / det);
            [
                [uxx * i00 + uxy * i01, uxx * i01 + uxy * i11],
                [vyx * i00 + vyy * i01, vyx * i01 + vyy * i11],
            ]
        };
        Affine {
            l,
            from: (ax, ay),
            to: (bx, by),
        }
    }

    fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let (x, y) = (p[0] as f64 - self.from.0, p[1] as f64 - self.from.1);
        [
            (self.l[0][0] * x + self.l[0][1] * y + self.to.0) as f32,
            (self.l[1][0] * x + self.l[1][1] * y + self.to.1) as f32,
        ]
    }
}

/// RMS of what the best affine map from `a`'s landmarks to `b`'s leaves, over `b`'s eye
/// distance. Five points, six parameters: four degrees of freedom of non-planar motion remain.
pub fn affine_residual(a: &[[f32; 2]; 5], b: &[[f32; 2]; 5]) -> f32 {
    let d = eye_distance(b) as f64;
    if d <= 0.0 {
        return 0.0;
    }
    let fit = Affine::fit(a, b);
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| {
            let m = fit.apply(*p);
            let (ex, ey) = ((m[0] - q[0]) as f64, (m[1] - q[1]) as f64);
            ex * ex + ey * ey
        })
        .sum();
    ((sum / 5.0).sqrt() / d) as f32
}

/// The face warped onto the ArcFace template at CHIP×CHIP, in grey (bilinear; outside the image
/// repeats the edge so a face at the border does not add a black edge that moves).
fn grey_chip(img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Vec<u8> {
    let s = CHIP as f32 / 112.0;
    let template = ARCFACE_112.map(|[x, y]| [x * s, y * s]);
    let inv = Similarity::estimate(landmarks, &template).inverse();
    let (w, h) = (img.width() as i64, img.height() as i64);
    let raw = img.as_raw();
    let grey = |x: i64, y: i64| -> f32 {
        let (x, y) = (x.clamp(0, w - 1) as usize, y.clamp(0, h - 1) as usize);
        let i = (y * w as usize + x) * 3;
        0.299 * raw[i] as f32 + 0.587 * raw[i + 1] as f32 + 0.114 * raw[i + 2] as f32
    };
    let mut out = Vec::with_capacity(CHIP * CHIP);
    for y in 0..CHIP {
        for x in 0..CHIP {
            let [sx, sy] = inv.apply([x as f32, y as f32]);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let top = grey(x0, y0) * (1.0 - fx) + grey(x0 + 1, y0) * fx;
            let bottom = grey(x0, y0 + 1) * (1.0 - fx) + grey(x0 + 1, y0 + 1) * fx;
            out.push((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// Mean absolute difference of two chips after removing their mean brightness difference (a
/// camera's auto-exposure changes every pixel alike; a face changes some).
fn chip_difference(a: &[u8], b: &[u8]) -> f32 {
    let n = a.len() as f32;
    let mean = |c: &[u8]| c.iter().map(|&v| v as f32).sum::<f32>() / n;
    let shift = mean(b) - mean(a);
    a.iter()
        .zip(b)
        .map(|(&p, &q)| (q as f32 - p as f32 - shift).abs())
        .sum::<f32>()
        / n
}

/// Share of the chip's contrast in its finest scale: mean |chip − 3×3 box blur| over mean
/// |chip − its mean|, on the inner part (no edge handling needed).
fn high_frequency_share(chip: &[u8]) -> f32 {
    let at = |x: usize, y: usize| chip[y * CHIP + x] as f32;
    let mean = chip.iter().map(|&v| v as f32).sum::<f32>() / chip.len() as f32;
    let (mut hf, mut contrast) = (0.0f32, 0.0f32);
    for y in 1..CHIP - 1 {
        for x in 1..CHIP - 1 {
            let mut blur = 0.0;
            for dy in 0..3 {
                for dx in 0..3 {
                    blur += at(x + dx - 1, y + dy - 1);
                }
            }
            hf += (at(x, y) - blur / 9.0).abs();
            contrast += (at(x, y) - mean).abs();
        }
    }
    if contrast > 0.0 { hf / contrast } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACE: [[f32; 2]; 5] = [
        [100.0, 100.0],
        [160.0, 100.0],
        [130.0, 135.0],
        [108.0, 165.0],
        [152.0, 165.0],
    ];

    #[test]
    fn an_affine_image_of_the_landmarks_leaves_no_residual() {
        let moved = FACE.map(|[x, y]| [0.9 * x + 0.2 * y + 13.0, -0.1 * x + 1.1 * y - 7.0]);
        assert!(affine_residual(&FACE, &moved) < 1e-4);
        // A mouth corner moving on its own (a smile) does.
        let mut smile = moved;
        smile[4][1] -= 6.0;
        let r = affine_residual(&FACE, &smile);
        assert!(r > 0.02, "{r}");
    }

    #[test]
    fn logistic_is_half_at_the_midpoint_and_monotone() {
        assert!((logistic(0.02, 0.02) - 0.5).abs() < 1e-6);
        assert!(logistic(0.0, 0.02) < 0.01);
        assert!(logistic(0.2, 0.02) > 0.95);
    }

    fn face(lm: [[f32; 2]; 5]) -> Face {
        Face {
            bbox: crate::vision::BBox {
                x: 80.0,
                y: 70.0,
                w: 100.0,
                h: 120.0,
            },
            landmarks: lm,
            score: 0.9,
        }
    }

    #[test]
    fn identical_frames_score_not_live_and_deforming_ones_live() {
        let img = RgbImage::from_fn(320, 240, |x, y| {
            image::Rgb([
                (x * 7 % 251) as u8,
                (y * 5 % 241) as u8,
                ((x + y) % 255) as u8,
            ])
        });
        let mut still = PassiveWindow::new(PassiveConfig::default());
        for i in 0..20 {
            still.push(&img, &face(FACE), i as f64 * 0.1);
        }
        assert!(still.is_full());
        let s = still.score().unwrap();
        assert!(s.nonrigid < 1e-6 && s.temporal == 0.0, "{s:?}");
        assert!(!s.live && s.score < 0.05, "{s:?}");

        let mut talking = PassiveWindow::new(PassiveConfig::default());
        for i in 0..20 {
            let mut lm = FACE;
            let open = 15.0 * ((i as f32) * 0.3).sin().abs();
            // A lop-sided smile: one mouth corner rises (both moving down alike would be
            // partly a vertical stretch, which an affine map absorbs).
            lm[4][1] -= open;
            lm[2][0] += 6.0 * (i as f32 * 0.2).sin();
            let frame = RgbImage::from_fn(320, 240, |x, y| {
                image::Rgb([((x * 7 + i * 13) % 251) as u8, (y * 5 % 241) as u8, 90])
            });
            talking.push(&frame, &face(lm), i as f64 * 0.1);
        }
        let s = talking.score().unwrap();
        assert!(s.live && s.nonrigid > 0.03, "{s:?}");
    }

    #[test]
    fn a_different_face_restarts_the_window_and_old_frames_expire() {
        let img = RgbImage::new(320, 240);
        let mut w = PassiveWindow::new(PassiveConfig::default());
        for i in 0..5 {
            w.push(&img, &face(FACE), i as f64 * 0.1);
        }
        let far = FACE.map(|[x, y]| [x + 150.0, y]);
        w.push(&img, &face(far), 0.5);
        assert_eq!(w.len(), 1);
        for i in 0..40 {
            w.push(&img, &face(far), 0.6 + i as f64 * 0.1);
        }
        assert!(w.span() <= 2.0 + 1e-9 && w.len() <= 21, "{}", w.len());
    }
}

//! Simulated presentation attacks: a still photo shown to the camera as video, either held
//! still or hand-held. Used by `facegate eval liveness` and the tests; reproducible from a seed.
//!
//! Like [`crate::camera::demo`], the photo is scaled onto a webcam-sized dark canvas; unlike the
//! demo (a slow translation only), a hand-held print also rotates, scales and tilts (a mild
//! perspective) with a hand's tremor, and a real camera adds sensor noise to every frame.

use image::{Rgb, RgbImage, imageops};

use crate::rng::SplitMix64;

/// How the photo is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Motion {
    /// The identical frame over and over (a still replayed as a video file).
    Static,
    /// Held still in front of a camera: the same picture with fresh sensor noise each frame.
    StaticNoisy,
    /// Held in the hand: smooth random similarity + perspective motion, plus sensor noise.
    HandHeld,
}

impl Motion {
    pub const ALL: [Motion; 3] = [Motion::Static, Motion::StaticNoisy, Motion::HandHeld];

    pub fn label(self) -> &'static str {
        match self {
            Motion::Static => "static",
            Motion::StaticNoisy => "static+noise",
            Motion::HandHeld => "hand-held",
        }
    }
}

/// One smooth random signal: a sum of three sinusoids of 0.2–1.5 Hz with random phases, scaled
/// to ±`amplitude` at most (a hand drifts slowly and trembles a little faster).
#[derive(Debug, Clone)]
struct Wobble([(f32, f32, f32); 3]);

impl Wobble {
    fn new(rng: &mut SplitMix64, amplitude: f32) -> Wobble {
        let mut parts = [(0.0, 0.0, 0.0); 3];
        let weights = [0.6, 0.3, 0.1];
        for (p, w) in parts.iter_mut().zip(weights) {
            *p = (
                amplitude * w,
                rng.range(0.2, 1.5) * std::f32::consts::TAU,
                rng.range(0.0, std::f32::consts::TAU),
            );
        }
        Wobble(parts)
    }

    fn at(&self, t: f32) -> f32 {
        self.0.iter().map(|(a, f, p)| a * (f * t + p).sin()).sum()
    }
}

/// A photo presented to a simulated camera.
pub struct Presentation {
    photo: RgbImage,
    canvas: (u32, u32),
    motion: Motion,
    /// Sensor noise, standard deviation in grey levels.
    noise: f32,
    rng: SplitMix64,
    /// Translation x/y (canvas fractions), rotation (rad), log-scale, perspective x/y.
    wobbles: [Wobble; 6],
}

pub const NOISE_SIGMA: f32 = 3.0;

impl Presentation {
    /// `photo` fitted into 80 % of `canvas` (a photo held to fill most of the view).
    pub fn new(photo: &RgbImage, canvas: (u32, u32), motion: Motion, seed: u64) -> Presentation {
        let scale = (canvas.0 as f32 / photo.width() as f32)
            .min(canvas.1 as f32 / photo.height() as f32)
            * 0.8;
        let (w, h) = (
            ((photo.width() as f32 * scale) as u32).max(1),
            ((photo.height() as f32 * scale) as u32).max(1),
        );
        let photo = imageops::resize(photo, w, h, imageops::FilterType::Triangle);
        let mut rng = SplitMix64::new(seed);
        let wobbles = [
            Wobble::new(&mut rng, 0.04),
            Wobble::new(&mut rng, 0.03),
            Wobble::new(&mut rng, 5f32.to_radians()),
            Wobble::new(&mut rng, 0.08),
            // Projective terms up to ±0.05 (in half photo sizes): one edge of the photo up to
            // ~5 % larger than the opposite one, i.e. a 14-cm print tilted by up to ~15° at
            // 40 cm from the camera. (A first run used ±0.12, a ~35° tilt: not "mild".)
            Wobble::new(&mut rng, 0.05),
            Wobble::new(&mut rng, 0.04),
        ];
        Presentation {
            photo,
            canvas,
            motion,
            noise: NOISE_SIGMA,
            rng,
            wobbles,
        }
    }

    /// The frame at `t` seconds.
    pub fn frame(&mut self, t: f32) -> RgbImage {
        let (cw, ch) = self.canvas;
        let mut out = match self.motion {
            Motion::HandHeld => self.warped(t),
            Motion::Static | Motion::StaticNoisy => {
                let mut c = RgbImage::from_pixel(cw, ch, Rgb([28, 28, 32]));
                let x = (cw - self.photo.width().min(cw)) / 2;
                let y = (ch - self.photo.height().min(ch)) / 2;
                imageops::overlay(&mut c, &self.photo, x.into(), y.into());
                c
            }
        };
        if self.motion != Motion::Static {
            for v in out.iter_mut() {
                *v = (*v as f32 + self.noise * self.rng.normal())
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    /// Inverse mapping from the canvas to the photo: undo translation, rotation and scale, then
    /// the projective tilt (closed form: for (a, b) = P(u, v) = (u, v)/(1 + px·u + py·v),
    /// u = a·k, v = b·k with k = 1/(1 − px·a − py·b)).
    fn warped(&self, t: f32) -> RgbImage {
        let (cw, ch) = self.canvas;
        let [tx, ty, rot, log_s, px, py] = [0, 1, 2, 3, 4, 5].map(|i| self.wobbles[i].at(t));
        let (pw, ph) = (self.photo.width() as f32, self.photo.height() as f32);
        let half = pw.max(ph) / 2.0;
        let (cx, cy) = (cw as f32 * (0.5 + tx), ch as f32 * (0.5 + ty));
        let s = log_s.exp() * half;
        let (sin, cos) = rot.sin_cos();
        let raw = self.photo.as_raw();
        let (iw, ih) = (self.photo.width() as i64, self.photo.height() as i64);
        let mut out = RgbImage::from_pixel(cw, ch, Rgb([28, 28, 32]));
        for (x, y, pixel) in out.enumerate_pixels_mut() {
            let (dx, dy) = ((x as f32 - cx) / s, (y as f32 - cy) / s);
            let (a, b) = (cos * dx + sin * dy, -sin * dx + cos * dy);
            let den = 1.0 - px * a - py * b;
            if den <= 0.05 {
                continue;
            }
            let (u, v) = (a / den, b / den);
            let (sx, sy) = (u * half + pw / 2.0, v * half + ph / 2.0);
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            if x0 < 0 || y0 < 0 || x0 + 1 >= iw || y0 + 1 >= ih {
                continue;
            }
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let at = |xx: i64, yy: i64, c: usize| raw[((yy * iw + xx) * 3) as usize + c] as f32;
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
                let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
                pixel.0[c] = (top * (1.0 - fy) + bottom * fy) as u8;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_reproducible_and_move_only_when_hand_held() {
        let photo = RgbImage::from_fn(200, 260, |x, y| Rgb([x as u8, y as u8, 128]));
        let mut a = Presentation::new(&photo, (320, 240), Motion::HandHeld, 7);
        let mut b = Presentation::new(&photo, (320, 240), Motion::HandHeld, 7);
        assert_eq!(a.frame(0.5), b.frame(0.5));
        assert_ne!(a.frame(0.0), a.frame(1.0));
        let mut s = Presentation::new(&photo, (320, 240), Motion::Static, 7);
        assert_eq!(s.frame(0.0), s.frame(1.0));
    }
}

//! Passive presentation-attack detection in one frame: Minivision's MiniFASNet pair
//! (Silent-Face-Anti-Spoofing, Apache-2.0), committed under `models/bundled/` and installed into
//! `models/` by `make setup` with their PRelus rewritten as SFace's and their pruned layers
//! widened with zero channels to whole blocks of 16, so that ORT keeps its fast blocked layout
//! throughout (the same outputs; 1.55 ms for both on the 2-core bench machine, README). With
//! two threads or more the two run side by side, each on half of them (`vision::runner`).
//!
//! Each model sees the face with a different amount of context: V2 a box 2.7× the face, V1SE
//! 4.0×, both cut from the frame as upstream's `CropImage` does (the enlarged box centred on the
//! face, capped to the frame's size, then *shifted* back inside the frame rather than clipped, so
//! the context stays the size the model was trained on), resized to 80×80 with OpenCV's bilinear
//! rule, BGR, 0..255, no normalisation. Each gives three logits (class 1 = real, 0 = 2-D spoof,
//! 2 = 3-D spoof); the score is the mean of the two softmax probabilities of "real".
//!
//! Upstream's boxes come from a RetinaFace whose box is larger than YuNet's, so the YuNet box is
//! first grown by [`BoxGeometry`] (calibrated on the dev data: see the README's liveness section).
//! The score is a texture signal (screen moiré, print dot patterns, glare, the frame of a device)
//! to combine with motion and the head turn, not a verdict on its own.

use image::RgbImage;
use ndarray::Array4;
use ort::session::Session;
use serde::Serialize;

use crate::Result;
use crate::runtime::Models;
use crate::vision::runner::{Lanes, NetRun, run_all};
use crate::vision::{BBox, Face};

/// The two models and the face-box scale each was trained with.
pub const MODELS: [(&str, f32); 2] = [("minifasnet_v2", 2.7), ("minifasnet_v1se", 4.0)];
/// Side of the square input both models take.
pub const INPUT_SIDE: usize = 80;
/// Each model's logits: 0 = 2-D spoof, 1 = real, 2 = 3-D spoof.
const CLASSES: usize = 3;
/// Index of the "real face" logit.
const REAL_CLASS: usize = 1;
/// One frame judged alone: below this live score it is called an attack. The lowest bona fide
/// score on msu_mfsd_frames is 0.9986 and the highest attack 0.9991 (one print), the next 0.9960;
/// so strict that it refuses most photos and video stills that are not phone-camera captures
/// (README), which is why an attempt does not use it.
pub const FRAME_THRESHOLD: f32 = 0.998;
/// What an attempt requires of a low quantile of its frames' scores (`auth::attempt::PadRule`):
/// the probability of "real" at least that of both spoof classes together, upstream's own
/// decision. The strict point above refuses 64 % of the real faces in ../shared/data (photos and
/// clip frames), this one 1.8 % (tests/pad.rs).
pub const ATTEMPT_THRESHOLD: f32 = 0.5;
/// Faces narrower than this (in frame pixels) carry too little texture to judge.
pub const MIN_FACE_SIDE: f32 = 24.0;

/// How a YuNet box is turned into the box upstream's detector would have drawn: scaled about its
/// centre by `scale`, and moved down by `shift_y` of its height (RetinaFace boxes sit lower, down
/// to the chin).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoxGeometry {
    pub scale: f32,
    pub shift_y: f32,
}

impl Default for BoxGeometry {
    /// Calibrated with `facegate eval pad --box-scale S --shift-y D` on msu_mfsd_frames and the
    /// minivision samples against our YuNet boxes (README, "Passive presentation-attack model").
    fn default() -> Self {
        BoxGeometry {
            scale: 1.0,
            shift_y: 0.0,
        }
    }
}

impl BoxGeometry {
    /// The upstream-style box for a YuNet box.
    pub fn apply(&self, b: &BBox) -> BBox {
        let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0 + self.shift_y * b.h);
        let (w, h) = (b.w * self.scale, b.h * self.scale);
        BBox {
            x: cx - w / 2.0,
            y: cy - h / 2.0,
            w,
            h,
        }
    }
}

/// One face's score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PadScore {
    /// Mean of the two models' probability that the face is real, 0..1.
    pub live: f32,
    /// Each model's probability of "real", in [`MODELS`] order.
    pub per_model: [f32; 2],
}

pub struct PadModel {
    sessions: [Session; 2],
    pub geometry: BoxGeometry,
    /// Each model's crop, in [`MODELS`] order.
    inputs: [Array4<f32>; 2],
    lanes: Lanes,
}

impl PadModel {
    /// Loads both models (each checked against the manifest's sha256 on the loaded bytes), to
    /// run side by side where there are two threads or more, each on half of them (one each on
    /// a 2-core machine), as a face's attribute networks do.
    pub fn new(models: &Models) -> Result<PadModel> {
        let lanes = Lanes::for_threads(models.intra_threads);
        let threads = lanes.session_threads(models.intra_threads);
        let input = || Array4::zeros((1, 3, INPUT_SIDE, INPUT_SIDE));
        Ok(PadModel {
            sessions: [
                models.session_with_threads(MODELS[0].0, threads)?,
                models.session_with_threads(MODELS[1].0, threads)?,
            ],
            geometry: BoxGeometry::default(),
            inputs: [input(), input()],
            lanes,
        })
    }

    /// The score of `face` in `img`, or None when its box cannot be judged (not finite, or
    /// smaller than [`MIN_FACE_SIDE`]).
    pub fn score(&mut self, img: &RgbImage, face: &Face) -> Result<Option<PadScore>> {
        let b = face.bbox;
        let finite = [b.x, b.y, b.w, b.h].iter().all(|v| v.is_finite());
        let tiny = b.w < MIN_FACE_SIDE || b.h < MIN_FACE_SIDE;
        if !finite || tiny || img.width() < 2 || img.height() < 2 {
            return Ok(None);
        }
        let face_box = self.geometry.apply(&b);
        for ((_, scale), input) in MODELS.iter().zip(&mut self.inputs) {
            fill_input(
                img,
                crop_box(img.width(), img.height(), &face_box, *scale),
                input,
            );
        }
        let runs = self
            .sessions
            .iter_mut()
            .zip(&self.inputs)
            .zip(MODELS)
            .map(|((session, input), (model, _))| NetRun {
                session,
                model,
                input_name: "input",
                input,
                output_name: "output",
                per_image: CLASSES,
            })
            .collect();
        let logits = run_all(runs, self.lanes)?;
        // The runner checked each output: one image's CLASSES finite logits.
        let real = |i: usize| {
            let logits: [f32; CLASSES] = logits[i][..].try_into().expect("checked by the runner");
            softmax(logits)[REAL_CLASS]
        };
        let per_model = [real(0), real(1)];
        Ok(Some(PadScore {
            live: (per_model[0] + per_model[1]) / 2.0,
            per_model,
        }))
    }
}

/// Inclusive pixel box `[x0, y0, x1, y1]` of the context crop for `face` at `scale`, exactly as
/// upstream's `CropImage._get_new_box` (scale capped so the box fits the frame; shifted, not
/// clipped; truncated to integers).
pub fn crop_box(width: u32, height: u32, face: &BBox, scale: f32) -> [u32; 4] {
    let (width, height) = (width.max(1), height.max(1));
    let (src_w, src_h) = (width as f32, height as f32);
    let scale = scale
        .min((src_h - 1.0) / face.h)
        .min((src_w - 1.0) / face.w);
    let (new_w, new_h) = (face.w * scale, face.h * scale);
    let (cx, cy) = (face.x + face.w / 2.0, face.y + face.h / 2.0);
    let (mut x0, mut y0) = (cx - new_w / 2.0, cy - new_h / 2.0);
    let (mut x1, mut y1) = (cx + new_w / 2.0, cy + new_h / 2.0);
    if x0 < 0.0 {
        x1 -= x0;
        x0 = 0.0;
    }
    if y0 < 0.0 {
        y1 -= y0;
        y0 = 0.0;
    }
    if x1 > src_w - 1.0 {
        x0 -= x1 - src_w + 1.0;
        x1 = src_w - 1.0;
    }
    if y1 > src_h - 1.0 {
        y0 -= y1 - src_h + 1.0;
        y1 = src_h - 1.0;
    }
    // Float-to-int casts saturate, and the clamp keeps a rounding overshoot inside the frame.
    let clamp = |v: f32, max: u32| (v as i64).clamp(0, max as i64) as u32;
    let (x0, y0) = (clamp(x0, width - 1), clamp(y0, height - 1));
    [
        x0,
        y0,
        clamp(x1, width - 1).max(x0),
        clamp(y1, height - 1).max(y0),
    ]
}

/// Resizes the inclusive `crop` of `img` to 80×80 into `out` as BGR planes, 0..255, with
/// OpenCV's `INTER_LINEAR` sampling (pixel centres aligned, no area averaging when shrinking):
/// the resize the models were trained behind.
fn fill_input(img: &RgbImage, crop: [u32; 4], out: &mut Array4<f32>) {
    let [x0, y0, x1, y1] = crop;
    let (cw, ch) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
    let (sx, sy) = (cw / INPUT_SIDE as f32, ch / INPUT_SIDE as f32);
    let taps = |d: usize, s: f32, len: f32| {
        let f = ((d as f32 + 0.5) * s - 0.5).max(0.0);
        let i = (f.floor() as u32).min(len as u32 - 1);
        let next = (i + 1).min(len as u32 - 1);
        (i, next, if i == next { 0.0 } else { f - i as f32 })
    };
    let xs: Vec<_> = (0..INPUT_SIDE).map(|d| taps(d, sx, cw)).collect();
    for dy in 0..INPUT_SIDE {
        let (ya, yb, fy) = taps(dy, sy, ch);
        for (dx, &(xa, xb, fx)) in xs.iter().enumerate() {
            let p = |x: u32, y: u32| img.get_pixel(x0 + x, y0 + y).0;
            let (a, b, c, d) = (p(xa, ya), p(xb, ya), p(xa, yb), p(xb, yb));
            for ch_rgb in 0..3 {
                let top = a[ch_rgb] as f32 * (1.0 - fx) + b[ch_rgb] as f32 * fx;
                let bottom = c[ch_rgb] as f32 * (1.0 - fx) + d[ch_rgb] as f32 * fx;
                // RGB → BGR: plane 0 is blue.
                out[[0, 2 - ch_rgb, dy, dx]] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
}

fn softmax(logits: [f32; CLASSES]) -> [f32; CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e = logits.map(|v| (v - max).exp());
    let sum: f32 = e.iter().sum();
    e.map(|v| v / sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bbox(x: f32, y: f32, w: f32, h: f32) -> BBox {
        BBox { x, y, w, h }
    }

    #[test]
    fn the_crop_is_shifted_inside_the_frame_not_clipped() {
        // Centred: 2× a 100-px face in a 640×480 frame.
        assert_eq!(
            crop_box(640, 480, &bbox(270.0, 190.0, 100.0, 100.0), 2.0),
            [220, 140, 420, 340]
        );
        // Near the left edge: moved right, same size.
        assert_eq!(
            crop_box(640, 480, &bbox(10.0, 190.0, 100.0, 100.0), 2.0),
            [0, 140, 200, 340]
        );
        // Near the bottom right: moved up and left to end on the last pixel.
        assert_eq!(
            crop_box(640, 480, &bbox(580.0, 420.0, 100.0, 100.0), 2.0),
            [439, 279, 639, 479]
        );
        // Too large for the frame: the scale is capped to fit.
        let [x0, y0, x1, y1] = crop_box(640, 480, &bbox(200.0, 100.0, 200.0, 200.0), 4.0);
        assert_eq!((y0, y1), (0, 479));
        assert!(x0 < x1 && x1 <= 639);
    }

    #[test]
    fn hostile_boxes_stay_inside_the_frame() {
        for b in [
            bbox(f32::NAN, 0.0, 50.0, 50.0),
            bbox(-1e9, 1e9, 50.0, 50.0),
            bbox(0.0, 0.0, 1e9, 1e9),
            bbox(5.0, 5.0, f32::INFINITY, 50.0),
        ] {
            let [x0, y0, x1, y1] = crop_box(64, 48, &b, 2.7);
            assert!(x0 <= x1 && x1 < 64 && y0 <= y1 && y1 < 48, "{b:?}");
        }
    }

    #[test]
    fn the_input_is_bgr_and_a_flat_crop_resizes_to_itself() {
        let img = RgbImage::from_pixel(200, 100, image::Rgb([10, 20, 30]));
        let mut out = Array4::zeros((1, 3, INPUT_SIDE, INPUT_SIDE));
        fill_input(&img, [3, 4, 160, 90], &mut out);
        assert!(
            out.index_axis(ndarray::Axis(1), 0)
                .iter()
                .all(|&v| v == 30.0)
        );
        assert!(
            out.index_axis(ndarray::Axis(1), 2)
                .iter()
                .all(|&v| v == 10.0)
        );
        // A 1-pixel crop does not divide by zero.
        fill_input(&img, [7, 7, 7, 7], &mut out);
        assert_eq!(out[[0, 1, 40, 40]], 20.0);
    }

    #[test]
    fn softmax_sums_to_one() {
        let p = softmax([0.0, 2.0, -1.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6 && p[1] > p[0]);
    }
}

//! Age and gender: dlib's Cydral networks (age also FaceGate's own, [`AgeNet`]), fed an RGB
//! "face chip" made by a similarity transform of the five YuNet landmarks onto
//! [`CHIP_TEMPLATE`], supersampled then box-averaged down.

use image::RgbImage;
use ndarray::Array4;
use serde::{Deserialize, Serialize};

use super::{AttributeModel, ensure_batch, run_probs};
use crate::Result;
use crate::vision::align::{Similarity, warp};

/// Where the five YuNet landmarks (eyes, nose tip, mouth corners) go on the age/gender chip, as
/// fractions of the chip side (MODELS.md): YuNet's points placed where dlib's 5-point face chip
/// with padding 0.2 puts a face, the framing the Cydral networks were trained on.
pub const CHIP_TEMPLATE: [[f32; 2]; 5] = [
    [0.3029, 0.2876],
    [0.6746, 0.2894],
    [0.4853, 0.5098],
    [0.3275, 0.6692],
    [0.6478, 0.6707],
];
/// Per-channel RGB means subtracted before the /256 scaling (dlib's `input_rgb_image`).
const CHIP_MEAN: [f32; 3] = [122.782, 117.001, 104.298];
/// The chip is warped at this multiple of its size, then box-averaged down: a plain bilinear warp
/// straight to 32 px aliases badly when the face is large.
const SUPERSAMPLE: u32 = 4;
pub const AGE_CHIP: u32 = 64;
pub const GENDER_CHIP: u32 = 32;
/// Age of each of the 81 classes: the first means "a baby", then one year per class.
const AGE_WEIGHTS: [f32; 81] = {
    let mut w = [0.0; 81];
    let mut i = 1;
    while i < 81 {
        w[i] = i as f32;
        i += 1;
    }
    w[0] = 0.25;
    w
};

/// The network that reads age. Both take the same 64 px chip, normalised the same way, and give
/// the same 81 classes: ours was trained to be a drop-in replacement.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum AgeNet {
    /// dlib's age-v1, CC0: the permissive choice.
    Dlib,
    /// FaceGate's own (`training/age_utk.py`), learnt from UTKFace, whose licence is
    /// non-commercial research only. The default: more accurate on adults (README).
    #[default]
    Trained,
}

impl AgeNet {
    /// Its name for people.
    pub fn describe(self) -> &'static str {
        match self {
            AgeNet::Dlib => "dlib's age-v1",
            AgeNet::Trained => "FaceGate's own network (training/age_utk.py)",
        }
    }

    pub fn model_id(self) -> &'static str {
        match self {
            AgeNet::Dlib => "age",
            AgeNet::Trained => "age_utk",
        }
    }
}

impl AttributeModel {
    /// Apparent age in years from the five landmarks (no size check: see [`analyze`](Self::analyze)).
    pub fn age(&mut self, img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Result<f32> {
        fill_chips(img, landmarks, AGE_CHIP, self.mirror, &mut self.age_input);
        let probs = run_probs(&mut self.age, "age", "images", &self.age_input, 81)?;
        Ok(probs.iter().zip(AGE_WEIGHTS).map(|(p, w)| p * w).sum())
    }

    /// Probability that the face is male, from the five landmarks.
    pub fn male_probability(&mut self, img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Result<f32> {
        fill_chips(
            img,
            landmarks,
            GENDER_CHIP,
            self.mirror,
            &mut self.gender_input,
        );
        let probs = run_probs(&mut self.gender, "gender", "images", &self.gender_input, 2)?;
        Ok(probs[1])
    }
}

/// The image → chip transform for a `size`-pixel chip warped at `SUPERSAMPLE`× its size.
/// A chip pixel averages the block of `SUPERSAMPLE`² warped pixels whose centres lie around
/// `SUPERSAMPLE·u + (SUPERSAMPLE − 1)/2`, so the template is placed there: the landmarks then
/// land exactly where a direct warp at `size` would put them.
///
/// `mirrored` gives the transform whose warp, flipped left-right, is the chip of the mirror
/// image (the image's left eye goes where the template's right eye is, and so on), so the
/// mirrored chip costs one more warp of the face and no copy of the photo.
fn chip_transform(landmarks: &[[f32; 2]; 5], size: u32, mirrored: bool) -> Similarity {
    let big = (size * SUPERSAMPLE) as f32;
    let offset = (SUPERSAMPLE - 1) as f32 / 2.0;
    let dst: [[f32; 2]; 5] = std::array::from_fn(|i| {
        if mirrored {
            // Swap left/right partners (eyes 0↔1, mouth corners 3↔4), reflect x.
            let [x, y] = CHIP_TEMPLATE[[1, 0, 2, 4, 3][i]];
            [big - 1.0 - (x * big + offset), y * big + offset]
        } else {
            let [x, y] = CHIP_TEMPLATE[i];
            [x * big + offset, y * big + offset]
        }
    });
    Similarity::estimate(landmarks, &dst)
}

/// Box-averages a `SUPERSAMPLE`× warp into `size`×`size` per-channel means (0..255), reading it
/// flipped left-right when `flip`.
fn box_down(big: &RgbImage, size: u32, flip: bool, mut put: impl FnMut(usize, u32, u32, f32)) {
    let k = SUPERSAMPLE;
    let norm = 1.0 / (k * k) as f32;
    let last = size * k - 1;
    for cy in 0..size {
        for cx in 0..size {
            let mut sum = [0u32; 3];
            for y in cy * k..(cy + 1) * k {
                for x in cx * k..(cx + 1) * k {
                    let p = big.get_pixel(if flip { last - x } else { x }, y);
                    for c in 0..3 {
                        sum[c] += p[c] as u32;
                    }
                }
            }
            for (c, s) in sum.iter().enumerate() {
                put(c, cx, cy, *s as f32 * norm);
            }
        }
    }
}

/// Writes the normalised chip (and its mirror, as the second batch item, when `mirror`) into a
/// [N,3,size,size] tensor.
fn fill_chips(
    img: &RgbImage,
    landmarks: &[[f32; 2]; 5],
    size: u32,
    mirror: bool,
    out: &mut Array4<f32>,
) {
    ensure_batch(out, if mirror { 2 } else { 1 });
    for (b, mirrored) in [false, true].into_iter().take(out.dim().0).enumerate() {
        let big = warp(
            img,
            &chip_transform(landmarks, size, mirrored),
            size * SUPERSAMPLE,
        );
        box_down(&big, size, mirrored, |c, x, y, v| {
            out[[b, c, y as usize, x as usize]] = (v - CHIP_MEAN[c]) / 256.0;
        });
    }
}

/// The age/gender chip as an image (`size` 64 for age, 32 for gender), for inspection and
/// tests; the models get the unrounded averages. `mirrored`: the chip of the mirror image.
pub fn age_gender_chip(
    img: &RgbImage,
    landmarks: &[[f32; 2]; 5],
    size: u32,
    mirrored: bool,
) -> RgbImage {
    let big = warp(
        img,
        &chip_transform(landmarks, size, mirrored),
        size * SUPERSAMPLE,
    );
    let mut chip = RgbImage::new(size, size);
    box_down(&big, size, mirrored, |c, x, y, v| {
        chip.get_pixel_mut(x, y)[c] = v.round() as u8;
    });
    chip
}

#[cfg(test)]
mod tests {
    use image::{Rgb, imageops};

    use super::*;

    #[test]
    fn age_weights_are_dlibs() {
        assert_eq!(AGE_WEIGHTS[0], 0.25);
        assert_eq!(AGE_WEIGHTS[1], 1.0);
        assert_eq!(AGE_WEIGHTS[80], 80.0);
    }

    #[test]
    fn chip_puts_landmarks_on_the_template() {
        // Landmarks on a synthetic image: dots of distinct colours where the five points are.
        let lm = [
            [60.0, 70.0],
            [100.0, 72.0],
            [80.0, 95.0],
            [63.0, 115.0],
            [98.0, 116.0],
        ];
        let t = chip_transform(&lm, 64, false);
        // The fitted points land within a pixel of the template at the 4× scale (the landmarks
        // above are not exactly a similarity image of the template, so not closer).
        for (p, q) in lm.iter().zip(CHIP_TEMPLATE) {
            let [x, y] = t.apply(*p);
            let (ex, ey) = (q[0] * 256.0 + 1.5, q[1] * 256.0 + 1.5);
            assert!(
                (x - ex).abs() < 8.0 && (y - ey).abs() < 8.0,
                "{x},{y} vs {ex},{ey}"
            );
        }
        // A uniform image gives a uniform chip inside and black outside the source.
        let img = RgbImage::from_pixel(200, 200, Rgb([200, 100, 50]));
        let chip = age_gender_chip(&img, &lm, 32, false);
        assert_eq!(chip.dimensions(), (32, 32));
        assert_eq!(chip.get_pixel(16, 16), &Rgb([200, 100, 50]));
    }

    #[test]
    fn mirrored_chip_is_the_chip_of_the_mirrored_image() {
        let (w, h) = (160u32, 180u32);
        let img = RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x * y) % 251) as u8,
            ])
        });
        let flipped = imageops::flip_horizontal(&img);
        let lm = [
            [60.0, 70.0],
            [100.0, 72.0],
            [80.0, 95.0],
            [63.0, 115.0],
            [98.0, 116.0],
        ];
        let m = |p: [f32; 2]| [(w - 1) as f32 - p[0], p[1]];
        let lm_flipped = [m(lm[1]), m(lm[0]), m(lm[2]), m(lm[4]), m(lm[3])];
        for size in [GENDER_CHIP, AGE_CHIP] {
            let a = age_gender_chip(&img, &lm, size, true);
            let b = age_gender_chip(&flipped, &lm_flipped, size, false);
            let worst = a
                .pixels()
                .zip(b.pixels())
                .flat_map(|(p, q)| (0..3).map(move |c| (p[c] as i32 - q[c] as i32).abs()))
                .max()
                .unwrap();
            assert!(worst <= 1, "size {size}: max difference {worst}");
        }
    }
}

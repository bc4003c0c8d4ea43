//! Age and gender: dlib's Cydral networks (age also FaceGate's own, [`AgeNet`]), fed an RGB
//! "face chip" made by a similarity transform of the five YuNet landmarks onto
//! [`CHIP_TEMPLATE`], supersampled (as much as the face's size needs) then box-averaged down.

use image::RgbImage;
use ndarray::Array4;
use serde::{Deserialize, Serialize};

use super::{AttributeModel, Read, ensure_batch};
use crate::Result;
use crate::vision::align::{Similarity, warp_box_sums};

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
/// The chip is warped at up to this multiple of its size, then box-averaged down: a plain
/// bilinear warp straight to 32 px aliases badly when the face is large.
const MAX_SUPERSAMPLE: u32 = 4;
pub const AGE_CHIP: u32 = 64;
pub const GENDER_CHIP: u32 = 32;
/// How many age classes the networks answer.
pub(super) const AGE_CLASSES: usize = 81;
/// Age of each of the 81 classes: the first means "a baby", then one year per class.
const AGE_WEIGHTS: [f32; AGE_CLASSES] = {
    let mut w = [0.0; AGE_CLASSES];
    let mut i = 1;
    while i < AGE_CLASSES {
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

    /// Whether the face's mirror image is read too (when [`AttributeModel::mirror`] is on).
    /// Not for ours: the mirror steadies one frame's answer (it spreads 0.64 years under 0.5 px
    /// of landmark jitter with it, 0.89 without) and lowers its error by 0.03 years (6.30
    /// against 6.33 on UTKFace part 1 adults, noise beside the 0.1 standard error), for 0.35-0.65
    /// ms a face (README, speed). The on-screen card averages over frames anyway ([`super::Smoother`]):
    /// with its weight of 0.3 a frame, jitter independent from frame to frame is narrowed to
    /// about 0.4 of itself, below what the mirror alone gave.
    pub fn mirrored(self) -> bool {
        match self {
            AgeNet::Dlib => true,
            AgeNet::Trained => false,
        }
    }
}

/// What the age and gender networks say about one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeGender {
    /// Apparent age in years (expectation over the 81 classes, so 0.25..80).
    pub age: f32,
    /// Probability that the face is male.
    pub male: f32,
}

impl AgeGender {
    /// The answer from the age network's 81 class probabilities (their expectation) and the
    /// gender network's two (female, male).
    pub(super) fn from_probabilities(age: &[f32], gender: &[f32]) -> AgeGender {
        AgeGender {
            age: age.iter().zip(AGE_WEIGHTS).map(|(p, w)| p * w).sum(),
            male: gender[1],
        }
    }
}

impl AttributeModel {
    /// Age and gender from the five landmarks (no size check: see [`analyze`](Self::analyze)).
    pub fn age_and_gender(
        &mut self,
        img: &RgbImage,
        landmarks: &[[f32; 2]; 5],
    ) -> Result<AgeGender> {
        self.prepare_age_gender(img, landmarks);
        let read = self.read(Read {
            age_gender: true,
            emotion: false,
        })?;
        Ok(read.age_gender.expect("asked for age and gender"))
    }

    /// Fills the age and gender inputs. One warp serves both networks: the gender chip is the
    /// age chip's 2×2 average.
    pub(super) fn prepare_age_gender(&mut self, img: &RgbImage, landmarks: &[[f32; 2]; 5]) {
        let sums = ChipSums::new(img, landmarks);
        let mirror = self.mirror && self.nets.age.mirrored();
        fill_chips(&sums, AGE_CHIP, mirror, &mut self.age_input);
        // Gender reads the face only: its mirror no longer buys accuracy (UTKFace part 1 adults
        // 96.8 % with it, 97.0 % without; LFW-a 95.9 / 95.8 %) nor steadiness (with landmarks
        // jittered by up to 0.5 px, 1.0 % of 500 adults' answers flip with it, 0.6 % without),
        // and costs about 0.2 ms a face.
        fill_chips(&sums, GENDER_CHIP, false, &mut self.gender_input);
    }
}

/// How many samples per chip pixel side the face needs: enough that neighbouring samples are at
/// most 2 image pixels apart, so every image pixel reaches the box average through some sample's
/// 2×2 bilinear footprint. A desk webcam's face is about 3 image pixels a chip pixel, so 2 (a
/// quarter of the samples of a fixed 4×, the bulk of the chip's time). On UTKFace part 1 (3.3 px
/// a chip pixel) 2 instead of 4 moved our age MAE on adults from 6.31 to 6.34 years and gender
/// from 96.88 to 96.91 %: noise beside the standard error (0.1 years, 0.3 points).
fn supersample(landmarks: &[[f32; 2]; 5]) -> u32 {
    let image_px_per_chip_px = 1.0 / chip_transform(landmarks, 1).scale();
    (image_px_per_chip_px / 2.0)
        .ceil()
        .clamp(1.0, MAX_SUPERSAMPLE as f32) as u32
}

/// The image → `k`×-supersampled age chip transform. A chip pixel averages the block of k²
/// warped pixels whose centres lie around `k·u + (k − 1)/2`, so the template is placed there:
/// the landmarks then land exactly where a direct warp at 64 px would put them (and a quarter of
/// a pixel up and left of it on the 32 px gender chip).
fn chip_transform(landmarks: &[[f32; 2]; 5], k: u32) -> Similarity {
    let big = (AGE_CHIP * k) as f32;
    let offset = (k - 1) as f32 / 2.0;
    let dst = CHIP_TEMPLATE.map(|[x, y]| [x * big + offset, y * big + offset]);
    Similarity::estimate(landmarks, &dst)
}

/// The 64 px chip as per-channel sums of k² bilinear samples a pixel, row-major.
struct ChipSums {
    sums: Vec<[u32; 3]>,
    k: u32,
}

impl ChipSums {
    fn new(img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Self {
        let k = supersample(landmarks);
        let side = AGE_CHIP as usize;
        let mut sums = vec![[0u32; 3]; side * side];
        warp_box_sums(
            img,
            &chip_transform(landmarks, k),
            AGE_CHIP,
            k,
            |x, y, s| {
                sums[y as usize * side + x as usize] = s;
            },
        );
        ChipSums { sums, k }
    }

    /// The `size`-pixel chip's per-channel means (0..255): `put(c, x, y, mean)`.
    fn means(&self, size: u32, mut put: impl FnMut(usize, u32, u32, f32)) {
        let f = AGE_CHIP / size;
        let norm = 1.0 / (f * f * self.k * self.k) as f32;
        for y in 0..size {
            for x in 0..size {
                let mut sum = [0u32; 3];
                for sy in y * f..(y + 1) * f {
                    for sx in x * f..(x + 1) * f {
                        let s = self.sums[(sy * AGE_CHIP + sx) as usize];
                        (0..3).for_each(|c| sum[c] += s[c]);
                    }
                }
                for (c, s) in sum.into_iter().enumerate() {
                    put(c, x, y, s as f32 * norm);
                }
            }
        }
    }
}

/// Writes the normalised `size`-pixel chip into a [N,3,size,size] tensor, and, when `mirror`,
/// its left-right flip as the second batch item: the mirror the networks were trained with
/// (dlib's and `training/age_utk.py` flip the chip).
fn fill_chips(sums: &ChipSums, size: u32, mirror: bool, out: &mut Array4<f32>) {
    ensure_batch(out, if mirror { 2 } else { 1 });
    sums.means(size, |c, x, y, v| {
        let v = (v - CHIP_MEAN[c]) / 256.0;
        let (x, y) = (x as usize, y as usize);
        out[[0, c, y, x]] = v;
        if mirror {
            out[[1, c, y, size as usize - 1 - x]] = v;
        }
    });
}

/// The age/gender chip as an image (`size` 64 for age, 32 for gender), for inspection and
/// tests; the networks get the unrounded averages.
pub fn age_gender_chip(img: &RgbImage, landmarks: &[[f32; 2]; 5], size: u32) -> RgbImage {
    assert!(
        size == AGE_CHIP || size == GENDER_CHIP,
        "chips are {AGE_CHIP} or {GENDER_CHIP} px"
    );
    let mut chip = RgbImage::new(size, size);
    ChipSums::new(img, landmarks).means(size, |c, x, y, v| {
        chip.get_pixel_mut(x, y)[c] = v.round() as u8;
    });
    chip
}

#[cfg(test)]
mod tests {
    use image::Rgb;

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
        let t = chip_transform(&lm, 4);
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
        let chip = age_gender_chip(&img, &lm, 32);
        assert_eq!(chip.dimensions(), (32, 32));
        assert_eq!(chip.get_pixel(16, 16), &Rgb([200, 100, 50]));
    }

    #[test]
    fn supersampling_follows_the_face_size_and_keeps_fine_detail_from_aliasing() {
        let small = [
            [60.0, 70.0],
            [100.0, 72.0],
            [80.0, 95.0],
            [63.0, 115.0],
            [98.0, 116.0],
        ];
        let large = small.map(|[x, y]| [4.0 * x, 4.0 * y]);
        // 1.7 and 6.7 image pixels a chip pixel.
        assert_eq!(supersample(&small), 1);
        assert_eq!(supersample(&large), 4);
        // Pixel noise under a large face: a chip pixel should average the image pixels it
        // covers, so its spread shrinks as an area average's does; one bilinear sample a pixel
        // reads just four of them and passes most of the noise on as aliasing.
        let img = RgbImage::from_fn(800, 800, |x, y| {
            Rgb([(x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)) as u8; 3])
        });
        let chip = age_gender_chip(&img, &large, AGE_CHIP);
        let plain = crate::vision::align::warp(&img, &chip_transform(&large, 1), AGE_CHIP);
        let spread = |c: &RgbImage| {
            let v: Vec<f32> = (16..48)
                .flat_map(|y| (16..48).map(move |x| (x, y)))
                .map(|(x, y)| f32::from(c.get_pixel(x, y)[0]))
                .collect();
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            (v.iter().map(|p| (p - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
        };
        let (chip, plain) = (spread(&chip), spread(&plain));
        println!("noise: chip pixels' standard deviation {chip:.1} supersampled, {plain:.1} plain");
        assert!(chip < plain / 3.0, "{chip} vs {plain}");
    }

    #[test]
    fn gender_chip_is_the_age_chip_halved() {
        let img = RgbImage::from_fn(160, 180, |x, y| {
            Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x * y) % 251) as u8,
            ])
        });
        let lm = [
            [60.0, 70.0],
            [100.0, 72.0],
            [80.0, 95.0],
            [63.0, 115.0],
            [98.0, 116.0],
        ];
        let age = age_gender_chip(&img, &lm, AGE_CHIP);
        let gender = age_gender_chip(&img, &lm, GENDER_CHIP);
        let mut worst = 0;
        for (x, y, p) in gender.enumerate_pixels() {
            for c in 0..3 {
                let block: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                    .map(|(dx, dy)| u32::from(age.get_pixel(2 * x + dx, 2 * y + dy)[c]))
                    .iter()
                    .sum();
                worst = worst.max((block as f32 / 4.0 - f32::from(p[c])).abs() as i32);
            }
        }
        // Rounding the age chip first moves a mean by at most 1.
        assert!(worst <= 1, "max difference {worst}");
    }
}

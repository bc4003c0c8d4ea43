//! Optional photometric normalisation of the aligned face chip before it is embedded.
//!
//! Users of older face-unlock tools ask for these (greyscale, brightness normalisation, contrast
//! equalisation) because hand-made features needed them. The embedders FaceGate uses were trained
//! on raw colour chips, so each option is a setting, off by default, whose effect on LFW is
//! measured with `facegate eval pairs --preprocess ...` (figures in the README) rather than assumed.

use image::{GrayImage, Luma, RgbImage};
use serde::{Deserialize, Serialize};

use super::AlignedFace;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preprocess {
    /// The chip as the camera saw it.
    #[default]
    None,
    /// Luma only, copied into the three channels the embedder expects.
    Grey,
    /// Gain so the chip's mean luma is mid-grey: cancels exposure, keeps colour and contrast.
    Brightness,
    /// Histogram-equalised luma with the chroma kept: spreads a flat, dim face over the full range.
    Equalize,
}

/// Mean luma a brightness-normalised chip is scaled to.
const TARGET_MEAN: f32 = 128.0;
/// Bounds on the brightness gain, so a black or blown-out frame is not amplified into noise.
const GAIN_RANGE: (f32, f32) = (0.4, 3.0);

fn luma(p: &image::Rgb<u8>) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

impl Preprocess {
    /// Suffix that keeps cached embeddings of differently preprocessed chips apart.
    pub fn cache_suffix(self) -> &'static str {
        match self {
            Preprocess::None => "",
            Preprocess::Grey => "-grey",
            Preprocess::Brightness => "-brightness",
            Preprocess::Equalize => "-equalize",
        }
    }

    pub fn apply(self, face: AlignedFace) -> AlignedFace {
        let image = match self {
            Preprocess::None => return face,
            Preprocess::Grey => grey(&face.image),
            Preprocess::Brightness => brightness(&face.image),
            Preprocess::Equalize => equalize(&face.image),
        };
        AlignedFace { image, ..face }
    }
}

fn grey(img: &RgbImage) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let v = to_u8(luma(img.get_pixel(x, y)));
        image::Rgb([v, v, v])
    })
}

fn brightness(img: &RgbImage) -> RgbImage {
    let n = (img.width() * img.height()).max(1) as f32;
    let mean = img.pixels().map(luma).sum::<f32>() / n;
    let gain = (TARGET_MEAN / mean.max(1.0)).clamp(GAIN_RANGE.0, GAIN_RANGE.1);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        p.0 = p.0.map(|c| to_u8(c as f32 * gain));
    }
    out
}

fn equalize(img: &RgbImage) -> RgbImage {
    let y = GrayImage::from_fn(img.width(), img.height(), |x, y| {
        Luma([to_u8(luma(img.get_pixel(x, y)))])
    });
    let eq = imageproc::contrast::equalize_histogram(&y);
    // Shifting all three channels by the luma change moves brightness only; hue and saturation
    // stay, which a colour-trained embedder relies on.
    RgbImage::from_fn(img.width(), img.height(), |x, yy| {
        let d = eq.get_pixel(x, yy)[0] as f32 - y.get_pixel(x, yy)[0] as f32;
        image::Rgb(img.get_pixel(x, yy).0.map(|c| to_u8(c as f32 + d)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::align::Similarity;

    fn chip(f: impl Fn(u32, u32) -> [u8; 3]) -> AlignedFace {
        AlignedFace {
            image: RgbImage::from_fn(112, 112, |x, y| image::Rgb(f(x, y))),
            transform: Similarity {
                a: 1.0,
                b: 0.0,
                tx: 0.0,
                ty: 0.0,
            },
        }
    }

    fn mean_luma(img: &RgbImage) -> f32 {
        img.pixels().map(luma).sum::<f32>() / (img.width() * img.height()) as f32
    }

    #[test]
    fn grey_has_equal_channels() {
        let out = Preprocess::Grey.apply(chip(|x, y| [x as u8, y as u8, 200]));
        assert!(out.image.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    }

    #[test]
    fn brightness_brings_a_dark_chip_to_mid_grey() {
        let dark = chip(|x, y| [(x / 2) as u8 + 20, (y / 2) as u8 + 20, 40]);
        let before = mean_luma(&dark.image);
        let out = Preprocess::Brightness.apply(dark);
        let after = mean_luma(&out.image);
        println!("brightness: mean luma {before:.1} -> {after:.1}");
        assert!((after - TARGET_MEAN).abs() < 4.0, "mean luma {after}");
    }

    #[test]
    fn equalize_spreads_a_flat_chip() {
        let flat = chip(|x, _| [100 + (x % 20) as u8, 100 + (x % 20) as u8, 100]);
        let out = Preprocess::Equalize.apply(flat);
        let (lo, hi) = out
            .image
            .pixels()
            .map(luma)
            .fold((255f32, 0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
        println!("equalize: luma range {lo:.0}..{hi:.0}");
        assert!(hi - lo > 150.0, "range {lo}..{hi}");
    }

    #[test]
    fn none_is_untouched() {
        let c = chip(|x, y| [x as u8, y as u8, 7]);
        let before = c.image.clone();
        assert_eq!(Preprocess::None.apply(c).image, before);
    }
}

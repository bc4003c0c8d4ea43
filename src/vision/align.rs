//! Similarity alignment: rotate, scale and shift a face so its five landmarks land on a template.

use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{Border, Interpolation, warp_into_with};

use super::face::Face;

/// InsightFace's ArcFace template for a 112×112 crop, which SFace and w600k_mbf were trained on.
pub const ARCFACE_112: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// A 2-D similarity transform `p ↦ [a −b; b a]·p + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    /// Least-squares fit taking `src` onto `dst` (Umeyama 1991, restricted to 2-D where the
    /// rotation-plus-scale has the closed form below and reflections cannot arise).
    pub fn estimate(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Similarity {
        assert_eq!(src.len(), dst.len());
        let n = src.len() as f64;
        let mean = |pts: &[[f32; 2]]| {
            let (sx, sy) = pts
                .iter()
                .fold((0.0, 0.0), |(x, y), p| (x + p[0] as f64, y + p[1] as f64));
            (sx / n, sy / n)
        };
        let (msx, msy) = mean(src);
        let (mdx, mdy) = mean(dst);
        let (mut dot, mut cross, mut norm) = (0.0f64, 0.0f64, 0.0f64);
        for (s, d) in src.iter().zip(dst) {
            let (sx, sy) = (s[0] as f64 - msx, s[1] as f64 - msy);
            let (dx, dy) = (d[0] as f64 - mdx, d[1] as f64 - mdy);
            dot += sx * dx + sy * dy;
            cross += sx * dy - sy * dx;
            norm += sx * sx + sy * sy;
        }
        let (a, b) = if norm > 0.0 {
            (dot / norm, cross / norm)
        } else {
            (1.0, 0.0)
        };
        Similarity {
            a: a as f32,
            b: b as f32,
            tx: (mdx - (a * msx - b * msy)) as f32,
            ty: (mdy - (b * msx + a * msy)) as f32,
        }
    }

    pub fn apply(&self, [x, y]: [f32; 2]) -> [f32; 2] {
        [
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        ]
    }

    pub fn inverse(&self) -> Similarity {
        let det = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / det, -self.b / det);
        Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }

    pub fn scale(&self) -> f32 {
        (self.a * self.a + self.b * self.b).sqrt()
    }
}

/// Warps `img` so that `to_crop` maps image pixels onto a `size`×`size` crop (bilinear, black
/// outside the image, as OpenCV's `warpAffine` does).
pub fn warp(img: &RgbImage, to_crop: &Similarity, size: u32) -> RgbImage {
    let inv = to_crop.inverse();
    let mut out = RgbImage::new(size, size);
    warp_into_with(
        img,
        move |x, y| {
            let [sx, sy] = inv.apply([x, y]);
            (sx, sy)
        },
        Interpolation::Bilinear,
        Border::Constant(Rgb([0, 0, 0])),
        &mut out,
    );
    out
}

/// A face cropped to the ArcFace 112×112 template.
#[derive(Debug, Clone)]
pub struct AlignedFace {
    pub image: RgbImage,
    /// Image → crop transform, kept so callers can map points between the two.
    pub transform: Similarity,
}

pub fn align_arcface(img: &RgbImage, face: &Face) -> AlignedFace {
    let transform = Similarity::estimate(&face.landmarks, &ARCFACE_112);
    AlignedFace {
        image: warp(img, &transform, 112),
        transform,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_similarity_exactly() {
        let truth = Similarity {
            a: 0.8,
            b: -0.3,
            tx: 12.0,
            ty: -5.0,
        };
        let src = [
            [10.0, 20.0],
            [40.0, 22.0],
            [25.0, 35.0],
            [12.0, 50.0],
            [38.0, 51.0],
        ];
        let dst = src.map(|p| truth.apply(p));
        let fit = Similarity::estimate(&src, &dst);
        for (p, q) in src.iter().zip(&dst) {
            let got = fit.apply(*p);
            assert!(
                (got[0] - q[0]).abs() < 1e-3 && (got[1] - q[1]).abs() < 1e-3,
                "{got:?} vs {q:?}"
            );
        }
        let back = fit.inverse().apply(fit.apply([3.0, 4.0]));
        assert!((back[0] - 3.0).abs() < 1e-4 && (back[1] - 4.0).abs() < 1e-4);
    }
}

//! Similarity alignment: rotate, scale and shift a face so its five landmarks land on a template.

use image::RgbImage;

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
///
/// Bit-for-bit the arithmetic of `imageproc`'s `warp_into_with(.., Bilinear, Border::Constant
/// (black))`, which this replaced (its generic per-pixel closure and border checks cost ~0.6 ms a
/// face): the same f32 expressions in the same order, and the same truncation to u8 after the
/// horizontal and then the vertical blend, so stored embeddings keep matching. A test pins it.
pub fn warp(img: &RgbImage, to_crop: &Similarity, size: u32) -> RgbImage {
    let sampler = Bilinear::new(img);
    let inv = to_crop.inverse();
    let side = size as usize;
    let mut out = vec![0u8; side * side * 3];
    for (y, row) in out.chunks_exact_mut(side * 3).enumerate() {
        for (x, dst) in row.chunks_exact_mut(3).enumerate() {
            dst.copy_from_slice(&sampler.at(inv.apply([x as f32, y as f32])));
        }
    }
    RgbImage::from_raw(size, size, out).expect("buffer sized size×size×3")
}

/// Warps `img` at `k`× a `size`×`size` crop and sums each k×k block of the warped pixels, without
/// making the large image: `put(x, y, sums)` gets every crop pixel's per-channel sum (divide by
/// k² for the box average). Exactly the sums of `warp` at `size·k` (a test pins it).
pub fn warp_box_sums(
    img: &RgbImage,
    to_big: &Similarity,
    size: u32,
    k: u32,
    mut put: impl FnMut(u32, u32, [u32; 3]),
) {
    let sampler = Bilinear::new(img);
    let inv = to_big.inverse();
    // One warped row at a time, added into its blocks: the long inner loop of `warp`, and no
    // large image.
    let mut row = vec![[0u8; 3]; (size * k) as usize];
    let mut sums = vec![[0u32; 3]; size as usize];
    for cy in 0..size {
        sums.fill([0; 3]);
        for y in cy * k..(cy + 1) * k {
            for (x, p) in row.iter_mut().enumerate() {
                *p = sampler.at(inv.apply([x as f32, y as f32]));
            }
            for (sum, block) in sums.iter_mut().zip(row.chunks_exact(k as usize)) {
                for p in block {
                    (0..3).for_each(|c| sum[c] += u32::from(p[c]));
                }
            }
        }
        for (cx, sum) in sums.iter().enumerate() {
            put(cx as u32, cy, *sum);
        }
    }
}

/// `x.floor() as i64` without the call: x86-64's baseline has no rounding instruction, so
/// `f32::floor` is a libm call (7 % of a sample's time under perf). Exact for every |x| < 2⁶³.
#[inline]
fn floor(x: f32) -> i64 {
    let t = x as i64;
    if (t as f32) > x { t - 1 } else { t }
}

/// Bilinear reads of an RGB image, black outside it: the one sampling rule of every warp here.
struct Bilinear<'a> {
    src: &'a [u8],
    w: i64,
    h: i64,
    stride: usize,
}

impl<'a> Bilinear<'a> {
    fn new(img: &'a RgbImage) -> Self {
        Bilinear {
            src: img.as_raw(),
            w: i64::from(img.width()),
            h: i64::from(img.height()),
            stride: img.width() as usize * 3,
        }
    }

    fn pixel(&self, x: i64, y: i64) -> [f32; 3] {
        if x < 0 || x >= self.w || y < 0 || y >= self.h {
            [0.0; 3]
        } else {
            let i = y as usize * self.stride + x as usize * 3;
            [
                f32::from(self.src[i]),
                f32::from(self.src[i + 1]),
                f32::from(self.src[i + 2]),
            ]
        }
    }

    #[inline]
    fn at(&self, [sx, sy]: [f32; 2]) -> [u8; 3] {
        let (left, top) = (floor(sx), floor(sy));
        if left < -1 || left >= self.w || top < -1 || top >= self.h {
            return [0; 3]; // all four neighbours outside
        }
        let (rw, bw) = (sx - left as f32, sy - top as f32);
        let (tl, tr) = (self.pixel(left, top), self.pixel(left + 1, top));
        let (bl, br) = (self.pixel(left, top + 1), self.pixel(left + 1, top + 1));
        let mut out = [0u8; 3];
        for c in 0..3 {
            // `as u8` truncates and saturates, exactly imageproc's Clamp<f32> for u8.
            let t = ((1f32 - rw) * tl[c] + rw * tr[c]) as u8 as f32;
            let b = ((1f32 - rw) * bl[c] + rw * br[c]) as u8 as f32;
            out[c] = ((1f32 - bw) * t + bw * b) as u8;
        }
        out
    }
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
    fn box_sums_are_the_big_warps_blocks() {
        let img = RgbImage::from_fn(90, 70, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x * y) % 251) as u8,
            ])
        });
        // Rotated, scaled, and reaching past the image's edge, so the black border counts too.
        let t = Similarity {
            a: 0.9,
            b: 0.3,
            tx: -10.0,
            ty: 5.0,
        };
        let (size, k) = (12u32, 4u32);
        let big = warp(&img, &t, size * k);
        let mut checked = 0;
        warp_box_sums(&img, &t, size, k, |x, y, sums| {
            for (c, sum) in sums.iter().enumerate() {
                let mut want = 0u32;
                for by in y * k..(y + 1) * k {
                    for bx in x * k..(x + 1) * k {
                        want += u32::from(big.get_pixel(bx, by)[c]);
                    }
                }
                assert_eq!(*sum, want, "pixel {x},{y} channel {c}");
            }
            checked += 1;
        });
        assert_eq!(checked, size * size);
    }

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

    /// The hand-written warp must give imageproc's bytes exactly, borders included.
    #[test]
    fn warp_matches_imageproc_bit_for_bit() {
        use image::Rgb;
        use imageproc::geometric_transformations::{Border, Interpolation, warp_into_with};
        let mut seed = 12345u32;
        let mut rand = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        let img = RgbImage::from_fn(97, 61, |_, _| {
            Rgb([rand() as u8, rand() as u8, rand() as u8])
        });
        for (a, b, tx, ty) in [
            (1.0, 0.0, 0.0, 0.0),
            (0.9, 0.2, -10.0, 5.0),
            (2.3, -0.7, 40.0, -60.0),
            (0.37, 0.11, 3.5, 20.25),
            (-1.1, 0.4, 150.0, 30.0),
        ] {
            let t = Similarity { a, b, tx, ty };
            let ours = warp(&img, &t, 112);
            let inv = t.inverse();
            let mut theirs = RgbImage::new(112, 112);
            warp_into_with(
                &img,
                move |x, y| {
                    let [sx, sy] = inv.apply([x, y]);
                    (sx, sy)
                },
                Interpolation::Bilinear,
                Border::Constant(Rgb([0, 0, 0])),
                &mut theirs,
            );
            assert!(ours == theirs, "warp differs from imageproc for {t:?}");
        }
    }
}

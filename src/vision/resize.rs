//! The one image downscale of the pipeline (the detector's frame, the emotion crop):
//! `fast_image_resize`'s bilinear convolution, whose support widens with the scale factor. That
//! is the filter of `image`'s `FilterType::Triangle`, which it replaced, so callers see the same
//! pixels to within rounding; its SIMD kernels made a 640×480 frame ~5 ms cheaper.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::{Error, Result};

/// A resizer and its output buffer, kept across frames so the per-frame path allocates nothing.
#[derive(Default)]
pub struct Downscaler {
    resizer: Resizer,
    out: Vec<u8>,
}

impl Downscaler {
    /// Resizes a `w`×`h` buffer of `pixel`s (`U8` grey or `U8x3` RGB) to `dw`×`dh`; the result
    /// lives in the reused buffer. A failure (`fast_image_resize`'s: a buffer of the wrong size)
    /// is reported against `model`, the network the pixels were for.
    pub fn resize(
        &mut self,
        src: &[u8],
        (w, h): (u32, u32),
        pixel: PixelType,
        (dw, dh): (u32, u32),
        model: &'static str,
    ) -> Result<&[u8]> {
        let fail = |e: String| Error::inference(model)(ort::Error::new(e));
        let src = ImageRef::new(w, h, src, pixel).map_err(|e| fail(e.to_string()))?;
        self.out.resize(dw as usize * dh as usize * pixel.size(), 0);
        let mut dst =
            Image::from_slice_u8(dw, dh, &mut self.out, pixel).map_err(|e| fail(e.to_string()))?;
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        self.resizer
            .resize(&src, &mut dst, &options)
            .map_err(|e| fail(e.to_string()))?;
        Ok(&self.out)
    }
}

/// The `w`×`h` region of `img` at (`x`, `y`), resized to `dw`×`dh` with the same filter, read in
/// place: cutting the region out first held a second copy of a photo whose face fills it (a
/// 12000² capture peaked at 957 MB, twice the decode cap; red team, session 30). `None` only
/// for a region outside `img`.
pub fn region(
    img: &image::RgbImage,
    (x, y, w, h): (u32, u32, u32, u32),
    (dw, dh): (u32, u32),
) -> Option<image::RgbImage> {
    let src = ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3).ok()?;
    let mut dst = Image::new(dw, dh, PixelType::U8x3);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .crop(f64::from(x), f64::from(y), f64::from(w), f64::from(h));
    Resizer::new().resize(&src, &mut dst, &options).ok()?;
    image::RgbImage::from_raw(dw, dh, dst.into_vec())
}

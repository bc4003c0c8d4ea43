//! Images from the worker turned into GPU textures, each uploaded once.

use std::collections::HashMap;

use egui::{ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;
use uuid::Uuid;

/// The largest side an image is shown at: a screen shows no more, and the GPU may take no more
/// (egui panics on a texture over its `max_texture_side`, 8192 px or less on many drivers, while
/// FaceGate reads images of up to 12,000 px a side).
const MAX_SHOWN_SIDE: u32 = 4096;

/// `img` as egui pixels, shrunk (keeping its shape) when it is larger than this GPU or
/// [`MAX_SHOWN_SIDE`] allow. Whoever draws over it keeps `img`'s own size for coordinates.
pub fn to_color_image(ctx: &egui::Context, img: &RgbImage) -> ColorImage {
    let gpu = u32::try_from(ctx.input(|i| i.max_texture_side)).unwrap_or(u32::MAX);
    let limit = MAX_SHOWN_SIDE.min(gpu).max(1);
    let (w, h) = img.dimensions();
    if w <= limit && h <= limit {
        return ColorImage::from_rgb([w as usize, h as usize], img.as_raw());
    }
    let scale = limit as f64 / w.max(h) as f64;
    let fit = |side: u32| ((side as f64 * scale).round() as u32).clamp(1, limit);
    let small = image::imageops::thumbnail(img, fit(w), fit(h));
    ColorImage::from_rgb(
        [small.width() as usize, small.height() as usize],
        small.as_raw(),
    )
}

/// Textures of stored images by id. A stored image never changes under its id, so one upload
/// serves every frame it is shown in.
#[derive(Default)]
pub struct TextureCache {
    textures: HashMap<Uuid, TextureHandle>,
}

impl TextureCache {
    pub fn get(&mut self, ctx: &egui::Context, id: Uuid, image: &RgbImage) -> TextureHandle {
        self.textures
            .entry(id)
            .or_insert_with(|| {
                ctx.load_texture(
                    format!("thumb-{id}"),
                    to_color_image(ctx, image),
                    TextureOptions::LINEAR,
                )
            })
            .clone()
    }

    /// Frees the textures of images no longer shown (deleted, or another person's).
    pub fn keep_only(&mut self, shown: impl Fn(&Uuid) -> bool) {
        self.textures.retain(|id, _| shown(id));
    }
}

//! Images from the worker turned into GPU textures, each uploaded once.

use std::collections::HashMap;

use egui::{ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;
use uuid::Uuid;

pub fn to_color_image(img: &RgbImage) -> ColorImage {
    ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw())
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
                    to_color_image(image),
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

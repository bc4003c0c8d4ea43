//! The live picture: the newest camera frame as a texture, scaled to fit, with the face overlays.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;
use egui::{Rect, TextureHandle, TextureOptions, Ui};

use super::overlay;
use super::stats::RateMeter;
use super::textures::to_color_image;
use crate::camera::Frame;
use crate::session::Analysis;

#[derive(Default)]
pub struct Feed {
    texture: Option<TextureHandle>,
    size: [usize; 2],
    rate: RateMeter,
}

impl Feed {
    /// Takes every waiting frame and uploads only the newest: the GUI never falls behind.
    pub fn poll(&mut self, ctx: &egui::Context, frames: &Receiver<Arc<Frame>>) {
        let now = Instant::now();
        let mut newest = None;
        while let Ok(frame) = frames.try_recv() {
            self.rate.tick(now);
            newest = Some(frame);
        }
        let Some(frame) = newest else { return };
        let image = to_color_image(ctx, &frame.image);
        // The overlays are in frame pixels, whatever size the texture was shrunk to.
        self.size = [frame.image.width() as usize, frame.image.height() as usize];
        match &mut self.texture {
            Some(tex) => tex.set(image, TextureOptions::LINEAR),
            None => self.texture = Some(ctx.load_texture("camera", image, TextureOptions::LINEAR)),
        }
    }

    /// Size of the last frame, in pixels.
    pub fn size(&self) -> [usize; 2] {
        self.size
    }

    pub fn fps(&self) -> f32 {
        self.rate.rate()
    }

    /// Draws the picture centred in the space left, less `below` pixels kept free under it, and
    /// the faces of `analysis` over it. Returns where the picture went.
    pub fn show(
        &self,
        ui: &mut Ui,
        analysis: Option<&Analysis>,
        attributes: bool,
        below: f32,
    ) -> Option<Rect> {
        let Some(tex) = &self.texture else {
            ui.centered_and_justified(|ui| ui.label("waiting for the first frame…"));
            return None;
        };
        let avail = ui.available_size() - egui::vec2(0.0, below);
        let [w, h] = self.size;
        let scale = (avail.x / w as f32).min(avail.y / h as f32).max(0.01);
        let size = egui::vec2(w as f32 * scale, h as f32 * scale);
        let rect = ui
            .vertical_centered(|ui| ui.add(egui::Image::from_texture(tex).fit_to_exact_size(size)))
            .inner
            .rect;
        if let Some(a) = analysis {
            overlay::draw_faces(ui.painter(), rect, self.size, &a.faces, attributes);
        }
        Some(rect)
    }
}

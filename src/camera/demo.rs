//! The demo feed shown when no camera exists: a slow pan and zoom over a sample photo that
//! `make setup` fetched, at webcam size and rate, so the app always has a face to show.

use std::path::Path;
use std::time::Instant;

use image::{RgbImage, imageops};

use super::replay::Pacer;
use super::{Frame, FrameSource, SourceError};

const FPS: f32 = 30.0;

pub struct DemoSource {
    photo: RgbImage,
    size: (u32, u32),
    index: u64,
    pacer: Pacer,
}

impl DemoSource {
    pub fn open(photo: &Path, paced: bool) -> Result<DemoSource, SourceError> {
        let photo = crate::imageio::load(photo).map_err(|e| SourceError::UnreadableClip {
            path: photo.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(DemoSource {
            photo,
            size: super::DEFAULT_CAMERA_SIZE,
            index: 0,
            pacer: Pacer::new(FPS, paced),
        })
    }

    /// Frame `index`: the whole photo on a dark 4:3 canvas, drifting and breathing a little (a
    /// person shifting in their chair) but never leaving the picture.
    fn render(&self, index: u64) -> RgbImage {
        let (cw, ch) = (self.size.0 as f32, self.size.1 as f32);
        let (pw, ph) = (self.photo.width() as f32, self.photo.height() as f32);
        let t = index as f32 / FPS;
        let zoom = (cw / pw).min(ch / ph) * (0.92 + 0.05 * (t * 0.7).sin());
        let (w, h) = ((pw * zoom) as u32, (ph * zoom) as u32);
        let scaled = imageops::resize(
            &self.photo,
            w.max(1),
            h.max(1),
            imageops::FilterType::Triangle,
        );
        let spare_x = (cw - w as f32).max(0.0);
        let spare_y = (ch - h as f32).max(0.0);
        let x = spare_x / 2.0 * (1.0 + 0.8 * (t * 0.45).sin());
        let y = spare_y / 2.0 * (1.0 + 0.8 * (t * 0.31).cos());
        let mut canvas = RgbImage::from_pixel(self.size.0, self.size.1, image::Rgb([28, 28, 32]));
        imageops::overlay(&mut canvas, &scaled, x as i64, y as i64);
        canvas
    }
}

impl FrameSource for DemoSource {
    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        self.pacer.wait();
        let frame = Frame {
            image: self.render(self.index),
            index: self.index,
            captured_at: Instant::now(),
        };
        self.index += 1;
        Ok(frame)
    }

    fn describe(&self) -> String {
        "demo (sample photo, no camera)".into()
    }

    fn nominal_fps(&self) -> Option<f32> {
        Some(FPS)
    }
}

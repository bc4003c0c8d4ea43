//! The demo feed shown when no camera exists: a slow pan and zoom over a sample photo that
//! `make setup` fetched, at webcam size and rate, so the app always has a face to show.

use std::path::Path;
use std::time::Instant;

use image::{RgbImage, imageops};

use super::replay::Pacer;
use super::{Frame, FrameSource, SourceError};

const FPS: f32 = 30.0;

pub struct DemoSource {
    /// None when no sample photo could be read: the feed is then an empty canvas, so the window
    /// still opens and can say why.
    photo: Option<RgbImage>,
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
        let size = super::DEFAULT_CAMERA_SIZE;
        // 85 % of the canvas height leaves room to drift.
        let scale = (size.0 as f32 / photo.width() as f32)
            .min(size.1 as f32 / photo.height() as f32)
            * 0.85;
        let (w, h) = (
            (photo.width() as f32 * scale) as u32,
            (photo.height() as f32 * scale) as u32,
        );
        let photo = imageops::resize(&photo, w.max(1), h.max(1), imageops::FilterType::Triangle);
        Ok(DemoSource {
            photo: Some(photo),
            size,
            index: 0,
            pacer: Pacer::new(FPS, paced),
        })
    }

    /// The feed with no photo at all: what the window shows when neither a camera nor the sample
    /// photo is there, rather than not opening.
    pub fn blank() -> DemoSource {
        DemoSource {
            photo: None,
            size: super::DEFAULT_CAMERA_SIZE,
            index: 0,
            pacer: Pacer::new(FPS, true),
        }
    }

    /// Frame `index`: the photo on a dark 4:3 canvas, drifting slowly (a person shifting in
    /// their chair) but never leaving the picture. The photo is scaled once, in `open`, so a frame
    /// costs one copy.
    fn render(&self, index: u64) -> RgbImage {
        let (cw, ch) = self.size;
        let mut canvas = RgbImage::from_pixel(cw, ch, image::Rgb([28, 28, 32]));
        if let Some(photo) = &self.photo {
            let t = index as f32 / FPS;
            let spare_x = cw.saturating_sub(photo.width()) as f32;
            let spare_y = ch.saturating_sub(photo.height()) as f32;
            let x = spare_x / 2.0 * (1.0 + 0.8 * (t * 0.45).sin());
            let y = spare_y / 2.0 * (1.0 + 0.8 * (t * 0.31).cos());
            imageops::overlay(&mut canvas, photo, x as i64, y as i64);
        }
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
        match self.photo {
            Some(_) => "demo (sample photo, no camera)".into(),
            None => "no camera, no sample photo".into(),
        }
    }

    fn nominal_fps(&self) -> Option<f32> {
        Some(FPS)
    }
}

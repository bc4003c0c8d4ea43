//! A source that needs no hardware and no files: unit tests and GUI smoke tests get frames that
//! are identical on every machine and visibly change from one index to the next.

use std::time::Instant;

use image::{Rgb, RgbImage};

use super::{Frame, FrameSource, SourceError};

/// A diagonal colour gradient that scrolls a few levels per frame. Unpaced: frames come as fast
/// as they are asked for.
#[derive(Debug, Clone)]
pub struct SyntheticSource {
    width: u32,
    height: u32,
    next_index: u64,
}

impl SyntheticSource {
    pub fn new(width: u32, height: u32) -> Self {
        SyntheticSource {
            width,
            height,
            next_index: 0,
        }
    }
}

/// Frame `index` of the pattern, so a test can recompute what a source should have produced.
pub fn gradient(width: u32, height: u32, index: u64) -> RgbImage {
    // Scroll steps are coprime with 256 so no two nearby indices give the same picture.
    let shift = |step: u64| (index.wrapping_mul(step) % 256) as u32;
    let (sr, sg, sb) = (shift(3), shift(5), shift(7));
    let w = width.max(1);
    let h = height.max(1);
    RgbImage::from_fn(width, height, |x, y| {
        let gx = x * 255 / w;
        let gy = y * 255 / h;
        Rgb([
            ((gx + sr) % 256) as u8,
            ((gy + sg) % 256) as u8,
            (((gx + gy) / 2 + sb) % 256) as u8,
        ])
    })
}

impl FrameSource for SyntheticSource {
    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let index = self.next_index;
        self.next_index += 1;
        Ok(Frame {
            image: gradient(self.width, self.height, index),
            index,
            captured_at: Instant::now(),
        })
    }

    fn describe(&self) -> String {
        format!("synthetic gradient {}×{}", self.width, self.height)
    }

    fn nominal_fps(&self) -> Option<f32> {
        None
    }
}

//! The live picture: the newest camera frame as a texture, scaled to fit, with the face overlays.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use egui::{Rect, TextureHandle, TextureOptions, Ui};

use super::overlay;
use super::stats::RateMeter;
use super::textures::to_color_image;
use crate::camera::Frame;
use crate::session::Analysis;

/// Most frames held for the analysis to catch up with (a 4K stream at 120 fps would otherwise
/// hold 30 of 25 MB each within [`MAX_LAG`]).
const RECENT: usize = 8;
/// How far the picture may fall behind the camera to show the frame the faces were found in.
/// Analysis at camera rate is one or two frames behind; a slower one (a loaded machine) would
/// drag the picture down to its own rate, so past this the newest frame is shown instead.
const MAX_LAG: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct Feed {
    texture: Option<TextureHandle>,
    /// The frame in the texture: its index and capture time (indexes restart with a new source).
    shown: Option<(u64, Instant)>,
    size: [usize; 2],
    /// The frames of the last [`MAX_LAG`] (at most [`RECENT`]), for the analysis to catch up
    /// with.
    recent: VecDeque<Arc<Frame>>,
    rate: RateMeter,
}

/// Whether `frame` is the one `analysis` was made on.
fn analysed(frame: &Frame, analysis: &Analysis) -> bool {
    frame.index == analysis.frame_index && frame.captured_at == analysis.captured_at
}

/// The frame to show: the one `analysis` was made on while it is in step with the newest (so
/// boxes and landmarks lie on the faces they were found in, whatever size each frame has), else
/// the newest. Never one older than the frame `shown_at` on screen: the picture does not step
/// back in time when a slow analysis catches up.
fn pick<'a>(
    recent: &'a VecDeque<Arc<Frame>>,
    analysis: Option<&Analysis>,
    shown_at: Option<Instant>,
) -> Option<&'a Frame> {
    let newest = recent.back()?;
    let in_step = analysis
        .and_then(|a| recent.iter().rev().find(|f| analysed(f, a)))
        .filter(|f| newest.captured_at.duration_since(f.captured_at) <= MAX_LAG)
        .filter(|f| shown_at.is_none_or(|at| f.captured_at >= at));
    Some(in_step.unwrap_or(newest))
}

impl Feed {
    /// Takes every waiting frame, keeping the last few for [`Feed::present`]: the GUI never
    /// falls behind the camera.
    pub fn poll(&mut self, frames: &Receiver<Arc<Frame>>) {
        let now = Instant::now();
        while let Ok(frame) = frames.try_recv() {
            self.rate.tick(now);
            self.recent.push_back(frame);
            if self.recent.len() > RECENT {
                self.recent.pop_front();
            }
        }
        // Only frames [`pick`] could still choose are held: a folder of large photos would
        // otherwise keep hundreds of megabytes.
        if let Some(newest) = self.recent.back().map(|f| f.captured_at) {
            self.recent
                .retain(|f| newest.duration_since(f.captured_at) <= MAX_LAG);
        }
    }

    /// Uploads the frame [`pick`] chooses for `analysis`, if it is not the one shown already.
    pub fn present(&mut self, ctx: &egui::Context, analysis: Option<&Analysis>) {
        let Some(frame) = pick(&self.recent, analysis, self.shown.map(|(_, at)| at)) else {
            return;
        };
        let key = (frame.index, frame.captured_at);
        if self.shown == Some(key) {
            return;
        }
        let image = to_color_image(ctx, &frame.image);
        // The overlays are in frame pixels, whatever size the texture was shrunk to.
        self.size = [frame.image.width() as usize, frame.image.height() as usize];
        self.shown = Some(key);
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
        // Drawn in the analysed frame's pixels: on that frame when the picture is in step, else
        // on a newer one of the same size (the faces have moved a little since); never on a
        // picture of another size, where they would land anywhere.
        if let Some(a) = analysis.filter(|a| a.frame_size == self.size) {
            overlay::draw_faces(ui.painter(), rect, a.frame_size, &a.faces, attributes);
        }
        Some(rect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    fn frame(index: u64, at: Instant, side: u32) -> Arc<Frame> {
        Arc::new(Frame {
            image: RgbImage::new(side, side),
            index,
            captured_at: at,
        })
    }

    fn analysis_of(f: &Frame) -> Analysis {
        Analysis {
            frame_index: f.index,
            captured_at: f.captured_at,
            frame_size: [f.image.width() as usize, f.image.height() as usize],
            faces: Vec::new(),
            timings: Default::default(),
            latency_ms: 0.0,
        }
    }

    #[test]
    fn the_analysed_frame_is_shown_while_in_step_else_the_newest() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let recent: VecDeque<_> = [
            frame(0, ms(0), 64),
            frame(1, ms(33), 32),
            frame(2, ms(66), 64),
            frame(3, ms(400), 64),
        ]
        .into();
        let newest_index = |a: Option<&Analysis>| pick(&recent, a, None).unwrap().index;
        assert_eq!(newest_index(None), 3, "nothing analysed yet");
        // Frame 1 was analysed 367 ms before the newest: too far behind to hold the picture.
        assert_eq!(newest_index(Some(&analysis_of(&recent[1]))), 3);
        let in_step: VecDeque<_> = recent.iter().take(3).cloned().collect();
        assert_eq!(
            pick(&in_step, Some(&analysis_of(&recent[1])), None)
                .unwrap()
                .index,
            1
        );
        // Frame 2 already on screen (the picture had moved on): frame 1's late analysis does
        // not take it back in time.
        assert_eq!(
            pick(&in_step, Some(&analysis_of(&recent[1])), Some(ms(66)))
                .unwrap()
                .index,
            2
        );
        // The same index from a source opened since (its clock is another) is not that frame.
        let other_source = Analysis {
            captured_at: ms(1),
            ..analysis_of(&recent[1])
        };
        assert_eq!(pick(&in_step, Some(&other_source), None).unwrap().index, 2);
    }
}

//! A folder of stills replayed in file-name order.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;

use super::{MAX_CLIP_SIDE, Pacer};
use crate::camera::{Frame, FrameSource, SourceError};

/// Stills replayed in file-name order (zero-padded names sort as frames), looped.
pub struct FolderReplay {
    dir: PathBuf,
    files: Vec<PathBuf>,
    /// Files that failed to decode, skipped silently after their first warning.
    bad: Vec<bool>,
    /// Warnings about unreadable files: the first few are named.
    warned: crate::shown::FirstFew,
    cursor: usize,
    first: Option<RgbImage>,
    fps: f32,
    next_index: u64,
    pacer: Pacer,
}

impl FolderReplay {
    /// Lists `dir` and decodes the first readable image, so an unusable folder fails here rather
    /// than at the first frame. `fps` paces delivery when `paced`.
    pub fn open(dir: &Path, fps: f32, paced: bool) -> Result<Self, SourceError> {
        if !dir.exists() {
            return Err(SourceError::NotFound(dir.to_owned()));
        }
        let entries = std::fs::read_dir(dir).map_err(|source| SourceError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && crate::imageio::listing::is_photo_name(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(SourceError::EmptyFolder(dir.to_owned()));
        }
        let mut replay = FolderReplay {
            dir: dir.to_owned(),
            bad: vec![false; files.len()],
            warned: Default::default(),
            files,
            cursor: 0,
            first: None,
            fps,
            next_index: 0,
            pacer: Pacer::new(fps, paced),
        };
        replay.first = Some(replay.next_image()?);
        Ok(replay)
    }

    /// Decodes the next good file after the cursor, wrapping around.
    fn next_image(&mut self) -> Result<RgbImage, SourceError> {
        if self.bad.iter().all(|&bad| bad) {
            // Everything has failed before: retry all (they may have been rewritten since), which
            // also gives the error below a fresh reason.
            self.bad.fill(false);
        }
        let mut last_error = None;
        for _ in 0..self.files.len() {
            let i = self.cursor;
            self.cursor = (self.cursor + 1) % self.files.len();
            if self.bad[i] {
                continue;
            }
            match crate::imageio::load(&self.files[i]) {
                Ok(image) => return Ok(camera_sized(image)),
                Err(e) => {
                    let said = self.warned.say(
                        || format!("skipping an unreadable frame: {e}"),
                        || {
                            format!(
                                "skipping more unreadable frames in {} without naming each",
                                crate::shown::Shown(&self.dir)
                            )
                        },
                    );
                    if let Some(said) = said {
                        tracing::warn!("{said}");
                    }
                    self.bad[i] = true;
                    last_error = Some(e);
                }
            }
        }
        Err(SourceError::NoDecodableImages {
            dir: self.dir.clone(),
            count: self.files.len(),
            last_error: last_error.expect("at least one file was tried and failed"),
        })
    }

    /// Number of candidate image files (readable or not).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Always false: opening an empty folder fails.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A still shrunk to at most [`MAX_CLIP_SIDE`] a side, as a video's frames are: the feed holds
/// several frames at once (capture thread, worker, window), and a folder of 12000² photos took
/// the window to 2.3 GB. No camera delivers more, and faces are found on far less. Box-averaged
/// straight into the smaller picture: a filtered resize's first pass made a float copy of the
/// full width at the new height (786 MB for a 12000² photo, more than the photo itself; bad-input
/// hunt, session 26).
fn camera_sized(image: RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    if w.max(h) <= MAX_CLIP_SIDE {
        return image;
    }
    let scale = f64::from(MAX_CLIP_SIDE) / f64::from(w.max(h));
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, MAX_CLIP_SIDE);
    image::imageops::thumbnail(&image, side(w), side(h))
}

impl FrameSource for FolderReplay {
    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let image = match self.first.take() {
            Some(image) => image,
            None => self.next_image()?,
        };
        let index = self.next_index;
        self.next_index += 1;
        self.pacer.wait();
        Ok(Frame {
            image,
            index,
            captured_at: Instant::now(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "image folder {} ({} images, {} fps)",
            self.dir.display(),
            self.files.len(),
            self.fps
        )
    }

    fn nominal_fps(&self) -> Option<f32> {
        Some(self.fps)
    }

    fn rewind(&mut self) {
        self.first = None;
        self.cursor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewound_folder_plays_again_from_its_first_file() {
        let dir = tempfile::tempdir().unwrap();
        for (i, shade) in [10u8, 20, 30].iter().enumerate() {
            RgbImage::from_pixel(8, 8, image::Rgb([*shade; 3]))
                .save(dir.path().join(format!("f{i}.png")))
                .unwrap();
        }
        let mut replay = FolderReplay::open(dir.path(), 30.0, false).unwrap();
        let shade = |r: &mut FolderReplay| r.next_frame().unwrap().image.get_pixel(0, 0).0[0];
        assert_eq!([shade(&mut replay), shade(&mut replay)], [10, 20]);
        replay.rewind();
        assert_eq!([shade(&mut replay), shade(&mut replay)], [10, 20]);
    }

    #[test]
    fn a_large_still_is_shrunk_to_a_cameras_size_and_a_small_one_kept() {
        let big = camera_sized(RgbImage::new(12000, 6000));
        assert_eq!(big.dimensions(), (MAX_CLIP_SIDE, MAX_CLIP_SIDE / 2));
        assert_eq!(
            camera_sized(RgbImage::new(640, 480)).dimensions(),
            (640, 480)
        );
        assert_eq!(
            camera_sized(RgbImage::new(9000, 1)).dimensions(),
            (MAX_CLIP_SIDE, 1)
        );
    }
}

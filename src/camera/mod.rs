//! Frame sources: where the pipeline's pictures come from.
//!
//! A desk camera is the normal source, but many machines (CI, servers, this one) have none, so the
//! app reads frames through [`FrameSource`] and can equally replay a video file or a folder of
//! stills, or generate a synthetic pattern for tests. [`open`] turns a user's choice
//! ([`SourceSpec`]) into a boxed source.

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;

pub mod demo;
pub mod device;
pub mod replay;
pub mod synthetic;
pub mod v4l2;

pub use device::{CameraInfo, CameraSource, find_camera, list_cameras};
pub use replay::{FolderReplay, VideoReplay};
pub use synthetic::SyntheticSource;

/// One picture from a source.
#[derive(Debug, Clone)]
pub struct Frame {
    pub image: RgbImage,
    /// Counts frames delivered by this source from 0; it keeps growing when a replay loops, so a
    /// consumer can tell "new frame" from "same frame again".
    pub index: u64,
    pub captured_at: Instant,
}

/// Anything that yields frames. `Send` so a capture thread can own it while the GUI draws.
pub trait FrameSource: Send {
    /// Blocks until the next frame is due (a camera's exposure, a paced replay's clock).
    fn next_frame(&mut self) -> Result<Frame, SourceError>;
    /// [`FrameSource::next_frame`], giving up after `wait` where that is sooner than the
    /// source's own limit: an attempt's time-out plus its grace, so that a camera that stalls
    /// ends the attempt then, while the PAM client it is for still waits, not seconds later,
    /// after it gave up. Sources that never wait long take no notice.
    fn next_frame_within(&mut self, wait: std::time::Duration) -> Result<Frame, SourceError> {
        let _ = wait;
        self.next_frame()
    }
    /// One line for logs and the status bar.
    fn describe(&self) -> String;
    /// The rate frames arrive at when nothing is slowing the consumer, if the source has one.
    fn nominal_fps(&self) -> Option<f32>;
    /// After [`FrameSource::next_frame`] failed: try to get going again (a camera unplugged and
    /// plugged back in is opened anew). Sources that cannot go away have nothing to do.
    fn reconnect(&mut self) -> Result<(), SourceError> {
        Ok(())
    }
    /// The modes (resolution and frame rate) a camera offers; empty for other sources.
    fn modes(&self) -> Vec<CameraMode> {
        Vec::new()
    }
    /// For a camera, what opens it again in the mode it streams in now; `None` for other
    /// sources.
    fn camera_spec(&self) -> Option<SourceSpec> {
        None
    }
    /// A recording plays again from its first frame; a camera has nothing to do. An attempt on
    /// a recording in the window starts it over, as the daemon and `verify --replay` open it
    /// afresh for each: looped, a clip that turns its head once had turned it before most
    /// attempts began, and they were refused until the owner was locked out (journey s36 #1).
    fn rewind(&mut self) {}
}

/// A resolution and frame rate a camera offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CameraMode {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// Resolution asked of a camera by [`SourceSpec::camera`]: enough for face detection at desk
/// distance, and offered at full frame rate by practically every webcam.
pub const DEFAULT_CAMERA_SIZE: (u32, u32) = (640, 480);
pub const DEFAULT_CAMERA_FPS: u32 = 30;
/// Size of the [`SourceSpec::Synthetic`] pattern.
pub const DEFAULT_SYNTHETIC_SIZE: (u32, u32) = (640, 480);

/// What the user asked to read frames from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// A camera by index; width, height and fps are hints (the closest mode the camera offers is
    /// used).
    Camera {
        index: u32,
        width: u32,
        height: u32,
        fps: u32,
    },
    /// A video file (decoded by ffmpeg) or a folder of stills (the formats
    /// `imageio` reads), looped.
    Replay(PathBuf),
    /// A moving gradient, [`DEFAULT_SYNTHETIC_SIZE`].
    Synthetic,
    /// A slow pan over a photo, at webcam size and rate: what the app shows without a camera.
    Demo(PathBuf),
}

impl SourceSpec {
    /// Camera `index` in the mode the user chose for their camera (the window's camera list,
    /// saved in `settings`): the desk app and the desk commands open a camera alike.
    pub fn saved_camera(index: u32, settings: &crate::store::Settings) -> Self {
        SourceSpec::Camera {
            index,
            width: settings.camera_width,
            height: settings.camera_height,
            fps: settings.camera_fps,
        }
    }

    /// Camera `index` with the default resolution and frame-rate hints.
    pub fn camera(index: u32) -> Self {
        let (width, height) = DEFAULT_CAMERA_SIZE;
        SourceSpec::Camera {
            index,
            width,
            height,
            fps: DEFAULT_CAMERA_FPS,
        }
    }
}

/// How replays are timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayOptions {
    /// Deliver frames at the clip's (or `folder_fps`) rate, as a camera would; `false` delivers
    /// them as fast as they decode (benchmarks, tests).
    pub paced: bool,
    /// Rate for image folders, which carry no timing of their own.
    pub folder_fps: f32,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            paced: true,
            folder_fps: 15.0,
        }
    }
}

/// Opens a source with default replay options (paced, folders at 15 fps).
pub fn open(spec: &SourceSpec) -> Result<Box<dyn FrameSource>, SourceError> {
    open_with(spec, ReplayOptions::default())
}

/// Opens a source. A replay path that is a directory is read as an image folder, anything else as
/// a video file.
pub fn open_with(
    spec: &SourceSpec,
    options: ReplayOptions,
) -> Result<Box<dyn FrameSource>, SourceError> {
    Ok(match spec {
        &SourceSpec::Camera {
            index,
            width,
            height,
            fps,
        } => Box::new(CameraSource::open(index, width, height, fps)?),
        SourceSpec::Replay(path) if path.is_dir() => {
            Box::new(FolderReplay::open(path, options.folder_fps, options.paced)?)
        }
        SourceSpec::Replay(path) => Box::new(VideoReplay::open(path, options.paced)?),
        SourceSpec::Synthetic => {
            let (width, height) = DEFAULT_SYNTHETIC_SIZE;
            Box::new(SyntheticSource::new(width, height))
        }
        SourceSpec::Demo(photo) => Box::new(demo::DemoSource::open(photo, options.paced)?),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The system lists no camera; `index` is the one asked for (every command says it so).
    #[error(
        "no camera found (asked for camera {index}); use --replay PATH to read a video file or \
         an image folder instead"
    )]
    NoCamera { index: u32 },
    #[error("camera {index} is busy, unplugged or not accessible: {detail}")]
    CameraUnavailable { index: u32, detail: String },
    #[error("camera {index} sent a frame that could not be decoded: {detail}")]
    CameraFrame { index: u32, detail: String },
    #[error(
        "`{program}` was not found on PATH; it is needed to replay video files: install ffmpeg / run make setup"
    )]
    FfmpegMissing { program: &'static str },
    #[error("{} does not exist (expected a video file or a folder of images)", .0.display())]
    NotFound(PathBuf),
    #[error("cannot replay {}: {reason}", path.display())]
    UnreadableClip { path: PathBuf, reason: String },
    #[error("{} has no {} images to replay", .0.display(), crate::imageio::listing::PHOTOS)]
    EmptyFolder(PathBuf),
    #[error("none of the {count} images in {} could be decoded; the last error: {last_error}", dir.display())]
    NoDecodableImages {
        dir: PathBuf,
        count: usize,
        #[source]
        last_error: crate::imageio::ImageError,
    },
    #[error("cannot list {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A camera opens in the mode saved from the window, and the settings' defaults are the
    /// camera's own (written out in `store::settings`, which does not depend on this module).
    #[test]
    fn a_camera_opens_in_the_saved_mode() {
        let mut settings = crate::store::Settings::default();
        assert_eq!(
            SourceSpec::saved_camera(0, &settings),
            SourceSpec::camera(0)
        );
        (
            settings.camera_width,
            settings.camera_height,
            settings.camera_fps,
        ) = (1280, 720, 15);
        assert_eq!(
            SourceSpec::saved_camera(2, &settings),
            SourceSpec::Camera {
                index: 2,
                width: 1280,
                height: 720,
                fps: 15
            }
        );
    }
}

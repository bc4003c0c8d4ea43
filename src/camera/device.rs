//! Real cameras through nokhwa (V4L2 on Linux).
//!
//! Every nokhwa call runs under `catch_unwind`: some of its backends `unwrap()` internally (its
//! `Camera` even unwraps in `Drop`), and an unplugged webcam must end in a message, not a crash.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use image::RgbImage;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};
use nokhwa::{Buffer, Camera};

use super::{CameraMode, Frame, FrameSource, SourceError, SourceSpec};

/// A camera the system reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    pub index: u32,
    pub name: String,
    pub description: String,
}

/// Pixel formats we can turn into RGB, best first: MJPEG needs the least USB bandwidth, so
/// webcams offer their full resolution and frame rate in it; the raw formats follow.
const DECODABLE: &[FrameFormat] = &[
    FrameFormat::MJPEG,
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::RAWRGB,
    FrameFormat::RAWBGR,
    FrameFormat::GRAY,
];

/// The cameras present, in index order; empty when there are none or the query fails (logged).
pub fn list_cameras() -> Vec<CameraInfo> {
    let found = guarded("listing cameras", || nokhwa::query(ApiBackend::Auto));
    let mut cameras: Vec<CameraInfo> = match found {
        Ok(found) => found
            .iter()
            .filter_map(|info| {
                Some(CameraInfo {
                    index: info.index().as_index().ok()?,
                    name: info.human_name(),
                    description: info.description().to_owned(),
                })
            })
            .collect(),
        Err(detail) => {
            tracing::warn!("cannot list cameras: {detail}");
            Vec::new()
        }
    };
    cameras.sort_by_key(|c| c.index);
    cameras
}

/// The camera a user named: `/dev/videoN` (or a bare number) is index N; anything else is
/// matched against the listed cameras' names (exactly, then ignoring case). None when no listed
/// camera fits (and always when the system lists no camera at all).
pub fn find_camera(name_or_path: &str, cameras: &[CameraInfo]) -> Option<u32> {
    let wanted = name_or_path.trim();
    let index = wanted
        .strip_prefix("/dev/video")
        .unwrap_or(wanted)
        .parse::<u32>()
        .ok();
    if let Some(index) = index {
        return cameras.iter().find(|c| c.index == index).map(|c| c.index);
    }
    cameras
        .iter()
        .find(|c| c.name == wanted)
        .or_else(|| cameras.iter().find(|c| c.name.eq_ignore_ascii_case(wanted)))
        .map(|c| c.index)
}

/// Consecutive undecodable frames tolerated before giving up: a USB glitch spoils one MJPEG frame
/// now and then, but a camera that only sends garbage should end in an error.
const MAX_BAD_FRAMES: u32 = 30;
/// How long dropping a source waits for its capture thread to release the camera, so that
/// reopening it at once does not find it busy, without hanging on a stalled driver.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a streaming camera may go without a frame before it counts as gone: nokhwa gives
/// V4L2 no timeout, so a wedged camera (or a loopback device nobody writes to) would otherwise
/// block its reader, and an unlock attempt or the daemon behind it, forever. Generous, because a
/// camera's first frame can take a second or two while its exposure settles.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// The same for opening a camera and starting its stream.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

type Captured = Result<(RgbImage, Instant), SourceError>;

/// A streaming camera. The camera lives on its own capture thread, which also decodes: nokhwa's
/// `Camera` is not `Send` (the macOS and Windows backends are tied to the thread that opened
/// them), and decoding there overlaps with the consumer's work.
pub struct CameraSource {
    frames: Receiver<Captured>,
    stop: Arc<AtomicBool>,
    /// Disconnects when the capture thread has finished and closed the camera.
    closed: Receiver<()>,
    index: u32,
    name: String,
    format: CameraFormat,
    next_index: u64,
    /// What was asked for, to ask again when the camera comes back.
    request: (u32, u32, u32),
    modes: Vec<CameraMode>,
}

impl CameraSource {
    /// Opens camera `index` in the mode closest to `width`×`height` at `fps`, preferring MJPEG,
    /// and starts streaming. Fails with [`SourceError::NoCamera`] when the system has none.
    pub fn open(index: u32, width: u32, height: u32, fps: u32) -> Result<Self, SourceError> {
        let (ready_tx, ready_rx) = bounded(1);
        // One frame of slack: the thread decodes the next frame while the consumer works.
        let (frame_tx, frames) = bounded(1);
        let (closed_tx, closed) = bounded::<()>(0);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name(format!("camera-{index}"))
            .spawn(move || {
                let _closed = closed_tx;
                let opened = guarded("opening the camera", || {
                    open_camera(index, width, height, fps)
                });
                let camera = match opened {
                    Ok((camera, format, name, modes)) => {
                        let _ = ready_tx.send(Ok((format, name, modes)));
                        camera
                    }
                    Err(detail) => {
                        let _ = ready_tx.send(Err(detail));
                        return;
                    }
                };
                capture_loop(camera, index, &frame_tx, &stop_flag);
            });
        if let Err(e) = spawned {
            return Err(SourceError::CameraUnavailable {
                index,
                detail: format!("cannot start a capture thread: {e}"),
            });
        }
        let ready = ready_rx.recv_timeout(OPEN_TIMEOUT).unwrap_or_else(|e| {
            Err(match e {
                RecvTimeoutError::Timeout => format!(
                    "the camera did not start streaming within {} s",
                    OPEN_TIMEOUT.as_secs()
                ),
                RecvTimeoutError::Disconnected => {
                    "the capture thread ended unexpectedly".to_owned()
                }
            })
        });
        let (format, name, modes) = ready.map_err(|detail| open_error(index, detail))?;
        tracing::info!("camera {index} ({name}) streaming {format}");
        Ok(CameraSource {
            frames,
            stop,
            closed,
            index,
            name,
            format,
            next_index: 0,
            request: (width, height, fps),
            modes,
        })
    }

    /// Where the camera that went away is now: the listed camera of the same name (its index may
    /// have changed when it was plugged back in), else the same index.
    fn find_again(&self) -> u32 {
        find_camera(&self.name, &list_cameras()).unwrap_or(self.index)
    }
}

/// Runs on the capture thread: opens the camera and picks its mode.
fn open_camera(
    index: u32,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<(Camera, CameraFormat, String, Vec<CameraMode>), nokhwa::NokhwaError> {
    // Open in whatever decodable mode the driver lists first, then pick from the full list
    // ourselves: nokhwa's `Closest` request gives up when the exact resolution is not offered.
    let any = RequestedFormat::with_formats(RequestedFormatType::None, DECODABLE);
    let mut camera = Camera::new(CameraIndex::Index(index), any)?;
    let modes = camera.compatible_camera_formats().unwrap_or_else(|e| {
        tracing::warn!("camera {index}: cannot list its modes ({e}); using its default");
        Vec::new()
    });
    if let Some(best) = choose_format(&modes, width, height, fps)
        && best != camera.camera_format()
    {
        camera.set_camera_requset(RequestedFormat::with_formats(
            RequestedFormatType::Exact(best),
            DECODABLE,
        ))?;
    }
    // The V4L2 backend does not update its cached mode when the mode changes, and it labels
    // frames with that cache: refresh it so frames are decoded at their real size.
    let format = camera.refresh_camera_format()?;
    camera.open_stream()?;
    let name = camera.info().human_name();
    Ok((camera, format, name, offered_modes(&modes)))
}

/// The decodable modes as resolution and rate, each once, largest first.
fn offered_modes(modes: &[CameraFormat]) -> Vec<CameraMode> {
    let mut out: Vec<CameraMode> = modes
        .iter()
        .filter(|m| DECODABLE.contains(&m.format()))
        .map(|m| CameraMode {
            width: m.width(),
            height: m.height(),
            fps: m.frame_rate(),
        })
        .collect();
    out.sort_by(|a, b| b.cmp(a));
    out.dedup();
    out
}

/// Runs on the capture thread until the source is dropped or the camera fails.
fn capture_loop(mut camera: Camera, index: u32, frames: &Sender<Captured>, stop: &AtomicBool) {
    let mut bad_frames = 0;
    while !stop.load(Ordering::Relaxed) {
        let captured = match guarded("capturing a frame", || camera.frame()) {
            Ok(buffer) => buffer,
            Err(detail) => {
                // Unplugged or seized by another process: report it and stop.
                let _ = frames.send(Err(SourceError::CameraUnavailable { index, detail }));
                break;
            }
        };
        let captured_at = Instant::now();
        let item = match decode(&captured) {
            Ok(image) => {
                bad_frames = 0;
                Ok((image, captured_at))
            }
            Err(detail) if bad_frames < MAX_BAD_FRAMES => {
                bad_frames += 1;
                tracing::warn!("camera {index}: skipping an undecodable frame: {detail}");
                continue;
            }
            Err(detail) => Err(SourceError::CameraFrame { index, detail }),
        };
        let fatal = item.is_err();
        if frames.send(item).is_err() || fatal {
            break;
        }
    }
    // nokhwa's `Camera` unwraps in `Drop`.
    let _ = guarded("closing the camera", move || {
        drop(camera);
        Ok(())
    });
}

fn decode(buffer: &Buffer) -> Result<RgbImage, String> {
    match buffer.source_frame_format() {
        // The `image` JPEG decoder (through imageio, with its size limits): nokhwa's own needs
        // a C libjpeg build that we leave out.
        FrameFormat::MJPEG => crate::imageio::decode(buffer.buffer(), Path::new("camera frame"))
            .map_err(|e| e.to_string()),
        _ => guarded("decoding a frame", || buffer.decode_image::<RgbFormat>()),
    }
}

/// "No camera" when the system lists none (whatever the driver said), else the driver's reason.
fn open_error(index: u32, detail: String) -> SourceError {
    let cameras = list_cameras();
    if cameras.is_empty() {
        tracing::debug!("opening camera {index} failed: {detail}");
        return SourceError::NoCamera { index };
    }
    let present: Vec<String> = cameras
        .iter()
        .map(|c| format!("{} ({})", c.index, c.name))
        .collect();
    SourceError::CameraUnavailable {
        index,
        detail: format!("{detail} (cameras present: {})", present.join(", ")),
    }
}

impl FrameSource for CameraSource {
    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        self.next_frame_within(FRAME_TIMEOUT)
    }

    fn next_frame_within(&mut self, wait: Duration) -> Result<Frame, SourceError> {
        let wait = wait.min(FRAME_TIMEOUT);
        let (image, captured_at) = self.frames.recv_timeout(wait).unwrap_or_else(|e| {
            let detail = match e {
                RecvTimeoutError::Timeout => {
                    format!("no frame for {:.1} s", wait.as_secs_f32())
                }
                RecvTimeoutError::Disconnected => "the camera has stopped".into(),
            };
            Err(SourceError::CameraUnavailable {
                index: self.index,
                detail,
            })
        })?;
        let index = self.next_index;
        self.next_index += 1;
        Ok(Frame {
            image,
            index,
            captured_at,
        })
    }

    fn describe(&self) -> String {
        format!(
            "camera {} ({}) {}×{} {} @ {} fps",
            self.index,
            self.name,
            self.format.width(),
            self.format.height(),
            self.format.format(),
            self.format.frame_rate()
        )
    }

    fn nominal_fps(&self) -> Option<f32> {
        Some(self.format.frame_rate() as f32).filter(|&f| f > 0.0)
    }

    /// Opens the camera again, found by its name, in the mode first asked for: a webcam
    /// unplugged and plugged back in resumes without a restart.
    fn reconnect(&mut self) -> Result<(), SourceError> {
        let (width, height, fps) = self.request;
        let fresh = CameraSource::open(self.find_again(), width, height, fps)?;
        let next_index = self.next_index;
        *self = fresh;
        // Frame numbers keep growing, so the worker never takes a new frame for an old one.
        self.next_index = next_index;
        Ok(())
    }

    fn modes(&self) -> Vec<CameraMode> {
        self.modes.clone()
    }

    fn camera_spec(&self) -> Option<SourceSpec> {
        Some(SourceSpec::Camera {
            index: self.index,
            width: self.format.width(),
            height: self.format.height(),
            fps: self.format.frame_rate(),
        })
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblock a thread waiting to hand over a frame, then give it a moment to close.
        drop(std::mem::replace(
            &mut self.frames,
            crossbeam_channel::never(),
        ));
        let _ = self.closed.recv_timeout(CLOSE_TIMEOUT);
    }
}

/// Picks the mode to ask for: closest resolution first; then one that reaches the wanted frame
/// rate; then the preferred pixel format (MJPEG first); then the frame rate closest to `fps`.
/// So 1280×720 MJPEG at 30 fps beats 1280×720 YUYV at 10 fps (USB 2 cannot carry more raw).
fn choose_format(
    modes: &[CameraFormat],
    width: u32,
    height: u32,
    fps: u32,
) -> Option<CameraFormat> {
    modes
        .iter()
        .filter(|m| DECODABLE.contains(&m.format()))
        .min_by_key(|m| {
            let dw = i64::from(m.width()) - i64::from(width);
            let dh = i64::from(m.height()) - i64::from(height);
            let shortfall = fps.saturating_sub(m.frame_rate());
            let rank = DECODABLE.iter().position(|f| *f == m.format());
            (
                dw * dw + dh * dh,
                shortfall,
                rank,
                m.frame_rate().abs_diff(fps),
            )
        })
        .copied()
}

/// Runs a nokhwa call, turning both its errors and its panics into a message.
fn guarded<T>(
    doing: &str,
    call: impl FnOnce() -> Result<T, nokhwa::NokhwaError>,
) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(format!("camera driver failed while {doing}: {message}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(w: u32, h: u32, format: FrameFormat, fps: u32) -> CameraFormat {
        CameraFormat::new_from(w, h, format, fps)
    }

    #[test]
    fn prefers_mjpeg_at_the_requested_size_and_rate() {
        let modes = [
            mode(640, 480, FrameFormat::YUYV, 30),
            mode(1280, 720, FrameFormat::YUYV, 10),
            mode(1280, 720, FrameFormat::MJPEG, 30),
            mode(1280, 720, FrameFormat::MJPEG, 15),
            mode(640, 480, FrameFormat::MJPEG, 30),
        ];
        let pick = |w, h, fps| choose_format(&modes, w, h, fps).unwrap();
        assert_eq!(pick(1280, 720, 30), mode(1280, 720, FrameFormat::MJPEG, 30));
        assert_eq!(pick(640, 480, 30), mode(640, 480, FrameFormat::MJPEG, 30));
        // Not offered exactly: the nearest size wins (nokhwa's own `Closest` returns nothing).
        assert_eq!(pick(800, 600, 30), mode(640, 480, FrameFormat::MJPEG, 30));
        assert_eq!(pick(1280, 720, 12), mode(1280, 720, FrameFormat::MJPEG, 15));
    }

    #[test]
    fn falls_back_to_raw_formats_and_handles_no_modes() {
        let modes = [
            mode(640, 480, FrameFormat::GRAY, 30),
            mode(640, 480, FrameFormat::YUYV, 30),
        ];
        assert_eq!(
            choose_format(&modes, 640, 480, 30),
            Some(mode(640, 480, FrameFormat::YUYV, 30))
        );
        assert_eq!(choose_format(&[], 640, 480, 30), None);
    }

    #[test]
    fn a_camera_is_found_by_path_index_or_name() {
        let cams = [
            CameraInfo {
                index: 0,
                name: "Integrated Camera".into(),
                description: String::new(),
            },
            CameraInfo {
                index: 2,
                name: "HD Pro Webcam C920".into(),
                description: String::new(),
            },
        ];
        assert_eq!(find_camera("/dev/video2", &cams), Some(2));
        assert_eq!(find_camera("0", &cams), Some(0));
        assert_eq!(find_camera("hd pro webcam c920", &cams), Some(2));
        assert_eq!(find_camera("/dev/video1", &cams), None);
        assert_eq!(
            find_camera("/dev/video0", &[]),
            None,
            "no camera, nothing found"
        );
    }

    #[test]
    fn modes_are_listed_once_largest_first() {
        let modes = [
            mode(640, 480, FrameFormat::YUYV, 30),
            mode(640, 480, FrameFormat::MJPEG, 30),
            mode(1280, 720, FrameFormat::MJPEG, 30),
        ];
        let m = offered_modes(&modes);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].width, m[1].width), (1280, 640));
    }

    #[test]
    fn panics_become_errors() {
        let result: Result<(), String> = guarded("testing", || panic!("boom"));
        assert_eq!(
            result.unwrap_err(),
            "camera driver failed while testing: boom"
        );
    }
}

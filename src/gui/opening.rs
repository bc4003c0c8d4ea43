//! Opening a source off the GUI thread: a camera's handshake can take seconds (up to its 10 s
//! limit), and a folder of unreadable files is read until a frame decodes, while the window keeps
//! drawing the old source.
//!
//! A camera streams to one reader at a time (V4L2 answers a second one "busy"), so:
//! - every opening waits for the one it replaces to end (each of its steps is bounded), and
//!   drops what that one opened, so a camera it opened is free again;
//! - opening a camera asks the feed to let go of it first, if the feed shows that camera (in
//!   another mode); the mode the feed had is then the way back: a mode that will not open
//!   brings it back, also when a later pick replaces this opening, and if even that fails the
//!   window says the feed is lost.

use crossbeam_channel::{Receiver, TryRecvError};

use super::devices::CameraChoice;
use crate::camera::{FrameSource, SourceError, SourceSpec};
use crate::session::Session;

/// How a source is opened: [`crate::camera::open`], or a stand-in in tests.
pub type Opener = fn(&SourceSpec) -> Result<Box<dyn FrameSource>, SourceError>;

/// What an opening came to.
pub enum Opened {
    Ready(Box<dyn FrameSource>),
    /// It did not open; the feed goes on as it was.
    Failed(SourceError),
    /// It did not open, and the feed's camera, released for it, streams again in its old mode.
    Back {
        source: Box<dyn FrameSource>,
        error: SourceError,
    },
    /// It did not open, and the feed's camera, released for it, did not open again either.
    Lost {
        error: SourceError,
        reopen: SourceError,
    },
}

/// What an opening thread hands back: the outcome, and the way back to the camera the feed
/// had released (for the opening that replaces this one, if any).
struct Done {
    opened: Opened,
    fallback: Option<SourceSpec>,
}

/// A source being opened, and the camera to remember once it streams.
pub struct Opening {
    pub camera: Option<CameraChoice>,
    result: Receiver<Done>,
}

impl Opening {
    /// Starts opening `spec` on a thread of its own, after `earlier` (the opening this one
    /// replaces) has ended.
    pub fn start(
        spec: SourceSpec,
        camera: Option<CameraChoice>,
        live: &Session,
        earlier: Option<Opening>,
        open: Opener,
    ) -> std::io::Result<Opening> {
        let release = match spec {
            SourceSpec::Camera { index, .. } => Some((index, live.releaser())),
            _ => None,
        };
        let earlier = earlier.map(|e| e.result);
        let (done, result) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("open-source".into())
            .spawn(move || {
                // The earlier opening's source, if any, is dropped (closed) here.
                let mut fallback = earlier.and_then(|e| e.recv().ok()).and_then(|d| d.fallback);
                if let Some((index, releaser)) = release
                    && let Some(shown) = releaser.release(index)
                {
                    fallback = Some(shown);
                }
                let opened = match (open(&spec), &fallback) {
                    (Ok(source), _) => Opened::Ready(source),
                    (Err(error), None) => Opened::Failed(error),
                    (Err(error), Some(back)) => match open(back) {
                        Ok(source) => Opened::Back { source, error },
                        Err(reopen) => Opened::Lost { error, reopen },
                    },
                };
                // Nobody waiting any more (another source was picked since): the later
                // opening takes the source and drops it.
                let _ = done.send(Done { opened, fallback });
            })?;
        Ok(Opening { camera, result })
    }

    /// The outcome once there is one; `Err` when the opening thread died without one.
    pub fn poll(&self) -> Option<Result<Opened, ()>> {
        match self.result.try_recv() {
            Ok(done) => Some(Ok(done.opened)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::camera::Frame;
    use crate::store::Store;

    /// Stand-in cameras that, like V4L2 ones, stream to one reader at a time.
    static HELD: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
    /// Stand-in cameras pulled out (after the feed opened them).
    static UNPLUGGED: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

    struct FakeCamera {
        index: u32,
        width: u32,
    }

    impl FrameSource for FakeCamera {
        fn next_frame(&mut self) -> Result<Frame, SourceError> {
            std::thread::sleep(Duration::from_millis(10));
            Ok(Frame {
                image: image::RgbImage::new(8, 6),
                index: 0,
                captured_at: Instant::now(),
            })
        }
        fn describe(&self) -> String {
            format!("fake camera {} at width {}", self.index, self.width)
        }
        fn nominal_fps(&self) -> Option<f32> {
            None
        }
        fn camera_spec(&self) -> Option<SourceSpec> {
            Some(SourceSpec::Camera {
                index: self.index,
                width: self.width,
                height: 480,
                fps: 30,
            })
        }
    }

    impl Drop for FakeCamera {
        fn drop(&mut self) {
            HELD.lock().unwrap().remove(&self.index);
        }
    }

    /// Opens in 100 ms; busy while another reader has the camera; width 999 is a mode the
    /// camera does not have. Anything but a camera is a recording that will not open.
    fn open_fake(spec: &SourceSpec) -> Result<Box<dyn FrameSource>, SourceError> {
        let &SourceSpec::Camera { index, width, .. } = spec else {
            return Err(SourceError::NoCamera);
        };
        std::thread::sleep(Duration::from_millis(100));
        if UNPLUGGED.lock().unwrap().contains(&index) {
            return Err(SourceError::CameraUnavailable {
                index,
                detail: "unplugged".into(),
            });
        }
        if width == 999 {
            return Err(SourceError::CameraUnavailable {
                index,
                detail: "no such mode".into(),
            });
        }
        if !HELD.lock().unwrap().insert(index) {
            return Err(SourceError::CameraUnavailable {
                index,
                detail: "busy".into(),
            });
        }
        Ok(Box::new(FakeCamera { index, width }))
    }

    fn camera(index: u32, width: u32) -> SourceSpec {
        SourceSpec::Camera {
            index,
            width,
            height: 480,
            fps: 30,
        }
    }

    /// A session showing fake camera `index` at width 640.
    fn live_on(index: u32, data: &tempfile::TempDir) -> Session {
        let source = open_fake(&camera(index, 640)).unwrap();
        Session::start(
            source,
            None,
            Store::open(data.path()).unwrap(),
            Arc::new(|| {}),
        )
    }

    fn outcome(opening: &Opening) -> Opened {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(done) = opening.poll() {
                return done.unwrap_or_else(|()| panic!("the opening thread died"));
            }
            assert!(Instant::now() < deadline, "no outcome in 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn width_of(opened: &Opened) -> Option<u32> {
        let source = match opened {
            Opened::Ready(source) | Opened::Back { source, .. } => source,
            Opened::Failed(_) | Opened::Lost { .. } => return None,
        };
        match source.camera_spec() {
            Some(SourceSpec::Camera { width, .. }) => Some(width),
            _ => None,
        }
    }

    #[test]
    fn another_mode_of_the_camera_on_screen_opens() {
        let data = tempfile::tempdir().unwrap();
        let live = live_on(0, &data);
        let opening = Opening::start(camera(0, 1280), None, &live, None, open_fake).unwrap();
        let opened = outcome(&opening);
        assert!(matches!(opened, Opened::Ready(_)), "not busy");
        assert_eq!(width_of(&opened), Some(1280));
    }

    #[test]
    fn a_camera_picked_again_while_it_opens_waits_for_the_first() {
        let data = tempfile::tempdir().unwrap();
        let live = live_on(1, &data);
        let first = Opening::start(camera(1, 1280), None, &live, None, open_fake).unwrap();
        let second = Opening::start(camera(1, 320), None, &live, Some(first), open_fake).unwrap();
        let opened = outcome(&second);
        assert!(matches!(opened, Opened::Ready(_)), "not busy");
        assert_eq!(width_of(&opened), Some(320));
    }

    #[test]
    fn a_mode_that_fails_goes_back_to_the_one_before() {
        let data = tempfile::tempdir().unwrap();
        let live = live_on(2, &data);
        let opening = Opening::start(camera(2, 999), None, &live, None, open_fake).unwrap();
        let opened = outcome(&opening);
        let Opened::Back { error, .. } = &opened else {
            panic!("expected the camera back in its old mode");
        };
        assert!(error.to_string().contains("no such mode"), "{error}");
        assert_eq!(width_of(&opened), Some(640));
    }

    #[test]
    fn a_released_camera_comes_back_when_a_later_pick_fails() {
        let data = tempfile::tempdir().unwrap();
        let live = live_on(3, &data);
        let first = Opening::start(camera(3, 1280), None, &live, None, open_fake).unwrap();
        let recording = SourceSpec::Replay("/nowhere.mp4".into());
        let second = Opening::start(recording, None, &live, Some(first), open_fake).unwrap();
        let opened = outcome(&second);
        assert!(
            matches!(opened, Opened::Back { .. }),
            "the camera released for the first pick is back"
        );
        assert_eq!(width_of(&opened), Some(640));
    }

    #[test]
    fn a_camera_that_will_not_open_again_is_reported_lost() {
        let data = tempfile::tempdir().unwrap();
        let live = live_on(4, &data);
        UNPLUGGED.lock().unwrap().insert(4);
        let opening = Opening::start(camera(4, 1280), None, &live, None, open_fake).unwrap();
        let Opened::Lost { error, reopen } = outcome(&opening) else {
            panic!("expected the feed lost");
        };
        assert!(error.to_string().contains("unplugged"), "{error}");
        assert!(reopen.to_string().contains("unplugged"), "{reopen}");
    }
}

//! Opening a source off the GUI thread: a camera's handshake can take seconds (up to its 10 s
//! limit), and a folder of unreadable files is read until a frame decodes, while the window keeps
//! drawing the old source.
//!
//! A camera streams to one reader at a time (V4L2 answers a second one "busy"), so:
//! - an opening first waits for the one it replaces to end, and drops what that one opened, so
//!   a camera it opened is free again; the wait is bounded, since a recording on a hung mount
//!   may never finish opening (its source is then dropped whenever it arrives);
//! - opening a camera asks the feed to let go of it first, if the feed shows that camera (in
//!   another mode); the mode it had is kept in the app's [`WayBack`] until a source is on
//!   screen again, so a pick that fails, this one or any later one, brings that camera back;
//!   if even that fails, the window says the feed is lost.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};

use super::devices::CameraChoice;
use crate::camera::{FrameSource, SourceError, SourceSpec};
use crate::session::Session;

/// How a source is opened: [`crate::camera::open`], or a stand-in in tests.
pub type Opener = fn(&SourceSpec) -> Result<Box<dyn FrameSource>, SourceError>;

/// Longest wait for the opening being replaced: a camera's open gives up after 10 s, and
/// releasing the feed's camera before it takes at most [`crate::session::RELEASE_WAIT`].
const EARLIER_OPENING: Duration = Duration::from_secs(30);

/// The mode of the feed's camera, released for an opening, while nothing has replaced it on
/// screen: what a failed pick goes back to. Shared by the app and every opening thread.
#[derive(Clone, Default)]
pub struct WayBack(Arc<Mutex<Option<SourceSpec>>>);

impl WayBack {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<SourceSpec>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A source is on screen again (the pick, or the camera brought back), or nothing can be.
    pub fn clear(&self) {
        *self.slot() = None;
    }
}

/// What an opening came to.
pub enum Opened {
    Ready(Box<dyn FrameSource>),
    /// It did not open; the feed goes on as it was.
    Failed(SourceError),
    /// It did not open, and the feed's camera, released for this or an earlier pick, streams
    /// again in its old mode.
    Back {
        source: Box<dyn FrameSource>,
        error: SourceError,
    },
    /// It did not open, and the feed's camera, released for this or an earlier pick, did not
    /// open again either.
    Lost {
        error: SourceError,
        reopen: SourceError,
    },
}

/// A source being opened, and the camera to remember once it streams.
pub struct Opening {
    pub camera: Option<CameraChoice>,
    result: Receiver<Opened>,
}

impl Opening {
    /// Starts opening `spec` on a thread of its own, after `earlier` (the opening this one
    /// replaces) has ended.
    pub fn start(
        spec: SourceSpec,
        camera: Option<CameraChoice>,
        live: &Session,
        earlier: Option<Opening>,
        way_back: &WayBack,
        open: Opener,
    ) -> std::io::Result<Opening> {
        let release = match spec {
            SourceSpec::Camera { index, .. } => Some((index, live.releaser())),
            _ => None,
        };
        let earlier = earlier.map(|e| e.result);
        let way_back = way_back.clone();
        let (done, result) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("open-source".into())
            .spawn(move || {
                if let Some(earlier) = earlier {
                    // Its source, if any, is dropped (closed) here.
                    let _ = earlier.recv_timeout(EARLIER_OPENING);
                }
                if let Some((index, releaser)) = release
                    && let Some(shown) = releaser.release(index)
                {
                    *way_back.slot() = Some(shown);
                }
                // A panic in a driver or decoder must not leave a released feed unexplained.
                let open = |spec: &SourceSpec| {
                    catch_unwind(AssertUnwindSafe(|| open(spec))).unwrap_or_else(|_| {
                        Err(SourceError::UnreadableClip {
                            path: format!("{spec:?}").into(),
                            reason: "opening it panicked".into(),
                        })
                    })
                };
                let opened = match open(&spec) {
                    Ok(source) => Opened::Ready(source),
                    Err(error) => match way_back.slot().clone() {
                        None => Opened::Failed(error),
                        Some(back) => match open(&back) {
                            Ok(source) => Opened::Back { source, error },
                            Err(reopen) => Opened::Lost { error, reopen },
                        },
                    },
                };
                // Nobody waiting any more (another source was picked since): the later
                // opening drops the source, or it is dropped here.
                let _ = done.send(opened);
            })?;
        Ok(Opening { camera, result })
    }

    /// The outcome once there is one; `Err` when the opening thread died without one.
    pub fn poll(&self) -> Option<Result<Opened, ()>> {
        match self.result.try_recv() {
            Ok(opened) => Some(Ok(opened)),
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
            return Err(SourceError::NoCamera { index: 0 });
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

    /// The app's side of an opening: a session showing fake camera `index` at width 640, and
    /// its way back.
    struct Desk {
        live: Session,
        way_back: WayBack,
        _data: tempfile::TempDir,
    }

    impl Desk {
        fn on(index: u32) -> Desk {
            let data = tempfile::tempdir().unwrap();
            let source = open_fake(&camera(index, 640)).unwrap();
            let store = Store::open(data.path()).unwrap();
            Desk {
                live: Session::start(
                    source,
                    Err("no models in this test".into()),
                    store,
                    Arc::new(|| {}),
                ),
                way_back: WayBack::default(),
                _data: data,
            }
        }

        /// The user picks `spec`, replacing `earlier` if it is still opening.
        fn pick(&self, spec: SourceSpec, earlier: Option<Opening>) -> Opening {
            Opening::start(spec, None, &self.live, earlier, &self.way_back, open_fake).unwrap()
        }
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
        let desk = Desk::on(0);
        let opening = desk.pick(camera(0, 1280), None);
        let opened = outcome(&opening);
        assert!(matches!(opened, Opened::Ready(_)), "not busy");
        assert_eq!(width_of(&opened), Some(1280));
    }

    #[test]
    fn a_camera_picked_again_while_it_opens_waits_for_the_first() {
        let desk = Desk::on(1);
        let first = desk.pick(camera(1, 1280), None);
        let second = desk.pick(camera(1, 320), Some(first));
        let opened = outcome(&second);
        assert!(matches!(opened, Opened::Ready(_)), "not busy");
        assert_eq!(width_of(&opened), Some(320));
    }

    #[test]
    fn a_mode_that_fails_goes_back_to_the_one_before() {
        let desk = Desk::on(2);
        let opening = desk.pick(camera(2, 999), None);
        let opened = outcome(&opening);
        let Opened::Back { error, .. } = &opened else {
            panic!("expected the camera back in its old mode");
        };
        assert!(error.to_string().contains("no such mode"), "{error}");
        assert_eq!(width_of(&opened), Some(640));
    }

    #[test]
    fn a_released_camera_comes_back_when_a_later_pick_fails() {
        let desk = Desk::on(3);
        let first = desk.pick(camera(3, 1280), None);
        let recording = SourceSpec::Replay("/nowhere.mp4".into());
        let second = desk.pick(recording, Some(first));
        let opened = outcome(&second);
        assert!(
            matches!(opened, Opened::Back { .. }),
            "the camera released for the first pick is back"
        );
        assert_eq!(width_of(&opened), Some(640));
    }

    #[test]
    fn a_camera_that_will_not_open_again_is_reported_lost() {
        let desk = Desk::on(4);
        UNPLUGGED.lock().unwrap().insert(4);
        let opening = desk.pick(camera(4, 1280), None);
        let Opened::Lost { error, reopen } = outcome(&opening) else {
            panic!("expected the feed lost");
        };
        assert!(error.to_string().contains("unplugged"), "{error}");
        assert!(reopen.to_string().contains("unplugged"), "{reopen}");
    }
}

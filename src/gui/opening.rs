//! Opening a source off the GUI thread: a camera's handshake can take seconds (up to its 10 s
//! limit), and a folder of unreadable files is read until a frame decodes, while the window keeps
//! drawing the old source.
//!
//! A camera streams to one reader at a time (V4L2 answers a second one "busy"), so opening a
//! camera first waits for whoever has it: the feed, when the user picks another mode of the camera
//! on screen (it is released, and opened again in its old mode if the new one fails), or an
//! opening of the same camera still under way (its source is dropped once it arrives).

use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};

use super::devices::CameraChoice;
use crate::camera::{FrameSource, SourceError, SourceSpec};
use crate::session::Session;

/// How a source is opened: [`crate::camera::open`], or a stand-in in tests.
pub type Opener = fn(&SourceSpec) -> Result<Box<dyn FrameSource>, SourceError>;

/// Longest wait for an earlier opening of the same camera: its own limit is 10 s.
const EARLIER_OPENING: Duration = Duration::from_secs(12);
/// Longest wait for the feed to close its camera: the source's drop waits up to 2 s.
const RELEASE: Duration = Duration::from_secs(3);

/// What an opening came to.
pub enum Opened {
    Ready(Box<dyn FrameSource>),
    Failed(SourceError),
    /// The camera on screen was released for another mode that would not open; it streams
    /// again in the mode it had.
    Back {
        source: Box<dyn FrameSource>,
        error: SourceError,
    },
}

/// A source being opened, and the camera to remember once it streams.
pub struct Opening {
    pub camera: Option<CameraChoice>,
    spec: SourceSpec,
    /// The mode the released camera had, to go back to.
    fallback: Option<SourceSpec>,
    result: Receiver<Opened>,
}

fn camera_index(spec: &SourceSpec) -> Option<u32> {
    match spec {
        SourceSpec::Camera { index, .. } => Some(*index),
        _ => None,
    }
}

impl Opening {
    /// Starts opening `spec` on a thread of its own. `earlier` is the opening this one replaces,
    /// if any; `live` is released first when it shows the same camera.
    pub fn start(
        spec: SourceSpec,
        camera: Option<CameraChoice>,
        live: &mut Session,
        earlier: Option<Opening>,
        open: Opener,
    ) -> std::io::Result<Opening> {
        let index = camera_index(&spec);
        let same_camera = |other: &SourceSpec| index.is_some() && camera_index(other) == index;
        // An earlier opening of another source is simply dropped: its source closes as it
        // arrives, with nobody waiting for it.
        let earlier = earlier.filter(|e| same_camera(&e.spec));
        let mut fallback = earlier.as_ref().and_then(|e| e.fallback.clone());
        let mut released = None;
        if let Some(shown) = live.camera.clone().filter(|c| same_camera(c)) {
            fallback = Some(shown);
            released = Some(live.release_source());
        }
        let (done, result) = crossbeam_channel::bounded(1);
        let thread_spec = spec.clone();
        let thread_fallback = fallback.clone();
        std::thread::Builder::new()
            .name("open-source".into())
            .spawn(move || {
                if let Some(earlier) = earlier {
                    // Its source, if any, is dropped (closed) here.
                    let _ = earlier.result.recv_timeout(EARLIER_OPENING);
                }
                if let Some(released) = released {
                    let _ = released.recv_timeout(RELEASE);
                }
                let opened = match (open(&thread_spec), thread_fallback) {
                    (Ok(source), _) => Opened::Ready(source),
                    (Err(error), Some(fallback)) => match open(&fallback) {
                        Ok(source) => Opened::Back { source, error },
                        Err(_) => Opened::Failed(error),
                    },
                    (Err(error), None) => Opened::Failed(error),
                };
                // Nobody waiting any more (another source was picked since): the source is
                // dropped here, which closes it.
                let _ = done.send(opened);
            })?;
        Ok(Opening {
            camera,
            spec,
            fallback,
            result,
        })
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
    use std::time::Instant;

    use super::*;
    use crate::camera::Frame;
    use crate::store::Store;

    /// Stand-in cameras that, like V4L2 ones, stream to one reader at a time.
    static HELD: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

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
    /// camera does not have.
    fn open_fake(spec: &SourceSpec) -> Result<Box<dyn FrameSource>, SourceError> {
        let &SourceSpec::Camera { index, width, .. } = spec else {
            panic!("cameras only");
        };
        std::thread::sleep(Duration::from_millis(100));
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
            Opened::Failed(_) => return None,
        };
        match source.camera_spec() {
            Some(SourceSpec::Camera { width, .. }) => Some(width),
            _ => None,
        }
    }

    #[test]
    fn another_mode_of_the_camera_on_screen_opens() {
        let data = tempfile::tempdir().unwrap();
        let mut live = live_on(0, &data);
        let opening = Opening::start(camera(0, 1280), None, &mut live, None, open_fake).unwrap();
        let opened = outcome(&opening);
        assert!(matches!(opened, Opened::Ready(_)), "not busy");
        assert_eq!(width_of(&opened), Some(1280));
    }

    #[test]
    fn a_camera_picked_again_while_it_opens_waits_for_the_first() {
        let data = tempfile::tempdir().unwrap();
        let mut live = live_on(1, &data);
        let first = Opening::start(camera(1, 1280), None, &mut live, None, open_fake).unwrap();
        let second =
            Opening::start(camera(1, 320), None, &mut live, Some(first), open_fake).unwrap();
        let opened = outcome(&second);
        assert!(matches!(opened, Opened::Ready(_)), "not busy");
        assert_eq!(width_of(&opened), Some(320));
    }

    #[test]
    fn a_mode_that_fails_goes_back_to_the_one_before() {
        let data = tempfile::tempdir().unwrap();
        let mut live = live_on(2, &data);
        let opening = Opening::start(camera(2, 999), None, &mut live, None, open_fake).unwrap();
        let opened = outcome(&opening);
        let Opened::Back { error, .. } = &opened else {
            panic!("expected the camera back in its old mode");
        };
        assert!(error.to_string().contains("no such mode"), "{error}");
        assert_eq!(width_of(&opened), Some(640));
    }
}

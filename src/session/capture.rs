//! The capture thread: pulls frames from the source at the source's pace and hands them on
//! without ever blocking on a slow consumer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::Event;
use crate::camera::{Frame, FrameSource, SourceSpec};

/// How often a source that failed is tried again.
const RETRY: Duration = Duration::from_millis(500);

/// A frame for the worker, with the number of the source it came from ([`Swap::To`]'s): the
/// worker judges only frames of the source the window shows, whatever order the frame and the
/// news of a change reach it in.
pub struct Tagged {
    pub source: u64,
    /// How many times the source had been started over ([`Swap::Rewind`]) when it was read.
    pub pass: u64,
    pub frame: Arc<Frame>,
}

/// What the worker has of the capture thread: the newest frame, and a way to start a recording
/// over when an attempt begins on it ([`Swap::Rewind`]).
pub struct Feed {
    pub frames: Receiver<Tagged>,
    pub rewind: Sender<Swap>,
}

/// Where the capture thread's frames and news go.
pub struct Outlets {
    /// To the GUI, bounded: frames are dropped when it lags.
    pub display: Sender<Arc<Frame>>,
    /// The worker's newest-frame slot (bounded 1) and a receiver to empty it of a stale frame.
    pub slot: Sender<Tagged>,
    pub slot_drain: Receiver<Tagged>,
    pub events: Sender<Event>,
    pub wake: Arc<dyn Fn() + Send + Sync>,
}

/// What the GUI asks of the capture thread's source.
pub enum Swap {
    /// Read this source from now on, tagging its frames with `number`; the old one is dropped
    /// (closed).
    To {
        source: Box<dyn FrameSource>,
        number: u64,
    },
    /// If the source is camera `index`, close it and answer with what reopens it in its mode
    /// (else answer `None` and go on): a camera streams to one reader at a time, so the same
    /// camera in another mode can only be opened after this. The source asked is the one held
    /// now, so a camera that came back at another index is still recognised.
    Release {
        index: u32,
        answer: Sender<Option<SourceSpec>>,
    },
    /// Play a recording again from its start ([`FrameSource::rewind`]); a camera goes on.
    Rewind,
}

pub fn spawn(
    source: Box<dyn FrameSource>,
    replacements: Receiver<Swap>,
    outlets: Outlets,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let Outlets {
        display,
        slot,
        slot_drain,
        events,
        wake,
    } = outlets;
    std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || {
            let mut failing = false;
            let mut source = Some(source);
            // The first source is number 0; the session numbers the ones after it.
            let mut number = 0;
            let mut pass = 0;
            while !stop.load(Ordering::Relaxed) {
                // The user picked another camera or recording: the old one is dropped (closed)
                // here. Without a source, wait for one (and still look at `stop` now and then).
                let swap = match source {
                    Some(_) => replacements.try_recv().ok(),
                    None => replacements.recv_timeout(RETRY).ok(),
                };
                match swap {
                    Some(Swap::To {
                        source: next,
                        number: next_number,
                    }) => {
                        source = Some(next);
                        number = next_number;
                        failing = false;
                    }
                    Some(Swap::Release { index, answer }) => {
                        let held = source.as_ref().and_then(|s| s.camera_spec());
                        if matches!(held, Some(SourceSpec::Camera { index: i, .. }) if i == index) {
                            // Dropped, so closed, before the answer.
                            source = None;
                            let _ = answer.send(held);
                            continue;
                        }
                        let _ = answer.send(None);
                    }
                    Some(Swap::Rewind) => {
                        pass += 1;
                        if let Some(source) = source.as_mut() {
                            source.rewind();
                        }
                    }
                    None => {}
                }
                let Some(source) = source.as_mut() else {
                    continue;
                };
                // After a failure, the source tries to get going again first (a camera that
                // was unplugged is opened anew once it is back), quietly, until it works.
                if failing && let Err(e) = source.reconnect() {
                    tracing::debug!("source still away: {e}");
                    std::thread::sleep(RETRY);
                    continue;
                }
                let frame = match source.next_frame() {
                    Ok(f) => Arc::new(f),
                    Err(e) => {
                        // An unplugged camera: say so once, then keep retrying quietly.
                        if !failing {
                            let _ = events.send(Event::SourceError(format!(
                                "{}; retrying",
                                crate::shown::Reason(&e)
                            )));
                            wake();
                        }
                        failing = true;
                        std::thread::sleep(RETRY);
                        continue;
                    }
                };
                if failing {
                    failing = false;
                    let _ = events.send(Event::SourceRecovered);
                }
                // The GUI shows what it can; if it is two frames behind, this one is dropped.
                let _ = display.try_send(frame.clone());
                // The worker always gets the newest frame: replace a stale one it has not taken.
                let frame = Tagged {
                    source: number,
                    pass,
                    frame,
                };
                if let Err(TrySendError::Full(frame)) = slot.try_send(frame) {
                    let _ = slot_drain.try_recv();
                    let _ = slot.try_send(frame);
                }
                wake();
            }
        })
        .expect("spawn the capture thread")
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::camera::SourceError;

    /// A capture thread on a test source, with the ends a test watches.
    struct Capture {
        thread: std::thread::JoinHandle<()>,
        display: Receiver<Arc<Frame>>,
        slot: Receiver<Tagged>,
        events: Receiver<Event>,
        replace: Sender<Swap>,
        stop: Arc<AtomicBool>,
    }

    impl Capture {
        /// Starts it, keeping up to `shown` frames for the display.
        fn start(source: Box<dyn FrameSource>, shown: usize) -> Capture {
            let (display, display_rx) = crossbeam_channel::bounded(shown);
            let (slot, slot_drain) = crossbeam_channel::bounded(1);
            let slot_drain_for_test = slot_drain.clone();
            let (events, events_rx) = crossbeam_channel::unbounded();
            let (replace, replacements) = crossbeam_channel::unbounded();
            let stop = Arc::new(AtomicBool::new(false));
            let outlets = Outlets {
                display,
                slot,
                slot_drain,
                events,
                wake: Arc::new(|| {}),
            };
            Capture {
                thread: spawn(source, replacements, outlets, stop.clone()),
                display: display_rx,
                slot: slot_drain_for_test,
                events: events_rx,
                replace,
                stop,
            }
        }

        fn stop(self) {
            self.stop.store(true, Ordering::Relaxed);
            self.thread.join().unwrap();
        }
    }

    /// A camera that is unplugged after 3 frames and is back on the third reconnection try.
    struct Unplugged {
        frames: u64,
        tries: u32,
        away: bool,
    }

    impl FrameSource for Unplugged {
        fn next_frame(&mut self) -> Result<Frame, SourceError> {
            std::thread::sleep(Duration::from_millis(5));
            if self.away || self.frames == 3 {
                self.away = true;
                self.frames += 1;
                return Err(SourceError::CameraUnavailable {
                    index: 0,
                    detail: "unplugged".into(),
                });
            }
            self.frames += 1;
            Ok(Frame {
                image: image::RgbImage::new(4, 4),
                index: self.frames,
                captured_at: Instant::now(),
            })
        }
        fn describe(&self) -> String {
            "test camera".into()
        }
        fn nominal_fps(&self) -> Option<f32> {
            None
        }
        fn reconnect(&mut self) -> Result<(), SourceError> {
            self.tries += 1;
            if self.tries < 3 {
                return Err(SourceError::NoCamera { index: 0 });
            }
            self.away = false;
            Ok(())
        }
    }

    #[test]
    fn a_camera_that_comes_back_resumes_without_a_restart() {
        let source = Unplugged {
            frames: 0,
            tries: 0,
            away: false,
        };
        let capture = Capture::start(Box::new(source), 64);
        let display_rx = capture.display.clone();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && display_rx.len() < 6 {
            std::thread::sleep(Duration::from_millis(20));
        }
        while let Ok(e) = capture.events.try_recv() {
            seen.push(e);
        }
        capture.stop();
        assert!(
            display_rx.len() >= 6,
            "frames flow again after the camera is back"
        );
        assert!(
            matches!(&seen[..], [Event::SourceError(e), Event::SourceRecovered] if e.contains("unplugged")),
            "one error, then recovery: {seen:?}"
        );
    }

    /// Camera 7 that streams until dropped, and records its drop.
    struct Closable(Arc<AtomicBool>);

    impl FrameSource for Closable {
        fn next_frame(&mut self) -> Result<Frame, SourceError> {
            std::thread::sleep(Duration::from_millis(5));
            Ok(Frame {
                image: image::RgbImage::new(4, 4),
                index: 0,
                captured_at: Instant::now(),
            })
        }
        fn describe(&self) -> String {
            "closable".into()
        }
        fn nominal_fps(&self) -> Option<f32> {
            None
        }
        fn camera_spec(&self) -> Option<SourceSpec> {
            Some(SourceSpec::camera(7))
        }
    }

    impl Drop for Closable {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_released_camera_is_closed_before_the_release_is_answered() {
        let first = Arc::new(AtomicBool::new(false));
        let capture = Capture::start(Box::new(Closable(first.clone())), 1);
        let (display_rx, replace) = (capture.display.clone(), capture.replace.clone());
        let wait = Duration::from_secs(5);
        display_rx
            .recv_timeout(wait)
            .expect("the first source streams");
        let release = |index| {
            let (answer, answered) = crossbeam_channel::bounded(1);
            replace.send(Swap::Release { index, answer }).unwrap();
            answered
                .recv_timeout(wait)
                .expect("the release is answered")
        };
        // Another camera: nothing to release.
        assert_eq!(release(8), None);
        assert!(!first.load(Ordering::SeqCst));
        display_rx.recv_timeout(wait).expect("still streaming");
        assert_eq!(release(7), Some(SourceSpec::camera(7)));
        assert!(first.load(Ordering::SeqCst), "closed before the answer");
        // Nothing streams until the next source comes.
        while display_rx.try_recv().is_ok() {}
        assert!(display_rx.recv_timeout(Duration::from_millis(200)).is_err());
        let second = Arc::new(AtomicBool::new(false));
        replace
            .send(Swap::To {
                source: Box::new(Closable(second.clone())),
                number: 1,
            })
            .unwrap();
        display_rx
            .recv_timeout(wait)
            .expect("the next source streams");
        capture.stop();
        assert!(second.load(Ordering::SeqCst));
    }

    #[test]
    fn the_worker_gets_each_frame_with_its_sources_number() {
        let capture = Capture::start(Box::new(Closable(Arc::new(AtomicBool::new(false)))), 1);
        let wait = Duration::from_secs(5);
        let first = capture
            .slot
            .recv_timeout(wait)
            .expect("the first source streams");
        assert_eq!(first.source, 0);
        capture
            .replace
            .send(Swap::To {
                source: Box::new(Closable(Arc::new(AtomicBool::new(false)))),
                number: 3,
            })
            .unwrap();
        let numbers: Vec<u64> = (0..20)
            .map(|_| capture.slot.recv_timeout(wait).expect("frames flow").source)
            .collect();
        capture.stop();
        println!("numbers after the swap: {numbers:?}");
        let switched = numbers
            .iter()
            .position(|&n| n == 3)
            .expect("the new number");
        assert!(
            numbers[..switched].iter().all(|&n| n == 0)
                && numbers[switched..].iter().all(|&n| n == 3),
            "old numbers, then only the new one: {numbers:?}"
        );
    }

    /// Counts its frames; rewound, it counts on from [`REWOUND`], so that a frame tells which
    /// side of the rewind it was read on.
    struct Counting(u64);

    const REWOUND: u64 = 1_000_000;

    impl FrameSource for Counting {
        fn next_frame(&mut self) -> Result<Frame, SourceError> {
            std::thread::sleep(Duration::from_millis(5));
            self.0 += 1;
            Ok(Frame {
                image: image::RgbImage::new(4, 4),
                index: self.0,
                captured_at: Instant::now(),
            })
        }
        fn describe(&self) -> String {
            "counting".into()
        }
        fn nominal_fps(&self) -> Option<f32> {
            None
        }
        fn rewind(&mut self) {
            self.0 = REWOUND;
        }
    }

    /// An attempt starts a recording over: the frames read after the rewind are of the next
    /// pass, and only those.
    #[test]
    fn a_rewind_starts_the_source_over_in_a_new_pass() {
        let capture = Capture::start(Box::new(Counting(0)), 1);
        let wait = Duration::from_secs(5);
        let before = capture.slot.recv_timeout(wait).expect("frames flow");
        assert_eq!(before.pass, 0);
        capture.replace.send(Swap::Rewind).unwrap();
        let frames: Vec<(u64, u64)> = (0..20)
            .map(|_| capture.slot.recv_timeout(wait).expect("frames flow"))
            .map(|t| (t.pass, t.frame.index))
            .collect();
        capture.stop();
        println!("(pass, index) after the rewind: {frames:?}");
        let rewound = frames
            .iter()
            .position(|&(p, _)| p == 1)
            .expect("a new pass");
        assert!(frames[..rewound].iter().all(|&(p, _)| p == 0));
        assert!(frames[rewound..].iter().all(|&(p, _)| p == 1));
        // Tagged with the next pass exactly from the first frame read after the source was
        // started over.
        assert!(frames[..rewound].iter().all(|&(_, i)| i < REWOUND));
        assert!(frames[rewound..].iter().all(|&(_, i)| i > REWOUND));
    }
}

//! The live session behind the desktop app: a capture thread that reads the camera (or a replay)
//! at its own rate, and an inference worker that analyses the newest frame it can. The GUI talks
//! to both through channels only and never waits on either.
//!
//! ```text
//! source ──capture thread──┬─► display frames (bounded 2, dropped when the GUI lags)
//!                          └─► newest-frame slot (bounded 1, stale frame replaced) ─► worker
//! GUI ──Command──► worker ──Event──► GUI
//! ```

mod capture;
mod jobs;
mod manage;
mod messages;
mod overlays;
mod unlock;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

pub use messages::{
    Analysis, AttemptVerdict, CalibrationRefused, Command, CompareResult, Event, FaceLabel,
    HeadRule, ImportProgress, Mode, Thumbnail, Timings, UnlockStatus,
};

use crate::camera::{CameraMode, Frame, FrameSource, SourceSpec};
use crate::runtime::Models;
use crate::store::Store;

/// Handles the GUI holds. Dropping it stops both threads.
pub struct Session {
    pub frames: Receiver<Arc<Frame>>,
    pub events: Receiver<Event>,
    pub commands: Sender<Command>,
    pub source_name: String,
    pub nominal_fps: Option<f32>,
    /// The modes the current source offers (a camera's resolutions and rates; else empty).
    pub modes: Vec<CameraMode>,
    replace_source: Sender<capture::Swap>,
    /// The number of the source shown now (the capture thread tags its frames with it).
    source_number: u64,
    threads: Vec<std::thread::JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Session {
    /// Starts the capture thread on `source` and the worker on `models` and `store`. The worker
    /// builds its ONNX sessions on its own thread, so the window opens at once; with no models
    /// (`models` says why) or a model that fails to load, it sends [`Event::AnalysisOff`] and
    /// answers clicks with that reason, and the feed keeps running.
    pub fn start(
        source: Box<dyn FrameSource>,
        models: Result<Models, String>,
        store: Store,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Session {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (display_tx, display_rx) = crossbeam_channel::bounded(2);
        let (slot_tx, slot_rx) = crossbeam_channel::bounded(1);
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let (event_tx, event_rx) = crossbeam_channel::unbounded();
        let source_name = source.describe();
        let nominal_fps = source.nominal_fps();
        let modes = source.modes();
        let (replace_tx, replace_rx) = crossbeam_channel::unbounded();
        let outlets = capture::Outlets {
            display: display_tx,
            slot: slot_tx,
            slot_drain: slot_rx.clone(),
            events: event_tx.clone(),
            wake: wake.clone(),
        };
        let capture = capture::spawn(source, replace_rx, outlets, stop.clone());
        let feed = capture::Feed {
            frames: slot_rx,
            rewind: replace_tx.clone(),
        };
        let worker = worker::spawn(models, store, feed, cmd_rx, event_tx, wake, stop.clone());
        Session {
            frames: display_rx,
            events: event_rx,
            commands: cmd_tx,
            source_name,
            nominal_fps,
            modes,
            replace_source: replace_tx,
            source_number: 0,
            threads: vec![capture, worker],
            stop,
        }
    }

    /// Switches the feed to another source; the capture thread closes the old one, and the
    /// worker ends what it had under way ([`Command::SourceChanged`]) and from then on judges
    /// only the new source's frames.
    pub fn set_source(&mut self, source: Box<dyn FrameSource>) {
        self.source_name = source.describe();
        self.nominal_fps = source.nominal_fps();
        self.modes = source.modes();
        let number = self.next_source();
        let _ = self
            .replace_source
            .send(capture::Swap::To { source, number });
    }

    /// A new source number, told to the worker.
    fn next_source(&mut self) -> u64 {
        self.source_number += 1;
        self.send(Command::SourceChanged(self.source_number));
        self.source_number
    }

    /// What lets an opening thread close the feed's camera before it opens that camera in
    /// another mode.
    pub fn releaser(&self) -> Releaser {
        Releaser(self.replace_source.clone())
    }

    /// The feed has nothing to show (its camera was released and did not open again): no frame
    /// will come to end an attempt under way, so the worker ends it now.
    pub fn source_lost(&mut self) {
        self.source_name = "no source".into();
        self.nominal_fps = None;
        self.modes.clear();
        self.next_source();
    }

    pub fn send(&self, command: Command) {
        // The worker only goes away at shutdown; a lost command then does not matter.
        let _ = self.commands.send(command);
    }
}

/// Longest wait for the capture thread to look at a release: it looks between frames, and a
/// camera's next frame, close or reconnection each give up within 10 s.
pub const RELEASE_WAIT: Duration = Duration::from_secs(15);

/// Closes the feed's camera for an opening thread; see [`Session::releaser`].
#[derive(Clone)]
pub struct Releaser(Sender<capture::Swap>);

impl Releaser {
    /// Closes the feed's source if it is camera `index` (the window keeps its last frame), and
    /// returns what reopens it in the mode it had; `None` when the feed shows something else
    /// (or the capture thread did not look within [`RELEASE_WAIT`]). Blocks; never call it on
    /// the GUI thread.
    pub fn release(&self, index: u32) -> Option<SourceSpec> {
        let (answer, answered) = crossbeam_channel::bounded(1);
        self.0.send(capture::Swap::Release { index, answer }).ok()?;
        answered.recv_timeout(RELEASE_WAIT).ok().flatten()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.commands.send(Command::Shutdown);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

//! The capture thread: pulls frames from the source at the source's pace and hands them on
//! without ever blocking on a slow consumer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::Event;
use crate::camera::{Frame, FrameSource};

/// Where the capture thread's frames and news go.
pub struct Outlets {
    /// To the GUI, bounded: frames are dropped when it lags.
    pub display: Sender<Arc<Frame>>,
    /// The worker's newest-frame slot (bounded 1) and a receiver to empty it of a stale frame.
    pub slot: Sender<Arc<Frame>>,
    pub slot_drain: Receiver<Arc<Frame>>,
    pub events: Sender<Event>,
    pub wake: Arc<dyn Fn() + Send + Sync>,
}

pub fn spawn(
    mut source: Box<dyn FrameSource>,
    replacements: Receiver<Box<dyn FrameSource>>,
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
            while !stop.load(Ordering::Relaxed) {
                // The user picked another camera or recording: the old one is dropped (closed) here.
                if let Ok(next) = replacements.try_recv() {
                    source = next;
                    failing = false;
                }
                let frame = match source.next_frame() {
                    Ok(f) => Arc::new(f),
                    Err(e) => {
                        // An unplugged camera: say so once, then keep retrying quietly.
                        if !failing {
                            let _ = events.send(Event::SourceError(format!("{e:#}; retrying")));
                            wake();
                        }
                        failing = true;
                        std::thread::sleep(Duration::from_millis(500));
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
                if let Err(TrySendError::Full(frame)) = slot.try_send(frame) {
                    let _ = slot_drain.try_recv();
                    let _ = slot.try_send(frame);
                }
                wake();
            }
        })
        .expect("spawn the capture thread")
}

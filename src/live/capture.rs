//! The capture thread: pulls frames from the source at the source's pace and hands them on
//! without ever blocking on a slow consumer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::Event;
use crate::camera::{Frame, FrameSource};

pub fn spawn(
    mut source: Box<dyn FrameSource>,
    display: Sender<Arc<Frame>>,
    slot: Sender<Arc<Frame>>,
    slot_drain: Receiver<Arc<Frame>>,
    events: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || {
            let mut failing = false;
            while !stop.load(Ordering::Relaxed) {
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

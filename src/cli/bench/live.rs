//! Part 2 of `facegate bench`: the live session the desktop app runs (capture thread + inference
//! worker), on a paced replay in continuous-verify mode, read as the GUI would read it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{BenchArgs, GALLERY_SIZE, Quantiles};
use crate::camera::{self, Frame, FrameSource, ReplayOptions, SourceError, SourceSpec};
use crate::engine::Engine;
use crate::runtime::Models;
use crate::session::{Command, Event, Mode, Session};
use crate::store::{Gallery, ImageKind, Store};

#[derive(Serialize)]
pub(super) struct Live {
    pub(super) source: String,
    pub(super) seconds: f64,
    pub(super) nominal_fps: Option<f32>,
    /// Frames the source delivered to the capture thread.
    pub(super) frames_captured: u64,
    /// Frames that reached the (simulated) GUI.
    pub(super) frames_shown: u64,
    /// Frames the worker finished analysing.
    pub(super) frames_analysed: u64,
    /// Captured frames the worker never saw (replaced in its newest-frame slot while busy).
    pub(super) frames_dropped: u64,
    /// Analysed frames that carried a verdict (one face, gallery compared).
    pub(super) verdicts: u64,
    /// Capture → Analysis event, every analysed frame.
    pub(super) latency: Quantiles,
    /// Capture → result, frames verified afresh (the verdict is sent with the frame's analysis).
    pub(super) verdict_latency: Quantiles,
    /// Per-stage times the worker measured on the frames it analysed.
    pub(super) detect: Quantiles,
    pub(super) embed: Quantiles,
    pub(super) attributes: Quantiles,
    pub(super) enrolled_images: usize,
}

/// Counts frames as the capture thread pulls them, so frames nobody saw can be counted too.
struct Counting {
    inner: Box<dyn FrameSource>,
    pulled: Arc<AtomicU64>,
}

impl FrameSource for Counting {
    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let f = self.inner.next_frame()?;
        self.pulled.fetch_add(1, Ordering::Relaxed);
        Ok(f)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn nominal_fps(&self) -> Option<f32> {
        self.inner.nominal_fps()
    }
}

fn default_live_source(photo: &Path) -> SourceSpec {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/sadtalker_video/examples/ref_video/WDA_KatieHill_000.mp4");
    if clip.exists() {
        SourceSpec::Replay(clip)
    } else {
        SourceSpec::Demo(photo.to_owned())
    }
}

/// Part 2: the live session on a paced replay, continuous verification of a person enrolled from
/// the same source, for `args.live_seconds`.
pub(super) fn run(models: &Models, photo: &Path, args: &BenchArgs) -> anyhow::Result<Live> {
    let spec = args
        .live_source
        .clone()
        .map_or_else(|| default_live_source(photo), SourceSpec::Replay);
    let data = tempfile::tempdir()?;
    const PERSON: &str = "bench";

    // Enrol: verification images from frames spread over the first seconds of the source.
    let enrolled = {
        let mut engine = Engine::new(models, Store::open(data.path())?)?;
        engine.store().add_person(PERSON)?;
        let gallery = Gallery::Person {
            name: PERSON.into(),
            kind: ImageKind::Verification,
        };
        let mut source = camera::open_with(
            &spec,
            ReplayOptions {
                paced: false,
                ..ReplayOptions::default()
            },
        )?;
        let mut saved = 0;
        for i in 0..GALLERY_SIZE * 12 {
            let f = source.next_frame()?;
            if i % 12 == 0 && engine.capture(&gallery, &f.image, None).is_ok() {
                saved += 1;
            }
        }
        saved
    };
    anyhow::ensure!(
        enrolled > 0,
        "no frame of the live source passed the capture check"
    );

    let pulled = Arc::new(AtomicU64::new(0));
    let source = Box::new(Counting {
        inner: camera::open_with(&spec, ReplayOptions::default())?,
        pulled: pulled.clone(),
    });
    let session = Session::start(
        source,
        Ok(models.clone()),
        Store::open(data.path())?,
        Arc::new(|| {}),
    );
    let source_name = session.source_name.clone();
    let nominal_fps = session.nominal_fps;

    // Sessions load on the worker thread; time from Ready on.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match session.events.recv_deadline(deadline) {
            Ok(Event::Ready { .. }) => break,
            Ok(Event::Error(e)) => anyhow::bail!("live worker: {e}"),
            Ok(_) => {}
            Err(_) => anyhow::bail!("the live worker did not start within 60 s"),
        }
    }
    session.send(Command::SelectPerson(Some(PERSON.into())));
    session.send(Command::SetMode(Mode::Continuous));
    // Skip the first second: thumbnails, first-use attribute sessions and ORT warm-up.
    let warm_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < warm_until {
        let _ = session.frames.recv_timeout(Duration::from_millis(5));
        let _ = session.events.try_recv();
    }

    let start = Instant::now();
    let pulled_at_start = pulled.load(Ordering::Relaxed);
    // `--live-seconds` is range-checked when parsed (0 to an hour).
    let end = start + Duration::from_secs_f32(args.live_seconds);
    let (mut shown, mut analysed, mut verdicts) = (0u64, 0u64, 0u64);
    let (mut latency, mut verdict_latency) = (Vec::new(), Vec::new());
    let (mut detect, mut embed, mut attrs) = (Vec::new(), Vec::new(), Vec::new());
    // The GUI's side: take every display frame and every event as they come.
    while Instant::now() < end {
        crossbeam_channel::select! {
            recv(session.frames) -> f => if f.is_ok() { shown += 1 },
            recv(session.events) -> e => match e {
                Ok(Event::Analysis(a)) => {
                    analysed += 1;
                    latency.push(a.latency_ms as f64);
                    detect.push(a.timings.detect_ms as f64);
                    if a.timings.attributes_ms > 0.0 {
                        attrs.push(a.timings.attributes_ms as f64);
                    }
                    // Fresh verdicts only: between them a tracked face keeps its last one.
                    if a.timings.embed_ms > 0.0 && a.faces.iter().any(|l| l.verified.is_some()) {
                        verdicts += 1;
                        verdict_latency.push(a.latency_ms as f64);
                        embed.push(a.timings.embed_ms as f64);
                    }
                }
                Ok(Event::Error(e) | Event::Unanswered(e)) => anyhow::bail!("live worker: {e}"),
                _ => {}
            },
            default(end.saturating_duration_since(Instant::now())) => {}
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let captured = pulled.load(Ordering::Relaxed) - pulled_at_start;
    drop(session);
    Ok(Live {
        source: source_name,
        seconds,
        nominal_fps,
        frames_captured: captured,
        frames_shown: shown,
        frames_analysed: analysed,
        frames_dropped: captured.saturating_sub(analysed),
        verdicts,
        latency: Quantiles::of(latency),
        verdict_latency: Quantiles::of(verdict_latency),
        detect: Quantiles::of(detect),
        embed: Quantiles::of(embed),
        attributes: Quantiles::of(attrs),
        enrolled_images: enrolled,
    })
}

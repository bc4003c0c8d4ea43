//! `facegate bench`: per-stage timings on real images against the frame budget of issue 7, then a
//! timed run of the live session (capture thread + inference worker, as the GUI drives them).
//!
//! Part 1 times each stage in isolation (median and p95 after warm-up). Part 2 starts the same
//! [`Session`] the desktop app uses, on a paced replay, in continuous-verify mode, and reads
//! what the GUI would see: frames shown, frames analysed, and each frame's capture-to-result
//! latency (carried by [`Event::Analysis`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use image::{RgbImage, imageops};
use serde::Serialize;
use uuid::Uuid;

use super::{Cli, exit};
use crate::auth::{self, Thresholds};
use crate::camera::{self, Frame, FrameSource, ReplayOptions, SourceError, SourceSpec};
use crate::engine::Engine;
use crate::imageio;
use crate::runtime::Models;
use crate::session::{Command, Event, Mode, Session};
use crate::store::{Gallery, ImageKind, Store};
use crate::vision::attributes::AttributeModel;
use crate::vision::{Detector, DetectorConfig, Embedder, EmbedderKind, Embedding, align_arcface};

/// The frame budget of issue 7 (2 cores, CPU only).
pub mod budget {
    pub const DETECT_640_MS: f64 = 8.0;
    pub const EMBED_MS: f64 = 20.0;
    pub const VERIFY_FRAME_MS: f64 = 40.0;
    pub const PEAK_RSS_MB: f64 = 400.0;
    pub const VERDICT_LATENCY_MS: f64 = 150.0;
}

/// Verification images the per-frame verify compares against (the figure).
const GALLERY_SIZE: usize = 10;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Timed runs per stage (after 5 warm-up runs)
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// Photo with one face to time on [default: the astronaut sample]
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Seconds to drive the live session (capture + inference worker); 0 skips that part
    #[arg(long, default_value_t = 10.0)]
    pub live_seconds: f32,
    /// Video file or image folder for the live part [default: a talking-head clip from
    /// ../shared/data when present, else the demo feed]
    #[arg(long)]
    pub live_source: Option<PathBuf>,
}

#[derive(Serialize)]
struct Row {
    /// Stable id for scripts (scripts/opencv_bench.py matches on it).
    key: String,
    stage: String,
    median_ms: f64,
    p95_ms: f64,
    runs: usize,
    budget_ms: Option<f64>,
}

impl Row {
    fn with_budget(mut self, ms: f64) -> Row {
        self.budget_ms = Some(ms);
        self
    }

    /// Budgets are judged on the median: the typical frame, with p95 beside it.
    fn met(&self) -> Option<bool> {
        self.budget_ms.map(|b| self.median_ms <= b)
    }
}

#[derive(Serialize)]
struct Memory {
    /// VmHWM after part 1, with every model loaded (detectors, both embedders, attributes).
    peak_rss_mb_models: f64,
    /// VmHWM at the end (after the live part, which loads its own sessions).
    peak_rss_mb_end: f64,
    budget_mb: f64,
}

#[derive(Serialize, Default)]
struct Quantiles {
    median_ms: f64,
    p95_ms: f64,
    n: usize,
}

impl Quantiles {
    fn of(mut v: Vec<f64>) -> Quantiles {
        if v.is_empty() {
            return Quantiles::default();
        }
        v.sort_by(f64::total_cmp);
        let pick = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Quantiles {
            median_ms: pick(0.5),
            p95_ms: pick(0.95),
            n: v.len(),
        }
    }
}

#[derive(Serialize)]
struct Live {
    source: String,
    seconds: f64,
    nominal_fps: Option<f32>,
    /// Frames the source delivered to the capture thread.
    frames_captured: u64,
    /// Frames that reached the (simulated) GUI.
    frames_shown: u64,
    /// Frames the worker finished analysing.
    frames_analysed: u64,
    /// Captured frames the worker never saw (replaced in its newest-frame slot while busy).
    frames_dropped: u64,
    /// Analysed frames that carried a verdict (one face, gallery compared).
    verdicts: u64,
    /// Capture → Analysis event, every analysed frame.
    latency: Quantiles,
    /// Capture → result, frames verified afresh (the verdict is sent with the frame's analysis).
    verdict_latency: Quantiles,
    /// Per-stage times the worker measured on the frames it analysed.
    detect: Quantiles,
    embed: Quantiles,
    attributes: Quantiles,
    enrolled_images: usize,
}

#[derive(Serialize)]
struct Report {
    machine: String,
    build: &'static str,
    /// ORT intra-op threads per session.
    threads: usize,
    /// OS threads of this process with the part-1 sessions loaded (ORT pools included).
    process_threads: usize,
    image: String,
    rows: Vec<Row>,
    memory: Memory,
    live: Option<Live>,
}

fn time<F: FnMut()>(key: &str, stage: impl Into<String>, runs: usize, mut f: F) -> Row {
    for _ in 0..5 {
        f();
    }
    let ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let q = Quantiles::of(ms);
    Row {
        key: key.into(),
        stage: stage.into(),
        median_ms: q.median_ms,
        p95_ms: q.p95_ms,
        runs,
        budget_ms: None,
    }
}

/// The photo placed on a webcam-sized canvas (letterboxed, like a frame from a desk camera),
/// shrunk by `zoom` (1 = as large as fits) and shifted by `shift` pixels.
fn frame(photo: &RgbImage, w: u32, h: u32, zoom: f32, shift: i64) -> RgbImage {
    let s = (w as f32 / photo.width() as f32).min(h as f32 / photo.height() as f32) * zoom;
    let scaled = imageops::resize(
        photo,
        (photo.width() as f32 * s) as u32,
        (photo.height() as f32 * s) as u32,
        imageops::FilterType::Triangle,
    );
    let mut canvas = RgbImage::from_pixel(w, h, image::Rgb([40, 40, 40]));
    imageops::overlay(
        &mut canvas,
        &scaled,
        i64::from((w - scaled.width()) / 2) + shift,
        i64::from((h - scaled.height()) / 2),
    );
    canvas
}

fn detector(models: &Models, max_side: u32) -> crate::Result<Detector> {
    Detector::new(
        models,
        DetectorConfig {
            max_side,
            ..DetectorConfig::default()
        },
    )
}

/// A field of /proc/self/status (Linux), e.g. "VmHWM" in kB or "Threads".
fn proc_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn peak_rss_mb() -> f64 {
    proc_status("VmHWM:").map_or(f64::NAN, |kb| kb as f64 / 1024.0)
}

pub fn run(cli: &Cli, args: &BenchArgs) -> anyhow::Result<u8> {
    let models = cli.models()?;
    let path = args.image.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/fixtures/astronaut.png")
    });
    let runs = args.runs.max(1);
    if !args.json {
        eprintln!("timing each stage ({runs} runs)...");
    }
    let (rows, process_threads) = stages(&models, &path, runs)?;
    let peak_rss_mb_models = peak_rss_mb();

    let live = if args.live_seconds > 0.0 {
        if !args.json {
            eprintln!("driving the live session for {} s...", args.live_seconds);
        }
        Some(live(&models, &path, args)?)
    } else {
        None
    };

    let report = Report {
        machine: machine(),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        threads: models.intra_threads,
        process_threads,
        image: path.display().to_string(),
        rows,
        memory: Memory {
            peak_rss_mb_models,
            peak_rss_mb_end: peak_rss_mb(),
            budget_mb: budget::PEAK_RSS_MB,
        },
        live,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report, runs);
    }
    Ok(exit::OK)
}

/// Part 1: every stage on its own, then the whole per-frame verify. Also returns the process's
/// thread count while the sessions are alive.
fn stages(models: &Models, path: &Path, runs: usize) -> anyhow::Result<(Vec<Row>, usize)> {
    let bytes = std::fs::read(path)?;
    let photo = imageio::decode(&bytes, path)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut rows = vec![time("decode", format!("decode {name}"), runs, || {
        imageio::decode(&bytes, path).expect("decoded once already");
    })];

    let frame_320 = frame(&photo, 320, 240, 1.0, 0);
    let frame_640 = frame(&photo, 640, 480, 1.0, 0);
    let frame_1280 = frame(&photo, 1280, 720, 1.0, 0);
    let mut det_320 = detector(models, 320)?;
    let mut det_640 = detector(models, 640)?;
    let mut det_1280 = detector(models, 1280)?;
    rows.push(time("detect_320x240", "detect 320×240", runs, || {
        det_320.detect(&frame_320).expect("detect");
    }));
    rows.push(
        time(
            "detect_640x480",
            "detect 640×480 (full size)",
            runs,
            || {
                det_640.detect(&frame_640).expect("detect");
            },
        )
        .with_budget(budget::DETECT_640_MS),
    );
    rows.push(
        time(
            "detect_640x480_on_320",
            "detect 640×480 (on a 320×240 copy)",
            runs,
            || {
                det_320.detect(&frame_640).expect("detect");
            },
        )
        .with_budget(budget::DETECT_640_MS),
    );
    rows.push(time(
        "detect_1280x720_on_640",
        "detect 1280×720 (on a 640×360 copy)",
        runs,
        || {
            det_640.detect(&frame_1280).expect("detect");
        },
    ));
    rows.push(time(
        "detect_1280x720",
        "detect 1280×720 (full size)",
        runs,
        || {
            det_1280.detect(&frame_1280).expect("detect");
        },
    ));
    drop(det_1280);

    let face = det_640
        .detect(&frame_640)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no face in {}", path.display()))?;
    rows.push(time("align", "align to 112×112", runs, || {
        align_arcface(&frame_640, &face);
    }));
    let aligned = align_arcface(&frame_640, &face);
    let mut sface = Embedder::new(models, EmbedderKind::Sface)?;
    for kind in [EmbedderKind::Sface, EmbedderKind::Mbf] {
        let mut other;
        let embedder = if kind == EmbedderKind::Sface {
            &mut sface
        } else {
            other = Embedder::new(models, kind)?;
            &mut other
        };
        rows.push(
            time(
                &format!("embed_{kind}"),
                format!("embed one face ({kind})"),
                runs,
                || {
                    embedder.embed(&aligned).expect("embed");
                },
            )
            .with_budget(budget::EMBED_MS),
        );
    }

    let mut attributes = AttributeModel::new(models)?;
    let mut age_and_gender = || {
        attributes.age(&frame_640, &face.landmarks).expect("age");
        attributes
            .male_probability(&frame_640, &face.landmarks)
            .expect("gender");
    };
    rows.push(time(
        "attributes_age_gender",
        "age + gender (mirrored pair)",
        runs,
        &mut age_and_gender,
    ));
    rows.push(time("attributes_emotion", "emotion", runs, || {
        attributes.emotion(&frame_640, &face.bbox).expect("emotion");
    }));
    rows.push(time(
        "attributes",
        "attributes (age + gender + emotion)",
        runs,
        || {
            attributes.analyze(&frame_640, &face).expect("attributes");
        },
    ));

    // Ten verification embeddings of the same face in other places and sizes, as an enrolled
    // person's gallery would hold.
    let gallery: Vec<(Uuid, Embedding)> = (0..GALLERY_SIZE)
        .filter_map(|i| {
            let img = frame(&photo, 640, 480, 0.7 + 0.03 * i as f32, 10 * i as i64 - 45);
            let f = det_640.detect(&img).ok()?.into_iter().next()?;
            let e = sface.embed(&align_arcface(&img, &f)).ok()?;
            Some((Uuid::new_v4(), e))
        })
        .collect();
    anyhow::ensure!(!gallery.is_empty(), "no face in the gallery frames");
    let thresholds = Thresholds {
        detection: EmbedderKind::Sface.default_threshold(),
        verification: auth::DEFAULT_VERIFICATION_THRESHOLD,
    };
    let mut verify_frame = |det: &mut Detector| {
        let faces = det.detect(&frame_640).expect("detect");
        let face = faces.first().expect("a face");
        let probe = sface
            .embed(&align_arcface(&frame_640, face))
            .expect("embed");
        auth::verify(&probe, &gallery, thresholds)
    };
    rows.push(
        time(
            "verify_frame_640x480",
            format!(
                "verify 640×480 frame (detect + align + embed + {} compares)",
                gallery.len()
            ),
            runs,
            || {
                verify_frame(&mut det_640);
            },
        )
        .with_budget(budget::VERIFY_FRAME_MS),
    );
    rows.push(
        time(
            "verify_frame_640x480_on_320",
            "same, detecting on a 320×240 copy",
            runs,
            || {
                verify_frame(&mut det_320);
            },
        )
        .with_budget(budget::VERIFY_FRAME_MS),
    );
    let threads = proc_status("Threads:").unwrap_or(0) as usize;
    Ok((rows, threads))
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
fn live(models: &Models, photo: &Path, args: &BenchArgs) -> anyhow::Result<Live> {
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
        Some(models.clone()),
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
                Ok(Event::Error(e)) => anyhow::bail!("live worker: {e}"),
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

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "",
    }
}

fn print_table(report: &Report, runs: usize) {
    println!(
        "{}, {} build, {} ORT threads per session ({} OS threads), {runs} runs per stage",
        report.machine, report.build, report.threads, report.process_threads
    );
    println!("\n| stage | median ms | p95 ms | budget | |\n|---|---:|---:|---:|---|");
    for r in &report.rows {
        let budget = r
            .budget_ms
            .map_or(String::new(), |b| format!("≤ {b:.0} ms"));
        println!(
            "| {} | {:.2} | {:.2} | {budget} | {} |",
            r.stage,
            r.median_ms,
            r.p95_ms,
            verdict(r.met())
        );
    }
    let m = &report.memory;
    println!(
        "| peak RSS, all models loaded (VmHWM) | {:.0} MB | | ≤ {:.0} MB | {} |",
        m.peak_rss_mb_models,
        m.budget_mb,
        verdict(Some(m.peak_rss_mb_models <= m.budget_mb))
    );
    let Some(l) = &report.live else {
        return;
    };
    println!(
        "\nlive session, {:.1} s of {} ({} fps nominal), continuous verify against {} enrolled images, attributes on",
        l.seconds,
        l.source,
        l.nominal_fps.map_or("?".into(), |f| format!("{f:.0}")),
        l.enrolled_images
    );
    let rate = |n: u64| n as f64 / l.seconds;
    println!("\n| | count | per s | budget | |\n|---|---:|---:|---:|---|");
    let nominal = l.nominal_fps.map(f64::from);
    let shown_met = nominal.map(|f| rate(l.frames_shown) >= 0.95 * f);
    for (what, n, budget, met) in [
        ("frames captured", l.frames_captured, String::new(), None),
        (
            "frames shown (GUI)",
            l.frames_shown,
            nominal.map_or(String::new(), |f| format!("camera rate ({f:.0})")),
            shown_met,
        ),
        ("frames analysed", l.frames_analysed, String::new(), None),
        (
            "frames not analysed (dropped for newer)",
            l.frames_dropped,
            String::new(),
            None,
        ),
        (
            "frames with a fresh verdict (embedded)",
            l.verdicts,
            String::new(),
            None,
        ),
    ] {
        println!(
            "| {what} | {n} | {:.1} | {budget} | {} |",
            rate(n),
            verdict(met)
        );
    }
    println!(
        "\n| per analysed frame | median ms | p95 ms | n | budget | |\n|---|---:|---:|---:|---:|---|"
    );
    let vl = &l.verdict_latency;
    for (what, q, budget) in [
        ("capture → verdict", vl, Some(budget::VERDICT_LATENCY_MS)),
        ("capture → result (all frames)", &l.latency, None),
        ("detect (worker)", &l.detect, None),
        ("embed (worker)", &l.embed, None),
        ("attributes, when refreshed (worker)", &l.attributes, None),
    ] {
        println!(
            "| {what} | {:.1} | {:.1} | {} | {} | {} |",
            q.median_ms,
            q.p95_ms,
            q.n,
            budget.map_or(String::new(), |b| format!("≤ {b:.0} ms (p95)")),
            verdict(budget.map(|b| q.n > 0 && q.p95_ms <= b))
        );
    }
    println!(
        "\npeak RSS at the end (VmHWM, both parts): {:.0} MB",
        m.peak_rss_mb_end
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}

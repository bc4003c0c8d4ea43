//! `facegate eval liveness`: the passive liveness score on the shared samples, reported as
//! ISO/IEC 30107-3 defines it.
//!
//! - **Bona fide presentations**: the real talking-head clips (SadTalker's reference videos and
//!   face_recognition's Hamilton clip), cut into non-overlapping windows of `--window` seconds.
//! - **Attack presentations**: still photos shown to a simulated camera for one window each,
//!   three ways ([`Motion`]): the identical frame repeated, held still with sensor noise, and
//!   hand-held (smooth random similarity + perspective motion, sensor noise). Photos: the
//!   minivision print and screen samples, InsightFace's screen sample, the real-face stills (a
//!   photo of a real face is still an attack when shown to the camera), deepface's photos, and a
//!   still frame of each real clip (same person, same camera: the hardest case).
//!
//! APCER is reported per attack-instrument species (PAIS) and motion, with the maximum as the
//! headline; BPCER is the share of bona fide windows classified as attacks. Each is given twice:
//! for the passive score alone, and for the attempt's fused rule (passive score live *and* the
//! presentation-attack model's low quantile at its threshold, `auth::attempt::PadRule`, here over
//! every [`PAD_EVERY`]-th frame of the window to keep the run short). A few dozen samples
//! are a smoke test of the signals, not an accuracy claim.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use image::RgbImage;
use serde::Serialize;

use super::{Cli, exit};
use crate::auth::attempt::PadRule;
use crate::camera::{FrameSource, VideoReplay};
use crate::liveness::attack::{Motion, Presentation};
use crate::liveness::{LivenessScore, PadModel, PassiveConfig, PassiveWindow};
use crate::vision::{Detector, DetectorConfig, Face};

#[derive(Debug, Args)]
pub struct EvalLivenessArgs {
    #[command(flatten)]
    pub data: super::SharedData,
    /// Seconds per presentation window (above 0, at most 60)
    #[arg(long, default_value_t = 2.0, value_parser = super::checked::positive_f64::<MAX_WINDOW_S>)]
    pub window: f64,
    /// Use at most N of deepface's photos (spread over the list), at least 1
    #[arg(long, value_name = "N", value_parser = super::checked::limit)]
    pub limit: Option<usize>,
    /// Seed of the simulated hand motion and noise
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Score threshold, 0 to 1 [default: the built-in one]
    #[arg(long, value_parser = super::checked::unit)]
    pub threshold: Option<f32>,
    /// Print every window's signals
    #[arg(long)]
    pub verbose_rows: bool,
    #[arg(long)]
    pub json: bool,
}

/// Longest `--window`, in seconds (the real clips are a few seconds long).
const MAX_WINDOW_S: i64 = 60;

/// Faces with eyes closer than this are too small to judge (and to unlock with).
const MIN_EYE_DISTANCE: f32 = 24.0;
/// Simulated camera: frame size and rate of a typical webcam.
const CANVAS: (u32, u32) = crate::camera::DEFAULT_CAMERA_SIZE;
const ATTACK_FPS: f64 = 25.0;
/// The presentation-attack model scores one frame in this many of a window.
const PAD_EVERY: usize = 5;

#[derive(Debug, Clone, Serialize)]
struct Row {
    bona_fide: bool,
    /// Attack-instrument species, or the clip for bona fide rows.
    species: String,
    motion: String,
    source: String,
    score: LivenessScore,
    /// The presentation-attack model's low quantile over the window (None: no frame scored).
    pad: Option<f32>,
}

impl Row {
    /// The attempt's fused verdict: natural motion and a live-looking texture.
    fn fused_live(&self, rule: &PadRule) -> bool {
        self.score.live && self.pad.is_some_and(|q| rule.passes(q))
    }
}

#[derive(Debug, Serialize)]
struct Rate {
    species: String,
    motion: String,
    presentations: usize,
    errors: usize,
    rate: f32,
}

/// The error rates of one way of judging the windows.
#[derive(Debug, Serialize)]
struct Rates {
    bpcer: Rate,
    /// One row per species × motion.
    apcer: Vec<Rate>,
    /// max APCER over the species × motion rows
    apcer_max: f32,
}

#[derive(Debug, Serialize)]
struct Summary {
    threshold: f32,
    window_s: f64,
    config: PassiveConfig,
    /// The passive score alone.
    passive: Rates,
    /// The same with the presentation-attack model fused in, as an attempt decides.
    pad_rule: PadRule,
    fused: Rates,
    skipped: Vec<String>,
    signals: Vec<SignalRange>,
    passive_ms_per_frame: f32,
    rows: Vec<Row>,
}

#[derive(Debug, Serialize)]
struct SignalRange {
    class: String,
    signal: &'static str,
    min: f32,
    median: f32,
    max: f32,
}

struct Scorer {
    detector: Detector,
    pad: PadModel,
    config: PassiveConfig,
    passive_ns: u128,
    passive_frames: u64,
}

impl Scorer {
    /// Scores frames (all of one presentation) as one window, or None when the face is missing
    /// or too small in too many frames.
    fn window(
        &mut self,
        frames: impl Iterator<Item = anyhow::Result<(f64, RgbImage)>>,
    ) -> anyhow::Result<Option<(LivenessScore, Option<f32>)>> {
        let mut w = PassiveWindow::new(PassiveConfig {
            // The whole presentation is the window (the sliding limit is only for live use).
            window_s: f64::INFINITY,
            ..self.config
        });
        let mut pad_scores = Vec::new();
        for (i, frame) in frames.enumerate() {
            let (t, img) = frame?;
            let faces = self.detector.detect(&img)?;
            let Some(face) = Face::largest(&faces) else {
                continue;
            };
            if face.eye_distance() < MIN_EYE_DISTANCE {
                continue;
            }
            if i % PAD_EVERY == 0
                && let Some(s) = self.pad.score(&img, face)?
            {
                pad_scores.push(s.live);
            }
            let t0 = Instant::now();
            w.push(&img, face, t);
            self.passive_ns += t0.elapsed().as_nanos();
            self.passive_frames += 1;
        }
        let usable = w.len() >= self.config.min_frames;
        let pad = PadRule::default().quantile_of(&pad_scores);
        Ok(if usable {
            w.score().map(|s| (s, pad))
        } else {
            None
        })
    }
}

fn frame_count(path: &Path) -> anyhow::Result<usize> {
    let out = crate::camera::replay::ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_frames",
            "-of",
            "csv=p=0",
        ],
    )
    .context("ffprobe is needed to read the clips: install ffmpeg / run make setup")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("no frame count for {}: {text:?}", path.display()))
}

/// Every frame of a clip, in order, with its nominal time.
fn clip_frames(path: &Path) -> anyhow::Result<(Vec<RgbImage>, f64)> {
    let n = frame_count(path)?;
    let mut replay = VideoReplay::open(path, false)?;
    let fps = replay.nominal_fps().unwrap_or(25.0) as f64;
    let mut frames = Vec::with_capacity(n);
    for _ in 0..n {
        frames.push(replay.next_frame()?.image);
    }
    Ok((frames, fps))
}

pub fn run(cli: &Cli, args: &EvalLivenessArgs) -> anyhow::Result<u8> {
    // Frames of one simulated attack presentation: a window needs two to show any motion.
    let n_frames = (args.window * ATTACK_FPS).round() as usize;
    anyhow::ensure!(
        n_frames >= 2,
        "--window {} s is too short: a presentation needs at least 2 frames at {ATTACK_FPS} fps \
         ({} s)",
        args.window,
        2.0 / ATTACK_FPS
    );
    let data = args.data.checked()?;
    let mut config = PassiveConfig {
        window_s: args.window,
        ..PassiveConfig::default()
    };
    if let Some(t) = args.threshold {
        config.threshold = t;
    }
    let models = cli.models()?;
    let mut scorer = Scorer {
        detector: Detector::new(&models, DetectorConfig::default())?,
        pad: PadModel::new(&models)?,
        config,
        passive_ns: 0,
        passive_frames: 0,
    };
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut stills: Vec<(String, String, RgbImage)> = Vec::new();

    // Bona fide: the real clips in windows; one still of each kept for the attacks.
    let mut clips: Vec<PathBuf> =
        std::fs::read_dir(data.join("sadtalker_video/examples/ref_video"))
            .context("reading the SadTalker clips")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
    clips.sort();
    clips.push(data.join("face_recognition/examples/short_hamilton_clip.mp4"));
    let (mut longest_clip_s, mut bona_fide_windows) = (0.0f64, 0usize);
    for clip in &clips {
        let name = clip
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let (frames, fps) = clip_frames(clip)?;
        anyhow::ensure!(!frames.is_empty(), "{} has no frames", clip.display());
        longest_clip_s = longest_clip_s.max(frames.len() as f64 / fps);
        let per_window = ((args.window * fps).round() as usize).max(2);
        for (i, chunk) in frames.chunks(per_window).enumerate() {
            if chunk.len() < per_window {
                break;
            }
            bona_fide_windows += 1;
            let iter = chunk
                .iter()
                .enumerate()
                .map(|(j, f)| Ok((j as f64 / fps, f.clone())));
            match scorer.window(iter)? {
                Some((score, pad)) => rows.push(Row {
                    bona_fide: true,
                    species: "real talking face".into(),
                    motion: "live".into(),
                    source: format!("{name} window {i}"),
                    score,
                    pad,
                }),
                None => skipped.push(format!("{name} window {i}: face missing or too small")),
            }
        }
        let still = frames.len() / 3;
        stills.push((
            "still of a real clip".into(),
            format!("{name} frame {still}"),
            frames[still].clone(),
        ));
    }

    anyhow::ensure!(
        bona_fide_windows > 0,
        "--window {} s is longer than every real clip (the longest is {longest_clip_s:.1} s): no \
         bona fide window to measure",
        args.window
    );

    // Attacks: the photos.
    let mut photos: Vec<(String, PathBuf)> = vec![
        (
            "printed photo".into(),
            data.join("minivision_antispoof/images/sample/image_F1.jpg"),
        ),
        (
            "screen replay".into(),
            data.join("minivision_antispoof/images/sample/image_F2.jpg"),
        ),
        (
            "screen replay".into(),
            data.join("insightface/cpp-package/inspireface/test_res/data/bulk/rgb_fake.jpg"),
        ),
        (
            "photo of a real face".into(),
            data.join("minivision_antispoof/images/sample/image_T1.jpg"),
        ),
        (
            "photo of a real face".into(),
            data.join("insightface/cpp-package/inspireface/test_res/data/bulk/image_T1.jpeg"),
        ),
    ];
    let mut deepface: Vec<PathBuf> = std::fs::read_dir(data.join("deepface/tests/unit/dataset"))
        .context("reading deepface's photos")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("img") && n.ends_with(".jpg")
        })
        .collect();
    deepface.sort();
    if let Some(limit) = args.limit
        && limit < deepface.len()
    {
        let step = deepface.len() as f32 / limit as f32;
        deepface = (0..limit)
            .map(|i| deepface[(i as f32 * step) as usize].clone())
            .collect();
    }
    photos.extend(
        deepface
            .into_iter()
            .map(|p| ("photo of a real face".to_owned(), p)),
    );
    for (species, path) in photos {
        let img =
            crate::imageio::load(&path).with_context(|| format!("loading {}", path.display()))?;
        let short = path
            .strip_prefix(data)
            .unwrap_or(&path)
            .display()
            .to_string();
        stills.push((species, short, img));
    }
    for (k, (species, source, img)) in stills.iter().enumerate() {
        for motion in Motion::ALL {
            let seed = args
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(k as u64 * 7 + motion as u64);
            let mut p = Presentation::new(img, CANVAS, motion, seed);
            let iter = (0..n_frames).map(|i| {
                let t = i as f64 / ATTACK_FPS;
                Ok((t, p.frame(t as f32)))
            });
            match scorer.window(iter)? {
                Some((score, pad)) => rows.push(Row {
                    bona_fide: false,
                    species: species.clone(),
                    motion: motion.label().into(),
                    source: source.clone(),
                    score,
                    pad,
                }),
                None => skipped.push(format!(
                    "{source} ({}): face missing or too small",
                    motion.label()
                )),
            }
        }
    }

    let summary = summarise(args, &scorer, rows, skipped);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary, args.verbose_rows);
    }
    Ok(exit::OK)
}

fn rate(rows: &[&Row], species: &str, motion: &str, errors: impl Fn(&Row) -> bool) -> Rate {
    let e = rows.iter().filter(|r| errors(r)).count();
    Rate {
        species: species.into(),
        motion: motion.into(),
        presentations: rows.len(),
        errors: e,
        rate: if rows.is_empty() {
            0.0
        } else {
            e as f32 / rows.len() as f32
        },
    }
}

/// BPCER (bona fide windows judged attacks) and APCER per species and motion (attacks judged
/// bona fide), with `live` as the verdict.
fn rates(rows: &[Row], live: impl Fn(&Row) -> bool) -> Rates {
    let bona: Vec<&Row> = rows.iter().filter(|r| r.bona_fide).collect();
    let bpcer = rate(&bona, "real talking face", "live", |r| !live(r));
    let mut keys: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| !r.bona_fide)
        .map(|r| (r.species.as_str(), r.motion.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    let apcer: Vec<Rate> = keys
        .into_iter()
        .map(|(s, m)| {
            let group: Vec<&Row> = rows
                .iter()
                .filter(|r| !r.bona_fide && r.species == s && r.motion == m)
                .collect();
            rate(&group, s, m, &live)
        })
        .collect();
    let apcer_max = apcer.iter().map(|r| r.rate).fold(0.0, f32::max);
    Rates {
        bpcer,
        apcer,
        apcer_max,
    }
}

fn summarise(
    args: &EvalLivenessArgs,
    scorer: &Scorer,
    rows: Vec<Row>,
    skipped: Vec<String>,
) -> Summary {
    let pad_rule = PadRule::default();
    let passive = rates(&rows, |r| r.score.live);
    let fused = rates(&rows, |r| r.fused_live(&pad_rule));
    let mut signals = Vec::new();
    // None: the bona fide rows; Some(motion): the attacks presented that way.
    let classes = [
        ("bona fide", None),
        ("static", Some("static")),
        ("static+noise", Some("static+noise")),
        ("hand-held", Some("hand-held")),
    ];
    for (class, pick) in &classes {
        let sel: Vec<&Row> = rows
            .iter()
            .filter(|r| match pick {
                None => r.bona_fide,
                Some(m) => !r.bona_fide && r.motion == *m,
            })
            .collect();
        if sel.is_empty() {
            continue;
        }
        let getters: [Getter; 5] = [
            ("score", |s| s.score),
            ("nonrigid", |s| s.nonrigid),
            ("temporal", |s| s.temporal),
            ("texture", |s| s.texture),
            ("yaw_range", |s| s.yaw_range),
        ];
        for (signal, get) in getters {
            let mut v: Vec<f32> = sel.iter().map(|r| get(&r.score)).collect();
            v.sort_by(f32::total_cmp);
            signals.push(SignalRange {
                class: (*class).into(),
                signal,
                min: v[0],
                median: v[v.len() / 2],
                max: v[v.len() - 1],
            });
        }
    }
    Summary {
        threshold: scorer.config.threshold,
        window_s: args.window,
        config: scorer.config,
        passive,
        pad_rule,
        fused,
        skipped,
        signals,
        passive_ms_per_frame: if scorer.passive_frames > 0 {
            scorer.passive_ns as f32 / scorer.passive_frames as f32 / 1e6
        } else {
            0.0
        },
        rows,
    }
}

/// A signal's name and how to read it off a score.
type Getter = (&'static str, fn(&LivenessScore) -> f32);

fn print_rates(r: &Rates) {
    println!(
        "  BPCER  {:>6.2} %  ({} of {} real-clip windows refused)",
        r.bpcer.rate * 100.0,
        r.bpcer.errors,
        r.bpcer.presentations
    );
    for a in &r.apcer {
        println!(
            "  APCER  {:>6.2} %  ({} of {} accepted)  {} / {}",
            a.rate * 100.0,
            a.errors,
            a.presentations,
            a.species,
            a.motion
        );
    }
    println!(
        "  APCER max over species and motions: {:.2} %",
        r.apcer_max * 100.0
    );
}

fn print_summary(s: &Summary, verbose: bool) {
    if verbose {
        for r in &s.rows {
            println!(
                "{:<5} {:<22} {:<13} score {:.3} nonrigid {:.4} temporal {:.2} texture {:.3} yaw range {:.3} pad {:.3} ({} frames)  {}",
                if r.bona_fide { "BONA" } else { "PA" },
                r.species,
                r.motion,
                r.score.score,
                r.score.nonrigid,
                r.score.temporal,
                r.score.texture,
                r.score.yaw_range,
                r.pad.unwrap_or(f32::NAN),
                r.score.frames,
                r.source
            );
        }
        println!();
    }
    println!(
        "Passive liveness, {:.1}-s windows, live when score >= {:.2} (a smoke test on a few samples, not an accuracy claim)",
        s.window_s, s.threshold
    );
    print_rates(&s.passive);
    println!(
        "Fused as an attempt decides (passive live and the {:.0}th percentile of the presentation-attack score >= {:.2}):",
        s.pad_rule.quantile * 100.0,
        s.pad_rule.threshold
    );
    print_rates(&s.fused);
    println!("Signals (min / median / max):");
    for g in &s.signals {
        println!(
            "  {:<13} {:<10} {:>9.4} {:>9.4} {:>9.4}",
            g.class, g.signal, g.min, g.median, g.max
        );
    }
    println!(
        "Passive cost: {:.3} ms per frame beyond detection",
        s.passive_ms_per_frame
    );
    for k in &s.skipped {
        println!("  skipped: {k}");
    }
}

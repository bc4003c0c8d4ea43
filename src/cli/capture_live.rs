//! Enrolment from a camera or a recording: K sharp frames of varied head poses, each through the
//! capture gate.
//!
//! Every frame is detected and quality-checked (the gate `Engine::capture` applies: one face,
//! large, sharp, bright). A face that passes gets a pose, (yaw, pitch) in eye distances from the
//! five landmarks, and falls into a pose cell of [`CELL`]; each cell keeps its sharpest frame, so
//! memory stays bounded however long the camera runs. The K frames are then picked from the
//! cells' best: first the most frontal one (a verification set needs one), then each time the one
//! farthest in pose from those already picked (farthest-point sampling), the sharpest of those
//! nearly as far. Poses closer than [`MIN_STEP`] to a picked one are not "varied" and are not
//! taken; a clip that offers fewer distinct poses gives fewer frames, and says so.
//!
//! Two guards the issue did not spell out: a face turned more than [`MAX_YAW`] / [`MAX_PITCH`]
//! (about 35°) is left out (an embedder sees little of a profile, and a reference it cannot
//! match is worse than none), and every face must match the first good one at the saved
//! detection threshold, so a second person walking into a camera capture is not enrolled.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::auth::quality::{self, QualityConfig, QualityIssue, QualityReport};
use crate::camera::{self, FrameSource, SourceError, SourceSpec, VideoReplay};
use crate::engine::Engine;
use crate::engine::adding::Added;
use crate::shown::{Reason, Shown};
use crate::store::Gallery;
use crate::vision::{Embedding, Face};

use super::progress;

/// Side of a pose cell, in eye distances (yaw 0.06 ≈ 7°).
pub const CELL: f32 = 0.06;
/// Two poses nearer than this are the same pose.
pub const MIN_STEP: f32 = 0.05;
/// Largest |yaw| kept (≈ 0.5·sin θ: 0.3 is about 37°).
pub const MAX_YAW: f32 = 0.3;
/// Largest |pitch| kept: the nose's offset along the face's vertical from the centre of the
/// eyes and mouth corners, in eye distances.
pub const MAX_PITCH: f32 = 0.3;
/// A camera capture ends early once the K picked poses are at least this far apart.
const GOOD_SPREAD: f32 = 0.1;
/// Frames read from a clip whose frame count ffprobe cannot tell (5 min at 30 fps).
const MAX_CLIP_FRAMES: u64 = 9000;

pub enum Source {
    Camera {
        index: u32,
        seconds: f64,
    },
    /// A video file or a folder of frames, read once; for at most `seconds` when given (a long
    /// 4K clip takes minutes).
    Recording {
        path: PathBuf,
        seconds: Option<f64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no camera found (camera {0})")]
    NoCamera(u32),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Engine(#[from] crate::Error),
}

/// What a live capture did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The frames saved, each named by where it came from.
    pub saved: super::people::SavedFrom,
    /// Frames judged.
    pub frames: usize,
    /// A live capture ended before its time-out: the poses were varied enough.
    pub stopped_early: bool,
}

/// Head pose from the five landmarks, in eye distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseKey {
    /// As [`crate::liveness::Pose::yaw`]: the nose's sideways offset.
    pub yaw: f32,
    /// As [`crate::liveness::Pose::pitch`]: the nose's offset along the face's vertical.
    pub pitch: f32,
}

impl PoseKey {
    pub fn of(face: &Face) -> Option<PoseKey> {
        let pose = crate::liveness::pose(&face.landmarks)?;
        Some(PoseKey {
            yaw: pose.yaw,
            pitch: pose.pitch,
        })
    }

    pub fn distance(&self, other: &PoseKey) -> f32 {
        ((self.yaw - other.yaw).powi(2) + (self.pitch - other.pitch).powi(2)).sqrt()
    }

    fn cell(&self) -> (i32, i32) {
        (
            (self.yaw / CELL).floor() as i32,
            (self.pitch / CELL).floor() as i32,
        )
    }
}

/// Picks up to `k` of `poses` (with their sharpness): the most frontal first, then farthest-point
/// sampling in pose space, preferring the sharpest among those at least 80 % as far as the
/// farthest. Stops early when nothing left is [`MIN_STEP`] from every pick. Indices in pick order.
pub fn select(poses: &[(PoseKey, f32)], k: usize) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    let Some(first) = (0..poses.len()).min_by(|&a, &b| {
        let r = |i: usize| poses[i].0.yaw.hypot(poses[i].0.pitch);
        // Poses within one step of frontal count as frontal; then the sharper wins.
        let (ra, rb) = (r(a), r(b));
        if (ra - rb).abs() < MIN_STEP {
            poses[b].1.total_cmp(&poses[a].1)
        } else {
            ra.total_cmp(&rb)
        }
    }) else {
        return picked;
    };
    picked.push(first);
    while picked.len() < k {
        let far = |i: usize| {
            picked
                .iter()
                .map(|&p| poses[i].0.distance(&poses[p].0))
                .fold(f32::INFINITY, f32::min)
        };
        let farthest = (0..poses.len())
            .filter(|i| !picked.contains(i))
            .map(far)
            .fold(0.0f32, f32::max);
        if farthest < MIN_STEP {
            break;
        }
        let next = (0..poses.len())
            .filter(|&i| !picked.contains(&i) && far(i) >= 0.8 * farthest)
            .max_by(|&a, &b| poses[a].1.total_cmp(&poses[b].1))
            .expect("the farthest one qualifies");
        picked.push(next);
    }
    picked
}

/// The smallest pose distance between two picks (infinite for fewer than two).
fn spread(poses: &[(PoseKey, f32)], picked: &[usize]) -> f32 {
    let mut min = f32::INFINITY;
    for (n, &i) in picked.iter().enumerate() {
        for &j in &picked[n + 1..] {
            min = min.min(poses[i].0.distance(&poses[j].0));
        }
    }
    min
}

/// Frames larger than this are kept as their face region: at most 121 pose cells of 1280 px
/// frames (335 MB for 1280×720), where whole 12,000 px frames could take tens of gigabytes.
const MAX_KEPT_SIDE: u32 = 1280;

/// The best frame of one pose cell.
struct Candidate {
    /// "frame 57" of a clip or camera, or the file name in a folder of frames.
    frame: String,
    image: RgbImage,
    quality: QualityReport,
    pose: PoseKey,
}

/// Frames judged so far: the best per pose cell, and why the others were left out.
#[derive(Default)]
struct Pool {
    cells: BTreeMap<(i32, i32), Candidate>,
    reference: Option<Embedding>,
    good: usize,
    left_out: BTreeMap<&'static str, usize>,
}

impl Pool {
    fn leave_out(&mut self, why: &'static str) {
        *self.left_out.entry(why).or_default() += 1;
    }

    /// Judges one frame and keeps it if it is the sharpest of its pose so far.
    fn offer(&mut self, engine: &mut Engine, frame: String, image: RgbImage) -> crate::Result<()> {
        let faces = engine.detect(&image)?;
        let (face, report) = match quality::check(&image, &faces, &QualityConfig::default()) {
            Ok((face, report)) => (face.clone(), report),
            Err(issue) => {
                self.leave_out(match issue {
                    QualityIssue::NoFace => "no face",
                    QualityIssue::ManyFaces(_) => "more than one person",
                    QualityIssue::TooSmall { .. } => "face too small",
                    QualityIssue::TooDark { .. } => "too dark",
                    QualityIssue::Blurry { .. } => "blurry",
                });
                return Ok(());
            }
        };
        let Some(pose) = PoseKey::of(&face) else {
            self.leave_out("no pose");
            return Ok(());
        };
        if pose.yaw.abs() > MAX_YAW || pose.pitch.abs() > MAX_PITCH {
            self.leave_out("turned too far");
            return Ok(());
        }
        let cell = pose.cell();
        let sharper = self
            .cells
            .get(&cell)
            .is_none_or(|c| report.sharpness > c.quality.sharpness);
        if !sharper {
            self.good += 1;
            return Ok(());
        }
        let embedding = engine.embed(&image, &face)?;
        match &self.reference {
            None => self.reference = Some(embedding),
            Some(r) if r.cosine(&embedding) <= engine.same_person_threshold() => {
                self.leave_out("not the same person as the first good frame");
                return Ok(());
            }
            Some(_) => {}
        }
        self.good += 1;
        // One frame is kept per pose cell until the end; a large frame (a 12,000 px still in a
        // folder) keeps only its face with the store's margin, so the pool stays bounded.
        let image = if image.width().max(image.height()) > MAX_KEPT_SIDE {
            crate::store::face_region(&image, Some(&face), MAX_KEPT_SIDE)
        } else {
            image
        };
        self.cells.insert(
            cell,
            Candidate {
                frame,
                image,
                quality: report,
                pose,
            },
        );
        Ok(())
    }

    fn poses(&self) -> Vec<(PoseKey, f32)> {
        self.cells
            .values()
            .map(|c| (c.pose, c.quality.sharpness))
            .collect()
    }
}

/// The wall-clock bound of a recording's pass (`--timeout`), said once when it ends the pass.
struct Deadline {
    /// When the pass stops, and the `--timeout` it came from; none when unbounded.
    at: Option<(Instant, f64)>,
    total: u64,
}

impl Deadline {
    /// Also says, before the work starts, how long an unbounded read may take: piped, the
    /// progress bar is hidden and a long clip would otherwise look hung.
    fn new(seconds: Option<f64>, path: &std::path::Path, total: u64) -> Self {
        match seconds {
            Some(s) => eprintln!("reading {} for at most {s:.0} s", Shown(path)),
            None => eprintln!(
                "reading {} ({total} frames at most; bound it with --timeout S)",
                Shown(path)
            ),
        }
        Self {
            at: seconds.map(|s| (Instant::now() + Duration::from_secs_f64(s), s)),
            total,
        }
    }

    fn passed(&self, bar: &indicatif::ProgressBar, frames: usize) -> bool {
        let Some((at, seconds)) = self.at else {
            return false;
        };
        let passed = Instant::now() >= at;
        if passed {
            progress::note(
                bar,
                format!(
                    "stopped after {seconds:.0} s (--timeout), at frame {frames} of {}",
                    self.total
                ),
            );
        }
        passed
    }
}

/// Runs a capture from `source` into `gallery`, keeping up to `k` frames.
pub fn run(
    engine: &mut Engine,
    gallery: &Gallery,
    source: &Source,
    k: usize,
) -> Result<Outcome, LiveError> {
    let mut pool = Pool::default();
    let mut frames = 0usize;
    let label = match source {
        Source::Camera { index, seconds } => {
            let mut camera = match camera::open(&SourceSpec::camera(*index)) {
                Err(SourceError::NoCamera) => return Err(LiveError::NoCamera(*index)),
                other => other?,
            };
            eprintln!(
                "Look at the camera, then turn your head slowly left, right, up and down ({})",
                camera.describe()
            );
            return run_live(
                engine,
                gallery,
                camera.as_mut(),
                *seconds,
                k,
                &format!("camera {index}"),
            );
        }
        Source::Recording { path, seconds } if path.is_dir() => {
            let mut listing =
                crate::imageio::listing::image_files(std::slice::from_ref(path), usize::MAX);
            let empty = listing.files.is_empty();
            if empty {
                // Said once, by the error below; why it could not be listed is still said.
                let no_photos = crate::imageio::listing::NO_PHOTOS;
                listing
                    .skipped
                    .retain(|(p, why)| !(p == path && why == no_photos));
            }
            super::people::say_skipped(&listing);
            // The error a replay of that folder gives (`verify --replay`, the app), though this
            // one walks sub-folders as an import does, and a replay plays the top level only.
            if empty {
                return Err(SourceError::EmptyFolder(path.clone()).into());
            }
            let files = listing.files;
            let deadline = Deadline::new(*seconds, path, files.len() as u64);
            let bar = progress::bar(files.len() as u64, "frames");
            let (mut decoded, mut last_error) = (0, None);
            for (i, file) in files.iter().enumerate() {
                if deadline.passed(&bar, frames) {
                    break;
                }
                bar.inc(1);
                frames += 1;
                match crate::imageio::load(file) {
                    Ok(image) => {
                        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
                        pool.offer(engine, name.unwrap_or_else(|| format!("frame {i}")), image)?;
                        decoded += 1;
                    }
                    Err(e) => {
                        progress::note(&bar, format!("skipping {}: {}", Shown(file), Reason(&e)));
                        last_error = Some(e);
                    }
                }
            }
            bar.finish_and_clear();
            // Not one frame was an image: bad input (as `verify --replay` says), not "turn
            // your head more".
            if let Some(last_error) = last_error.filter(|_| decoded == 0) {
                return Err(SourceError::NoDecodableImages {
                    dir: path.clone(),
                    count: frames,
                    last_error,
                }
                .into());
            }
            // The store keeps names, never full paths (they may be private).
            path.file_name()
                .map_or_else(|| "frames".to_owned(), |n| n.to_string_lossy().into())
        }
        Source::Recording { path, seconds } => {
            let mut clip = VideoReplay::open(path, false)?;
            // One pass (a replay standing in for a camera would loop forever), at most
            // MAX_CLIP_FRAMES; the count only sizes the progress bar.
            let total = frame_count(path);
            let deadline = Deadline::new(*seconds, path, total.unwrap_or(MAX_CLIP_FRAMES));
            let bar = progress::bar(total.unwrap_or(MAX_CLIP_FRAMES), "frames");
            while frames < MAX_CLIP_FRAMES as usize
                && !deadline.passed(&bar, frames)
                && let Some(frame) = clip.next_in_pass()?
            {
                bar.inc(1);
                frames += 1;
                pool.offer(engine, format!("frame {}", frame.index), frame.image)?;
            }
            bar.finish_and_clear();
            path.file_name()
                .map_or_else(|| "clip".to_owned(), |n| n.to_string_lossy().into())
        }
    };
    save_picked(engine, gallery, pool, k, frames, &label)
}

/// A capture from a live source (a camera; a paced replay in tests): frames until `k` poses at
/// least [`GOOD_SPREAD`] apart are in hand or `seconds` have passed, then the picks are stored.
pub fn run_live(
    engine: &mut Engine,
    gallery: &Gallery,
    source: &mut dyn FrameSource,
    seconds: f64,
    k: usize,
    label: &str,
) -> Result<Outcome, LiveError> {
    let mut pool = Pool::default();
    let mut frames = 0usize;
    let bar = progress::spinner("looking for varied poses");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut spread_reached = false;
    while Instant::now() < deadline {
        let frame = source.next_frame()?;
        frames += 1;
        pool.offer(engine, format!("frame {}", frame.index), frame.image)?;
        let poses = pool.poses();
        let picked = select(&poses, k);
        bar.set_message(format!(
            "{} of {k} varied poses, {frames} frames",
            picked.len()
        ));
        if picked.len() >= k && spread(&poses, &picked) >= GOOD_SPREAD {
            spread_reached = true;
            break;
        }
    }
    bar.finish_and_clear();
    let mut outcome = save_picked(engine, gallery, pool, k, frames, label)?;
    outcome.stopped_early = spread_reached;
    Ok(outcome)
}

/// Stores the picked frames through the capture gate and reports.
fn save_picked(
    engine: &mut Engine,
    gallery: &Gallery,
    pool: Pool,
    k: usize,
    frames: usize,
    label: &str,
) -> Result<Outcome, LiveError> {
    let poses = pool.poses();
    let picked = select(&poses, k);
    let candidates: Vec<&Candidate> = pool.cells.values().collect();
    let mut saved = super::people::SavedFrom::new();
    for &i in &picked {
        let c = candidates[i];
        let source = format!("{label} {}", c.frame);
        match engine.add_image(gallery, &c.image, Some(&source))? {
            Added::Saved { stored, quality: q } => {
                saved.insert(stored.meta.id, format!("{} of {label}", c.frame));
                println!(
                    "saved {} from {} (yaw {:+.2}, pitch {:+.2}; eyes {:.0} px, sharpness {:.0}, brightness {:.0})",
                    stored.meta.id,
                    c.frame,
                    c.pose.yaw,
                    c.pose.pitch,
                    q.eye_distance,
                    q.sharpness,
                    q.brightness
                );
            }
            Added::AlreadyStored(existing) => {
                println!(
                    "skipped {}: the same image is already stored ({existing})",
                    c.frame
                );
            }
            Added::Refused(e) => println!("refused {}: {}", c.frame, crate::shown::Reason(&e)),
        }
    }
    let left_out: Vec<String> = pool
        .left_out
        .iter()
        .map(|(why, n)| format!("{n} {why}"))
        .collect();
    println!(
        "{} of {k} saved from {frames} frames of {label}: {} with one good face in {} distinct poses{}",
        saved.len(),
        pool.good,
        poses.len(),
        if left_out.is_empty() {
            String::new()
        } else {
            format!("; left out: {}", left_out.join(", "))
        }
    );
    if picked.len() < k {
        println!(
            "only {} varied poses were seen; to get {k}, turn your head more (left, right, up, down) or use a longer recording",
            picked.len()
        );
    }
    Ok(Outcome {
        saved,
        frames,
        stopped_early: false,
    })
}

/// Frames in the clip's first video stream, counted by ffprobe from its packets (no decoding).
fn frame_count(path: &std::path::Path) -> Option<u64> {
    let out = crate::camera::replay::ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ],
    )
    .ok()?;
    let n: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    (out.status.success() && n > 0).then_some(n.min(MAX_CLIP_FRAMES))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(yaw: f32, pitch: f32, sharp: f32) -> (PoseKey, f32) {
        (PoseKey { yaw, pitch }, sharp)
    }

    #[test]
    fn frontal_first_then_the_extremes() {
        let poses = [
            p(0.2, 0.0, 100.0),
            p(0.01, 0.0, 50.0),
            p(0.03, 0.01, 90.0),
            p(-0.2, 0.0, 100.0),
            p(0.0, 0.2, 100.0),
            p(0.21, 0.0, 300.0),
        ];
        let picked = select(&poses, 4);
        // Both near-frontal poses are within a step of each other: the sharper one first.
        assert_eq!(picked[0], 2);
        // Then far poses; of the two at yaw ≈ 0.2 the sharper.
        assert!(picked.contains(&3) && picked.contains(&4) && picked.contains(&5));
        assert!(!picked.contains(&0), "{picked:?}");
    }

    #[test]
    fn the_same_pose_is_not_variety() {
        let poses = [p(0.0, 0.0, 10.0), p(0.01, 0.01, 20.0), p(0.02, 0.0, 30.0)];
        assert_eq!(select(&poses, 3).len(), 1);
        assert!(select(&[], 3).is_empty());
    }

    #[test]
    fn pose_signs() {
        let face = |nose: [f32; 2]| Face {
            bbox: crate::vision::BBox {
                x: 0.0,
                y: 0.0,
                w: 100.0,
                h: 100.0,
            },
            landmarks: [[30.0, 40.0], [70.0, 40.0], nose, [35.0, 80.0], [65.0, 80.0]],
            score: 0.9,
        };
        let level = PoseKey::of(&face([50.0, 60.0])).unwrap();
        assert!(
            level.yaw.abs() < 1e-6 && level.pitch.abs() < 1e-6,
            "{level:?}"
        );
        let down = PoseKey::of(&face([50.0, 70.0])).unwrap();
        assert!((down.pitch - 0.25).abs() < 1e-5, "{down:?}");
        let side = PoseKey::of(&face([60.0, 60.0])).unwrap();
        assert!((side.yaw - 0.25).abs() < 1e-5 && side.pitch.abs() < 1e-6);
    }
}

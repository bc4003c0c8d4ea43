//! `facegate capture NAME --camera/--replay`: enrolment from a camera or a recording, with its
//! progress bars and report. What is kept and picked is [`crate::engine::poses`]'s policy.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::camera::{self, FrameSource, SourceError, VideoReplay};
use crate::engine::Engine;
use crate::engine::adding::Added;
use crate::engine::poses::Pool;
use crate::shown::{Reason, Shown};
use crate::store::Gallery;

use super::progress;

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
            let mut camera =
                match camera::open(&camera::SourceSpec::saved_camera(*index, engine.settings())) {
                    Err(SourceError::NoCamera { index }) => return Err(LiveError::NoCamera(index)),
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
            let mut listing = crate::imageio::listing::image_files(std::slice::from_ref(path));
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
            let mut skipped = crate::shown::FirstFew::default();
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
                        let said = skipped.say(
                            || format!("skipping {}: {}", Shown(file), Reason(&e)),
                            || "skipping more unreadable files without naming each".into(),
                        );
                        if let Some(said) = said {
                            progress::note(&bar, said);
                        }
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

/// A capture from a live source (a camera; a paced replay in tests): frames until `k` poses
/// far enough apart (`engine::poses::GOOD_SPREAD`) are in hand or `seconds` have passed, then
/// the picks are stored.
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
        let (picked, enough) = pool.varied_enough(k);
        bar.set_message(format!("{picked} of {k} varied poses, {frames} frames"));
        if enough {
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
    // In pick order, past the first `k` when some of those are stored already or refused: run
    // again on the same recording, it picked the same frames, skipped them all and saved none
    // of the other poses (journey s36 #7). A pose stored already still counts as covered.
    let candidates = pool.picked(pool.distinct_poses());
    let mut saved = super::people::SavedFrom::new();
    for c in &candidates {
        if saved.len() >= k {
            break;
        }
        let source = format!("{label} {}", c.frame);
        match engine.add_image(gallery, &c.image, Some(&source))? {
            Added::Saved { stored, quality: q } => {
                let id = stored.meta.id;
                // A pose far enough from the others by its angles can still be nearly the
                // same picture (frames 54 and 55 of Katie's clip: cosine 0.96): it adds
                // nothing but a second vote, so the next pose is tried instead.
                // A check that fails keeps the frame: the checks after saving say it could
                // not be made.
                let copies = engine.near_copies(gallery, &[id]).unwrap_or_default();
                if let Some(copy) = copies.first() {
                    engine.delete_face(gallery, id)?;
                    let of = saved
                        .get(&copy.of)
                        .map_or_else(|| format!("image {}, stored before", copy.of), Clone::clone);
                    println!(
                        "skipped {}: nearly the same picture as {of} (cosine {:.2})",
                        c.frame, copy.cosine
                    );
                    continue;
                }
                saved.insert(id, format!("{} of {label}", c.frame));
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
        "{} of {k} saved from {} of {label}: {} with one good face in {}{}",
        saved.len(),
        crate::shown::counted(frames, "frame", "frames"),
        pool.good,
        crate::shown::counted(pool.distinct_poses(), "distinct pose", "distinct poses"),
        if left_out.is_empty() {
            String::new()
        } else {
            format!("; left out: {}", left_out.join(", "))
        }
    );
    if saved.len() < k && candidates.len() >= k {
        // Enough poses were there: the rest are stored already (the recording captured
        // before), nearly so, or were refused, which turning the head does not mend (final
        // read s36 #5).
        println!(
            "every other pose far enough apart here is stored already (or nearly so) or was \
             refused, as said above; for more, use another recording or the camera"
        );
    } else if saved.len() < k && frames == 1 {
        // A still photo given as a recording: it has one pose, and no head to turn (journey s41
        // #8: it was told to turn its head more).
        println!(
            "one picture shows one pose; for {k}, use a recording or the camera, or give photos \
             to `capture` without --replay"
        );
    } else if saved.len() < k {
        println!(
            "only {} seen{}; to get {k}, turn your head more (left, right, up, down) or use a longer recording",
            crate::shown::counted(
                candidates.len(),
                "pose far enough from the others was",
                "poses far enough apart were"
            ),
            match candidates.len() - saved.len() {
                0 => String::new(),
                n => format!(
                    " ({n} of them stored already (or nearly so) or refused, as said above)"
                ),
            }
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

//! `facegate capture NAME`: a person's images, from files (`capture NAME IMG_OR_DIR...`) or live
//! from a camera or a recording (`capture NAME --camera N | --replay CLIP [--count K]`, as
//! `howdy add` does). Every image goes through the same gate and store path
//! ([`crate::engine::Engine::capture`]): one face, large, sharp and bright enough.

use crate::hint::FACEGATE;
use std::path::PathBuf;

use clap::Args;

use super::{Cli, exit};
use crate::store::{Gallery, ImageKind, names};

/// Frames kept from a camera or recording when `--count` is not given.
pub const DEFAULT_COUNT: usize = 5;
/// How long a camera capture looks for varied poses when `--timeout` is not given.
pub const DEFAULT_CAMERA_SECONDS: f64 = 20.0;

#[derive(Debug, Args)]
pub struct CaptureArgs {
    pub name: String,
    /// Which of the person's images these are
    #[arg(long, value_enum, default_value_t = ImageKind::Verification)]
    pub kind: ImageKind,
    /// Image files or folders of images
    #[arg(
        required_unless_present_any = ["camera", "replay"],
        conflicts_with_all = ["camera", "replay"]
    )]
    pub inputs: Vec<PathBuf>,
    /// Capture from camera N: turn your head slowly while it picks sharp frames of varied poses
    #[arg(long, value_name = "N", conflicts_with = "replay")]
    pub camera: Option<u32>,
    /// Capture from a recording (a video file, or a folder of frames), read once
    #[arg(long, value_name = "CLIP")]
    pub replay: Option<PathBuf>,
    /// How many frames to keep from a camera or recording, 1 to 50 [default: 5]
    #[arg(long, value_name = "K", value_parser = super::checked::count::<1, 50>)]
    pub count: Option<usize>,
    /// Seconds the capture may take, 1 to 120 [default: 20 for a camera, the whole recording
    /// for --replay]
    #[arg(long, value_name = "S", value_parser = super::checked::seconds::<1, 120>)]
    pub timeout: Option<f64>,
}

pub fn run(cli: &Cli, args: &CaptureArgs) -> anyhow::Result<u8> {
    let gallery = Gallery::Person {
        name: args.name.clone(),
        kind: args.kind,
    };
    let from_files = args.camera.is_none() && args.replay.is_none();
    anyhow::ensure!(
        !from_files || (args.count.is_none() && args.timeout.is_none()),
        "--count and --timeout are for --camera or --replay; files are all imported"
    );
    let mut engine = cli.engine()?;
    // Refused before anything is read, the camera turned on or the clip decoded.
    engine
        .store()
        .require_person(&args.name)
        .map_err(|e| not_added(e, &args.name, engine.store()))?;
    if from_files {
        return super::people::import_with(&mut engine, &gallery, &args.inputs);
    }
    let count = args.count.unwrap_or(DEFAULT_COUNT);
    let seconds = args.timeout.unwrap_or(DEFAULT_CAMERA_SECONDS);
    let source = match (&args.replay, args.camera) {
        (Some(clip), _) => super::capture_live::Source::Recording {
            path: clip.clone(),
            seconds: args.timeout,
        },
        (None, Some(index)) => super::capture_live::Source::Camera { index, seconds },
        (None, None) => unreachable!("checked above"),
    };
    let outcome = match super::capture_live::run(&mut engine, &gallery, &source, count) {
        Err(super::capture_live::LiveError::NoCamera(index)) => {
            eprintln!(
                "error: no camera found (asked for camera {index}); capture from a recording with \
                 --replay PATH (a video file or an image folder), or import photos with \
                 `{FACEGATE} capture {} PHOTOS...`",
                names::shell_arg(&args.name)
            );
            return Ok(exit::ERROR);
        }
        other => other?,
    };
    let warned = super::people::warn_after_saving(&mut engine, &gallery, &outcome.saved);
    let code = if outcome.saved.len() >= count {
        exit::OK
    } else {
        exit::DIFFERENT
    };
    Ok(super::people::with_warnings(code, warned))
}

/// A capture for a name nobody added says how to add it (it said "see `facegate user list`";
/// journey s35), after the enrolled name it may have been a typo of: the hint alone added the
/// misspelt name as a second person (journey s36 #4).
fn not_added(
    e: crate::store::StoreError,
    name: &str,
    store: &crate::store::Store,
) -> anyhow::Error {
    match e {
        crate::store::StoreError::UnknownPerson(_) => {
            // A typo, or the wrong store (a mistyped --data-dir), said before the hint that
            // alone would add them (journey s36 #4, final read s36 #11).
            // "If not, add them" read as the answer to the folder question (journey s40 #13):
            // the way to add them is said as its own sentence.
            let add = format!("`{FACEGATE} user add {}`", names::shell_arg(name));
            let shown = names::printable(name);
            match super::unknown_name_note(store, name) {
                Some(note) => anyhow::anyhow!(
                    "no person called `{shown}` is enrolled: {note} To add `{shown}` as a new \
                     person: {add}"
                ),
                None => anyhow::anyhow!(
                    "no person called `{shown}` is enrolled: add them first with {add}"
                ),
            }
        }
        e => e.into(),
    }
}

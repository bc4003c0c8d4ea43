//! The desktop app (eframe/egui). It only draws and forwards clicks: frames and analysis come
//! from [`crate::session`] over channels, so painting never waits for inference.

mod app;
mod compare;
mod devices;
mod enrol;
mod face_unlock;
mod feed;
mod files;
mod manage;
mod opening;
mod overlay;
mod palette;
mod source;
mod state;
mod stats;
mod textures;
mod train;
mod unlock;

use std::path::PathBuf;
use std::sync::Arc;

pub use app::{FaceGateApp, View};

/// A person's name cut to fit a button or a row: a name may hold 64 characters, and a panel
/// sized for it would squeeze the picture. The full name goes in a hover.
pub(crate) fn short_name(name: &str) -> String {
    const FITS: usize = 24;
    if name.chars().count() <= FITS {
        name.to_owned()
    } else {
        name.chars().take(FITS - 1).chain(['…']).collect()
    }
}
pub use source::{SYSTEM_DEMO_PHOTO, demo_photo};
pub use state::{AppState, Message, ShownVerdict, Tone, Training};

use crate::camera::{self, SourceSpec};
use crate::runtime::Models;
use crate::session::Session;
use crate::store::{Settings, Store};

/// What `facegate` (no subcommand) was asked to open.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub replay: Option<PathBuf>,
    pub camera: Option<u32>,
    /// The recording's side for Unlock's head turn (`--turn`).
    pub turn: Option<crate::liveness::challenge::Direction>,
    pub models: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub threads: Option<usize>,
}

/// Chooses the frame source: a replay if asked, else the camera (`--camera N`, else the one
/// remembered in the settings: by name, then by index, in the remembered mode), else (saying
/// why) the demo. Returns the source and a note for the user when it is not what they might
/// expect.
pub fn choose_source(
    options: &LaunchOptions,
    settings: &Settings,
    cameras: &[camera::CameraInfo],
) -> anyhow::Result<(Box<dyn camera::FrameSource>, Option<String>)> {
    if let Some(path) = &options.replay {
        return Ok((camera::open(&SourceSpec::Replay(path.clone()))?, None));
    }
    let remembered = Some(settings.camera_name.as_str())
        .filter(|n| !n.is_empty())
        .and_then(|n| camera::find_camera(n, cameras));
    let index = options.camera.or(remembered).unwrap_or(settings.camera);
    let why_demo = if cameras.is_empty() {
        "No camera found".to_owned()
    } else {
        match camera::open(&SourceSpec::saved_camera(index, settings)) {
            Ok(source) => return Ok((source, None)),
            Err(e) => format!("Camera {index} could not be opened ({e})"),
        }
    };
    let hint = "Start with --replay VIDEO_OR_FOLDER to use a recording.";
    let demo = demo_photo().map(|p| (camera::open(&SourceSpec::Demo(p.clone())), p));
    let blank = |why: String| -> (Box<dyn camera::FrameSource>, Option<String>) {
        (Box::new(camera::demo::DemoSource::blank()), Some(why))
    };
    Ok(match demo {
        Some((Ok(source), photo)) => (
            source,
            Some(format!(
                "{why_demo}: showing a demo replay of {}. {hint}",
                photo.file_name().unwrap_or_default().to_string_lossy()
            )),
        ),
        Some((Err(e), _)) => blank(format!(
            "{why_demo}, and the demo photo cannot be shown ({e}). {hint}"
        )),
        None => blank(format!(
            "{why_demo} (and no demo photo is installed). {hint}"
        )),
    })
}

/// Opens the window and runs until it is closed.
pub fn run(options: LaunchOptions) -> anyhow::Result<()> {
    // Said before anything starts; winit's own words for it carried a path into its source.
    let display = ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    anyhow::ensure!(
        display,
        "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set): start \
         FaceGate from a desktop session, or use its commands (`facegate --help`)"
    );
    let store = Store::open(&options.data_dir)?;
    let settings = store.settings();
    let cameras = camera::list_cameras();
    let (source, note) = choose_source(&options, &settings, &cameras)?;
    // A recording cannot follow a random side: without `--turn`, Unlock refused its own
    // person about half the time, and locked them out (journey s36 #1).
    let note = match options.replay.is_some() && options.turn.is_none() && settings.liveness {
        true => Some(
            note.into_iter()
                .chain([format!(
                    "The Unlock view asks for a head turn: {}.",
                    crate::liveness::RECORDING_CANNOT_FOLLOW
                )])
                .collect::<Vec<_>>()
                .join(" "),
        ),
        false => note,
    };
    let models = Models::locate(options.models.as_deref()).map(|mut m| {
        if let Some(n) = options.threads {
            m.intra_threads = n;
        }
        m
    });
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("FaceGate")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    };
    eframe::run_native(
        "FaceGate",
        native,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let live = Session::start(
                source,
                models.map_err(|e| e.to_string()),
                store,
                Arc::new(move || ctx.request_repaint()),
            );
            let mut app = FaceGateApp::with_cameras(live, cameras);
            if let Some(turn) = options.turn {
                app.turn_recording(turn);
            }
            app.note(note);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

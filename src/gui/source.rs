//! The row that picks the frame source: each camera by name, the demo feed, or a recording.

use std::path::{Path, PathBuf};

use egui::Ui;

use crate::camera::{CameraInfo, SourceSpec};

/// Where the package installs the demo photo (`make deb`).
pub const SYSTEM_DEMO_PHOTO: &str = "/usr/share/facegate/astronaut.png";

/// The photo the demo feed pans over when there is no camera: beside the binary, where the
/// package puts it (under the binary's prefix, then /usr), else in the tree a development build
/// came from (`make setup` fetches it there). None when none exists: the window then opens on an
/// empty feed instead of not opening.
pub fn demo_photo() -> Option<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned));
    let beside = exe_dir.iter().flat_map(|d| {
        [
            d.join("assets/fixtures/astronaut.png"),
            d.join("../share/facegate/astronaut.png"),
        ]
    });
    beside
        .chain([
            PathBuf::from(SYSTEM_DEMO_PHOTO),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fixtures/astronaut.png"),
        ])
        .find(|p| p.is_file())
}

pub struct SourcePicker {
    /// Listed once at start: asking the system again on every frame would stall the window.
    cameras: Vec<CameraInfo>,
    path: String,
}

impl SourcePicker {
    pub fn new(cameras: Vec<CameraInfo>) -> SourcePicker {
        SourcePicker {
            cameras,
            path: String::new(),
        }
    }

    /// The listed name of camera `index`.
    pub fn camera_name(&self, index: u32) -> Option<String> {
        self.cameras
            .iter()
            .find(|c| c.index == index)
            .map(|c| c.name.clone())
    }

    /// Returns the source the user asked for, if they asked this frame.
    pub fn ui(&mut self, ui: &mut Ui, current: &str) -> Option<SourceSpec> {
        let mut chosen = None;
        egui::ComboBox::from_label("source")
            .selected_text(current)
            .show_ui(ui, |ui| {
                if self.cameras.is_empty() {
                    ui.label("no camera found");
                }
                for cam in &self.cameras {
                    if ui
                        .selectable_label(false, format!("{} (/dev/video{})", cam.name, cam.index))
                        .clicked()
                    {
                        chosen = Some(SourceSpec::camera(cam.index));
                    }
                }
                if let Some(photo) = demo_photo()
                    && ui.selectable_label(false, "demo (sample photo)").clicked()
                {
                    chosen = Some(SourceSpec::Demo(photo));
                }
            });
        let label = ui.label("recording:");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut self.path)
                    .hint_text("video file or image folder")
                    .desired_width(220.0),
            )
            .labelled_by(label.id);
        // Enter opens it, as it adds a person in that field: focus would otherwise just leave,
        // and the next letters typed would be read as capture keys.
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let clicked = ui
            .add_enabled(
                !self.path.trim().is_empty(),
                egui::Button::new("Open recording"),
            )
            .clicked();
        if (clicked || enter) && !self.path.trim().is_empty() {
            chosen = Some(SourceSpec::Replay(self.path.trim().into()));
        }
        chosen
    }
}

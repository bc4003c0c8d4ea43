//! The camera section of "People & settings": pick the device by name or path (`/dev/videoN`)
//! from what the system lists, a resolution and frame rate it offers, and open it; the app then
//! remembers the choice in the settings. With no camera it says so plainly.

use egui::{RichText, Ui};

use super::palette::ERROR;
use super::state::AppState;
use crate::camera::{CameraInfo, CameraMode, SourceSpec, find_camera};
use crate::session::Command;

/// Offered while the current source is not a camera (then its own modes are unknown): the
/// closest mode the camera has is used.
const COMMON_SIZES: [(u32, u32); 4] = [(640, 480), (1280, 720), (1920, 1080), (320, 240)];
const COMMON_RATES: [u32; 3] = [30, 15, 60];

/// The source now feeding the window.
pub struct Current {
    pub name: String,
    /// Its modes (a camera's; empty for a recording or the demo).
    pub modes: Vec<CameraMode>,
}

/// A camera the user asked for, to open and (once open) remember.
#[derive(Debug, Clone)]
pub struct CameraChoice {
    pub spec: SourceSpec,
    pub name: String,
}

pub struct CameraPanel {
    /// Listed at start and on "Look again": asking the system every frame would stall.
    cameras: Vec<CameraInfo>,
    device: String,
    size: (u32, u32),
    fps: u32,
    /// Filled from the settings once, when they arrive.
    loaded: bool,
    note: Option<String>,
}

impl CameraPanel {
    pub fn new(cameras: Vec<CameraInfo>) -> CameraPanel {
        CameraPanel {
            cameras,
            device: String::new(),
            size: (640, 480),
            fps: 30,
            loaded: false,
            note: None,
        }
    }

    /// Draws the section; returns the camera to open when the user asks for one.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        state: &AppState,
        current: &Current,
        _out: &mut Vec<Command>,
    ) -> Option<CameraChoice> {
        ui.heading("Camera");
        if let (false, Some(s)) = (self.loaded, &state.settings) {
            self.loaded = true;
            self.device = if s.camera_name.is_empty() {
                format!("/dev/video{}", s.camera)
            } else {
                s.camera_name.clone()
            };
            self.size = (s.camera_width, s.camera_height);
            self.fps = s.camera_fps;
        }
        ui.label(format!("now showing: {}", current.name));
        if self.cameras.is_empty() {
            ui.label(
                RichText::new("No camera found")
                    .strong()
                    .size(18.0)
                    .color(ERROR),
            );
            ui.label(
                "The system lists no video device (/dev/video*). Plug one in and press Look \
                 again, or open a recording with the source row at the top.",
            );
        } else {
            egui::ComboBox::from_label("cameras found")
                .selected_text(format!("{} found", self.cameras.len()))
                .show_ui(ui, |ui| {
                    for cam in &self.cameras {
                        let text = format!("{} (/dev/video{})", cam.name, cam.index);
                        if ui.selectable_label(self.device == cam.name, text).clicked() {
                            self.device = cam.name.clone();
                        }
                    }
                });
        }
        if ui.button("Look again").clicked() {
            self.cameras = crate::camera::list_cameras();
            self.note = None;
        }
        ui.horizontal(|ui| {
            let label = ui.label("device:");
            ui.add(
                egui::TextEdit::singleline(&mut self.device)
                    .hint_text("a name or /dev/videoN")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
        });
        let sizes = sizes(&current.modes);
        let rates = rates(&current.modes, self.size);
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("resolution")
                .selected_text(format!("{}×{}", self.size.0, self.size.1))
                .show_ui(ui, |ui| {
                    for s in &sizes {
                        ui.selectable_value(&mut self.size, *s, format!("{}×{}", s.0, s.1));
                    }
                });
            egui::ComboBox::from_label("fps")
                .selected_text(self.fps.to_string())
                .show_ui(ui, |ui| {
                    for r in &rates {
                        ui.selectable_value(&mut self.fps, *r, r.to_string());
                    }
                });
        });
        if current.modes.is_empty() {
            ui.label(
                RichText::new("the modes a camera really offers are listed once it is open; the closest one is used")
                    .small()
                    .weak(),
            );
        }
        let mut chosen = None;
        if ui
            .add_enabled(
                !self.device.trim().is_empty(),
                egui::Button::new("Open camera"),
            )
            .clicked()
        {
            match self.resolve() {
                Ok(choice) => {
                    self.note = None;
                    chosen = Some(choice);
                }
                Err(why) => self.note = Some(why),
            }
        }
        if let Some(note) = &self.note {
            ui.colored_label(ERROR, note);
        }
        chosen
    }

    /// The listed camera the device field names, with the chosen mode.
    fn resolve(&self) -> Result<CameraChoice, String> {
        let wanted = self.device.trim();
        if self.cameras.is_empty() {
            return Err(format!(
                "No camera found: the system lists none (asked for {wanted})"
            ));
        }
        let index = find_camera(wanted, &self.cameras).ok_or_else(|| {
            let listed: Vec<String> = self
                .cameras
                .iter()
                .map(|c| format!("{} (/dev/video{})", c.name, c.index))
                .collect();
            format!("no camera {wanted}; the system lists {}", listed.join(", "))
        })?;
        let name = self
            .cameras
            .iter()
            .find(|c| c.index == index)
            .map_or_else(String::new, |c| c.name.clone());
        Ok(CameraChoice {
            spec: SourceSpec::Camera {
                index,
                width: self.size.0,
                height: self.size.1,
                fps: self.fps,
            },
            name,
        })
    }
}

/// The resolutions to offer: the camera's own, else common ones.
fn sizes(modes: &[CameraMode]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = modes.iter().map(|m| (m.width, m.height)).collect();
    out.dedup();
    if out.is_empty() {
        out = COMMON_SIZES.to_vec();
    }
    out
}

/// The frame rates the camera offers at `size`, else common ones.
fn rates(modes: &[CameraMode], size: (u32, u32)) -> Vec<u32> {
    let mut out: Vec<u32> = modes
        .iter()
        .filter(|m| (m.width, m.height) == size)
        .map(|m| m.fps)
        .collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.dedup();
    if out.is_empty() {
        out = COMMON_RATES.to_vec();
    }
    out
}

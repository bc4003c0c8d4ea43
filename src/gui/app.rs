//! The app's state and frame loop: drain the channels, then draw the chosen view.

use std::collections::HashMap;
use std::time::Instant;

use egui::{Color32, ColorImage, RichText, TextureHandle, TextureOptions, Ui};
use image::RgbImage;
use uuid::Uuid;

use super::stats::RateMeter;
use super::{compare, enrol, overlay, unlock};
use crate::auth::calibrate::PersonScores;
use crate::auth::{Identification, Verification};
use crate::camera::SourceSpec;
use crate::session::{Analysis, Command, CompareResult, Event, Mode, Session, UnlockStatus};
use crate::store::{ImageKind, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Enrol,
    Unlock,
    Compare,
}

/// A training run as the window shows it.
#[derive(Debug, Clone, Default)]
pub struct Training {
    pub history: Vec<crate::train::EpochReport>,
    /// None while it runs.
    pub result: Option<Result<Box<crate::train::TrainReport>, String>>,
}

/// The last verification shown in the banner.
#[derive(Debug, Clone)]
pub struct ShownVerdict {
    pub person: String,
    pub verification: Verification,
    /// The outcome of a Verify attempt (K of N frames), rather than one continuous-mode frame.
    pub attempt: bool,
}

pub struct FaceGateApp {
    pub(super) live: Session,
    pub view: View,
    pub(super) frame: Option<TextureHandle>,
    pub(super) frame_size: [usize; 2],
    pub analysis: Option<Analysis>,
    /// None until the worker has loaded the models.
    pub settings: Option<Settings>,
    /// What the worker last confirmed saving.
    pub saved_settings: Option<Settings>,
    pub people: Vec<String>,
    pub selected: Option<String>,
    pub(super) new_person: String,
    pub thumbnails: HashMap<ImageKind, Vec<(Uuid, TextureHandle)>>,
    pub verdict: Option<ShownVerdict>,
    pub verifying: bool,
    /// Age, gender and emotion overlays.
    pub attributes_on: bool,
    pub continuous: bool,
    pub identification: Option<Identification>,
    /// The loss curve of the running (or last) training and its outcome.
    pub training: Option<Training>,
    /// The selected person's score sets, for FAR/FRR beside the slider and the consistency line.
    pub person_scores: Option<PersonScores>,
    pub unlock_status: Option<UnlockStatus>,
    pub(super) compare_paths: [String; 2],
    pub(super) compare: Option<(CompareResult, [TextureHandle; 2])>,
    pub(super) compare_error: Option<String>,
    /// Latest message for the user: (text, is_error).
    pub message: Option<(String, bool)>,
    pub(super) source_note: Option<String>,
    pub(super) cameras: Vec<crate::camera::CameraInfo>,
    pub(super) replay_path: String,
    pub(super) source_problem: Option<String>,
    camera_rate: RateMeter,
    inference_rate: RateMeter,
}

impl FaceGateApp {
    pub fn new(live: Session) -> FaceGateApp {
        FaceGateApp {
            live,
            view: View::Enrol,
            frame: None,
            frame_size: [0, 0],
            analysis: None,
            settings: None,
            saved_settings: None,
            people: Vec::new(),
            selected: None,
            new_person: String::new(),
            thumbnails: HashMap::new(),
            verdict: None,
            verifying: false,
            attributes_on: true,
            continuous: false,
            identification: None,
            person_scores: None,
            training: None,
            unlock_status: None,
            compare_paths: Default::default(),
            compare: None,
            compare_error: None,
            message: None,
            source_note: None,
            cameras: crate::camera::list_cameras(),
            replay_path: String::new(),
            source_problem: None,
            camera_rate: RateMeter::default(),
            inference_rate: RateMeter::default(),
        }
    }

    pub fn note(&mut self, note: Option<String>) {
        self.source_note = note;
    }

    pub fn error(&mut self, text: String) {
        self.message = Some((text, true));
    }

    pub fn info(&mut self, text: String) {
        self.message = Some((text, false));
    }

    pub(super) fn send(&self, command: Command) {
        self.live.send(command);
    }

    pub fn select_person(&mut self, person: Option<String>) {
        self.thumbnails.clear();
        self.verdict = None;
        self.person_scores = None;
        self.training = None;
        self.selected = person.clone();
        self.send(Command::SelectPerson(person));
    }

    pub fn set_view(&mut self, view: View) {
        self.view = view;
        let mode = match view {
            View::Unlock => Mode::Unlock,
            _ if self.continuous => Mode::Continuous,
            _ => Mode::Detect,
        };
        self.unlock_status = None;
        self.send(Command::SetMode(mode));
    }

    pub fn set_continuous(&mut self, on: bool) {
        self.continuous = on;
        self.send(Command::SetMode(if on {
            Mode::Continuous
        } else {
            Mode::Detect
        }));
    }

    /// Applies changed settings locally at once and has the worker save and use them.
    pub fn update_settings(&mut self, settings: Settings) {
        self.settings = Some(settings.clone());
        self.saved_settings = Some(settings.clone());
        self.send(Command::UpdateSettings(settings));
    }

    /// Takes every pending frame and event; never blocks.
    pub fn poll(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
        let mut newest = None;
        while let Ok(frame) = self.live.frames.try_recv() {
            self.camera_rate.tick(now);
            newest = Some(frame);
        }
        if let Some(frame) = newest {
            let image = to_color_image(&frame.image);
            self.frame_size = image.size;
            match &mut self.frame {
                Some(tex) => tex.set(image, TextureOptions::LINEAR),
                None => {
                    self.frame = Some(ctx.load_texture("camera", image, TextureOptions::LINEAR))
                }
            }
        }
        while let Ok(event) = self.live.events.try_recv() {
            self.apply(ctx, event);
        }
    }

    fn apply(&mut self, ctx: &egui::Context, event: Event) {
        match event {
            Event::Ready { people, settings } => {
                self.people = people;
                self.saved_settings = Some(settings.clone());
                self.settings = Some(settings);
                if self.selected.is_none()
                    && let Some(first) = self.people.first().cloned()
                {
                    self.select_person(Some(first));
                }
            }
            Event::People(people) => {
                let added = people.iter().find(|p| !self.people.contains(p)).cloned();
                self.people = people;
                if added.is_some() {
                    self.select_person(added);
                }
            }
            Event::Gallery {
                person,
                kind,
                thumbnails,
            } => {
                if self.selected.as_deref() == Some(person.as_str()) {
                    let textures = thumbnails
                        .into_iter()
                        .map(|t| {
                            (
                                t.id,
                                ctx.load_texture(
                                    format!("thumb-{}", t.id),
                                    to_color_image(&t.image),
                                    TextureOptions::LINEAR,
                                ),
                            )
                        })
                        .collect();
                    self.thumbnails.insert(kind, textures);
                }
            }
            Event::Analysis(a) => {
                self.inference_rate.tick(Instant::now());
                self.analysis = Some(a);
            }
            Event::Captured { kind, .. } => self.info(format!("saved a {} image", kind.dir_name())),
            Event::CaptureRefused(why) => self.error(format!("not saved: {why}")),
            Event::Verdict {
                person,
                verification,
                attempt_done,
            } => {
                if attempt_done {
                    self.verifying = false;
                }
                if attempt_done || !self.verifying {
                    self.verdict = Some(ShownVerdict {
                        person,
                        verification,
                        attempt: attempt_done,
                    });
                }
            }
            Event::Identified(id) => self.identification = Some(id),
            Event::TrainProgress(epoch) => {
                self.training
                    .get_or_insert_with(Training::default)
                    .history
                    .push(epoch);
            }
            Event::Trained(result) => {
                match &result {
                    Ok(r) => self.info(format!(
                        "trained {}'s head: {} in use",
                        r.person,
                        if r.in_use {
                            "the head is"
                        } else {
                            "cosine stays"
                        }
                    )),
                    Err(e) => self.error(format!("training: {e}")),
                }
                self.training.get_or_insert_with(Training::default).result = Some(result);
            }
            Event::PersonScores(scores) => {
                if self.selected.as_deref() == Some(scores.person.as_str()) {
                    self.person_scores = Some(scores);
                }
            }
            Event::Unlock(status) => self.unlock_status = Some(status),
            Event::Compared(Ok(result)) => {
                let a = ctx.load_texture(
                    "compare-a",
                    to_color_image(&result.a),
                    TextureOptions::LINEAR,
                );
                let b = ctx.load_texture(
                    "compare-b",
                    to_color_image(&result.b),
                    TextureOptions::LINEAR,
                );
                self.compare = Some((result, [a, b]));
                self.compare_error = None;
            }
            Event::Compared(Err(e)) => {
                self.compare = None;
                self.compare_error = Some(e);
            }
            Event::SettingsSaved(_) => {}
            Event::Error(e) => {
                self.verifying = false;
                self.error(e);
            }
            Event::SourceError(e) => self.source_problem = Some(e),
            Event::SourceRecovered => self.source_problem = None,
        }
    }

    /// Everything inside the window; separate from [`eframe::App`] so tests can drive it.
    pub fn show(&mut self, ui: &mut Ui) {
        self.poll(ui.ctx());
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        match self.view {
            View::Enrol => {
                egui::Panel::right("controls")
                    .default_size(330.0)
                    .show(ui, |ui| enrol::controls(self, ui));
                egui::CentralPanel::default_margins().show(ui, |ui| {
                    self.feed(ui);
                });
            }
            View::Unlock => {
                egui::CentralPanel::default_margins().show(ui, |ui| unlock::view(self, ui));
            }
            View::Compare => {
                egui::CentralPanel::default_margins().show(ui, |ui| compare::view(self, ui));
            }
        }
    }

    fn top_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.heading("FaceGate");
            ui.separator();
            for (view, label) in [
                (View::Enrol, "Enrol & verify"),
                (View::Unlock, "Unlock"),
                (View::Compare, "Compare"),
            ] {
                if ui.selectable_label(self.view == view, label).clicked() && self.view != view {
                    self.set_view(view);
                }
            }
            ui.separator();
            let mut on = self.attributes_on;
            if ui.checkbox(&mut on, "Age / gender / emotion").changed() {
                self.attributes_on = on;
                self.send(Command::SetAttributes(on));
            }
        });
        ui.horizontal(|ui| self.source_picker(ui));
        if let Some(note) = &self.source_note {
            ui.label(RichText::new(note).color(Color32::from_rgb(230, 170, 40)));
        }
        if let Some(problem) = &self.source_problem {
            ui.label(RichText::new(problem).color(Color32::from_rgb(235, 60, 60)));
        }
        if let Some((text, is_error)) = self.message.clone() {
            let colour = if is_error {
                Color32::from_rgb(235, 60, 60)
            } else {
                Color32::from_rgb(60, 190, 90)
            };
            ui.horizontal(|ui| {
                ui.label(RichText::new(text).color(colour));
                if ui.small_button("dismiss").clicked() {
                    self.message = None;
                }
            });
        }
    }

    /// Camera list, demo, or a recording typed in: switching keeps the models and the store.
    fn source_picker(&mut self, ui: &mut Ui) {
        let mut chosen = None;
        egui::ComboBox::from_label("source")
            .selected_text(self.live.source_name.clone())
            .show_ui(ui, |ui| {
                if self.cameras.is_empty() {
                    ui.label("no camera found");
                }
                for cam in &self.cameras {
                    if ui
                        .selectable_label(false, format!("{} (camera {})", cam.name, cam.index))
                        .clicked()
                    {
                        chosen = Some(SourceSpec::camera(cam.index));
                    }
                }
                if ui.selectable_label(false, "demo (sample photo)").clicked() {
                    chosen = Some(SourceSpec::Demo(super::demo_photo()));
                }
            });
        let label = ui.label("recording:");
        ui.add(
            egui::TextEdit::singleline(&mut self.replay_path)
                .hint_text("video file or image folder")
                .desired_width(220.0),
        )
        .labelled_by(label.id);
        if ui
            .add_enabled(
                !self.replay_path.trim().is_empty(),
                egui::Button::new("Open recording"),
            )
            .clicked()
        {
            chosen = Some(SourceSpec::Replay(self.replay_path.trim().into()));
        }
        if let Some(spec) = chosen {
            self.open_source(&spec);
        }
    }

    /// Opening takes a few milliseconds (a camera's first handshake, ffprobe on a clip); frames
    /// then come from the capture thread as before.
    pub fn open_source(&mut self, spec: &SourceSpec) {
        match crate::camera::open(spec) {
            Ok(source) => {
                self.live.set_source(source);
                self.source_note = None;
                self.source_problem = None;
            }
            Err(e) => self.error(format!("cannot open that source: {e}")),
        }
    }

    fn status_bar(&self, ui: &mut Ui) {
        let t = self
            .analysis
            .as_ref()
            .map(|a| a.timings)
            .unwrap_or_default();
        let latency = self.analysis.as_ref().map_or(0.0, |a| a.latency_ms);
        ui.horizontal(|ui| {
            ui.label(format!(
                "camera {:.1} fps · inference {:.1} fps · detect {:.1} ms · attributes {:.1} ms · embed {:.1} ms · verify {:.2} ms · capture-to-result {:.0} ms",
                self.camera_rate.rate(),
                self.inference_rate.rate(),
                t.detect_ms,
                t.attributes_ms,
                t.embed_ms,
                t.verify_ms,
                latency
            ));
        });
    }

    /// The live image, scaled to fit and centred, with the overlays. Returns where it was drawn.
    pub(super) fn feed(&mut self, ui: &mut Ui) -> Option<egui::Rect> {
        let Some(tex) = &self.frame else {
            ui.centered_and_justified(|ui| ui.label("waiting for the first frame…"));
            return None;
        };
        let avail = ui.available_size();
        let [w, h] = self.frame_size;
        let scale = (avail.x / w as f32).min(avail.y / h as f32).max(0.01);
        let size = egui::vec2(w as f32 * scale, h as f32 * scale);
        let response = ui
            .vertical_centered(|ui| ui.add(egui::Image::from_texture(tex).fit_to_exact_size(size)))
            .inner;
        if let Some(a) = &self.analysis {
            overlay::draw_faces(
                ui.painter(),
                response.rect,
                self.frame_size,
                &a.faces,
                self.attributes_on,
            );
        }
        Some(response.rect)
    }

    /// Size of the last frame shown, in pixels.
    pub fn frame_size(&self) -> [usize; 2] {
        self.frame_size
    }

    pub fn source_name(&self) -> &str {
        &self.live.source_name
    }

    pub fn camera_fps(&self) -> f32 {
        self.camera_rate.rate()
    }
}

impl eframe::App for FaceGateApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

pub(super) fn to_color_image(img: &RgbImage) -> ColorImage {
    ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw())
}

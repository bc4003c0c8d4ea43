//! "People & settings": remove (the wipe, after a confirmation) or rename a person, import
//! negatives from a folder with progress, choose the model (mbf's licence shown before
//! switching), calibrate the detection threshold to a target FAR; the camera (devices.rs).

use crate::auth::calibrate::percent;
use egui::{RichText, Ui};

use super::devices::{CameraChoice, CameraPanel, Current};
use super::files::{self, Answer, Dialog, Purpose};
use super::palette::{ERROR, WARN};
use super::state::AppState;
use crate::camera::CameraInfo;
use crate::session::{Command, ImportProgress};
use crate::store::Gallery;
use crate::vision::EmbedderKind;
use crate::vision::attributes::{AgeNet, EmotionNet};

/// Targets offered for calibration (a comparison's false-accept rate).
const FAR_TARGETS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];

pub struct ManageView {
    rename_to: String,
    /// The person the user asked to remove, waiting for the confirmation.
    confirm_remove: Option<String>,
    /// mbf was picked: its licence is shown until the user confirms or keeps the current model.
    confirm_model: Option<EmbedderKind>,
    negatives_dir: String,
    dialog: Dialog<()>,
    dialog_note: Option<String>,
    far: f64,
    pub camera: CameraPanel,
}

impl ManageView {
    pub fn new(cameras: Vec<CameraInfo>) -> ManageView {
        ManageView {
            rename_to: String::new(),
            confirm_remove: None,
            confirm_model: None,
            negatives_dir: String::new(),
            dialog: Dialog::default(),
            dialog_note: None,
            far: crate::auth::calibrate::DEFAULT_TARGET_FAR,
            camera: CameraPanel::new(cameras),
        }
    }

    /// Draws the view; a camera the user picked comes back to be opened.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        state: &AppState,
        current: &Current,
        out: &mut Vec<Command>,
    ) -> Option<CameraChoice> {
        let mut open = None;
        egui::CentralPanel::default_margins().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.columns(2, |cols| {
                    // Left-aligned, not stretched: the columns' own layout is justified.
                    cols[0].vertical(|ui| {
                        self.people(ui, state, out);
                        ui.separator();
                        self.negatives(ui, state, out);
                    });
                    cols[1].vertical(|ui| {
                        self.model(ui, state, out);
                        ui.separator();
                        self.calibration(ui, state, out);
                        ui.separator();
                        open = self.camera.ui(ui, state, current, out);
                    });
                });
            });
        });
        self.modals(ui, state, out);
        open
    }

    fn people(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("People");
        if state.people.is_empty() {
            ui.label("nobody is enrolled yet: add a person in Enrol & verify");
            return;
        }
        ui.horizontal_wrapped(|ui| {
            for p in &state.people {
                let selected = state.selected.as_deref() == Some(p.as_str());
                if ui.selectable_label(selected, p).clicked() && !selected {
                    out.push(Command::SelectPerson(Some(p.clone())));
                }
            }
        });
        let Some(person) = state.selected.clone() else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            let label = ui
                .label(format!("rename {} to", super::short_name(&person)))
                .on_hover_text(&person);
            ui.add(
                egui::TextEdit::singleline(&mut self.rename_to)
                    .hint_text("new name")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
            let to = crate::store::names::normalised(self.rename_to.trim());
            if ui
                .add_enabled(!to.is_empty() && to != person, egui::Button::new("Rename"))
                .clicked()
            {
                out.push(Command::RenamePerson {
                    from: person.clone(),
                    to,
                });
                self.rename_to.clear();
            }
        });
        if ui
            // One ellipsis, whether the name was cut or not.
            .button(format!(
                "Remove {}…",
                super::short_name(&person).trim_end_matches('…')
            ))
            .on_hover_text("removes every trace of them, after you confirm")
            .clicked()
        {
            self.confirm_remove = Some(person);
        }
    }

    fn negatives(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Negatives");
        ui.label(
            "Other people's faces (e.g. a few LFW folders): the impostors for FAR, calibration \
             and training. Each photo goes through the quality check. Choose a folder, type it \
             or drop it here.",
        );
        if let Some(n) = state.negatives_stored {
            ui.label(match n {
                0 => "None stored yet.".to_owned(),
                n => format!(
                    "{} stored.",
                    crate::shown::counted(n, "negative", "negatives")
                ),
            });
        }
        match self.dialog.poll() {
            Some(Answer::Chosen((), paths)) => {
                self.dialog_note = None;
                if let Some(dir) = paths.into_iter().next() {
                    self.negatives_dir = dir.display().to_string();
                }
            }
            Some(Answer::Nothing(())) => self.dialog_note = Some(files::NO_DIALOG.into()),
            None => {}
        }
        // A folder dropped on this view is taken as the negatives' folder.
        if let Some(dir) = files::dropped(ui).into_iter().find(|p| p.is_dir()) {
            self.negatives_dir = dir.display().to_string();
            self.dialog_note = None;
        }
        let running = state
            .import
            .as_ref()
            .is_some_and(|p| p.gallery == Gallery::Negatives && !p.finished());
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("folder:");
            ui.add(
                egui::TextEdit::singleline(&mut self.negatives_dir)
                    .hint_text("a folder of face photos")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
            if ui
                .add_enabled(!self.dialog.open(), egui::Button::new("Choose…"))
                .clicked()
            {
                self.dialog
                    .start(ui.ctx(), Purpose::Folder(()), "Folder of negatives");
            }
            let dir = self.negatives_dir.trim();
            if ui
                .add_enabled(
                    !dir.is_empty() && !running && state.settings.is_some(),
                    egui::Button::new("Import negatives"),
                )
                .clicked()
            {
                out.push(Command::ImportNegatives(dir.into()));
                self.dialog_note = None;
            }
        });
        if let Some(note) = &self.dialog_note {
            ui.label(RichText::new(note).small().color(WARN));
        }
        let negatives = |p: &&ImportProgress| p.gallery == Gallery::Negatives;
        if let Some(p) = state.import.as_ref().filter(negatives) {
            super::enrol::import_result(ui, p);
        }
        // The person's own photo among the negatives: calibration refuses to run with it, and
        // the window has no other way to reach a negative.
        if !state.negatives_showing.is_empty() {
            let found = &state.negatives_showing;
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(crate::error::negatives_by_whom(found)).color(WARN));
                if ui.button("Remove them").clicked() {
                    out.push(Command::RemoveNegatives(
                        found.iter().map(|(id, _)| *id).collect(),
                    ));
                }
            });
        }
    }

    fn model(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Model");
        let Some(settings) = &state.settings else {
            ui.label(state.analysis_off.as_deref().unwrap_or("loading models…"));
            return;
        };
        let mut model = settings.model;
        ui.radio_value(
            &mut model,
            EmbedderKind::Sface,
            "SFace (128-d, Apache-2.0, default)",
        );
        ui.radio_value(
            &mut model,
            EmbedderKind::Mbf,
            "mbf (512-d, non-commercial research only)",
        );
        if model != settings.model {
            match model.licence_notice() {
                // Shown first; nothing changes until the user agrees.
                Some(_) => self.confirm_model = Some(model),
                None => out.push(Command::update_settings(settings.with_model(model))),
            }
        }
        ui.label(
            RichText::new(format!(
                "in use: {}; switching sets the detection threshold to the new model's default; \
                 stored photos are embedded again as needed",
                settings.model
            ))
            .small(),
        );
        // The overlay's age and emotion readers; the worker loads the other network on the next
        // frame.
        let (mut age, mut emotion) = (settings.age_net, settings.emotion_net);
        ui.horizontal(|ui| {
            ui.label("age:");
            ui.radio_value(&mut age, AgeNet::Trained, "FaceGate's own (default)");
            ui.radio_value(&mut age, AgeNet::Dlib, "dlib's age-v1 (CC0)");
        });
        ui.label(
            RichText::new(
                "ours learnt from UTKFace, whose licence allows non-commercial research only; it \
                 reads adults' ages more closely (README)",
            )
            .small(),
        );
        ui.horizontal(|ui| {
            ui.label("emotions:");
            ui.radio_value(
                &mut emotion,
                EmotionNet::Trained,
                "FaceGate's own (default)",
            );
            ui.radio_value(
                &mut emotion,
                EmotionNet::MiniXception,
                "fer's mini-Xception (MIT)",
            );
        });
        ui.label(
            RichText::new(
                "both learnt from FER2013, whose terms of use are unclear (research use); ours reads \
                 emotions more accurately (README)",
            )
            .small(),
        );
        if (age, emotion) != (settings.age_net, settings.emotion_net) {
            let mut changed = settings.clone();
            changed.age_net = age;
            changed.emotion_net = emotion;
            out.push(Command::update_settings(changed));
        }
    }

    fn calibration(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Calibration");
        ui.label(
            "The lowest detection threshold whose measured false-accept rate, on everyone's \
             photos against the negatives and each other, meets the target, raised toward the \
             model's default as far as their own pairs lose nothing by it.",
        );
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("target FAR")
                .selected_text(percent(self.far))
                .show_ui(ui, |ui| {
                    for far in FAR_TARGETS {
                        ui.selectable_value(&mut self.far, far, percent(far));
                    }
                });
            if ui
                .add_enabled(
                    state.settings.is_some() && !state.calibrating,
                    egui::Button::new("Calibrate"),
                )
                .clicked()
            {
                out.push(Command::Calibrate { far: self.far });
            }
        });
        if state.calibrating {
            ui.label("calibrating…");
        }
        let (Some(result), Some(settings)) = (&state.calibration, &state.settings) else {
            return;
        };
        let c = match result {
            Ok(c) => c,
            Err(e) => {
                ui.colored_label(ERROR, &e.why);
                return;
            }
        };
        if (c.model, c.preprocess) != (settings.model, settings.preprocess) {
            ui.label(if c.model != settings.model {
                format!(
                    "The last calibration measured {}'s scores; calibrate again for {}.",
                    c.model.model_id(),
                    settings.model.model_id()
                )
            } else {
                "The last calibration measured faces preprocessed another way; calibrate again."
                    .to_owned()
            });
            return;
        }
        let cal = &c.calibration;
        ui.label(format!(
            "threshold {:.3}: FAR {} on {} impostor pairs (target {}), FRR {} on {} genuine pairs",
            cal.threshold,
            percent(cal.far),
            cal.impostor,
            percent(cal.target_far),
            cal.frr.map_or("unmeasured".into(), percent),
            cal.genuine,
        ));
        for caution in c.cautions() {
            ui.colored_label(WARN, caution);
        }
        let now = settings.detection_threshold;
        if (cal.threshold - now).abs() < 5e-4 {
            ui.label(format!("in use (the detection threshold is {now:.3})"));
        } else if ui
            .button(format!("Use {:.3} (now {now:.3})", cal.threshold))
            .clicked()
        {
            let mut s = settings.clone();
            s.detection_threshold = cal.threshold;
            out.push(Command::update_settings(s));
        }
    }

    /// The confirmations: removing a person, and mbf's licence.
    fn modals(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        if let Some(person) = self.confirm_remove.clone() {
            let modal = egui::Modal::new(egui::Id::unique("confirm-remove")).show(ui.ctx(), |ui| {
                ui.set_max_width(420.0);
                ui.heading(format!("Remove {}?", super::short_name(&person)));
                ui.label(
                    "Every trace of them goes: their photos, trained heads and lock-out state, \
                     the cached embeddings of their photos, their audit-log lines and saved \
                     frames. This cannot be undone.",
                );
                ui.horizontal(|ui| {
                    if ui
                        .button(format!("Remove {} for good", super::short_name(&person)))
                        .clicked()
                    {
                        out.push(Command::RemovePerson(person.clone()));
                        self.confirm_remove = None;
                    }
                    if ui.button("Keep").clicked() {
                        self.confirm_remove = None;
                    }
                });
            });
            if modal.should_close() {
                self.confirm_remove = None;
            }
        }
        if let (Some(model), Some(settings)) = (self.confirm_model, &state.settings) {
            let notice = model.licence_notice().unwrap_or_default();
            let modal = egui::Modal::new(egui::Id::unique("confirm-model")).show(ui.ctx(), |ui| {
                ui.set_max_width(460.0);
                ui.heading(format!("Switch to {model}?"));
                ui.label(RichText::new(notice).color(WARN));
                ui.label(
                    "Use it only for non-commercial research. SFace (Apache-2.0) stays \
                     available for everything else.",
                );
                ui.horizontal(|ui| {
                    if ui.button(format!("Switch to {model}")).clicked() {
                        out.push(Command::update_settings(settings.with_model(model)));
                        self.confirm_model = None;
                    }
                    if ui.button(format!("Keep {}", settings.model)).clicked() {
                        self.confirm_model = None;
                    }
                });
            });
            if modal.should_close() {
                self.confirm_model = None;
            }
        }
    }
}

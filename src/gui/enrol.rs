//! The enrol-and-verify view: the feed, and beside it who, verify, capture, thresholds, train.

use egui::{Color32, Key, RichText, Ui};

use super::feed::Feed;
use super::state::AppState;
use super::textures::TextureCache;
use crate::session::{Command, Mode};
use crate::store::{ImageKind, Settings};
use crate::vision::Preprocess;

const KEYS: [(ImageKind, Key, &str); 3] = [
    (ImageKind::Anchor, Key::A, "A"),
    (ImageKind::Positive, Key::P, "P"),
    (ImageKind::Verification, Key::V, "V"),
];

const THUMB_STRIP_HEIGHT: f32 = 70.0;

#[derive(Default)]
pub struct EnrolView {
    new_person: String,
    /// The settings while a slider is held: FAR and FRR follow the drag, and the file is written
    /// once, when it is let go, not on every step.
    draft: Option<Settings>,
    thumbnails: TextureCache,
}

impl EnrolView {
    pub fn ui(&mut self, ui: &mut Ui, state: &AppState, feed: &Feed, out: &mut Vec<Command>) {
        egui::Panel::right("controls")
            .default_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.person(ui, state, out);
                    ui.separator();
                    verify(ui, state, out);
                    ui.separator();
                    self.capture(ui, state, out);
                    ui.separator();
                    self.thresholds(ui, state, out);
                    ui.separator();
                    train(ui, state, out);
                });
            });
        egui::CentralPanel::default_margins().show(ui, |ui| {
            feed.show(ui, state.analysis.as_ref(), state.attributes_on, 0.0);
        });
    }

    fn person(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Person");
        let mut chosen = state.selected.clone();
        egui::ComboBox::from_label("selected person")
            .selected_text(chosen.clone().unwrap_or_else(|| "nobody yet".into()))
            .show_ui(ui, |ui| {
                for p in &state.people {
                    ui.selectable_value(&mut chosen, Some(p.clone()), p);
                }
            });
        if chosen != state.selected {
            out.push(Command::SelectPerson(chosen));
        }
        ui.horizontal(|ui| {
            let label = ui.label("new:");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.new_person)
                        .hint_text("their name")
                        .desired_width(150.0),
                )
                .labelled_by(label.id);
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if (ui.button("Add person").clicked() || enter) && !self.new_person.trim().is_empty() {
                out.push(Command::AddPerson(self.new_person.trim().to_owned()));
                self.new_person.clear();
            }
        });
    }

    fn capture(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Capture");
        let enabled = state.person_ready();
        let typing = ui.ctx().egui_wants_keyboard_input();
        let shown = |id: &uuid::Uuid| {
            state
                .thumbnails
                .values()
                .any(|ts| ts.iter().any(|t| t.id == *id))
        };
        self.thumbnails.keep_only(shown);
        for (kind, key, hint) in KEYS {
            let count = state.thumbnail_count(kind);
            let label = format!("Capture {} ({hint})", kind.dir_name());
            let clicked = ui.add_enabled(enabled, egui::Button::new(label)).clicked();
            let pressed = enabled && !typing && ui.input(|i| i.key_pressed(key));
            if clicked || pressed {
                out.push(Command::Capture(kind));
            }
            ui.label(format!(
                "{count} {} image{}",
                kind.dir_name(),
                if count == 1 { "" } else { "s" }
            ));
            // A strip of fixed height, filled or not, so buttons never jump as images load.
            let thumbs = state.thumbnails.get(&kind).map_or(&[][..], Vec::as_slice);
            egui::ScrollArea::horizontal()
                .id_salt(kind.dir_name())
                .show(ui, |ui| {
                    ui.set_min_height(THUMB_STRIP_HEIGHT);
                    ui.horizontal(|ui| {
                        for t in thumbs {
                            let tex = self.thumbnails.get(ui.ctx(), t.id, &t.image);
                            ui.vertical(|ui| {
                                ui.add(
                                    egui::Image::from_texture(&tex)
                                        .fit_to_exact_size(egui::vec2(48.0, 48.0)),
                                );
                                if ui
                                    .small_button("delete")
                                    .on_hover_text("delete this image")
                                    .clicked()
                                {
                                    out.push(Command::DeleteImage { kind, id: t.id });
                                }
                            });
                        }
                    });
                });
            ui.add_space(4.0);
        }
    }

    fn thresholds(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Thresholds");
        let Some(mut s) = self.draft.take().or_else(|| state.settings.clone()) else {
            ui.label("loading models…");
            return;
        };
        let det = ui.add(
            // The ranges the settings file is checked against: a slider cannot set what a
            // hand-edited file would have refused.
            egui::Slider::new(
                &mut s.detection_threshold,
                crate::store::threshold_floor(s.model)..=1.0,
            )
            .text("detection")
            .fixed_decimals(3),
        );
        let det =
            det.on_hover_text("a single comparison counts as a match above this cosine similarity");
        error_rates(ui, state, s.detection_threshold);
        let ver = ui.add(
            egui::Slider::new(
                &mut s.verification_threshold,
                crate::store::MIN_VERIFICATION_THRESHOLD..=1.0,
            )
            .text("verification")
            .fixed_decimals(2),
        );
        let ver = ver.on_hover_text("share of verification images that must match to accept");
        let dragging = det.dragged() || ver.dragged();
        ui.label(format!(
            "model {} (default match threshold {:.3})",
            s.model,
            s.model.default_threshold()
        ));
        egui::ComboBox::from_label("preprocessing")
            .selected_text(format!("{:?}", s.preprocess).to_lowercase())
            .show_ui(ui, |ui| {
                for p in [
                    Preprocess::None,
                    Preprocess::Grey,
                    Preprocess::Brightness,
                    Preprocess::Equalize,
                ] {
                    ui.selectable_value(&mut s.preprocess, p, format!("{p:?}").to_lowercase());
                }
            })
            .response
            .on_hover_text("normalise each face before embedding; LFW figures in the README");
        ui.checkbox(&mut s.liveness, "Liveness check at unlock")
            .on_hover_text("after verifying, ask for a head turn and look for natural face motion");
        ui.checkbox(
            &mut s.save_failed_frames,
            "Keep the frame of failed attempts",
        )
        .on_hover_text(
            "a picture of whoever failed, named in the audit log; wiping a person removes theirs",
        );
        if dragging {
            self.draft = Some(s);
        } else if state.settings.as_ref() != Some(&s) {
            out.push(Command::UpdateSettings(s));
        }
    }
}

/// FAR and FRR of one comparison at `threshold`, read off the selected person's own images and
/// the negatives, and how consistent their verification images are: measured, not promised.
fn error_rates(ui: &mut Ui, state: &AppState, threshold: f32) {
    let Some(p) = &state.person_scores else {
        return;
    };
    let pct = |r: Option<f64>| r.map_or("–".to_owned(), |r| format!("{:.2} %", r * 100.0));
    ui.label(format!(
        "FAR {} on {} impostor pairs · FRR {} on {} genuine pairs",
        pct(p.scores.far(threshold)),
        p.scores.impostor.len(),
        pct(p.scores.frr(threshold)),
        p.scores.genuine.len(),
    ))
    .on_hover_text(
        "impostor pairs: this person's images against the negatives and everyone else enrolled; \
         genuine pairs: their images against each other. Import negatives for a meaningful FAR.",
    );
    if let Some(c) = &p.consistency {
        let text = format!(
            "consistency: {} verification images at cosine {:.2} ± {:.2} to their template (lowest {:.2})",
            c.images, c.mean, c.std, c.min
        );
        // An image far from the rest is usually a bad capture (blur, odd angle, someone else).
        if c.min < threshold {
            ui.colored_label(
                egui::Color32::from_rgb(230, 160, 40),
                format!("{text}: retake the lowest one"),
            );
        } else {
            ui.label(text);
        }
    }
}

fn verify(ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
    ui.heading("Verify");
    let enabled = state.person_ready();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(enabled && !state.verifying, egui::Button::new("Verify"))
            .clicked()
        {
            out.push(Command::Verify);
        }
        let mut continuous = state.continuous;
        if ui
            .add_enabled(enabled, egui::Checkbox::new(&mut continuous, "Continuous"))
            .changed()
        {
            let mode = if continuous {
                Mode::Continuous
            } else {
                Mode::Detect
            };
            out.push(Command::SetMode(mode));
        }
        if ui
            .add_enabled(state.settings.is_some(), egui::Button::new("Identify"))
            .clicked()
        {
            out.push(Command::Identify);
        }
    });
    if state.verifying {
        ui.label("verifying… look at the camera");
    }
    if let Some(v) = &state.verdict {
        let r = &v.verification;
        let (text, colour) = if r.accepted {
            (
                format!("Verified: {}", v.person),
                Color32::from_rgb(40, 200, 90),
            )
        } else {
            (
                format!("Not verified: {}", v.person),
                Color32::from_rgb(235, 60, 60),
            )
        };
        ui.label(RichText::new(text).size(22.0).strong().color(colour));
        ui.label(format!(
            "{}/{} images matched ({:.0} %, need {:.0} %) · best {:.3} · template {:.3}",
            r.matched,
            r.total,
            r.share * 100.0,
            r.thresholds.verification * 100.0,
            r.best,
            r.template_score
        ));
        for c in &r.comparisons {
            ui.label(
                RichText::new(format!(
                    "{:.3} {}",
                    c.score,
                    if c.matched { "match" } else { "" }
                ))
                .monospace(),
            );
        }
    }
    if let Some(id) = &state.identification {
        match &id.identity {
            Some(name) => ui.label(RichText::new(format!("This is {name}")).strong()),
            None => ui.label(RichText::new("Unknown: nobody enrolled passes").strong()),
        };
        for c in id.ranking.iter().take(5) {
            ui.label(format!(
                "{} {:.3} ({}/{})",
                c.name, c.mean_score, c.verification.matched, c.verification.total
            ));
        }
    }
}

/// The siamese head: a Train button, a progress bar and the live loss curve, then the held-out
/// figures beside cosine and which of the two now scores this person.
fn train(ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
    ui.heading("Train");
    let running = state.training.as_ref().is_some_and(|t| t.running());
    let button = ui.add_enabled(
        state.selected.is_some() && !running,
        egui::Button::new("Train head"),
    );
    button.clone().on_hover_text(
        "learn this person's own match rule from anchor × positive (same) and anchor × negative \
         (different) pairs; used only if it beats plain cosine on held-out images",
    );
    if button.clicked() {
        out.push(Command::Train);
    }
    let unlock = ui.add_enabled(
        state.selected.is_some(),
        egui::Button::new("Enable face unlock for this account"),
    );
    unlock.clone().on_hover_text(
        "copy this person's verification images into the system store, so login and sudo can \
         use face unlock (asks for the administrator password; the password stays the fallback)",
    );
    if unlock.clicked() {
        out.push(Command::EnableFaceUnlock);
    }
    let Some(t) = &state.training else {
        return;
    };
    if let Some(last) = t.history.last() {
        let done = t.result.is_some();
        let fraction = if done {
            1.0
        } else {
            last.epoch as f32 / last.max_epochs.max(1) as f32
        };
        ui.add(egui::ProgressBar::new(fraction).text(format!(
            "epoch {} (best {}){}",
            last.epoch,
            last.best_epoch,
            if done { ", stopped early" } else { "" }
        )));
        let series = |f: fn(&crate::train::EpochReport) -> f64| -> Vec<[f64; 2]> {
            t.history.iter().map(|e| [e.epoch as f64, f(e)]).collect()
        };
        egui_plot::Plot::new("loss")
            .height(120.0)
            .legend(egui_plot::Legend::default())
            .x_axis_label("epoch")
            .y_axis_label("BCE")
            .show(ui, |plot| {
                plot.line(egui_plot::Line::new("train", series(|e| e.train_loss)));
                plot.line(egui_plot::Line::new(
                    "validation",
                    series(|e| e.validation_loss),
                ));
            });
    }
    match &t.result {
        Some(Ok(r)) => {
            egui::Grid::new("train-metrics")
                .striped(true)
                .show(ui, |ui| {
                    for h in ["held out", "precision", "recall", "F1", "AUC"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for (name, m) in [("head", &r.head), ("cosine", &r.baseline)] {
                        ui.label(name);
                        for v in [m.precision, m.recall, m.f1, m.auc] {
                            ui.label(format!("{v:.3}"));
                        }
                        ui.end_row();
                    }
                });
            ui.label(format!(
                "{} same / {} different test pairs. In use: {}",
                r.head.same_pairs,
                r.head.different_pairs,
                if r.in_use {
                    "the trained head"
                } else {
                    "cosine (the head did not beat it)"
                }
            ));
        }
        Some(Err(e)) => {
            ui.colored_label(Color32::from_rgb(230, 90, 80), e);
        }
        None => {}
    }
}

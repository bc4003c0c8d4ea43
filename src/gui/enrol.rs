//! The side panel of the enrol-and-verify view: who, capture, thresholds, verify.

use egui::{Color32, Key, RichText, Ui};

use super::app::FaceGateApp;
use crate::session::Command;
use crate::store::ImageKind;
use crate::vision::Preprocess;

const KEYS: [(ImageKind, Key, &str); 3] = [
    (ImageKind::Anchor, Key::A, "A"),
    (ImageKind::Positive, Key::P, "P"),
    (ImageKind::Verification, Key::V, "V"),
];

const THUMB_STRIP_HEIGHT: f32 = 70.0;

pub fn controls(app: &mut FaceGateApp, ui: &mut Ui) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        person(app, ui);
        ui.separator();
        verify(app, ui);
        ui.separator();
        capture(app, ui);
        ui.separator();
        thresholds(app, ui);
        ui.separator();
        train(app, ui);
    });
}

fn person(app: &mut FaceGateApp, ui: &mut Ui) {
    ui.heading("Person");
    let mut chosen = app.selected.clone();
    egui::ComboBox::from_label("selected person")
        .selected_text(chosen.clone().unwrap_or_else(|| "nobody yet".into()))
        .show_ui(ui, |ui| {
            for p in &app.people {
                ui.selectable_value(&mut chosen, Some(p.clone()), p);
            }
        });
    if chosen != app.selected {
        app.select_person(chosen);
    }
    ui.horizontal(|ui| {
        let label = ui.label("new:");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut app.new_person)
                    .hint_text("their name")
                    .desired_width(150.0),
            )
            .labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        if (ui.button("Add person").clicked() || enter) && !app.new_person.trim().is_empty() {
            app.send(Command::AddPerson(app.new_person.trim().to_owned()));
            app.new_person.clear();
        }
    });
}

fn capture(app: &mut FaceGateApp, ui: &mut Ui) {
    ui.heading("Capture");
    let enabled = app.selected.is_some() && app.settings.is_some();
    let typing = ui.ctx().egui_wants_keyboard_input();
    for (kind, key, hint) in KEYS {
        let count = app.thumbnails.get(&kind).map_or(0, Vec::len);
        let label = format!("Capture {} ({hint})", kind.dir_name());
        let clicked = ui.add_enabled(enabled, egui::Button::new(label)).clicked();
        let pressed = enabled && !typing && ui.input(|i| i.key_pressed(key));
        if clicked || pressed {
            app.send(Command::Capture(kind));
        }
        ui.label(format!(
            "{count} {} image{}",
            kind.dir_name(),
            if count == 1 { "" } else { "s" }
        ));
        // A strip of fixed height, filled or not, so buttons never jump as images load.
        let mut delete = None;
        let thumbs = app.thumbnails.get(&kind).map_or(&[][..], Vec::as_slice);
        egui::ScrollArea::horizontal()
            .id_salt(kind.dir_name())
            .show(ui, |ui| {
                ui.set_min_height(THUMB_STRIP_HEIGHT);
                ui.horizontal(|ui| {
                    for (id, tex) in thumbs {
                        ui.vertical(|ui| {
                            ui.add(
                                egui::Image::from_texture(tex)
                                    .fit_to_exact_size(egui::vec2(48.0, 48.0)),
                            );
                            if ui
                                .small_button("delete")
                                .on_hover_text("delete this image")
                                .clicked()
                            {
                                delete = Some(*id);
                            }
                        });
                    }
                });
            });
        if let Some(id) = delete {
            app.send(Command::DeleteImage { kind, id });
        }
        ui.add_space(4.0);
    }
}

fn thresholds(app: &mut FaceGateApp, ui: &mut Ui) {
    ui.heading("Thresholds");
    let Some(mut s) = app.settings.clone() else {
        ui.label("loading models…");
        return;
    };
    let det = ui.add(
        egui::Slider::new(&mut s.detection_threshold, 0.0..=1.0)
            .text("detection")
            .fixed_decimals(3),
    );
    let det =
        det.on_hover_text("a single comparison counts as a match above this cosine similarity");
    error_rates(app, ui, s.detection_threshold);
    let ver = ui.add(
        egui::Slider::new(&mut s.verification_threshold, 0.05..=1.0)
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
    if Some(&s) != app.settings.as_ref() {
        app.settings = Some(s);
    }
    // Saved (an fsync'd write) once the slider is let go, not on every step of a drag.
    if !dragging
        && app.settings != app.saved_settings
        && let Some(s) = app.settings.clone()
    {
        app.update_settings(s);
    }
}

/// FAR and FRR of one comparison at `threshold`, read off the selected person's own images and
/// the negatives, and how consistent their verification images are: measured, not promised.
fn error_rates(app: &FaceGateApp, ui: &mut Ui, threshold: f32) {
    let Some(p) = &app.person_scores else {
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

fn verify(app: &mut FaceGateApp, ui: &mut Ui) {
    ui.heading("Verify");
    let enabled = app.selected.is_some() && app.settings.is_some();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(enabled && !app.verifying, egui::Button::new("Verify"))
            .clicked()
        {
            app.verifying = true;
            app.verdict = None;
            app.send(Command::Verify);
        }
        let mut continuous = app.continuous;
        if ui
            .add_enabled(enabled, egui::Checkbox::new(&mut continuous, "Continuous"))
            .changed()
        {
            app.set_continuous(continuous);
        }
        if ui
            .add_enabled(app.settings.is_some(), egui::Button::new("Identify"))
            .clicked()
        {
            app.send(Command::Identify);
        }
    });
    if app.verifying {
        ui.label("verifying… look at the camera");
    }
    if let Some(v) = &app.verdict {
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
    if let Some(id) = &app.identification {
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
fn train(app: &mut FaceGateApp, ui: &mut Ui) {
    ui.heading("Train");
    let running = app
        .training
        .as_ref()
        .is_some_and(|t| t.result.is_none() && !t.history.is_empty());
    let button = ui.add_enabled(
        app.selected.is_some() && !running,
        egui::Button::new("Train head"),
    );
    button.clone().on_hover_text(
        "learn this person's own match rule from anchor × positive (same) and anchor × negative \
         (different) pairs; used only if it beats plain cosine on held-out images",
    );
    if button.clicked() {
        app.training = Some(super::app::Training::default());
        app.send(Command::Train);
    }
    let Some(t) = &app.training else {
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

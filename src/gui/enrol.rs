//! The side panel of the enrol-and-verify view: who, capture, thresholds, verify.

use egui::{Color32, Key, RichText, Ui};

use super::app::FaceGateApp;
use crate::live::Command;
use crate::store::ImageKind;

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

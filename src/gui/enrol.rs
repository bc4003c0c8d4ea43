//! The enrol-and-verify view: the feed, and beside it who, verify, capture, thresholds, train,
//! system face unlock.

use egui::{Key, RichText, Ui};

use std::path::PathBuf;

use super::face_unlock::FaceUnlockSection;
use super::feed::Feed;
use super::files::{self, Answer, Dialog, Purpose};
use super::palette::{ERROR, GOOD, INFO, WARN};
use super::state::AppState;
use super::textures::TextureCache;
use super::train::train;
use crate::session::{Command, HeadRule, ImportProgress, Mode};
use crate::store::{Gallery, ImageKind, Settings, value_name};
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
    /// The name last asked to be added: the field keeps it until that person exists, so a name
    /// refused can be mended rather than typed again.
    adding: Option<String>,
    /// Until when a letter is taken as typing, not a capture key: moved on by each key typed
    /// into a field, and by each key pressed with none focused while it lasts. A click that
    /// misses a field mid-word (a label, a gap) must not turn the rest of the word into
    /// captures of whoever is on screen.
    typing_until: Option<std::time::Instant>,
    /// The settings while a slider is held, and those shown when the drag began: FAR and FRR
    /// follow the drag, and the file is written once, when it is let go, not on every step. Only
    /// what changed from the second is saved: settings saved from elsewhere during the drag
    /// (and taken into the window) are kept (read-through, session 28).
    draft: Option<(Settings, Settings)>,
    thumbnails: TextureCache,
    /// Photos dropped outside the three capture sections: the user says which kind they are.
    unplaced: Vec<PathBuf>,
    /// The question about them is to be scrolled into view (once, as they are dropped).
    show_unplaced: bool,
    dialog: Dialog<ImageKind>,
    /// Why the last dialog or drop gave nothing, and who was selected then: shown under the
    /// sections until the next one, or until someone else is selected.
    dialog_note: Option<(Option<String>, String)>,
    /// The image a warning on the message line is about, once its strip was scrolled to it.
    shown_warned: Option<uuid::Uuid>,
    /// The first image the not-one-person refusal counts, once its strip was scrolled to it:
    /// the refusal says "framed in red", and the frame was off the strip's edge (journey s41).
    shown_odd: Option<uuid::Uuid>,
    face_unlock: FaceUnlockSection,
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
                    ui.separator();
                    self.face_unlock.ui(ui, state, out);
                });
            });
        egui::CentralPanel::default_margins().show(ui, |ui| {
            feed.show(ui, state.analysis.as_ref(), state.attributes_on, 0.0);
        });
    }

    fn person(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Person");
        if let Some(added) = self.adding.take_if(|n| state.people.contains(n))
            && self.new_person.trim() == added
        {
            self.new_person.clear();
        }
        let mut chosen = state.selected.clone();
        egui::ComboBox::from_label("selected person")
            .selected_text(
                chosen
                    .as_deref()
                    .map_or_else(|| "nobody yet".into(), super::short_name),
            )
            .show_ui(ui, |ui| {
                for p in &state.people {
                    ui.selectable_value(&mut chosen, Some(p.clone()), super::short_name(p))
                        .on_hover_text(p);
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
                let name = crate::store::names::normalised(self.new_person.trim());
                out.push(Command::AddPerson(name.clone()));
                // An existing name is refused by the worker: the field keeps it too.
                self.adding = (!state.people.contains(&name)).then_some(name);
            }
        });
    }

    /// Whether keys are being typed (into a field, or in a burst that began in one or with a key
    /// that captures nothing).
    fn typing(&mut self, ui: &Ui) -> bool {
        /// A pause longer than this between keys ends a burst of typing.
        const PAUSE: std::time::Duration = std::time::Duration::from_millis(700);
        let now = std::time::Instant::now();
        let in_field = ui.ctx().egui_wants_keyboard_input();
        let in_burst = self.typing_until.is_some_and(|t| now < t);
        let is_capture_key = |key: &Key| KEYS.iter().any(|(_, k, _)| k == key);
        let (keyed, other) = ui.input(|i| {
            let keyed = i.events.iter().any(|e| {
                matches!(
                    e,
                    egui::Event::Text(_) | egui::Event::Key { pressed: true, .. }
                )
            });
            // A key that captures nothing (a letter but A, P, V; '/', a digit; any with a
            // modifier) starts a burst even with no field focused: a word typed where the click
            // missed the field from its first letter is still typing.
            let other = i.events.iter().any(|e| match e {
                egui::Event::Text(t) => t.chars().any(|c| {
                    !KEYS
                        .iter()
                        .any(|(.., name)| name.eq_ignore_ascii_case(&c.to_string()))
                }),
                egui::Event::Key {
                    key,
                    pressed: true,
                    modifiers,
                    ..
                } => !modifiers.is_none() || !is_capture_key(key),
                _ => false,
            });
            (keyed, other)
        });
        if (keyed && (in_field || in_burst)) || (other && !in_field) {
            self.typing_until = Some(now + PAUSE);
        }
        in_field || in_burst
    }

    fn capture(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Capture");
        ui.label(
            RichText::new("from the camera, or drop photos on a section (or Add files…)")
                .small()
                .weak(),
        );
        let enabled = state.person_ready();
        match self.dialog.poll() {
            Some(Answer::Chosen(kind, paths)) => {
                self.dialog_note = None;
                out.push(Command::ImportFiles { kind, paths });
            }
            Some(Answer::Nothing(_)) => {
                self.dialog_note = Some((state.selected.clone(), files::NO_DIALOG.into()));
            }
            None => {}
        }
        let mut dropped = files::dropped(ui);
        if !enabled && !dropped.is_empty() {
            let note = "add or choose a person first, then drop the photos again";
            self.dialog_note = Some((state.selected.clone(), note.into()));
            dropped.clear();
        }
        // Said above the sections, where it is seen: below the last one it was missed (journey
        // review, session 28). Another person chosen since: it was about the one before.
        self.dialog_note.take_if(|(who, _)| *who != state.selected);
        if let Some((_, note)) = &self.dialog_note {
            ui.label(RichText::new(note).color(WARN));
        }
        let hovering = enabled && files::hovering(ui);
        let mut placed = false;
        let typing = self.typing(ui);
        let shown = |id: &uuid::Uuid| {
            state
                .thumbnails
                .values()
                .any(|ts| ts.iter().any(|t| t.id == *id))
        };
        self.thumbnails.keep_only(shown);
        for (kind, key, hint) in KEYS {
            let stroke = if hovering {
                egui::Stroke::new(2.0, INFO)
            } else {
                ui.visuals().widgets.noninteractive.bg_stroke
            };
            let section = egui::Frame::group(ui.style())
                .stroke(stroke)
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    self.section(ui, state, out, (kind, key, hint), typing)
                })
                .response;
            // Only the part of the section on screen (the panel scrolls) takes a drop.
            if !dropped.is_empty() && files::pointer_in(ui, section.rect.intersect(ui.clip_rect()))
            {
                out.push(Command::ImportFiles {
                    kind,
                    paths: dropped.clone(),
                });
                placed = true;
            }
        }
        if !dropped.is_empty() && !placed {
            self.unplaced = dropped;
            self.show_unplaced = true;
        }
        self.unplaced_chooser(ui, out);
        // Photos on their way in by any route: a note about an earlier dialog is over.
        if out.iter().any(|c| matches!(c, Command::ImportFiles { .. })) {
            self.dialog_note = None;
        }
    }

    /// Photos dropped on the feed or elsewhere: ask which kind they are.
    fn unplaced_chooser(&mut self, ui: &mut Ui, out: &mut Vec<Command>) {
        if self.unplaced.is_empty() {
            return;
        }
        let n = self.unplaced.len();
        let asked = ui.label(format!(
            "{} outside the sections: add as",
            crate::shown::counted(n, "dropped file", "dropped files")
        ));
        // Brought into view once: below long import reasons it was out of sight, and the
        // files dropped seemed ignored.
        if std::mem::take(&mut self.show_unplaced) {
            asked.scroll_to_me(Some(egui::Align::Center));
        }
        ui.horizontal_wrapped(|ui| {
            for kind in ImageKind::ALL {
                if ui.button(kind.dir_name()).clicked() {
                    out.push(Command::ImportFiles {
                        kind,
                        paths: std::mem::take(&mut self.unplaced),
                    });
                }
            }
            if ui.button("cancel").clicked() {
                self.unplaced.clear();
            }
        });
    }

    /// One capture section: its buttons, count, thumbnails and the last import into it.
    fn section(
        &mut self,
        ui: &mut Ui,
        state: &AppState,
        out: &mut Vec<Command>,
        (kind, key, hint): (ImageKind, Key, &str),
        typing: bool,
    ) {
        let enabled = state.person_ready();
        {
            let count = state.thumbnail_count(kind);
            ui.horizontal(|ui| {
                let label = format!("Capture {} ({hint})", kind.dir_name());
                let clicked = ui.add_enabled(enabled, egui::Button::new(label)).clicked();
                // Ctrl+A, Ctrl+P are other shortcuts, not captures.
                let pressed =
                    enabled && !typing && ui.input(|i| i.modifiers.is_none() && i.key_pressed(key));
                if clicked || pressed {
                    out.push(Command::Capture(kind));
                }
                let add = ui
                    .add_enabled(
                        enabled && !self.dialog.open(),
                        egui::Button::new("Add files…"),
                    )
                    .on_hover_text("choose photos; each goes through the same quality check");
                if add.clicked() {
                    let title = format!("Photos to add as {} images", kind.dir_name());
                    self.dialog.start(ui.ctx(), Purpose::Files(kind), &title);
                }
            });
            ui.label(crate::shown::counted(
                count,
                &format!("{} image", kind.dir_name()),
                &format!("{} images", kind.dir_name()),
            ));
            // A strip of fixed height, filled or not, so buttons never jump as images load.
            let thumbs = state.thumbnails.get(&kind).map_or(&[][..], Vec::as_slice);
            // A solid scroll bar below the strip: the default floating one is drawn over the
            // "delete" buttons when the pointer is on the row, and took a click meant for one.
            ui.scope(|ui| {
                ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
                egui::ScrollArea::horizontal()
                    .id_salt(kind.dir_name())
                    .show(ui, |ui| {
                        ui.set_min_height(THUMB_STRIP_HEIGHT);
                        ui.horizontal(|ui| {
                            let mut first_odd = true;
                            for t in thumbs {
                                let tex = self.thumbnails.get(ui.ctx(), t.id, &t.image);
                                let odd = kind == ImageKind::Verification
                                    && state
                                        .person_scores
                                        .as_ref()
                                        .is_some_and(|p| p.odd.contains(&t.id));
                                ui.vertical(|ui| {
                                    let image = ui.add(
                                        egui::Image::from_texture(&tex)
                                            .fit_to_exact_size(egui::vec2(48.0, 48.0)),
                                    );
                                    // The image the message line warns about ("delete it"),
                                    // framed and scrolled into view once: the eighth of a
                                    // strip that shows six was off-screen (journey review,
                                    // session 30).
                                    let warned = state.message.as_ref().is_some_and(|m| {
                                        m.about == super::state::About::Image(t.id)
                                    });
                                    if warned {
                                        ui.painter().rect_stroke(
                                            image.rect.expand(2.0),
                                            0.0,
                                            egui::Stroke::new(2.0, WARN),
                                            egui::StrokeKind::Outside,
                                        );
                                        if self.shown_warned != Some(t.id) {
                                            image.scroll_to_me(Some(egui::Align::Center));
                                            self.shown_warned = Some(t.id);
                                        }
                                    }
                                    // The images the not-one-person refusal counts, where the
                                    // person can see them (its message can only give ids).
                                    if odd {
                                        if first_odd && self.shown_odd != Some(t.id) {
                                            image.scroll_to_me(Some(egui::Align::Center));
                                            self.shown_odd = Some(t.id);
                                        }
                                        first_odd = false;
                                        ui.painter().rect_stroke(
                                            image.rect,
                                            0.0,
                                            egui::Stroke::new(3.0, ERROR),
                                            egui::StrokeKind::Inside,
                                        );
                                        image.on_hover_text(
                                            "matches fewer than half of the other verification images",
                                        );
                                    }
                                    // Never wrapped to "delet / e" at the end of the strip.
                                    let delete =
                                        egui::Button::new(egui::RichText::new("delete").small())
                                            .wrap_mode(egui::TextWrapMode::Extend);
                                    if ui.add(delete).on_hover_text("delete this image").clicked() {
                                        out.push(Command::DeleteImage { kind, id: t.id });
                                    }
                                });
                            }
                        });
                    });
            });
            let into_this = |p: &&ImportProgress| {
                matches!(&p.gallery, Gallery::Person { name, kind: k }
                    if *k == kind && state.selected.as_deref() == Some(name.as_str()))
            };
            if let Some(p) = state.import.as_ref().filter(into_this) {
                import_result(ui, p);
            }
        }
    }

    fn thresholds(&mut self, ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
        ui.heading("Thresholds");
        let Some((base, mut s)) = self
            .draft
            .take()
            .or_else(|| state.settings.clone().map(|s| (s.clone(), s)))
        else {
            ui.label(state.analysis_off.as_deref().unwrap_or("loading models…"));
            return;
        };
        let mut detection = s.detection_threshold;
        let det = ui.add(
            // The ranges the settings file is checked against: a slider cannot set what a
            // hand-edited file would have refused.
            egui::Slider::new(&mut detection, crate::store::threshold_floor(s.model)..=1.0)
                .text("detection")
                .fixed_decimals(3),
        );
        take_moved(&mut s.detection_threshold, detection, 3);
        let det =
            det.on_hover_text("a single comparison counts as a match above this cosine similarity");
        // First: while it holds, no threshold here decides anything.
        not_one_person(ui, state);
        match &state.head_rule {
            Some(head) => head_rates(ui, head),
            None => error_rates(ui, state, s.detection_threshold),
        }
        let mut verification = s.verification_threshold;
        let ver = ui.add(
            egui::Slider::new(
                &mut verification,
                crate::store::MIN_VERIFICATION_THRESHOLD..=1.0,
            )
            .text("verification")
            .fixed_decimals(2),
        );
        take_moved(&mut s.verification_threshold, verification, 2);
        let ver = ver.on_hover_text("share of verification images that must match to accept");
        let dragging = det.dragged() || ver.dragged();
        ui.label(format!(
            "model {} (default match threshold {:.3})",
            s.model,
            s.model.default_threshold()
        ));
        egui::ComboBox::from_label("preprocessing")
            .selected_text(value_name(&s.preprocess))
            .show_ui(ui, |ui| {
                for p in <Preprocess as clap::ValueEnum>::value_variants() {
                    ui.selectable_value(&mut s.preprocess, *p, value_name(p));
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
            self.draft = Some((base, s));
        } else if base != s {
            out.push(Command::UpdateSettings {
                shown: Some(Box::new(base)),
                asked: s,
            });
        }
    }
}

/// Takes a slider's value into `setting` only when the user moved it to another value than
/// the one shown. A slider rounds its value to the decimals it shows, on every frame and as a
/// change: that rounding once saved a calibrated 0.33700916 as 0.337 the moment the window
/// opened, a looser threshold than calibration chose (one impostor pair more on the data it was
/// calibrated on). So each slider moves a copy.
fn take_moved(setting: &mut f32, slider: f32, decimals: usize) {
    let shown = egui::emath::round_to_decimals(f64::from(*setting), decimals) as f32;
    if slider != shown {
        *setting = slider;
    }
}

/// A running import's progress, then what came of it: each refused file with its reason.
pub fn import_result(ui: &mut Ui, p: &ImportProgress) {
    if !p.finished() {
        ui.add(
            egui::ProgressBar::new(p.done as f32 / p.total.max(1) as f32)
                .text(format!("importing {} of {}", p.done, p.total)),
        );
        return;
    }
    ui.label(format!(
        "{} of {} saved{}",
        p.saved,
        crate::shown::counted(p.total, "photo", "photos"),
        if p.skipped > 0 {
            format!(", {} already stored", p.skipped)
        } else {
            String::new()
        }
    ));
    for (file, why) in p.refused.iter().take(5) {
        ui.add(
            egui::Label::new(RichText::new(format!("refused {file}: {why}")).color(ERROR)).wrap(),
        );
    }
    if p.refused.len() > 5 {
        ui.label(format!("… and {} more refused", p.refused.len() - 5));
    }
}

/// The rule in force when the person's trained head decides: the slider does not apply to them,
/// and the FAR and FRR shown are the head's, at its own threshold.
fn head_rates(ui: &mut Ui, head: &HeadRule) {
    ui.colored_label(
        INFO,
        format!(
            "{}'s trained head decides, not this slider: a comparison matches when the head's probability is above {:.2}",
            head.person, head.threshold
        ),
    );
    ui.label(format!("head: {}", rates(&head.scores, head.threshold)))
        .on_hover_text(
            "measured on this person's stored images, which the head was trained on: an optimistic \
         figure (the held-out one is under Train). The slider still applies to everyone else.",
        );
}

/// "FAR … on N impostor pairs", then "FRR … on M genuine pairs" on a line of its own (one line
/// wrapped its last word at the window's usual width), in the calibration panel's percent (a
/// FAR of 1e-5 is not "0.00 %").
fn rates(scores: &crate::auth::calibrate::ScoreSets, threshold: f32) -> String {
    use crate::shown::counted;
    let pct = |r: Option<f64>| r.map_or("–".to_owned(), crate::auth::calibrate::percent);
    format!(
        "FAR {} on {}\nFRR {} on {}",
        pct(scores.far(threshold)),
        counted(scores.impostor.len(), "impostor pair", "impostor pairs"),
        pct(scores.frr(threshold)),
        counted(scores.genuine.len(), "genuine pair", "genuine pairs"),
    )
}

/// The refusal every decision gives while the selected person's images are not one person's,
/// in its own words and count, whoever scores (a head in use hid it).
fn not_one_person(ui: &mut Ui, state: &AppState) {
    let Some(p) = state.person_scores.as_ref().filter(|p| !p.odd.is_empty()) else {
        return;
    };
    use crate::auth::one_person;
    let sentence =
        one_person::not_one_person(&p.person, p.images, p.odd.len(), one_person::ON_DESK);
    ui.colored_label(ERROR, sentence);
}

/// FAR and FRR of one comparison at `threshold`, read off the selected person's own images and
/// the negatives, and how consistent their verification images are: measured, not promised.
fn error_rates(ui: &mut Ui, state: &AppState, threshold: f32) {
    let Some(p) = &state.person_scores else {
        return;
    };
    ui.label(rates(&p.scores, threshold)).on_hover_text(
        "impostor pairs: this person's images against the negatives and everyone else enrolled; \
         genuine pairs: their images against each other. Import negatives for a meaningful FAR.",
    );
    // Above every one of the person's own pairs the threshold, not an image, is what fails:
    // at 1.000 the advice was to retake the lowest image, which no retake could pass (journey
    // s42 #5).
    let none_pass = p.scores.frr(threshold) == Some(1.0);
    if none_pass {
        ui.colored_label(
            ERROR,
            format!(
                "at {threshold:.3} none of {0}'s own image pairs match: {0} is not verified at \
                 this threshold; lower the detection threshold",
                p.person
            ),
        );
    }
    if let Some(c) = &p.consistency {
        let text = format!(
            "consistency: {} verification images at cosine {:.2} ± {:.2} to their template (lowest {:.2})",
            c.images, c.mean, c.std, c.min
        );
        // An image far from the rest is usually a bad capture (blur, odd angle). When some do
        // not show the person at all, the line above says so, and "retake" would be the wrong
        // advice for a stranger's photo.
        if !p.odd.is_empty() || none_pass {
            ui.label(text);
        } else if c.min < threshold {
            ui.colored_label(WARN, format!("{text}: retake the lowest one"));
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
    if let Some(why) = &state.verify_ended {
        // Its age beside it: a lock-out's "for 283 more s" counts from when it was said.
        let age = state.verify_ended_at.map_or(0, |at| at.elapsed().as_secs());
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(1));
        let said = if age >= 5 {
            format!("{why} (said {age} s ago)")
        } else {
            why.clone()
        };
        ui.label(RichText::new(said).color(ERROR));
    }
    if let Some(v) = &state.verdict {
        let r = &v.verification;
        let (green, red) = (GOOD, ERROR);
        match &v.attempt {
            // Only an attempt verifies (K of N frames).
            Some(attempt) => {
                let (text, colour) = if attempt.accepted {
                    (format!("Verified: {}", v.person), green)
                } else {
                    (format!("Not verified: {}", v.person), red)
                };
                ui.label(RichText::new(text).size(22.0).strong().color(colour));
                if let Some(why) = attempt.refusal.as_ref().filter(|_| !attempt.accepted) {
                    ui.label(RichText::new(why).color(red));
                }
            }
            // One continuous-mode frame: how it compares now, which decides nothing.
            None => {
                let (text, colour) = if r.accepted {
                    (format!("This frame matches {}", v.person), green)
                } else {
                    (format!("This frame does not match {}", v.person), red)
                };
                ui.label(RichText::new(text).size(16.0).color(colour));
                ui.label("Continuous shows each frame's match; Verify decides");
            }
        }
        ui.label(format!(
            "{}/{} images matched ({:.0} %, need {:.0} %) · best {:.3} · template {:.3}",
            r.matched,
            r.total,
            r.share * 100.0,
            r.thresholds.verification * 100.0,
            r.best,
            r.template_score
        ));
        // The rule this verdict was made by: the scores below are its scores.
        ui.label(match r.scorer {
            crate::auth::Scorer::Head => format!(
                "by {}'s trained head: an image matches when its probability is above {:.2}",
                v.person, r.thresholds.detection
            ),
            crate::auth::Scorer::Cosine => format!(
                "by cosine: an image matches above {:.3}",
                r.thresholds.detection
            ),
        });
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
        let caveat = id.caveat();
        match (&id.identity, &caveat) {
            (Some(name), _) => ui.label(RichText::new(format!("This is {name}")).strong()),
            (None, Some(caveat)) => ui.label(RichText::new(format!("Unknown: {caveat}")).strong()),
            (None, None) if id.ranking.is_empty() => ui.label(
                RichText::new("Unknown: nobody could be compared (everyone was left out)").strong(),
            ),
            (None, None) => ui.label(RichText::new("Unknown: nobody enrolled passes").strong()),
        };
        if let (Some(_), Some(caveat)) = (&id.identity, &caveat) {
            ui.label(RichText::new(caveat).color(WARN));
        }
        for c in id.ranking.iter().take(5) {
            ui.label(format!(
                "{} {:.3} ({}/{})",
                c.name, c.mean_score, c.verification.matched, c.verification.total
            ));
        }
        for line in id.left_out() {
            ui.label(RichText::new(line).color(WARN));
        }
    }
}

//! Face login: the feed fills the window and the person in front is greeted once verified.

use egui::text::LayoutJob;
use egui::{
    Align, Align2, Color32, FontId, Painter, Rect, Sense, Stroke, StrokeKind, Ui, pos2, vec2,
};

use super::feed::Feed;
use super::state::AppState;
use crate::auth::attempt::Prompt;
use crate::session::UnlockStatus;

/// Kept under the picture for the message and the turn bar, shown or not, so the picture
/// does not shrink when an attempt starts and the message never hides a face's card.
const BAND_HEIGHT: f32 = 120.0;
const BAR_HEIGHT: f32 = 24.0;
const PAD: f32 = 10.0;

const WAITING: Color32 = Color32::from_rgb(255, 210, 0);

/// No state of its own: everything it shows comes from the worker's unlock status.
#[derive(Debug, Default)]
pub struct UnlockView;

/// The bar shown while the head-turn challenge runs: how much of the asked turn was made. Not
/// the passive liveness score, which would let a video held up to the camera be tuned until it
/// passes (the system prompts do not show it either); it is shown with the welcome.
struct Meters {
    turn: f32,
}

impl UnlockView {
    pub fn ui(&mut self, ui: &mut Ui, state: &AppState, feed: &Feed) {
        egui::CentralPanel::default_margins().show(ui, |ui| feed_and_band(ui, state, feed));
    }
}

fn feed_and_band(ui: &mut Ui, state: &AppState, feed: &Feed) {
    let below = BAND_HEIGHT + ui.spacing().item_spacing.y;
    let Some(picture) = feed.show(ui, state.analysis.as_ref(), state.attributes_on, below) else {
        return;
    };
    let width = picture.width().max(420.0).min(ui.available_width());
    let band = ui
        .vertical_centered(|ui| {
            ui.allocate_exact_size(vec2(width, BAND_HEIGHT), Sense::hover())
                .0
        })
        .inner;
    let (text, colour, meters) = message(state.unlock_status.as_ref());
    let painter = ui.painter_at(band);
    painter.rect_filled(band, 6.0, Color32::from_black_alpha(200));
    let text_area = match meters {
        Some(m) => {
            let bars = Rect::from_min_max(
                pos2(band.min.x + PAD, band.max.y - PAD - BAR_HEIGHT),
                band.max - vec2(PAD, PAD),
            );
            liveness_meters(&painter, bars, &m);
            band.with_max_y(bars.min.y)
        }
        None => band,
    };
    // Centred lines, at most two: a longer reason is cut rather than spilling out of the band.
    let mut job = LayoutJob::simple(
        text,
        FontId::proportional(28.0),
        colour,
        band.width() - 2.0 * PAD,
    );
    job.halign = Align::Center;
    job.wrap.max_rows = 2;
    let galley = painter.layout_job(job);
    let top = text_area.center().y - galley.size().y / 2.0;
    painter.galley(pos2(text_area.center().x, top), galley, colour);
}

/// What to say for the worker's status, in which colour, and the bars to show if any.
fn message(status: Option<&UnlockStatus>) -> (String, Color32, Option<Meters>) {
    match status {
        None => (Prompt::LookAtCamera.public_text(), Color32::WHITE, None),
        Some(UnlockStatus::Searching { reason }) => (reason.clone(), WAITING, None),
        Some(UnlockStatus::Attempt {
            prompt,
            turn,
            challenge,
        }) => {
            // Yellow while it is still finding out who this is; blue once it asks for something.
            let colour = match prompt {
                Prompt::Matching { .. } | Prompt::LookAtCamera | Prompt::OnePersonOnly { .. } => {
                    WAITING
                }
                _ => super::palette::INFO,
            };
            let meters = challenge.then_some(Meters { turn: *turn });
            // The login's words, not the desk's: no score of a single frame, and no name before
            // the welcome (see `Prompt::public_text`).
            (prompt.public_text(), colour, meters)
        }
        Some(UnlockStatus::Welcome { name, liveness }) => (
            match liveness {
                Some(score) => format!("Welcome, {name}! (liveness {score:.2})"),
                None => format!("Welcome, {name}!"),
            },
            super::palette::GOOD,
            None,
        ),
        Some(UnlockStatus::Refused { reason }) => (reason.clone(), super::palette::ERROR, None),
    }
}

/// In `area`: how much of the asked head turn has been made, its label written inside the bar,
/// so no window size can cut it off.
fn liveness_meters(painter: &Painter, bar: Rect, m: &Meters) {
    painter.rect_filled(bar, 3.0, Color32::from_gray(40));
    let mut fill = bar;
    fill.set_width(bar.width() * m.turn.clamp(0.0, 1.0));
    painter.rect_filled(fill, 3.0, Color32::from_rgb(40, 110, 180));
    painter.rect_stroke(
        bar,
        3.0,
        Stroke::new(1.0, Color32::GRAY),
        StrokeKind::Inside,
    );
    painter.text(
        pos2(bar.min.x + 8.0, bar.center().y),
        Align2::LEFT_CENTER,
        // Past the mark the turn must still be held a frame or two: said, or a full bar reads
        // as done.
        if m.turn >= 1.0 {
            "turned: hold it there".to_owned()
        } else {
            format!("turn {:.2}", m.turn)
        },
        FontId::proportional(16.0),
        Color32::WHITE,
    );
}

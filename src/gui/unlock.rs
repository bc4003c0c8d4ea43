//! Face login: the feed fills the window and the person in front is greeted once verified.

use egui::{Color32, FontId, Rect, Stroke, StrokeKind, Ui, pos2, vec2};

use super::app::FaceGateApp;
use super::overlay;
use crate::auth::attempt::Prompt;
use crate::session::UnlockStatus;

pub fn view(app: &mut FaceGateApp, ui: &mut Ui) {
    let Some(rect) = app.feed(ui) else { return };
    let (text, colour) = match &app.unlock_status {
        None => ("Look at the camera".to_owned(), Color32::WHITE),
        Some(UnlockStatus::Searching { reason }) => {
            (reason.clone(), Color32::from_rgb(255, 210, 0))
        }
        Some(UnlockStatus::Attempt {
            name,
            prompt,
            turn,
            liveness,
            challenge,
        }) => {
            if *challenge {
                liveness_meter(ui, rect, *turn, *liveness);
            }
            let colour = match prompt {
                Prompt::Matching { .. } | Prompt::LookAtCamera | Prompt::OnePersonOnly { .. } => {
                    Color32::from_rgb(255, 210, 0)
                }
                _ => Color32::from_rgb(120, 200, 255),
            };
            (format!("{name}: {}", prompt.text()), colour)
        }
        Some(UnlockStatus::Welcome { name, liveness }) => (
            match liveness {
                Some(score) => format!("Welcome, {name}! (liveness {score:.2})"),
                None => format!("Welcome, {name}!"),
            },
            Color32::from_rgb(40, 220, 100),
        ),
        Some(UnlockStatus::Refused { reason }) => (reason.clone(), Color32::from_rgb(240, 70, 70)),
    };
    overlay::banner(ui.painter(), rect, &text, colour);
}

/// Two bars at the top of the feed while the liveness check runs: how much of the asked head turn
/// has been made, and the passive liveness score (with a tick at the threshold it must reach).
fn liveness_meter(ui: &Ui, feed: Rect, progress: f32, score: Option<f32>) {
    let painter = ui.painter();
    let width = (feed.width() * 0.5).min(360.0);
    let threshold = crate::liveness::PassiveConfig::default().threshold;
    let rows = [
        ("turn", Some(progress), None),
        ("liveness", score, Some(threshold)),
    ];
    for (i, (label, value, tick)) in rows.into_iter().enumerate() {
        let top = feed.min.y + 16.0 + i as f32 * 30.0;
        let bar = Rect::from_min_size(pos2(feed.center().x - width / 2.0, top), vec2(width, 18.0));
        painter.rect_filled(bar.expand(4.0), 4.0, Color32::from_black_alpha(170));
        if let Some(v) = value {
            let mut fill = bar;
            fill.set_width(bar.width() * v.clamp(0.0, 1.0));
            painter.rect_filled(fill, 2.0, Color32::from_rgb(120, 200, 255));
        }
        painter.rect_stroke(
            bar,
            2.0,
            Stroke::new(1.0, Color32::GRAY),
            StrokeKind::Inside,
        );
        if let Some(t) = tick {
            let x = bar.min.x + bar.width() * t;
            painter.line_segment(
                [pos2(x, bar.min.y - 3.0), pos2(x, bar.max.y + 3.0)],
                Stroke::new(2.0, Color32::WHITE),
            );
        }
        let text = match value {
            Some(v) => format!("{label} {v:.2}"),
            None => format!("{label} …"),
        };
        painter.text(
            pos2(bar.min.x - 10.0, bar.center().y),
            egui::Align2::RIGHT_CENTER,
            text,
            FontId::proportional(16.0),
            Color32::WHITE,
        );
    }
}

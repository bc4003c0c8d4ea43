//! Face login: the feed fills the window and the person in front is greeted once verified.

use egui::{Color32, Ui};

use super::app::FaceGateApp;
use super::overlay;
use crate::live::UnlockStatus;

pub fn view(app: &mut FaceGateApp, ui: &mut Ui) {
    let Some(rect) = app.feed(ui) else { return };
    let (text, colour) = match &app.unlock_status {
        None => ("Look at the camera".to_owned(), Color32::WHITE),
        Some(UnlockStatus::Searching { reason }) => {
            (reason.clone(), Color32::from_rgb(255, 210, 0))
        }
        Some(UnlockStatus::Progress {
            name,
            verified,
            needed,
        }) => (
            format!("Verifying {name}… {verified}/{needed}"),
            Color32::from_rgb(255, 210, 0),
        ),
        Some(UnlockStatus::Welcome { name }) => {
            (format!("Welcome, {name}!"), Color32::from_rgb(40, 220, 100))
        }
        Some(UnlockStatus::Refused { reason }) => (reason.clone(), Color32::from_rgb(240, 70, 70)),
    };
    overlay::banner(ui.painter(), rect, &text, colour);
}

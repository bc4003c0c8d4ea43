//! The Train section of the enrol view: a Train button, a progress bar and the live loss
//! curve, then the held-out figures beside cosine and which of the two now scores this person.

use egui::{RichText, Ui};

use super::state::AppState;
use crate::session::Command;

/// The siamese head: a Train button, a progress bar and the live loss curve, then the held-out
/// figures beside cosine and which of the two now scores this person.
pub fn train(ui: &mut Ui, state: &AppState, out: &mut Vec<Command>) {
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
            match done {
                true if last.epoch < last.max_epochs => ", stopped early",
                true => ", done",
                false => "",
            }
        )));
        let series = |f: fn(&crate::train::EpochReport) -> f64| -> Vec<[f64; 2]> {
            t.history.iter().map(|e| [e.epoch as f64, f(e)]).collect()
        };
        // A picture, not a control: the wheel scrolling the panel must not pan it away.
        egui_plot::Plot::new("loss")
            .allow_scroll(false)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_boxed_zoom(false)
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
                    "cosine"
                }
            ));
            // The numbers behind the decision, so "cosine" never reads as an unexplained loss.
            ui.label(RichText::new(r.adoption.reason()).small());
        }
        Some(Err(e)) => {
            ui.colored_label(super::palette::ERROR, e);
        }
        None => {}
    }
}

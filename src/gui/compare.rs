//! Two-image comparison: drop two files on the window (or type their paths), see both aligned
//! faces, their similarity and the verdict.

use egui::{Color32, RichText, Ui};

use super::app::FaceGateApp;
use crate::session::Command;

pub fn view(app: &mut FaceGateApp, ui: &mut Ui) {
    let dropped: Vec<String> = ui.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().display().to_string())
            .collect()
    });
    for path in dropped {
        // Fill the first empty slot, else shift: the newest two drops are compared.
        if app.compare_paths[0].is_empty() {
            app.compare_paths[0] = path;
        } else if app.compare_paths[1].is_empty() {
            app.compare_paths[1] = path;
        } else {
            app.compare_paths = [std::mem::take(&mut app.compare_paths[1]), path];
        }
    }
    ui.heading("Compare two photos");
    ui.label("Drop two image files on the window, or type their paths.");
    for (i, name) in ["First photo", "Second photo"].into_iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(name);
            ui.add(egui::TextEdit::singleline(&mut app.compare_paths[i]).desired_width(520.0));
        });
    }
    let ready = app.compare_paths.iter().all(|p| !p.trim().is_empty());
    if ui
        .add_enabled(ready, egui::Button::new("Compare"))
        .clicked()
    {
        app.send(Command::Compare(
            app.compare_paths[0].trim().into(),
            app.compare_paths[1].trim().into(),
        ));
    }
    ui.separator();
    if let Some(e) = &app.compare_error {
        ui.label(RichText::new(e).color(Color32::from_rgb(235, 60, 60)));
    }
    if let Some((result, textures)) = &app.compare {
        ui.horizontal(|ui| {
            for tex in textures {
                ui.add(egui::Image::from_texture(tex).fit_to_exact_size(egui::vec2(224.0, 224.0)));
            }
        });
        let (verdict, colour) = if result.same {
            ("Same person", Color32::from_rgb(40, 200, 90))
        } else {
            ("Different people", Color32::from_rgb(235, 60, 60))
        };
        ui.label(RichText::new(verdict).size(24.0).strong().color(colour));
        ui.label(format!(
            "similarity {:.3} (match above {:.3})",
            result.similarity, result.threshold
        ));
    }
}

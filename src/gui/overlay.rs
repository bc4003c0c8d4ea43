//! Boxes, landmarks and labels drawn over the video, in screen coordinates.

use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Stroke, StrokeKind, pos2, vec2};

use crate::live::FaceLabel;

const LANDMARK_COLOURS: [Color32; 5] = [
    Color32::from_rgb(0, 160, 255),
    Color32::from_rgb(0, 160, 255),
    Color32::from_rgb(0, 220, 0),
    Color32::from_rgb(255, 60, 60),
    Color32::from_rgb(255, 60, 60),
];

/// Draws each face of an image of `image_size` pixels shown in `rect`.
pub fn draw_faces(painter: &Painter, rect: Rect, image_size: [usize; 2], faces: &[FaceLabel]) {
    let sx = rect.width() / image_size[0].max(1) as f32;
    let sy = rect.height() / image_size[1].max(1) as f32;
    let to_screen = |x: f32, y: f32| pos2(rect.min.x + x * sx, rect.min.y + y * sy);
    for label in faces {
        let colour = match label.verified {
            Some(true) => Color32::from_rgb(40, 210, 90),
            Some(false) => Color32::from_rgb(235, 60, 60),
            None => Color32::from_rgb(255, 210, 0),
        };
        let b = label.face.bbox;
        let face_rect = Rect::from_min_max(to_screen(b.x, b.y), to_screen(b.x + b.w, b.y + b.h));
        painter.rect_stroke(
            face_rect,
            3.0,
            Stroke::new(2.5, colour),
            StrokeKind::Outside,
        );
        for ([x, y], c) in label.face.landmarks.iter().zip(LANDMARK_COLOURS) {
            painter.circle_filled(to_screen(*x, *y), 3.0, c);
        }
        let text = label
            .text
            .clone()
            .unwrap_or_else(|| format!("face {:.2}", label.face.score));
        // Above the box, or inside its top edge when the box touches the top of the picture.
        let anchor = face_rect.left_top() - vec2(0.0, 4.0);
        let anchor = if anchor.y < rect.min.y + 24.0 {
            face_rect.left_top() + vec2(0.0, 24.0)
        } else {
            anchor
        };
        draw_tag(painter, anchor, &text, colour);
    }
}

/// A filled tag with text, its bottom-left corner at `anchor`.
fn draw_tag(painter: &Painter, anchor: Pos2, text: &str, colour: Color32) {
    let font = FontId::proportional(15.0);
    let galley = painter.layout_no_wrap(text.to_owned(), font, Color32::BLACK);
    let rect = Rect::from_min_size(
        anchor - vec2(0.0, galley.size().y + 4.0),
        galley.size() + vec2(8.0, 4.0),
    );
    painter.rect_filled(rect, 3.0, colour);
    painter.galley(rect.min + vec2(4.0, 2.0), galley, Color32::BLACK);
}

/// Large centred text on a dark band (the unlock view's message).
pub fn banner(painter: &Painter, rect: Rect, text: &str, colour: Color32) {
    let font = FontId::proportional(30.0);
    let galley = painter.layout(text.to_owned(), font, colour, rect.width() - 40.0);
    let band = Rect::from_center_size(
        pos2(rect.center().x, rect.max.y - galley.size().y / 2.0 - 30.0),
        vec2(rect.width(), galley.size().y + 24.0),
    );
    painter.rect_filled(band, 0.0, Color32::from_black_alpha(170));
    painter.galley(
        Align2::CENTER_CENTER
            .anchor_size(band.center(), galley.size())
            .min,
        galley,
        colour,
    );
}

//! Boxes, landmarks and labels drawn over the video, in screen coordinates.

use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Stroke, StrokeKind, pos2, vec2};

use super::palette::ERROR;
use crate::session::FaceLabel;
use crate::vision::attributes::Attributes;

const LANDMARK_COLOURS: [Color32; 5] = [
    Color32::from_rgb(0, 160, 255),
    Color32::from_rgb(0, 160, 255),
    Color32::from_rgb(0, 220, 0),
    Color32::from_rgb(255, 60, 60),
    Color32::from_rgb(255, 60, 60),
];

/// Draws each face of an image of `image_size` pixels shown in `rect`; `attributes` adds the
/// age, gender and emotion panel under each face that has them.
pub fn draw_faces(
    painter: &Painter,
    rect: Rect,
    image_size: [usize; 2],
    faces: &[FaceLabel],
    attributes: bool,
) {
    let sx = rect.width() / image_size[0].max(1) as f32;
    let sy = rect.height() / image_size[1].max(1) as f32;
    let to_screen = |x: f32, y: f32| pos2(rect.min.x + x * sx, rect.min.y + y * sy);
    for label in faces {
        let colour = match label.verified {
            Some(true) => Color32::from_rgb(40, 210, 90),
            Some(false) => ERROR,
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
        if attributes && let Some(a) = &label.attributes {
            // Below the face, pulled up into the picture when the face is near its bottom edge.
            let y = (face_rect.max.y + 4.0).min(rect.max.y - ATTRIBUTE_CARD.y);
            draw_attributes(painter, pos2(face_rect.min.x.max(rect.min.x), y), a);
        }
    }
}

const ATTRIBUTE_CARD: egui::Vec2 = vec2(170.0, 22.0 + 13.0 * 7.0 + 6.0);

/// "female 64 % · 37 y · happy" and a bar per emotion, on a dark card below the face.
fn draw_attributes(painter: &Painter, top_left: Pos2, a: &Attributes) {
    let (emotion, _) = a.emotion();
    let headline = format!(
        "{} {:.0} % · {:.0} y · {}",
        a.gender().label(),
        a.gender_probability() * 100.0,
        a.age,
        emotion.label()
    );
    let font = FontId::proportional(14.0);
    let small = FontId::proportional(11.0);
    let bar_w = 70.0;
    let row_h = 13.0;
    let card = Rect::from_min_size(top_left, ATTRIBUTE_CARD);
    painter.rect_filled(card, 4.0, Color32::from_black_alpha(180));
    painter.text(
        card.min + vec2(6.0, 4.0),
        Align2::LEFT_TOP,
        headline,
        font,
        Color32::WHITE,
    );
    for (i, (e, p)) in a.emotions.iter().enumerate() {
        let y = card.min.y + 24.0 + i as f32 * row_h;
        painter.text(
            pos2(card.min.x + 6.0, y),
            Align2::LEFT_TOP,
            e.label(),
            small.clone(),
            Color32::LIGHT_GRAY,
        );
        let bar = Rect::from_min_size(
            pos2(card.min.x + 66.0, y + 2.0),
            vec2(bar_w * p.clamp(0.0, 1.0), row_h - 4.0),
        );
        let fill = if e == emotion {
            Color32::from_rgb(255, 200, 40)
        } else {
            Color32::from_rgb(120, 160, 220)
        };
        painter.rect_filled(bar, 1.0, fill);
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

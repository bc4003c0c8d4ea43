use serde::{Deserialize, Serialize};

/// Axis-aligned box in image pixels: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    pub fn iou(&self, other: &BBox) -> f32 {
        let ix = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let iy = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        let inter = ix.max(0.0) * iy.max(0.0);
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    pub fn scaled(&self, s: f32) -> BBox {
        BBox {
            x: self.x * s,
            y: self.y * s,
            w: self.w * s,
            h: self.h * s,
        }
    }
}

/// One detected face. Landmarks, in image pixels: left eye, right eye (as seen in the image),
/// nose tip, left and right mouth corners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Face {
    pub bbox: BBox,
    pub landmarks: [[f32; 2]; 5],
    pub score: f32,
}

impl Face {
    pub fn scaled(&self, s: f32) -> Face {
        Face {
            bbox: self.bbox.scaled(s),
            landmarks: self.landmarks.map(|[x, y]| [x * s, y * s]),
            score: self.score,
        }
    }

    /// Distance between the eyes in pixels: the face size that matters for recognition quality.
    /// The face with the largest box: in a photo of a person, that is them (others in it are
    /// ignored). Verification is stricter and refuses a second face nearly as large
    /// (`auth::quality::main_face`).
    pub fn largest(faces: &[Face]) -> Option<&Face> {
        faces
            .iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
    }

    pub fn eye_distance(&self) -> f32 {
        let [l, r] = [self.landmarks[0], self.landmarks[1]];
        ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2)).sqrt()
    }
}

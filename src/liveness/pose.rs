//! Head pose from the five YuNet landmarks: enough to ask "turn your head" and check the answer,
//! and to spread an enrolment's frames over the poses a person shows.
//!
//! Landmark order (see [`crate::vision::Face`]): 0 and 1 the eyes as seen in the image (left,
//! right), 2 the nose tip, 3 and 4 the mouth corners (image left, image right).

use serde::Serialize;

/// Yaw, pitch and roll of one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pose {
    /// Sideways offset of the nose tip from the centre of the eyes and mouth corners, along the
    /// eye line, in eye distances. 0 facing the camera; positive when the nose points to the
    /// image's right, which is the person's own LEFT on an unmirrored camera frame. Roughly
    /// 0.5·sin(yaw angle) for an adult face (the nose tip stands about half an eye distance in
    /// front of the eye–mouth plane).
    pub yaw: f32,
    /// The nose tip's offset from the same centre along the face's vertical (down positive), in
    /// eye distances: it changes as the head nods.
    pub pitch: f32,
    /// Angle of the eye line to the image's horizontal, degrees, clockwise positive (y down).
    pub roll: f32,
}

/// Minimum eye distance in pixels for a pose to mean anything.
const MIN_EYE_DISTANCE: f32 = 4.0;

/// The pose of a face, or `None` when its eyes (nearly) coincide.
///
/// Why the centroid of the eyes *and mouth corners* as the reference, not the eye midpoint
/// alone: an affine image of a flat photo (tilted, sheared) keeps the nose where it was relative
/// to that centroid, because the nose tip sits near the face's vertical middle; relative to the
/// eye midpoint a vertical shear would move it sideways and look like a head turn. Projecting on
/// the eye line removes roll.
pub fn pose(landmarks: &[[f32; 2]; 5]) -> Option<Pose> {
    let [e0, e1, nose, m0, m1] = *landmarks;
    let (dx, dy) = (e1[0] - e0[0], e1[1] - e0[1]);
    let eye_distance = (dx * dx + dy * dy).sqrt();
    if !eye_distance.is_finite() || eye_distance < MIN_EYE_DISTANCE {
        return None;
    }
    let (ux, uy) = (dx / eye_distance, dy / eye_distance);
    let cx = (e0[0] + e1[0] + m0[0] + m1[0]) / 4.0;
    let cy = (e0[1] + e1[1] + m0[1] + m1[1]) / 4.0;
    let yaw = ((nose[0] - cx) * ux + (nose[1] - cy) * uy) / eye_distance;
    // The face's "down" is the eye line turned a quarter clockwise (y grows downwards).
    let pitch = ((nose[0] - cx) * -uy + (nose[1] - cy) * ux) / eye_distance;
    Some(Pose {
        yaw,
        pitch,
        roll: dy.atan2(dx).to_degrees(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frontal face, then rotated by `deg` and shifted, with the nose moved sideways by `yaw`
    /// eye distances before the rotation.
    fn face(yaw: f32, deg: f32) -> [[f32; 2]; 5] {
        let base = [
            [-1.0, -0.5],
            [1.0, -0.5],
            [yaw * 2.0, 0.3],
            [-0.8, 1.0],
            [0.8, 1.0],
        ];
        let (s, c) = deg.to_radians().sin_cos();
        base.map(|[x, y]| {
            [
                30.0 * (c * x - s * y) + 200.0,
                30.0 * (s * x + c * y) + 100.0,
            ]
        })
    }

    #[test]
    fn frontal_is_zero_and_turns_are_signed() {
        let p = pose(&face(0.0, 0.0)).unwrap();
        assert!(p.yaw.abs() < 1e-6 && p.roll.abs() < 1e-4, "{p:?}");
        let left = pose(&face(0.2, 0.0)).unwrap();
        assert!((left.yaw - 0.2).abs() < 1e-5, "{left:?}");
        let right = pose(&face(-0.15, 0.0)).unwrap();
        assert!((right.yaw + 0.15).abs() < 1e-5, "{right:?}");
        // The nose (y 0.3) sits 0.05 below the centre of the eyes and mouth corners (y 0.25):
        // 0.025 eye distances of 2 units; roll does not change it.
        for deg in [0.0, 25.0] {
            let p = pose(&face(0.0, deg)).unwrap();
            assert!((p.pitch - 0.025).abs() < 1e-5, "{deg}: {p:?}");
        }
    }

    #[test]
    fn roll_is_measured_and_does_not_leak_into_yaw() {
        let p = pose(&face(0.1, 20.0)).unwrap();
        assert!((p.roll - 20.0).abs() < 1e-3, "{p:?}");
        assert!((p.yaw - 0.1).abs() < 1e-5, "{p:?}");
        let p = pose(&face(0.0, -35.0)).unwrap();
        assert!((p.roll + 35.0).abs() < 1e-3 && p.yaw.abs() < 1e-5, "{p:?}");
    }

    #[test]
    fn a_sheared_or_squeezed_photo_does_not_look_turned() {
        // A flat photo tilted away from the camera: the image is squeezed horizontally and
        // sheared, an affine map of the landmarks.
        let f = face(0.0, 0.0).map(|[x, y]| [0.7 * x + 0.15 * y, y]);
        let p = pose(&f).unwrap();
        assert!(p.yaw.abs() < 0.03, "{p:?}");
    }

    #[test]
    fn degenerate_eyes_give_none() {
        let mut f = face(0.0, 0.0);
        f[1] = f[0];
        assert!(pose(&f).is_none());
    }
}

//! Enrolment from a stream of frames (a camera, a clip, a folder of frames): K sharp frames of
//! varied head poses, each through the capture gate.
//!
//! Every frame is detected and quality-checked (the gate [`Engine::capture`] applies: one face,
//! large, sharp, bright). A face that passes gets a pose, (yaw, pitch) in eye distances from the
//! five landmarks ([`crate::liveness::pose()`]), and falls into a pose cell of [`CELL`]; each cell
//! keeps its sharpest frame, so memory stays bounded however long the camera runs. The K frames
//! are then picked from the cells' best: first the most frontal one (a verification set needs
//! one), then each time the one farthest in pose from those already picked (farthest-point
//! sampling), the sharpest of those nearly as far. Poses closer than [`MIN_STEP`] to a picked
//! one are not "varied" and are not taken; a clip that offers fewer distinct poses gives fewer
//! frames.
//!
//! Two guards: a face turned more than [`MAX_YAW`] / [`MAX_PITCH`] (about 35°) is left out (an
//! embedder sees little of a profile, and a reference it cannot match is worse than none), and
//! every face must match the first good one ([`Engine::same_person_threshold`]), so a second
//! person walking into a camera capture is not enrolled.

use std::collections::BTreeMap;

use image::RgbImage;

use super::Engine;
use crate::Result;
use crate::auth::quality::{self, QualityIssue, QualityReport};
use crate::vision::{Embedding, Face};

/// Side of a pose cell, in eye distances (yaw 0.06 ≈ 7°).
pub const CELL: f32 = 0.06;
/// Two poses nearer than this are the same pose.
pub const MIN_STEP: f32 = 0.05;
/// Largest |yaw| kept (≈ 0.5·sin θ: 0.3 is about 37°).
pub const MAX_YAW: f32 = 0.3;
/// Largest |pitch| kept: the nose's offset along the face's vertical from the centre of the
/// eyes and mouth corners, in eye distances.
pub const MAX_PITCH: f32 = 0.3;
/// A camera capture ends early once the K picked poses are at least this far apart.
pub(crate) const GOOD_SPREAD: f32 = 0.1;

/// Head pose from the five landmarks, in eye distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseKey {
    /// As [`crate::liveness::Pose::yaw`]: the nose's sideways offset.
    pub yaw: f32,
    /// As [`crate::liveness::Pose::pitch`]: the nose's offset along the face's vertical.
    pub pitch: f32,
}

impl PoseKey {
    pub fn of(face: &Face) -> Option<PoseKey> {
        let pose = crate::liveness::pose(&face.landmarks)?;
        Some(PoseKey {
            yaw: pose.yaw,
            pitch: pose.pitch,
        })
    }

    pub fn distance(&self, other: &PoseKey) -> f32 {
        ((self.yaw - other.yaw).powi(2) + (self.pitch - other.pitch).powi(2)).sqrt()
    }

    fn cell(&self) -> (i32, i32) {
        (
            (self.yaw / CELL).floor() as i32,
            (self.pitch / CELL).floor() as i32,
        )
    }
}

/// Picks up to `k` of `poses` (with their sharpness): the most frontal first, then farthest-point
/// sampling in pose space, preferring the sharpest among those at least 80 % as far as the
/// farthest. Stops early when nothing left is [`MIN_STEP`] from every pick. Indices in pick order.
pub fn select(poses: &[(PoseKey, f32)], k: usize) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    let Some(first) = (0..poses.len()).min_by(|&a, &b| {
        let r = |i: usize| poses[i].0.yaw.hypot(poses[i].0.pitch);
        // Poses within one step of frontal count as frontal; then the sharper wins.
        let (ra, rb) = (r(a), r(b));
        if (ra - rb).abs() < MIN_STEP {
            poses[b].1.total_cmp(&poses[a].1)
        } else {
            ra.total_cmp(&rb)
        }
    }) else {
        return picked;
    };
    picked.push(first);
    while picked.len() < k {
        let far = |i: usize| {
            picked
                .iter()
                .map(|&p| poses[i].0.distance(&poses[p].0))
                .fold(f32::INFINITY, f32::min)
        };
        let farthest = (0..poses.len())
            .filter(|i| !picked.contains(i))
            .map(far)
            .fold(0.0f32, f32::max);
        if farthest < MIN_STEP {
            break;
        }
        let next = (0..poses.len())
            .filter(|&i| !picked.contains(&i) && far(i) >= 0.8 * farthest)
            .max_by(|&a, &b| poses[a].1.total_cmp(&poses[b].1))
            .expect("the farthest one qualifies");
        picked.push(next);
    }
    picked
}

/// The smallest pose distance between two picks (infinite for fewer than two).
fn spread(poses: &[(PoseKey, f32)], picked: &[usize]) -> f32 {
    let mut min = f32::INFINITY;
    for (n, &i) in picked.iter().enumerate() {
        for &j in &picked[n + 1..] {
            min = min.min(poses[i].0.distance(&poses[j].0));
        }
    }
    min
}

/// Frames larger than this are kept as their face region: at most 121 pose cells of 1280 px
/// frames (335 MB for 1280×720), where whole 12,000 px frames could take tens of gigabytes.
const MAX_KEPT_SIDE: u32 = 1280;

/// The best frame of one pose cell.
pub(crate) struct Candidate {
    /// "frame 57" of a clip or camera, or the file name in a folder of frames.
    pub(crate) frame: String,
    pub(crate) image: RgbImage,
    pub(crate) quality: QualityReport,
    pub(crate) pose: PoseKey,
}

/// Frames judged so far: the best per pose cell, and why the others were left out.
#[derive(Default)]
pub(crate) struct Pool {
    cells: BTreeMap<(i32, i32), Candidate>,
    reference: Option<Embedding>,
    /// Frames with one good face of the first good frame's person.
    pub(crate) good: usize,
    /// Frames left out, by why.
    pub(crate) left_out: BTreeMap<&'static str, usize>,
}

impl Pool {
    fn leave_out(&mut self, why: &'static str) {
        *self.left_out.entry(why).or_default() += 1;
    }

    /// Judges one frame and keeps it if it is the sharpest of its pose so far.
    pub(crate) fn offer(
        &mut self,
        engine: &mut Engine,
        frame: String,
        image: RgbImage,
    ) -> Result<()> {
        let faces = engine.detect(&image)?;
        let (face, report) = match quality::check(&image, &faces, &engine.quality) {
            Ok((face, report)) => (face.clone(), report),
            Err(issue) => {
                self.leave_out(match issue {
                    QualityIssue::NoFace => "no face",
                    QualityIssue::ManyFaces { .. } => "more than one person",
                    QualityIssue::TooSmall { .. } => "face too small",
                    QualityIssue::TooDark { .. } => "too dark",
                    QualityIssue::Blurry { .. } => "blurry",
                });
                return Ok(());
            }
        };
        let Some(pose) = PoseKey::of(&face) else {
            self.leave_out("no pose");
            return Ok(());
        };
        if pose.yaw.abs() > MAX_YAW || pose.pitch.abs() > MAX_PITCH {
            self.leave_out("turned too far");
            return Ok(());
        }
        let cell = pose.cell();
        let sharper = self
            .cells
            .get(&cell)
            .is_none_or(|c| report.sharpness > c.quality.sharpness);
        if !sharper {
            self.good += 1;
            return Ok(());
        }
        let embedding = engine.embed(&image, &face)?;
        match &self.reference {
            None => self.reference = Some(embedding),
            Some(r) if r.cosine(&embedding) <= engine.same_person_threshold() => {
                self.leave_out("not the same person as the first good frame");
                return Ok(());
            }
            Some(_) => {}
        }
        self.good += 1;
        // One frame is kept per pose cell until the end; a large frame (a 12,000 px still in a
        // folder) keeps only its face with the store's margin, so the pool stays bounded.
        let image = if image.width().max(image.height()) > MAX_KEPT_SIDE {
            crate::store::face_region(&image, Some(&face), MAX_KEPT_SIDE)
        } else {
            image
        };
        self.cells.insert(
            cell,
            Candidate {
                frame,
                image,
                quality: report,
                pose,
            },
        );
        Ok(())
    }

    fn poses(&self) -> Vec<(PoseKey, f32)> {
        self.cells
            .values()
            .map(|c| (c.pose, c.quality.sharpness))
            .collect()
    }

    /// The number of distinct poses (cells) held.
    pub(crate) fn distinct_poses(&self) -> usize {
        self.cells.len()
    }

    /// Up to `k` of the frames held, by [`select`], in pick order.
    pub(crate) fn picked(&self, k: usize) -> Vec<&Candidate> {
        let candidates: Vec<&Candidate> = self.cells.values().collect();
        select(&self.poses(), k)
            .into_iter()
            .map(|i| candidates[i])
            .collect()
    }

    /// How many of `k` poses can be picked now, and whether those are `k` at least
    /// [`GOOD_SPREAD`] apart: a live capture may stop there.
    pub(crate) fn varied_enough(&self, k: usize) -> (usize, bool) {
        let poses = self.poses();
        let picked = select(&poses, k);
        let enough = picked.len() >= k && spread(&poses, &picked) >= GOOD_SPREAD;
        (picked.len(), enough)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(yaw: f32, pitch: f32, sharp: f32) -> (PoseKey, f32) {
        (PoseKey { yaw, pitch }, sharp)
    }

    #[test]
    fn frontal_first_then_the_extremes() {
        let poses = [
            p(0.2, 0.0, 100.0),
            p(0.01, 0.0, 50.0),
            p(0.03, 0.01, 90.0),
            p(-0.2, 0.0, 100.0),
            p(0.0, 0.2, 100.0),
            p(0.21, 0.0, 300.0),
        ];
        let picked = select(&poses, 4);
        // Both near-frontal poses are within a step of each other: the sharper one first.
        assert_eq!(picked[0], 2);
        // Then far poses; of the two at yaw ≈ 0.2 the sharper.
        assert!(picked.contains(&3) && picked.contains(&4) && picked.contains(&5));
        assert!(!picked.contains(&0), "{picked:?}");
    }

    #[test]
    fn the_same_pose_is_not_variety() {
        let poses = [p(0.0, 0.0, 10.0), p(0.01, 0.01, 20.0), p(0.02, 0.0, 30.0)];
        assert_eq!(select(&poses, 3).len(), 1);
        assert!(select(&[], 3).is_empty());
    }

    #[test]
    fn pose_signs() {
        let face = |nose: [f32; 2]| Face {
            bbox: crate::vision::BBox {
                x: 0.0,
                y: 0.0,
                w: 100.0,
                h: 100.0,
            },
            landmarks: [[30.0, 40.0], [70.0, 40.0], nose, [35.0, 80.0], [65.0, 80.0]],
            score: 0.9,
        };
        let level = PoseKey::of(&face([50.0, 60.0])).unwrap();
        assert!(
            level.yaw.abs() < 1e-6 && level.pitch.abs() < 1e-6,
            "{level:?}"
        );
        let down = PoseKey::of(&face([50.0, 70.0])).unwrap();
        assert!((down.pitch - 0.25).abs() < 1e-5, "{down:?}");
        let side = PoseKey::of(&face([60.0, 60.0])).unwrap();
        assert!((side.yaw - 0.25).abs() < 1e-5 && side.pitch.abs() < 1e-6);
    }
}

//! Gives each face a stable id across frames (greedy IoU matching), so per-face state such as
//! smoothed attributes follows the right person.

use crate::vision::{BBox, Face};

/// Overlap above which a face is taken to be the same one as in the previous frame.
const MATCH_IOU: f32 = 0.3;

#[derive(Debug, Default)]
pub struct Tracker {
    tracks: Vec<(u64, BBox)>,
    next_id: u64,
}

impl Tracker {
    /// Ids for `faces`, in their order; unmatched faces get new ids, vanished tracks are dropped.
    pub fn update(&mut self, faces: &[Face]) -> Vec<u64> {
        let mut free: Vec<(u64, BBox)> = std::mem::take(&mut self.tracks);
        let ids: Vec<u64> = faces
            .iter()
            .map(|f| {
                let best = free
                    .iter()
                    .enumerate()
                    .map(|(i, (_, b))| (i, b.iou(&f.bbox)))
                    .filter(|(_, iou)| *iou > MATCH_IOU)
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                match best {
                    Some((i, _)) => free.swap_remove(i).0,
                    None => {
                        self.next_id += 1;
                        self.next_id
                    }
                }
            })
            .collect();
        self.tracks = ids
            .iter()
            .copied()
            .zip(faces.iter().map(|f| f.bbox))
            .collect();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32) -> Face {
        Face {
            bbox: BBox {
                x,
                y: 0.0,
                w: 100.0,
                h: 100.0,
            },
            landmarks: [[0.0; 2]; 5],
            score: 0.9,
        }
    }

    #[test]
    fn ids_follow_moving_faces_and_new_faces_get_new_ids() {
        let mut t = Tracker::default();
        let first = t.update(&[face(0.0), face(300.0)]);
        // Both moved a little and swapped order in the detector's output.
        let second = t.update(&[face(310.0), face(10.0)]);
        assert_eq!(second, vec![first[1], first[0]]);
        let third = t.update(&[face(600.0)]);
        assert!(!first.contains(&third[0]));
    }
}

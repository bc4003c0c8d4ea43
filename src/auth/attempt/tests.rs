//! The attempt policy on synthetic faces: every rule of the module doc, one test each.

use super::*;
use crate::auth::{Scorer, Thresholds};
use crate::vision::BBox;

fn verification(accepted: bool) -> Verification {
    Verification {
        accepted,
        matched: usize::from(accepted),
        total: 1,
        share: if accepted { 1.0 } else { 0.0 },
        best: if accepted { 0.8 } else { 0.1 },
        template_score: 0.5,
        thresholds: Thresholds {
            detection: 0.363,
            verification: 0.6,
        },
        scorer: Scorer::Cosine,
        comparisons: Vec::new(),
    }
}

/// A synthetic face whose nose sits `yaw` eye distances off centre, mouth opened by `mouth`.
fn face(yaw: f32, mouth: f32) -> Face {
    let (x, d) = (160.0, 60.0);
    Face {
        bbox: BBox {
            x: x - d,
            y: 60.0,
            w: 2.0 * d,
            h: 2.4 * d,
        },
        landmarks: [
            [x - d / 2.0, 100.0],
            [x + d / 2.0, 100.0],
            [x + yaw * d, 130.0],
            [x - 0.4 * d, 160.0 + mouth],
            [x + 0.4 * d, 160.0 + mouth],
        ],
        score: 0.9,
    }
}

fn rule() -> AttemptRule {
    AttemptRule {
        k: 3,
        n: 5,
        timeout: Duration::from_secs(10),
        thresholds: Thresholds {
            detection: 0.363,
            verification: 0.6,
        },
    }
}

fn image() -> RgbImage {
    RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 60]))
}

/// Runs frames at 20 fps until the attempt ends; returns the outcome and the prompts seen.
fn run(attempt: &mut Attempt, frames: impl Fn(u64) -> (Face, u64, bool)) -> (Outcome, Vec<Prompt>) {
    let (img, t0) = (image(), attempt.started);
    let mut prompts = Vec::new();
    for i in 0..400u64 {
        let now = t0 + Duration::from_millis(i * 50);
        let (f, track, ok) = frames(i);
        let v = verification(ok);
        let sighting = Sighting::Face {
            face: &f,
            track,
            verification: Some(&v),
        };
        match attempt.step(&img, sighting, now) {
            Step::Pending(p) => prompts.push(p),
            Step::Done(outcome) => return (outcome, prompts),
        }
    }
    panic!("the attempt never ended");
}

#[test]
fn a_match_without_liveness_needs_k_frames_and_never_zero() {
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, Instant::now());
    let (outcome, prompts) = run(&mut a, |i| (face(0.0, 0.0), 1, i % 2 == 0));
    assert!(outcome.accepted);
    assert_eq!(outcome.frames, 5, "true, false, true, false, true");
    assert!(matches!(prompts[0], Prompt::Matching { verified: 1, .. }));
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, Instant::now());
    let (outcome, _) = run(&mut a, |_| (face(0.0, 0.0), 1, false));
    assert_eq!(outcome.refusal, Some(Refusal::NotRecognised));
    assert!(outcome.seconds >= 10.0);
}

#[test]
fn a_new_tracked_face_starts_the_votes_over() {
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, Instant::now());
    // Two matching frames of one face, then another face every two frames: never three in a
    // row of one face, so never accepted although two of every two frames match.
    let (outcome, _) = run(&mut a, |i| (face(0.0, 0.0), i / 2, true));
    assert_eq!(outcome.refusal, Some(Refusal::NotRecognised));
}

#[test]
fn the_challenge_passes_a_turning_talking_face_and_refuses_a_still_one() {
    let mut live = Attempt::new(
        "Ada",
        rule(),
        LivenessCheck::Challenge(Direction::Left),
        Instant::now(),
    );
    let (outcome, prompts) = run(&mut live, |i| {
        let yaw = if i < 10 {
            0.0
        } else {
            (i as f32 - 10.0) * 0.02
        };
        (face(yaw.min(0.3), 4.0 * (i as f32 * 0.7).sin()), 7, true)
    });
    assert!(outcome.accepted, "{outcome:?}");
    assert!(outcome.liveness.is_some_and(|s| s.live));
    assert!(prompts.iter().any(|p| matches!(
        p,
        Prompt::Turn {
            direction: Direction::Left,
            ..
        }
    )));

    let mut photo = Attempt::new(
        "Ada",
        rule(),
        LivenessCheck::Challenge(Direction::Right),
        Instant::now(),
    );
    let (outcome, _) = run(&mut photo, |_| (face(0.0, 0.0), 7, true));
    assert!(!outcome.accepted);
    assert_eq!(outcome.refusal, Some(Refusal::NoTurn));
}

#[test]
fn passive_liveness_refuses_a_still_match_at_the_deadline() {
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Passive, Instant::now());
    let (outcome, _) = run(&mut a, |_| (face(0.0, 0.0), 3, true));
    assert_eq!(outcome.refusal, Some(Refusal::NoMotion));
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Passive, Instant::now());
    let (outcome, _) = run(&mut a, |i| {
        (face(0.0, 15.0 * (i as f32 * 0.7).sin()), 3, true)
    });
    assert!(outcome.accepted, "{outcome:?}");
}

#[test]
fn no_face_times_out_as_no_face_and_two_faces_never_vote() {
    let img = image();
    let t0 = Instant::now();
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, t0);
    assert!(matches!(
        a.step(&img, Sighting::ManyFaces(2), t0),
        Step::Pending(Prompt::OnePersonOnly { faces: 2 })
    ));
    let end = a.step(&img, Sighting::NoFace, t0 + Duration::from_secs(11));
    assert!(matches!(end, Step::Done(o) if o.refusal == Some(Refusal::NoFace)));
}

//! The attempt policy on synthetic faces: every rule of the module doc, one test each.

use super::*;
use crate::auth::lockout::Ended;
use crate::auth::votes::KofN;
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
        frames: KofN::new(3, 5).unwrap(),
        timeout: Duration::from_secs(10),
        thresholds: Thresholds {
            detection: 0.363,
            verification: 0.6,
        },
        hold: 0.363,
        trained_head: true,
    }
}

/// Ada's embedding, and someone else's (cosine 0 to hers).
fn ada() -> Embedding {
    Embedding::normalised(vec![1.0, 0.0, 0.0])
}
fn eve() -> Embedding {
    Embedding::normalised(vec![0.0, 1.0, 0.0])
}

fn image() -> RgbImage {
    RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 60]))
}

/// Runs frames at 20 fps until the attempt ends; returns the outcome and the prompts seen.
fn run(attempt: &mut Attempt, frames: impl Fn(u64) -> (Face, u64, bool)) -> (Outcome, Vec<Prompt>) {
    run_scored(attempt, &image(), |i| {
        let (f, track, ok) = frames(i);
        (f, track, ok, None)
    })
}

/// [`run`] on `img`, each frame with a texture score; every face is Ada's.
fn run_scored(
    attempt: &mut Attempt,
    img: &RgbImage,
    frames: impl Fn(u64) -> (Face, u64, bool, Option<f32>),
) -> (Outcome, Vec<Prompt>) {
    run_probed(attempt, img, |i| {
        let (f, track, ok, pad) = frames(i);
        (f, track, ok, pad, ada())
    })
}

/// [`run_scored`] with each frame's embedding.
fn run_probed(
    attempt: &mut Attempt,
    img: &RgbImage,
    frames: impl Fn(u64) -> (Face, u64, bool, Option<f32>, Embedding),
) -> (Outcome, Vec<Prompt>) {
    let t0 = attempt.started;
    let mut prompts = Vec::new();
    for i in 0..400u64 {
        let now = t0 + Duration::from_millis(i * 50);
        let (f, track, ok, pad, probe) = frames(i);
        let v = verification(ok);
        let sighting = Sighting::Face {
            face: &f,
            track,
            verification: attempt.needs_match().then_some(&v),
            probe: attempt.needs_probe().then_some(&probe),
            pad,
        };
        match attempt.step(img, sighting, now) {
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
    // Said as the face changing, not as a face that never matched.
    assert_eq!(outcome.refusal, Some(Refusal::FaceChanged));
    // Faces that come and go without ever matching were simply not recognised.
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, Instant::now());
    let (outcome, _) = run(&mut a, |i| (face(0.0, 0.0), i / 2, false));
    assert_eq!(outcome.refusal, Some(Refusal::NotRecognised));
    // One lucky frame, a detector blink (a new track), then the same face never matching
    // again: long after the change, it was not recognised.
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, Instant::now());
    let (outcome, _) = run(&mut a, |i| (face(0.0, 0.0), u64::from(i > 0), i == 0));
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
    // Two people all along: said as such, not as no face.
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, t0);
    a.step(&img, Sighting::ManyFaces(2), t0);
    let end = a.step(&img, Sighting::ManyFaces(2), t0 + Duration::from_secs(11));
    assert!(
        matches!(&end, Step::Done(o) if o.refusal == Some(Refusal::ManyFaces) && o.ended() == Ended::Unjudged),
        "{end:?}"
    );
}

/// A face that turns left after half a second and talks: passes the motion checks.
fn live_face(i: u64) -> Face {
    let yaw = if i < 10 {
        0.0
    } else {
        (i as f32 - 10.0) * 0.02
    };
    face(yaw.min(0.3), 4.0 * (i as f32 * 0.7).sin())
}

fn challenge_attempt() -> Attempt {
    Attempt::new(
        "Ada",
        rule(),
        LivenessCheck::Challenge(Direction::Left),
        Instant::now(),
    )
    .with_pad(PadRule::default())
}

#[test]
fn a_replay_that_moves_and_turns_is_refused_by_its_texture() {
    // A video of the person on a screen: it matches, turns and talks, every frame scores low.
    let (outcome, _) = run_scored(&mut challenge_attempt(), &image(), |i| {
        (live_face(i), 7, true, Some(0.1))
    });
    assert_eq!(outcome.refusal, Some(Refusal::Presentation), "{outcome:?}");
    assert_eq!(
        Refusal::Presentation.text(),
        "looks like a screen or a print"
    );
    assert!(outcome.pad.is_some_and(|p| p < 0.5));
    // A live face: the same motion, scores high except for a few frames (a blink, blur).
    let (outcome, _) = run_scored(&mut challenge_attempt(), &image(), |i| {
        let score = if i % 10 == 3 { 0.05 } else { 0.97 };
        (live_face(i), 7, true, Some(score))
    });
    assert!(outcome.accepted, "{outcome:?}");
    assert!(outcome.pad.is_some_and(|p| p >= 0.5));
}

#[test]
fn with_the_texture_rule_an_attempt_waits_for_enough_scored_frames() {
    // Motion and turn pass, but no frame was ever scored: never accepted; at the deadline it is
    // the motion checks' reason (nothing says screen).
    let (outcome, _) = run_scored(&mut challenge_attempt(), &image(), |i| {
        (live_face(i), 7, true, None)
    });
    assert!(!outcome.accepted, "{outcome:?}");
    assert_eq!(outcome.pad, None);
    // Without the rule (a caller with no model), scores are ignored.
    let mut plain = Attempt::new(
        "Ada",
        rule(),
        LivenessCheck::Challenge(Direction::Left),
        Instant::now(),
    );
    let (outcome, _) = run_scored(&mut plain, &image(), |i| (live_face(i), 7, true, Some(0.0)));
    assert!(outcome.accepted, "{outcome:?}");
    // A still photo that also scores low says the texture's reason.
    let (outcome, _) = run_scored(&mut challenge_attempt(), &image(), |_| {
        (face(0.0, 0.0), 7, true, Some(0.2))
    });
    assert_eq!(outcome.refusal, Some(Refusal::Presentation));
}

/// A matched face swapped for another that keeps the box (a beam-splitter, a quick hand): the
/// tracker sees one face, the turn and the motion are the newcomer's, and its embedding is not
/// the matched one's, so the attempt is refused however well it turns.
#[test]
fn a_face_swapped_in_after_the_match_is_refused() {
    let swapped_at = |at: u64| {
        move |i: u64| {
            let who = if i < at { ada() } else { eve() };
            (live_face(i), 7, i < at, Some(0.97), who)
        }
    };
    // Ada's photo matches in the first 5 frames; Eve, live, turns and talks from frame 5.
    let (outcome, prompts) = run_probed(&mut challenge_attempt(), &image(), swapped_at(5));
    assert_eq!(outcome.refusal, Some(Refusal::FaceChanged), "{outcome:?}");
    assert!(outcome.held.is_some_and(|h| h < 0.363), "{outcome:?}");
    assert!(
        prompts.contains(&Prompt::HoldStill),
        "the challenge had begun"
    );
    // Ada herself, throughout: accepted, her frames held at cosine 1.
    let (outcome, _) = run_probed(&mut challenge_attempt(), &image(), swapped_at(u64::MAX));
    assert!(outcome.accepted, "{outcome:?}");
    assert_eq!(outcome.held, Some(1.0));
    // A caller that gives no embedding after the votes cannot show it is the same face: never
    // accepted.
    let mut blind = challenge_attempt();
    let t0 = blind.started;
    let img = image();
    let (v, probe) = (verification(true), ada());
    for i in 0..400u64 {
        let f = live_face(i);
        let sighting = Sighting::Face {
            face: &f,
            track: 7,
            verification: Some(&v),
            probe: blind.needs_match().then_some(&probe),
            pad: Some(0.97),
        };
        if let Step::Done(outcome) = blind.step(&img, sighting, t0 + Duration::from_millis(i * 50))
        {
            assert!(!outcome.accepted, "{outcome:?}");
            break;
        }
    }
}

/// The other order: the attacker's own live face first (it never matches, but it talks and
/// scores as live skin), then the victim's print swapped in, matched and tilted for the turn.
/// Only the claimed face's frames are liveness evidence, so the print's own stillness and
/// texture decide.
#[test]
fn a_live_face_shown_before_the_matched_photo_lends_it_nothing() {
    let frames = |i: u64| {
        if i < 120 {
            (live_face(i), 7, false, Some(0.97), eve())
        } else {
            let yaw = ((i as f32 - 125.0).max(0.0) * 0.03).min(0.35);
            (face(yaw, 0.0), 7, true, Some(0.1), ada())
        }
    };
    let (outcome, _) = run_probed(&mut challenge_attempt(), &image(), frames);
    println!("{outcome:?}");
    assert!(!outcome.accepted);
    assert_eq!(outcome.refusal, Some(Refusal::Presentation));
    assert!(
        outcome.pad.is_some_and(|p| p < 0.5),
        "only the print's scores"
    );
}

#[test]
fn frames_too_dark_to_judge_do_not_vote_and_say_so() {
    let dark = RgbImage::from_pixel(320, 240, image::Rgb([6, 6, 6]));
    let mut a = Attempt::new("Ada", rule(), LivenessCheck::Off, Instant::now());
    assert!(a.too_dark(&dark, &face(0.0, 0.0)));
    assert!(!a.too_dark(&image(), &face(0.0, 0.0)));
    let (outcome, prompts) = run_scored(&mut a, &dark, |_| (face(0.0, 0.0), 1, true, None));
    assert!(!outcome.accepted, "matching but dark frames never vote");
    assert_eq!(outcome.refusal, Some(Refusal::TooDark));
    assert_eq!(outcome.refusal.unwrap().text(), "too dark to see your face");
    assert_eq!(outcome.frames_with_face, 0);
    assert!(outcome.dark_frames > 0);
    assert!(prompts.iter().all(|p| *p == Prompt::TooDark));
    assert!(
        Prompt::TooDark
            .text()
            .starts_with("Too dark to see your face")
    );
}

/// Rule 7: a face that matches and one that never does see the same prompts, frame for frame,
/// until the first has passed: what a person at a login screen is asked to do does not tell
/// them their photo has matched.
#[test]
fn the_prompts_do_not_tell_whether_the_face_has_matched() {
    let public = |matches: bool| {
        let (outcome, prompts) = run_probed(&mut challenge_attempt(), &image(), |i| {
            let who = if matches { ada() } else { eve() };
            (live_face(i), 7, matches, Some(0.97), who)
        });
        let texts: Vec<String> = prompts.iter().map(Prompt::public_text).collect();
        (outcome, texts)
    };
    let (accepted, matching) = public(true);
    let (refused, stranger) = public(false);
    assert!(accepted.accepted, "{accepted:?}");
    assert_eq!(refused.refusal, Some(Refusal::NotRecognised), "{refused:?}");
    let shown = |t: &[String]| {
        let mut seen: Vec<String> = t.to_vec();
        seen.dedup();
        seen
    };
    println!("matching face: {:?}", shown(&matching));
    println!("stranger:      {:?}", shown(&stranger));
    let differ = matching.iter().zip(&stranger).position(|(a, b)| a != b);
    assert_eq!(
        differ,
        None,
        "the prompts differ from frame {differ:?}: {:?}",
        differ.map(|i| (&matching[i], &stranger[i]))
    );
    assert!(matching.iter().any(|t| t.starts_with("Turn your head")));
    // A face that matches only after turning: the turn made before the match counts once its
    // frames hold to the matched ones (the same face), and the grace for the motion runs from
    // the match.
    let (late, _) = run_probed(&mut challenge_attempt(), &image(), |i| {
        (live_face(i), 7, i >= 60, Some(0.97), ada())
    });
    assert!(late.accepted, "{late:?}");
    assert!(late.turned_s < late.matched_s, "{late:?}");
}

/// The lock-out takes an attempt not settled within its `RUNNING_AT_MOST` as killed: that is
/// twice the longest time-out a rule may have, so no attempt still running is taken for one.
#[test]
fn no_attempt_outlives_what_the_lock_out_waits_for() {
    let longest = Duration::from_secs_f64(MAX_TIMEOUT_S) + FRAMES_STOPPED_GRACE;
    let waited = Duration::from_secs(crate::auth::lockout::RUNNING_AT_MOST);
    println!("longest attempt {longest:?}, the lock-out waits {waited:?}");
    assert!(longest * 2 <= waited + FRAMES_STOPPED_GRACE * 2);
}

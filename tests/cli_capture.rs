//! `facegate capture`: enrolment from a recording (K sharp frames of varied poses), from files
//! (unchanged), and without a camera. Katie's clip is in ../shared/data (skipped with a notice
//! where it is absent).

mod common;

use std::path::{Path, PathBuf};

use common::s;
use facegate::store::{Gallery, ImageKind, Store};
use facegate::vision::Face;

const CLIP: &str = "sadtalker_video/examples/ref_video/WDA_KatieHill_000.mp4";

fn katie_clip() -> Option<PathBuf> {
    common::models_or_skip("capture --replay")?;
    let clip = common::shared_data("capture --replay")?.join(CLIP);
    if clip.exists() {
        Some(clip)
    } else {
        println!("NOTICE: {} missing; skipping", clip.display());
        None
    }
}

/// (yaw, pitch) in eye distances, as the capture computes them: the nose's offset from the
/// centre of the eyes and mouth corners, along and across the eye line.
fn pose(face: &Face) -> (f32, f32) {
    let [e0, e1, nose, m0, m1] = face.landmarks;
    let (dx, dy) = (e1[0] - e0[0], e1[1] - e0[1]);
    let d = (dx * dx + dy * dy).sqrt();
    let cx = (e0[0] + e1[0] + m0[0] + m1[0]) / 4.0;
    let cy = (e0[1] + e1[1] + m0[1] + m1[1]) / 4.0;
    let (nx, ny) = (nose[0] - cx, nose[1] - cy);
    (
        (nx * dx + ny * dy) / (d * d),
        (nx * -dy + ny * dx) / (d * d),
    )
}

fn verification_faces(data: &Path, name: &str) -> Vec<facegate::store::StoredFace> {
    Store::open(data)
        .unwrap()
        .faces(&Gallery::Person {
            name: name.into(),
            kind: ImageKind::Verification,
        })
        .unwrap()
}

/// No progress bar or escape code reaches a pipe (indicatif hides itself off a terminal).
fn assert_no_bar(out: &std::process::Output) {
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r') && !text.contains(" left)"),
            "progress drawn into a pipe: {text:?}"
        );
    }
}

#[test]
fn replay_saves_k_sharp_varied_frames_of_katie() {
    let Some(clip) = katie_clip() else {
        return;
    };
    let data = common::temp_dir("capture-replay");
    assert_eq!(
        common::facegate_at(&data, &["user", "add", "Katie"])
            .status
            .code(),
        Some(0)
    );
    let started = std::time::Instant::now();
    let out = common::facegate_at(
        &data,
        &["capture", "Katie", "--replay", s(&clip), "--count", "5"],
    );
    println!(
        "capture --replay took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(out.status.code(), Some(0));
    assert_no_bar(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("5 of 5 saved from 200 frames"), "{text}");

    let faces = verification_faces(&data, "Katie");
    assert_eq!(faces.len(), 5);
    let mut frames: Vec<&str> = faces
        .iter()
        .map(|f| f.meta.source.as_deref().expect("the frame is named"))
        .collect();
    frames.sort();
    frames.dedup();
    assert_eq!(frames.len(), 5, "five different frames: {frames:?}");
    let poses: Vec<(f32, f32)> = faces.iter().map(|f| pose(&f.meta.face)).collect();
    println!("saved poses (yaw, pitch): {poses:?}; frames {frames:?}");
    let mut closest = f32::INFINITY;
    for (i, a) in poses.iter().enumerate() {
        for b in &poses[i + 1..] {
            closest = closest.min((a.0 - b.0).hypot(a.1 - b.1));
        }
    }
    let yaws: Vec<f32> = poses.iter().map(|p| p.0).collect();
    let span = yaws.iter().copied().fold(f32::MIN, f32::max)
        - yaws.iter().copied().fold(f32::MAX, f32::min);
    println!("closest two poses {closest:.3} apart; yaw span {span:.3}");
    // Katie turns about ±0.2 in this clip: varied means spread over it, no two alike.
    assert!(closest >= 0.05, "two saved poses are alike ({closest})");
    assert!(span >= 0.25, "yaw span {span}");
    assert!(
        poses.iter().any(|p| p.0.abs() < 0.06),
        "a frontal one: {poses:?}"
    );

    // What was saved verifies Katie on a frame of her clip that was not picked.
    let still = data.join("frame70.png");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            s(&clip),
            "-vf",
            "select=eq(n\\,70)",
            "-vframes",
            "1",
        ])
        .arg(&still)
        .status()
        .expect("ffmpeg runs (the replay needed it too)");
    assert!(status.success());
    let out = common::facegate_at(&data, &["verify", "Katie", s(&still)]);
    assert_eq!(out.status.code(), Some(0), "frame 70 verifies as Katie");

    // The same clip again: the same frames are picked first and recognised as already stored,
    // and the poses picked after them are saved (it stopped at the five stored, and saved
    // none; journey s36 #7), as many as there are.
    let again = common::facegate_at(
        &data,
        &["capture", "Katie", "--replay", s(&clip), "--count", "5"],
    );
    let text = String::from_utf8_lossy(&again.stdout);
    let now = verification_faces(&data, "Katie").len();
    println!("the same clip again: {now} images stored now\n{text}");
    assert_eq!(text.matches("already stored").count(), 5, "{text}");
    assert!(now > 5, "other poses saved: {text}");
    if now < 10 {
        // Enough poses, the rest stored: not "turn your head more" (final read s36 #5).
        assert_eq!(again.status.code(), Some(1), "fewer than five new");
        assert!(
            text.contains("every other pose far enough apart here is stored already")
                && !text.contains("turn your head more"),
            "{text}"
        );
    }
}

/// `--timeout` bounds a recording's pass as it does a camera's (a 60 s 4K clip took three
/// minutes, with nothing printed when piped): the pass stops, says where, and what was seen so
/// far is still judged and saved.
#[test]
fn replay_stops_at_its_timeout() {
    let Some(clip) = katie_clip() else { return };
    let data = common::temp_dir("capture-replay-timeout");
    common::facegate_at(&data, &["user", "add", "Katie"]);
    let t = std::time::Instant::now();
    let out = common::facegate_at(
        &data,
        &["capture", "Katie", "--replay", s(&clip), "--timeout", "1"],
    );
    let took = t.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{said}{text}took {took:.1} s");
    assert!(said.contains("for at most 1 s"), "{said}");
    assert!(
        said.contains("stopped after 1 s (--timeout), at frame"),
        "{said}"
    );
    assert!(text.contains("saved from"), "{text}");
    // The pass itself is bounded; model loading and saving come on top (seconds, not minutes).
    assert!(took < 30.0, "took {took:.1} s");
}

/// A replayed folder of many unreadable files names the first few and then says it goes on
/// without naming each: one of 10,000 empty files printed 10,000 warning lines (journey review,
/// session 28).
#[test]
fn a_replayed_folder_of_unreadable_files_names_only_the_first_few() {
    if common::models_or_skip("replay warnings").is_none() {
        return;
    }
    let data = common::temp_dir("capture-replay-unreadable-data");
    let folder = common::temp_dir("capture-replay-unreadable");
    for i in 0..200 {
        std::fs::write(folder.join(format!("{i:04}.jpg")), b"").unwrap();
    }
    std::fs::copy(common::fixture("astronaut.png"), folder.join("9999.png")).unwrap();
    common::facegate_at(&data, &["user", "add", "Eileen"]);
    let out = common::facegate_at(
        &data,
        &[
            "capture",
            "Eileen",
            "--replay",
            s(&folder),
            "--timeout",
            "2",
        ],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    let named = said.matches("skipping /").count();
    println!(
        "measured: {named} files named, {} lines in all",
        said.lines().count()
    );
    assert_eq!(named, 5, "{said}");
    assert_eq!(said.matches("without naming each").count(), 1, "{said}");
    assert!(said.lines().count() < 40, "{said}");
}

#[test]
fn replay_asking_for_more_poses_than_the_clip_has_says_so() {
    let Some(clip) = katie_clip() else {
        return;
    };
    let data = common::temp_dir("capture-replay-many");
    common::facegate_at(&data, &["user", "add", "Katie"]);
    let out = common::facegate_at(
        &data,
        &[
            "capture",
            "Katie",
            "--replay",
            s(&clip),
            "--count",
            "40",
            "--kind",
            "anchor",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let saved = Store::open(&data)
        .unwrap()
        .faces(&Gallery::Person {
            name: "Katie".into(),
            kind: ImageKind::Anchor,
        })
        .unwrap()
        .len();
    println!("asked for 40 anchors, {saved} distinct poses saved");
    assert_eq!(out.status.code(), Some(1));
    assert!((5..40).contains(&saved), "{saved}");
    assert!(text.contains("poses far enough apart were seen"), "{text}");
    // Poses apart by their angles can still be nearly the same picture (frames 54 and 55):
    // none of those is kept, so no face is counted twice where the images vote.
    let gallery = Gallery::Person {
        name: "Katie".into(),
        kind: ImageKind::Anchor,
    };
    let mut engine =
        facegate::engine::Engine::open(&common::models(), Store::open(&data).unwrap(), None)
            .unwrap();
    let embeddings = engine.embeddings(&gallery).unwrap();
    let closest = embeddings
        .iter()
        .enumerate()
        .flat_map(|(i, (_, a))| embeddings[..i].iter().map(move |(_, b)| a.cosine(b)))
        .fold(f32::MIN, f32::max);
    println!("closest two anchors saved: cosine {closest:.3}");
    assert!(closest < facegate::engine::NEAR_COPY, "{closest}");
}

#[test]
fn files_and_folders_still_import_without_a_bar_in_pipes() {
    common::models_or_skip("capture files");
    let data = common::temp_dir("capture-files");
    // Photos beside the data dir, not in it: FaceGate takes only an empty folder or a store.
    let photos = common::astronaut_photos(&common::temp_dir("capture-files-photos"));
    common::facegate_at(&data, &["user", "add", "Eileen"]);
    // --kind defaults to verification.
    let out = common::facegate_at(&data, &["capture", "Eileen", s(&photos)]);
    assert_eq!(out.status.code(), Some(0));
    assert_no_bar(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 saved, 0 refused"));
    assert_eq!(verification_faces(&data, "Eileen").len(), 3);
    // A photo without a face is refused with its reason, exit 1.
    let out = common::facegate_at(
        &data,
        &[
            "capture",
            "Eileen",
            "--kind",
            "anchor",
            s(&common::fixture("coffee.png")),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused"));
    // A file that is not an image is bad input: named, exit 2, and the photo beside it saved.
    let mixed = data.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::write(mixed.join("broken.jpg"), b"\xff\xd8\xff not really a JPEG").unwrap();
    std::fs::copy(photos.join("a.png"), mixed.join("a.png")).unwrap();
    let out = common::facegate_at(
        &data,
        &["capture", "Eileen", "--kind", "positive", s(&mixed)],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        said.contains("broken.jpg") && said.contains("1 saved, 1 refused (1 unreadable)"),
        "{said}"
    );
    // --count and --timeout belong to --camera / --replay.
    for option in ["--count", "--timeout"] {
        let out = common::facegate_at(&data, &["capture", "Eileen", s(&photos), option, "3"]);
        assert_eq!(out.status.code(), Some(2), "{option}");
    }
    // A missing file: refused with the OS's reason (it was "cannot read missing.jpg").
    let out = common::facegate_at(&data, &["capture", "Eileen", s(&mixed.join("missing.jpg"))]);
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}");
    assert!(said.contains("No such file or directory"), "{said}");
    assert_eq!(out.status.code(), Some(2));
    // A folder with no photo in it: nothing was read, so no verdict on a photo (exit 1) but bad
    // input (exit 2), as for a missing file; the "folder" replay of the same says so as well.
    let empty = data.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "no photo here").unwrap();
    let out = common::facegate_at(&data, &["capture", "Eileen", s(&empty)]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("{said}");
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("no photo to import"), "{said}");
    // A replayed folder where no file decodes: bad input too, named, not "turn your head more".
    let undecodable = data.join("undecodable");
    std::fs::create_dir_all(&undecodable).unwrap();
    for name in ["a.jpg", "b.png"] {
        std::fs::write(undecodable.join(name), b"not an image").unwrap();
    }
    let out = common::facegate_at(&data, &["capture", "Eileen", "--replay", s(&undecodable)]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("{said}");
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("none of the 2 images"), "{said}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("turn your head"));
    // One photo given as a recording: one pose, and no head to turn (journey s41 #8).
    let still = common::fixture("astronaut.png");
    let out = common::facegate_at(&data, &["capture", "Eileen", "--replay", s(&still)]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("from 1 frame of astronaut.png")
            && said.contains("one picture shows one pose")
            && !said.contains("turn your head"),
        "{said}"
    );
}

#[test]
fn camera_capture_without_a_camera_says_none_is_found() {
    common::models_or_skip("capture --camera");
    let has_camera = std::fs::read_dir("/dev")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("video"))
        })
        .unwrap_or(false);
    let data = common::temp_dir("capture-camera");
    common::facegate_at(&data, &["user", "add", "Ada"]);
    let out = common::facegate_at(&data, &["capture", "Ada", "--camera", "7"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    if has_camera {
        println!("NOTICE: this machine has a camera; only checked that camera 7 is refused");
        assert!(err.contains("camera 7"), "{err}");
    } else {
        assert!(err.contains("no camera found"), "{err}");
        assert!(err.contains("--replay"), "says what to do instead: {err}");
    }
    // An unknown person is refused before any camera is opened.
    let out = common::facegate_at(&data, &["capture", "Nobody", "--camera", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("no camera"));
}

/// The camera path (`--camera`) on sources that behave like cameras: Katie's clip played in real
/// time stops as soon as K varied poses are in hand; a still photo never varies and runs to the
/// time-out with the one pose it has.
#[test]
fn camera_loop_stops_on_varied_poses_or_at_its_time_out() {
    use facegate::camera::{FolderReplay, VideoReplay};
    use facegate::cli::capture_live::run_live;
    let Some(clip) = katie_clip() else {
        return;
    };
    let data = common::temp_dir("capture-live");
    let mut engine =
        facegate::engine::Engine::new(&common::models(), Store::open(&data).unwrap()).unwrap();
    engine.store().add_person("Katie").unwrap();
    let gallery = Gallery::Person {
        name: "Katie".into(),
        kind: ImageKind::Verification,
    };
    // Paced: frames arrive at the clip's 25 fps, as from a camera.
    let mut camera = VideoReplay::open(&clip, true).unwrap();
    let started = std::time::Instant::now();
    let outcome = run_live(
        &mut engine,
        &gallery,
        &mut camera,
        20.0,
        3,
        "clip as camera",
    )
    .unwrap();
    let took = started.elapsed().as_secs_f64();
    println!(
        "Katie as a camera: {} saved after {} frames in {took:.1} s (stopped early: {})",
        outcome.saved.len(),
        outcome.frames,
        outcome.stopped_early
    );
    assert_eq!(outcome.saved.len(), 3);
    assert!(outcome.stopped_early && took < 20.0);
    assert_eq!(verification_faces(&data, "Katie").len(), 3);

    engine.store().add_person("Eileen").unwrap();
    let stills = common::temp_dir("capture-live-still");
    std::fs::copy(common::fixture("astronaut.png"), stills.join("a.png")).unwrap();
    let mut still = FolderReplay::open(&stills, 15.0, true).unwrap();
    let started = std::time::Instant::now();
    let outcome = run_live(
        &mut engine,
        &Gallery::Person {
            name: "Eileen".into(),
            kind: ImageKind::Verification,
        },
        &mut still,
        2.0,
        3,
        "a still as camera",
    )
    .unwrap();
    let took = started.elapsed().as_secs_f64();
    println!(
        "a still photo as a camera: {} saved after {} frames in {took:.1} s",
        outcome.saved.len(),
        outcome.frames
    );
    assert_eq!(outcome.saved.len(), 1, "one pose is all a still photo has");
    assert!(!outcome.stopped_early && (2.0..4.0).contains(&took));
}

/// `--replay` on a folder of frames: each file is a frame (named in the store), an unreadable one
/// is skipped with its reason, and someone else's face is not enrolled.
#[test]
fn replay_of_a_folder_keeps_to_one_person() {
    let Some(shared) = common::shared_data("capture --replay DIR") else {
        return;
    };
    common::models_or_skip("capture --replay DIR");
    let ds = shared.join("deepface/tests/unit/dataset");
    let data = common::temp_dir("capture-folder");
    // Beside the data dir, not in it (FaceGate takes only an empty folder or a store).
    let frames = common::temp_dir("capture-folder-frames").join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    // id01 (sorted first, so the reference), then id02's img3 renamed to sort among them.
    for n in ["img1", "img2", "img4", "img5", "img6", "img7"] {
        std::fs::copy(ds.join(format!("{n}.jpg")), frames.join(format!("{n}.jpg"))).unwrap();
    }
    std::fs::copy(ds.join("img3.jpg"), frames.join("img3.jpg")).unwrap();
    std::fs::write(frames.join("img8.jpg"), b"not a jpeg").unwrap();
    common::facegate_at(&data, &["user", "add", "id01"]);
    let out = common::facegate_at(
        &data,
        &["capture", "id01", "--replay", s(&frames), "--count", "3"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 not the same person as the first good frame"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipping"));
    let sources: Vec<String> = verification_faces(&data, "id01")
        .iter()
        .map(|f| f.meta.source.clone().unwrap())
        .collect();
    println!("folder capture kept {sources:?}");
    assert_eq!(sources.len(), 3);
    assert!(
        sources
            .iter()
            .all(|s| s.starts_with("frames img") && !s.ends_with("img3.jpg")),
        "named by folder and file, never a full path: {sources:?}"
    );
    assert!(!sources.iter().any(|s| s.contains('/')), "{sources:?}");
}

/// A frame larger than the pose pool keeps whole (a 3000 px photo) still enrols, from the face
/// region the pool keeps of it. (What this bounds is memory, which a test here does not measure:
/// the pool holds at most 121 cells of at most 1280 px.)
#[test]
fn replay_of_large_frames_enrols_from_their_face_regions() {
    if common::models_or_skip("capture --replay of large frames").is_none() {
        return;
    }
    let data = common::temp_dir("capture-large");
    // Beside the data dir, not in it (FaceGate takes only an empty folder or a store).
    let frames = common::temp_dir("capture-large-frames").join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let photo = image::open(common::fixture("astronaut.png"))
        .unwrap()
        .to_rgb8();
    image::imageops::resize(&photo, 3000, 3000, image::imageops::FilterType::Triangle)
        .save(frames.join("big.png"))
        .unwrap();
    common::facegate_at(&data, &["user", "add", "Eileen"]);
    let out = common::facegate_at(
        &data,
        &["capture", "Eileen", "--replay", s(&frames), "--count", "1"],
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(0));
    let faces = verification_faces(&data, "Eileen");
    assert_eq!(faces.len(), 1);
    let crop = image::image_dimensions(&faces[0].png).unwrap();
    println!("stored crop {crop:?}");
    assert!(crop.0 <= facegate::store::CROP_MAX_SIDE && crop.1 <= facegate::store::CROP_MAX_SIDE);
}

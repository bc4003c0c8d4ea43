//! Enrolment and face-unlock from the command line, as a user (or PAM) runs them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::s;

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited")
}

/// One of the photos in `folder`.
fn first_photo(folder: &Path) -> PathBuf {
    std::fs::read_dir(folder)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// A folder of three photos of the astronaut (mirrored, darker, original).
fn astronaut_folder(tag: &str) -> PathBuf {
    common::astronaut_photos(&common::temp_dir(tag))
}

#[test]
fn enrol_verify_identify_and_remove() {
    let data = common::temp_dir("cli-verify-data");
    let photos = astronaut_folder("cli-verify-photos");
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    assert_eq!(
        code(&facegate(&data, &["user", "add", "Eileen"])),
        2,
        "duplicate"
    );
    assert_eq!(code(&facegate(&data, &["user", "add", "../evil"])), 2);
    assert_eq!(
        code(&facegate(
            &data,
            &["capture", "Eileen", "--kind", "verification", s(&photos)]
        )),
        0
    );
    // A photo without a face is refused with its reason; the command says so with exit 1.
    let refused = facegate(
        &data,
        &[
            "capture",
            "Eileen",
            "--kind",
            "anchor",
            s(&common::fixture("coffee.png")),
        ],
    );
    assert_eq!(code(&refused), 1);
    assert!(String::from_utf8_lossy(&refused.stdout).contains("no face"));
    let list = facegate(&data, &["user", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(json[0]["verification"], 3);
    assert_eq!(json[0]["anchor"], 0);

    let astro = common::fixture("astronaut.png");
    let out = facegate(&data, &["verify", "Eileen", s(&astro), "--json"]);
    assert_eq!(code(&out), 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scores = common::comparison_scores(&v);
    assert_eq!(scores.len(), 3, "every per-image score is reported");
    assert!(scores.iter().all(|&s| s > 0.8));

    assert_eq!(
        code(&facegate(
            &data,
            &["verify", "Eileen", s(&common::fixture("camera.png"))]
        )),
        1
    );
    assert_eq!(
        code(&facegate(
            &data,
            &["verify", "Eileen", s(&common::fixture("coffee.png"))]
        )),
        3
    );
    assert_eq!(code(&facegate(&data, &["verify", "Nobody", s(&astro)])), 2);
    assert_eq!(
        code(&facegate(&data, &["verify", "Eileen", "/nonexistent.png"])),
        2
    );
    let out = facegate(&data, &["identify", s(&astro), "--json"]);
    assert_eq!(code(&out), 0);
    // Its numbers as verify's are, not widened to f64 (0.3630000054836273; journey s37 #12).
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(r#""detection": 0.363,"#), "{said}");
    assert_eq!(
        code(&facegate(
            &data,
            &["identify", s(&common::fixture("camera.png"))]
        )),
        1
    );

    // Verified above: her audit-log lines stay, and `--wipe` is offered for them, and works.
    let out = facegate(&data, &["user", "remove", "Eileen"]);
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}");
    assert_eq!(code(&out), 0);
    assert!(!data.join("users/Eileen").exists());
    assert!(said.contains("audit-log lines about them stay"), "{said}");
    // Removed again: not there, and the lines that stay are named with their command.
    let again = facegate(&data, &["user", "remove", "Eileen"]);
    let said = String::from_utf8_lossy(&again.stderr);
    println!("{said}");
    assert_eq!(code(&again), 2);
    assert!(said.contains("user remove Eileen --wipe`"), "{said}");
    let wipe = facegate(&data, &["user", "remove", "Eileen", "--wipe"]);
    assert_eq!(code(&wipe), 0, "{}", String::from_utf8_lossy(&wipe.stderr));
    assert_eq!(code(&facegate(&data, &["verify", "Eileen", s(&astro)])), 2);
    // Never verified: nothing stays, so no `--wipe` is offered (it was, and then said "no
    // person called"; journey s38 #2).
    assert_eq!(code(&facegate(&data, &["user", "add", "Ann"])), 0);
    let out = facegate(&data, &["user", "remove", "Ann"]);
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}");
    assert!(
        said.trim() == "removed Ann, their images and their cached embeddings",
        "{said}"
    );
}

/// Five rejections lock; photos too dark to judge, before them, count for nothing.
#[test]
fn repeated_rejections_exit_4() {
    let data = common::temp_dir("cli-lockout");
    let photos = astronaut_folder("cli-lockout-photos");
    facegate(&data, &["user", "add", "Eileen"]);
    facegate(
        &data,
        &["capture", "Eileen", "--kind", "verification", s(&photos)],
    );
    // Her photo too dark to judge is refused as a live frame of it would be: exit 3, nothing
    // compared, so not counted (it was REJECTED, and five locked her out; journey s37 #1).
    let dark = data.join("dark.png");
    let mut astronaut = image::open(common::fixture("astronaut.png"))
        .unwrap()
        .to_rgb8();
    astronaut
        .pixels_mut()
        .for_each(|p| p.0 = p.0.map(|c| c / 24));
    astronaut.save(&dark).unwrap();
    for _ in 0..6 {
        let out = facegate(&data, &["verify", "Eileen", s(&dark), "--json"]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(code(&out), 3, "{said}");
        assert!(said.contains(r#""refused":"too_dark""#), "{said}");
    }
    println!(
        "{}",
        String::from_utf8_lossy(&facegate(&data, &["verify", "Eileen", s(&dark)]).stderr)
    );
    let camera = common::fixture("camera.png");
    for _ in 0..5 {
        assert_eq!(code(&facegate(&data, &["verify", "Eileen", s(&camera)])), 1);
    }
    let out = facegate(
        &data,
        &["verify", "Eileen", s(&common::fixture("astronaut.png"))],
    );
    assert_eq!(code(&out), 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked out"));
    // The lock is seen where the person is listed, with its remedy (journey s39 #9), and gone
    // once reset.
    let reset = common::hint_at(&data, "user reset Eileen");
    let list = facegate(&data, &["user", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    println!("{text}");
    assert!(
        text.contains("locked out for") && text.contains(&format!("{reset}` lifts Eileen's lock")),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&facegate(&data, &["user", "list", "--json"]).stdout).unwrap();
    // In --json as fields a script can test, the same in `user show` as in `user list` (final
    // read s39 F7: a countdown in prose, and no lock at all in `user show --json`).
    let show: serde_json::Value =
        serde_json::from_slice(&facegate(&data, &["user", "show", "Eileen", "--json"]).stdout)
            .unwrap();
    println!("user show --json: {show}");
    for lock in [&json[0]["lock"], &show["lock"]] {
        assert_eq!(
            lock["remedy"].as_str().map(|r| format!("`{r}")),
            Some(reset.clone())
        );
        assert_eq!(lock["kind"], "locked_out", "{json}");
        assert!(
            (1..=30).contains(&lock["seconds_left"].as_u64().unwrap()),
            "{json}"
        );
        assert!(lock["says"].as_str().unwrap().starts_with("locked out for"));
    }
    assert_eq!(show["images"].as_array().unwrap().len(), 3, "{show}");
    let show = facegate(&data, &["user", "show", "Eileen"]);
    assert!(String::from_utf8_lossy(&show.stderr).contains("note: Eileen is locked out for"));
    assert_eq!(code(&facegate(&data, &["user", "reset", "Eileen"])), 0);
    let json: serde_json::Value =
        serde_json::from_slice(&facegate(&data, &["user", "list", "--json"]).stdout).unwrap();
    assert!(json[0]["lock"].is_null(), "{json}");
}

/// A mistyped name on the live path is "not enrolled" (exit 2), as on the photo path and at the
/// daemon: it was "locked out until reset" (exit 4), with a reset that could not run either.
#[test]
fn a_live_attempt_for_nobody_is_not_enrolled_not_locked() {
    let data = common::temp_dir("cli-live-nobody");
    let photos = astronaut_folder("cli-live-nobody-photos");
    let out = facegate(&data, &["verify", "Ada", "--replay", s(&photos)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{said}");
    assert!(said.contains("no person called `Ada`"), "{said}");
    assert!(!said.contains("locked"), "{said}");
}

/// The live rule on the real talking-head clips: enrolled from three stills of one clip, the
/// person is accepted on a replay of it and a different person times out.
#[test]
fn live_replay_accepts_the_person_and_times_out_a_stranger() {
    let Some(shared) = common::shared_data("live replay") else {
        return;
    };
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        println!("NOTICE: ffmpeg not found; skipping the live replay test");
        return;
    }
    let clips = shared.join("sadtalker_video/examples/ref_video");
    let katie = clips.join("WDA_KatieHill_000.mp4");
    let stills = common::temp_dir("cli-live-stills");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-i",
            s(&katie),
            "-vf",
            "select='eq(n\\,0)+eq(n\\,60)+eq(n\\,120)'",
            "-vsync",
            "0",
        ])
        .arg(stills.join("f%02d.png"))
        .status()
        .unwrap();
    assert!(status.success());
    let data = common::temp_dir("cli-live-data");
    facegate(&data, &["user", "add", "Katie"]);
    assert_eq!(
        code(&facegate(
            &data,
            &["capture", "Katie", "--kind", "verification", s(&stills)]
        )),
        0
    );
    let out = facegate(&data, &["verify", "Katie", "--replay", s(&katie), "--json"]);
    assert_eq!(code(&out), 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["seconds"].as_f64().unwrap() < 5.0);
    // With liveness, the turn the recording makes is given, or the user is told to give it.
    let turned = ["verify", "Katie", "--replay", s(&katie), "--liveness"];
    let out = facegate(&data, &[&turned[..], &["--turn", "right"]].concat());
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("--turn"));
    let out = facegate(&data, &[&turned[..], &["--timeout", "3"]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    println!("without --turn: exit {}: {err}", code(&out));
    assert!(
        err.contains("note: the side to turn is drawn at random") && err.contains("--turn left"),
        "{err}"
    );
    let stranger = clips.join("WDA_AlexandriaOcasioCortez_000.mp4");
    let out = facegate(
        &data,
        &[
            "verify",
            "Katie",
            "--replay",
            s(&stranger),
            "--timeout",
            "3",
        ],
    );
    assert_eq!(code(&out), 1);
    // Live attempts end with a photo's codes: two people in every frame 2, no face 3 (both
    // were "no face in view", exit 1).
    let two = common::temp_dir("cli-live-two");
    let pair = shared.join("face_recognition/examples/two_people.jpg");
    std::fs::copy(&pair, two.join("two.jpg")).unwrap();
    let none = common::temp_dir("cli-live-none");
    std::fs::copy(common::fixture("coffee.png"), none.join("coffee.png")).unwrap();
    for (folder, expected) in [(&two, 2), (&none, 3)] {
        let out = facegate(
            &data,
            &["verify", "Katie", "--replay", s(folder), "--timeout", "1"],
        );
        let said = String::from_utf8_lossy(&out.stdout);
        println!("{}: exit {} {said}", folder.display(), code(&out));
        assert_eq!(code(&out), expected, "{said}");
    }
    // Under --json, in the photo path's spelling, with its words (journey s37 #2: "NoFace").
    let out = facegate(
        &data,
        &[
            "verify",
            "Katie",
            "--replay",
            s(&none),
            "--timeout",
            "1",
            "--json",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("no face, --json: {report}");
    assert_eq!(report["refusal"], "no_face");
    assert_eq!(report["refused"], "no_face", "the photo path's key too");
    assert_eq!(report["reason"], "no face in view");
}

#[test]
fn lookalike_and_negatives() {
    let data = common::temp_dir("cli-lookalike-data");
    let gallery = common::temp_dir("cli-lookalike-gallery");
    for (who, file) in [("astronaut", "astronaut.png"), ("cameraman", "camera.png")] {
        std::fs::create_dir_all(gallery.join(who)).unwrap();
        std::fs::copy(common::fixture(file), gallery.join(who).join(file)).unwrap();
    }
    let probe = astronaut_folder("cli-lookalike-probe").join("a.png");
    let out = facegate(
        &data,
        &["lookalike", s(&probe), "--gallery", s(&gallery), "--json"],
    );
    assert_eq!(code(&out), 0);
    let ranking: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ranking[0]["identity"], "astronaut");
    assert_eq!(ranking[1]["identity"], "cameraman");
    let text = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&gallery)]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("resemblance, not an identification"));
    // The photo given is in the gallery itself: its 1.000 is said to be that (journey s37 #15).
    let same = common::fixture("astronaut.png");
    let out = facegate(&data, &["lookalike", s(&same), "--gallery", s(&gallery)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("is the same picture") && said.contains("astronaut/astronaut.png"),
        "{said}"
    );
    // A gallery without a usable face answers nothing, and says so: exit 3, not 0.
    let empty = common::temp_dir("cli-lookalike-empty");
    std::fs::create_dir_all(empty.join("mug")).unwrap();
    std::fs::copy(common::fixture("coffee.png"), empty.join("mug/coffee.png")).unwrap();
    let out = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&empty)]);
    assert_eq!(code(&out), 3);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("no face found in any photo of the gallery"),
        "{said}"
    );
    // In JSON, the refusal the probe's own "no face" gives (it printed `[]`; journey s36 #3).
    let out = facegate(
        &data,
        &["lookalike", s(&probe), "--gallery", s(&empty), "--json"],
    );
    assert_eq!(code(&out), 3);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["refused"], "no_face", "{report}");
    // ... and which photos it skipped, and how many (they were dropped without a word).
    std::fs::write(empty.join("mug/broken.png"), b"not a png").unwrap();
    let out = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&empty)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("2 photos in the identities' folders skipped"),
        "{said}"
    );
    assert!(
        said.contains("skipped: ") && said.contains("broken.png") && said.contains("coffee.png"),
        "{said}"
    );
    // Photos straight in the gallery: the layout is what is wrong, and said (it read as no
    // face found).
    let flat = common::temp_dir("cli-lookalike-flat");
    std::fs::copy(common::fixture("astronaut.png"), flat.join("astronaut.png")).unwrap();
    let out = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&flat)]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("a flat gallery: {said}");
    assert_eq!(code(&out), 2, "{said}");
    assert!(said.contains("one folder per identity"), "{said}");
    // Beside identities' folders, a loose photo is named as left out (review s36 #8).
    std::fs::copy(common::fixture("astronaut.png"), gallery.join("loose.png")).unwrap();
    let out = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&gallery)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 0, "{said}");
    assert!(
        said.contains("loose.png: a photo directly in the gallery, not in an identity's folder"),
        "{said}"
    );
    // The gallery one level too high: its one folder holds the identities' folders, and is
    // ranked as one identity. Said, as a note (it named the folder as the look-alike in
    // silence; journey s38 #1).
    let higher = common::temp_dir("cli-lookalike-higher");
    for (who, file) in [("astronaut", "astronaut.png"), ("cameraman", "camera.png")] {
        std::fs::create_dir_all(higher.join("train").join(who)).unwrap();
        std::fs::copy(
            common::fixture(file),
            higher.join("train").join(who).join(file),
        )
        .unwrap();
    }
    let out = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&higher)]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("a gallery one level too high: {said}");
    assert_eq!(code(&out), 0, "{said}");
    assert!(
        said.contains(&format!(
            "note: train's photos come from 2 folders of its own (astronaut, cameraman): if \
             those are people, the gallery is {}",
            higher.join("train").display()
        )),
        "{said}"
    );
    // One person's photos in one folder of their own: nothing to say.
    let out = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&gallery)]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("folders of its own"));
    // Folders whose names are not UTF-8 are two identities, each named as its path shows it
    // (one folder showed two ways, and two such folders merged; journey s38 #8).
    let odd = common::temp_dir("cli-lookalike-bytes");
    for name in [&b"ob\xffama"[..], &b"ob\xfeama"[..]] {
        use std::os::unix::ffi::OsStrExt;
        let dir = odd.join(std::ffi::OsStr::from_bytes(name));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(common::fixture("astronaut.png"), dir.join("a.png")).unwrap();
    }
    let out = facegate(
        &data,
        &["lookalike", s(&probe), "--gallery", s(&odd), "--json"],
    );
    let ranking: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<&str> = (0..2)
        .map(|i| ranking[i]["identity"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["ob\\xfeama", "ob\\xffama"], "{ranking}");
    // A gallery whose photos cannot be read at all: bad input (it said no face was found).
    let broken = common::temp_dir("cli-lookalike-broken");
    std::fs::create_dir_all(broken.join("x")).unwrap();
    std::fs::write(broken.join("x/a.png"), b"not a png").unwrap();
    let out = facegate(&data, &["lookalike", s(&probe), "--gallery", s(&broken)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{said}");
    assert!(said.contains("could be read"), "{said}");
    // Nobody in the galleries is enrolled: no template of theirs is kept in the store.
    let cached: usize = std::fs::read_dir(data.join("cache"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|model| std::fs::read_dir(model.path()).map_or(0, |d| d.count()))
        .sum();
    assert_eq!(cached, 0, "gallery embeddings cached in the store");

    // Negatives go through the same quality gate: the cameraman's face (14 px between the eyes)
    // is refused with its reason, the astronaut's is kept.
    let out = facegate(&data, &["negatives", "add", s(&gallery)]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("too small"));
    let count = facegate(&data, &["negatives", "count"]);
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "1");
    // Several photos at once, as capture takes them (it took one folder only; journey s37 #7).
    let (coffee, chelsea) = (
        common::fixture("coffee.png"),
        common::fixture("chelsea.png"),
    );
    let out = facegate(&data, &["negatives", "add", s(&coffee), s(&chelsea)]);
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}");
    assert_eq!(code(&out), 1, "{said}");
    assert!(
        said.contains("coffee.png") && said.contains("chelsea.png"),
        "{said}"
    );
}

fn facegate(data: &Path, args: &[&str]) -> Output {
    common::facegate_at(data, args)
}

/// A folder of two photos of the cameraman: his head and shoulders, enlarged so that the
/// capture gate's 25 px between the eyes lets him in, and its mirror image.
fn cameraman_folder(tag: &str) -> PathBuf {
    let strangers = common::temp_dir(tag);
    let camera = image::open(common::fixture("camera.png")).unwrap();
    let him =
        camera
            .crop_imm(125, 60, 200, 200)
            .resize(600, 600, image::imageops::FilterType::Triangle);
    him.save(strangers.join("camera.png")).unwrap();
    him.fliph()
        .save(strangers.join("camera-mirrored.png"))
        .unwrap();
    strangers
}

/// A batch of strangers after one photo of the person: the whole gallery's warning names the
/// person's own photo as the odd one (two match each other), so one command to delete what the
/// batch saved is given besides, as run it leaves the person as they were (journey s40 #1: a
/// folder of 8 people took 20 commands to undo).
#[test]
fn a_batch_of_strangers_can_be_deleted_in_one_command() {
    let data = common::temp_dir("cli-verify-batch-undo");
    let photos = astronaut_folder("cli-verify-batch-undo-photos");
    let one = common::temp_dir("cli-verify-batch-undo-one");
    std::fs::copy(first_photo(&photos), one.join("me.png")).unwrap();
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    assert_eq!(code(&facegate(&data, &["capture", "Eileen", s(&one)])), 0);
    let out = facegate(
        &data,
        &[
            "capture",
            "Eileen",
            s(&cameraman_folder("cli-verify-batch-undo-him")),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    println!("{err}");
    assert_eq!(code(&out), 1);
    let prefix = format!(
        "2 of the images this import saved may not show Eileen; if the import was the mistake, \
         delete them all: {}",
        common::hint_at(&data, "user forget Eileen ")
    );
    let line = err.lines().find(|l| l.contains(&prefix)).expect(&prefix);
    let ids: Vec<&str> = line
        .split(&prefix)
        .nth(1)
        .unwrap()
        .trim_end_matches('`')
        .split(' ')
        .collect();
    assert_eq!(ids.len(), 2, "{line}");
    let mut forget = vec!["user", "forget", "Eileen"];
    forget.extend(&ids);
    assert_eq!(code(&facegate(&data, &forget)), 0);
    let out = facegate(
        &data,
        &["verify", "Eileen", s(&common::fixture("astronaut.png"))],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
}

/// Someone else's photo among a person's verification images would let that someone in as
/// them: the import says which new image matches none of the earlier ones (two of the cameraman,
/// in one import, after three photos of the astronaut) and keeps quiet about the astronaut's own.
#[test]
fn capture_warns_when_a_verification_photo_looks_like_someone_else() {
    let data = common::temp_dir("cli-verify-stranger");
    let photos = astronaut_folder("cli-verify-stranger-photos");
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    let own = facegate(&data, &["capture", "Eileen", s(&photos)]);
    assert_eq!(code(&own), 0);
    assert!(!String::from_utf8_lossy(&own.stderr).contains("matches none"));
    // Two photos of him in one import: they match each other, which must not vouch for them.
    let strangers = cameraman_folder("cli-verify-stranger-photo");
    let out = facegate(&data, &["capture", "Eileen", s(&strangers)]);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("measured: {}", err.trim());
    // Saved with a warning, not refused: exit 1, so that a script can tell it from a clean
    // capture (it exited 0, and the next `verify` refused Eileen).
    assert_eq!(code(&out), 1, "saved, with a warning");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 saved, 0 refused"));
    assert!(
        err.matches("matches none of Eileen's other images").count() == 2
            // The model's bar, told apart from the detection threshold the settings show.
            && err.contains("this model judges two photos one person above 0.36, whatever the detection threshold")
            && err.contains("camera.png")
            && err.contains("camera-mirrored.png")
            // The gallery's warning below names the same two: said once.
            && !err.contains("delete them all"),
        "{err}"
    );
    // The warning about the whole gallery names the two odd ones in one command (it said
    // `ID...`; journey s35).
    let whole = err
        .lines()
        .find(|l| l.contains("do not all show one person"))
        .unwrap_or_default();
    assert!(
        whole.contains(&format!(
            "to delete those: {}",
            common::hint_at(&data, "user forget Eileen ")
        )) && whole.matches(" matches 1 of 4").count() == 2
            && !whole.contains("ID..."),
        "{whole}"
    );
    // Each warning ends with the command that deletes that image; run, Eileen is herself again.
    let forget: Vec<String> = err
        .lines()
        .filter_map(|l| {
            l.split(&format!(
                "to delete it: {}",
                common::hint_at(&data, "user forget Eileen ")
            ))
            .nth(1)
        })
        .filter_map(|rest| {
            rest.get(..36)
                .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(forget.len(), 2, "{err}");
    // One unknown id among them (a typo): nothing is deleted, and it is named.
    let typo = "00000000-0000-0000-0000-000000000000";
    let out = facegate(&data, &["user", "forget", "Eileen", &forget[0], typo]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("forget with a typo: {said}");
    assert_eq!(code(&out), 2);
    assert!(
        said.contains(typo) && said.contains("nothing was deleted"),
        "{said}"
    );
    // Someone else's id: nothing deleted, and whose it is said, with their command (it said
    // only "not among"; journey s38 #10).
    assert_eq!(code(&facegate(&data, &["user", "add", "Bob"])), 0);
    let bobs = facegate(&data, &["capture", "Bob", s(&strangers.join("camera.png"))]);
    // The cameraman is among Eileen's images above: saved, with that warning.
    assert!(String::from_utf8_lossy(&bobs.stdout).contains("1 saved"));
    let shown = facegate(&data, &["user", "show", "Bob", "--json"]);
    let bob: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let bob = bob["images"][0]["id"].as_str().unwrap();
    let out = facegate(&data, &["user", "forget", "Eileen", bob]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("forget with Bob's id: {said}");
    assert_eq!(code(&out), 2);
    assert!(
        said.contains("nothing was deleted")
            && said.contains(&format!(
                "{bob} is Bob's image ({}{bob}`)",
                common::hint_at(&data, "user forget Bob ")
            )),
        "{said}"
    );
    // `negatives remove` with it says whose it is too (journey s42 #14).
    let out = facegate(&data, &["negatives", "remove", bob]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("negatives remove with Bob's id: {said}");
    assert_eq!(code(&out), 2);
    assert!(
        said.contains(&format!(
            "{bob} is not among the negatives; nothing was deleted"
        )) && said.contains(&format!("{bob} is Bob's image (")),
        "{said}"
    );
    // The two, one of them twice: each deleted once.
    let mut args = vec!["user", "forget", "Eileen"];
    args.extend(forget.iter().map(String::as_str));
    args.push(&forget[0]);
    let out = facegate(&data, &args);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let own = facegate(&data, &["verify", "Eileen", s(&photos.join("a.png"))]);
    assert_eq!(code(&own), 0, "{}", String::from_utf8_lossy(&own.stderr));
    // An id that is not hers is an error, not a silent success.
    let out = facegate(&data, &["user", "forget", "Eileen", &forget[0]]);
    assert_eq!(code(&out), 2);
}

/// One face captured under a second name is said to show the first person, who is enrolled
/// (it said nothing: each name then let the other in; journey review, session 30), and the
/// capture exits 1.
#[test]
fn capture_warns_when_a_face_is_already_enrolled_under_another_name() {
    let data = common::temp_dir("cli-verify-twice");
    let photos = astronaut_folder("cli-verify-twice-photos");
    for name in ["Eileen", "Bob"] {
        assert_eq!(code(&facegate(&data, &["user", "add", name])), 0);
    }
    assert_eq!(
        code(&facegate(&data, &["capture", "Eileen", s(&photos)])),
        0
    );
    let out = facegate(&data, &["capture", "Bob", s(&photos)]);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("measured: {}", err.trim());
    assert_eq!(code(&out), 1, "saved, with a warning");
    assert!(
        err.contains("shows Eileen, who is enrolled: if it is not Bob, delete it"),
        "{err}"
    );
    assert!(
        err.contains(&common::hint_at(&data, "user forget Bob ")),
        "{err}"
    );
}

/// With nobody enrolled, `identify` (in JSON too) and `capture` say what to do first (they said "nobody
/// enrolled passes verification" and "see `facegate user list`"; journey s35).
#[test]
fn an_empty_store_says_how_to_enrol() {
    let data = common::temp_dir("cli-empty-store");
    let photos = astronaut_folder("cli-empty-store-photos");
    let photo = first_photo(&photos);
    let out = facegate(&data, &["identify", s(&photo)]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 1, "{said}");
    assert!(
        said.contains(&format!(
            "nobody is enrolled yet ({}",
            common::hint_at(&data, "user add NAME`")
        )),
        "{said}"
    );
    // The JSON says so too (its empty ranking gave no reason; quick re-check s35).
    let out = facegate(&data, &["identify", s(&photo), "--json"]);
    assert_eq!(code(&out), 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("identify --json, nobody enrolled: {report}");
    assert_eq!(report["reason"], "nobody is enrolled yet", "{report}");
    assert_eq!(report["identity"], serde_json::Value::Null, "{report}");
    // Enrolled without a verification image: said so too (review s36 #14).
    assert_eq!(code(&facegate(&data, &["user", "add", "Zoe"])), 0);
    let out = facegate(&data, &["identify", s(&photo), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["reason"], "nobody enrolled has verification images yet",
        "{report}"
    );
    assert!(facegate(&data, &["user", "remove", "Zoe"]).status.success());
    let out = facegate(&data, &["capture", "Ada", s(&photo)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{said}");
    assert!(
        said.contains(&format!(
            "(is that the data folder you meant?) To add `Ada` as a new person: {}",
            common::hint_at(&data, "user add Ada`")
        )),
        "{said}"
    );
    // Two people without images: named as two.
    for name in ["Ada", "Bob"] {
        assert!(facegate(&data, &["user", "add", name]).status.success());
    }
    let out = facegate(&data, &["calibrate", "--far", "0.01", "--dry-run"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{said}");
    assert!(
        said.contains("Ada and Bob have no verification images yet"),
        "{said}"
    );
}

/// A name nobody has is answered with the enrolled one it may be a typo of, in every command
/// (`capture` offered to add the typo as a second person), and a store with nobody in it is
/// named (a mistyped `--data-dir` reads a new, empty one; journey s36 #4, #5).
#[test]
fn a_mistyped_name_is_met_with_the_one_meant() {
    let data = common::temp_dir("cli-typo");
    let photos = astronaut_folder("cli-typo-photos");
    let photo = first_photo(&photos);
    let out = facegate(&data, &["verify", "Eileen", s(&photo)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{said}");
    assert!(
        said.contains(&format!("note: nobody is enrolled in {}", data.display())),
        "{said}"
    );
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    for args in [
        vec!["verify", "eileen", s(&photo)],
        vec!["train", "Eilene"],
        vec!["user", "remove", "Eilen"],
    ] {
        let out = facegate(&data, &args);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {said}");
        assert!(
            said.contains("note: did you mean `Eileen`?"),
            "{args:?}: {said}"
        );
    }
    let out = facegate(&data, &["capture", "Eilen", s(&photo)]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{said}");
    assert!(
        said.contains("did you mean `Eileen`? To add `Eilen` as a new person: `facegate"),
        "{said}"
    );
    // Someone else entirely: no guess.
    let out = facegate(&data, &["verify", "Bob", s(&photo)]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("did you mean"));
    // A name that prints as the one typed is told apart by its letters (journey s37 #3).
    let out = facegate(&data, &["user", "add", "\u{430}lice"]);
    let warned = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 0, "{warned}");
    let out = facegate(&data, &["user", "show", "alice"]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("{said}");
    assert!(
        said.contains(
            "did you mean `\u{430}lice`, spelt with Cyrillic \u{430} U+0430 where you typed Latin a U+0061?"
        ),
        "{said}"
    );
    // A name typed decomposed (macOS file names, some input methods) is the one stored
    // composed (journey s37 #5: refused as `Rene\u{301}e`).
    assert_eq!(code(&facegate(&data, &["user", "add", "Rene\u{301}e"])), 0);
    for typed in ["Ren\u{e9}e", "Rene\u{301}e"] {
        let out = facegate(&data, &["user", "show", typed, "--json"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Composed, ज़ is ज and a nukta: a new name of it is taken (final read s37 #1: refused).
    assert_eq!(
        code(&facegate(&data, &["user", "add", "\u{958}\u{930}"])),
        0
    );
    assert_eq!(
        code(&facegate(&data, &["user", "show", "\u{958}\u{930}"])),
        0
    );
    assert!(data.join("users/Ren\u{e9}e").is_dir());
    // A name stored before in another form (ANGSTROM SIGN) stays reachable as spelt, and the
    // composed one typed is told which letter differs (review s37 #2).
    std::fs::create_dir(data.join("users/\u{212b}sa")).unwrap();
    assert_eq!(code(&facegate(&data, &["user", "show", "\u{212b}sa"])), 0);
    let out = facegate(&data, &["user", "show", "\u{c5}sa"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("spelt with Latin \u{212b} U+212B where you typed Latin \u{c5} U+00C5"),
        "{said}"
    );
}

/// `user show` lists a person's images with the ids `user forget` takes (they were printed
/// once, at capture, and never again; journey s36 #15), and `negatives list` the negatives'.
#[test]
fn a_persons_images_are_listed_with_their_ids() {
    let data = common::temp_dir("cli-show");
    let photos = astronaut_folder("cli-show-photos");
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    assert_eq!(
        code(&facegate(&data, &["capture", "Eileen", s(&photos)])),
        0
    );
    let out = facegate(&data, &["user", "show", "Eileen", "--json"]);
    assert_eq!(code(&out), 0);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = shown["images"].as_array().unwrap();
    println!("user show: {rows:?}");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["kind"] == "verification"));
    let sources: Vec<&str> = rows.iter().filter_map(|r| r["source"].as_str()).collect();
    assert!(sources.contains(&"a.png"), "{sources:?}");
    // An id from the listing is what `user forget` takes.
    let id = rows[0]["id"].as_str().unwrap();
    assert_eq!(code(&facegate(&data, &["user", "forget", "Eileen", id])), 0);
    let out = facegate(&data, &["user", "show", "Eileen"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.lines().count(), 2, "{said}");
    assert!(!said.contains(id), "{said}");
    let out = facegate(&data, &["negatives", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no negatives yet"));
}

/// Under `--json`, a refusal is a JSON report too (a reader got an empty stdout; journey s35).
#[test]
fn a_json_refusal_is_json() {
    let data = common::temp_dir("cli-json-refusal");
    let photos = astronaut_folder("cli-json-refusal-photos");
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    assert_eq!(
        code(&facegate(&data, &["capture", "Eileen", s(&photos)])),
        0
    );
    let coffee = common::fixture("coffee.png");
    let photo = first_photo(&photos);
    for args in [
        vec!["verify", "Eileen", s(&coffee), "--json"],
        vec!["identify", s(&coffee), "--json"],
        vec!["compare", s(&photo), s(&coffee), "--json"],
    ] {
        let out = facegate(&data, &args);
        assert_eq!(code(&out), 3, "{args:?}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        println!("{args:?}: {report}");
        assert_eq!(report["refused"], "no_face", "{report}");
        assert!(
            report["reason"].as_str().unwrap().contains("coffee.png"),
            "{report}"
        );
    }
}

/// A resized copy of a photo already stored is saved, with a note that it nearly copies that
/// one (it was saved without a word: journey s36), and exit 0: the person is who it shows.
/// Another photo of the same man is no copy. The copy's cosine is printed for the CI log.
#[test]
fn a_resized_copy_is_saved_with_a_note_and_another_photo_without() {
    let Some(shared) = common::shared_data("cli_verify near copies") else {
        return;
    };
    let examples = shared.join("face_recognition/examples");
    let data = common::temp_dir("cli-verify-near-copy");
    assert_eq!(code(&facegate(&data, &["user", "add", "Barack"])), 0);
    let first = examples.join("knn_examples/train/obama/obama.jpg");
    let out = facegate(&data, &["capture", "Barack", s(&first)]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let shown = facegate(&data, &["user", "show", "Barack", "--json"]);
    let images: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let original = images["images"][0]["id"].as_str().unwrap().to_owned();

    let copy = examples.join("obama-720p.jpg");
    let out = facegate(&data, &["capture", "Barack", s(&copy)]);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("measured: {}", err.trim());
    assert_eq!(code(&out), 0, "a copy is a note, not a doubt: {err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 saved"));
    let note = err
        .lines()
        .find(|l| l.contains(&format!("is nearly the same picture as image {original}")))
        .unwrap_or_else(|| panic!("no note about the copy: {err}"));
    assert!(
        note.contains("obama-720p.jpg")
            && note.contains(", stored before (cosine 0.9")
            && note.contains(&format!(
                "to delete it: {}",
                common::hint_at(&data, "user forget Barack ")
            )),
        "{note}"
    );

    // Among anchors, which train and do not vote, the note says only that it adds little.
    for photo in [&first, &copy] {
        let out = facegate(&data, &["capture", "Barack", "--kind", "anchor", s(photo)]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        let err = String::from_utf8_lossy(&out.stderr);
        if photo == &copy {
            println!("anchor copy: {}", err.trim());
            assert!(
                err.contains("it adds little; a new pose or light helps more")
                    && !err.contains("vote"),
                "{err}"
            );
        }
    }
    let other = examples.join("knn_examples/train/obama/obama2.jpg");
    let out = facegate(&data, &["capture", "Barack", s(&other)]);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("another photo: {}", err.trim());
    assert_eq!(code(&out), 0, "{err}");
    assert!(!err.contains("nearly the same picture"), "{err}");
}

/// A photo with a face far smaller than the person's beside it (someone in the background) is
/// judged on the person's, and verify, identify and lookalike say so: they passed over the
/// other face without a word (journey s36 #11). One face says nothing.
#[test]
fn a_small_second_face_is_passed_over_with_a_note() {
    let data = common::temp_dir("cli-verify-background-face");
    let photos = astronaut_folder("cli-verify-background-photos");
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    assert_eq!(
        code(&facegate(
            &data,
            &["capture", "Eileen", "--kind", "verification", s(&photos)]
        )),
        0
    );
    // The astronaut with a quarter-size copy of herself in the lower right corner.
    let astro = image::open(common::fixture("astronaut.png"))
        .unwrap()
        .to_rgb8();
    let small = image::imageops::resize(
        &astro,
        astro.width() / 4,
        astro.height() / 4,
        image::imageops::FilterType::Triangle,
    );
    let mut pair = astro.clone();
    let (x, y) = (
        astro.width() - small.width(),
        astro.height() - small.height(),
    );
    image::imageops::replace(&mut pair, &small, x.into(), y.into());
    let pair_path = common::temp_dir("cli-verify-background-pair").join("pair.png");
    pair.save(&pair_path).unwrap();

    let gallery = common::temp_dir("cli-verify-background-gallery");
    std::fs::create_dir_all(gallery.join("Eileen")).unwrap();
    std::fs::copy(photos.join("a.png"), gallery.join("Eileen/a.png")).unwrap();
    for args in [
        vec!["verify", "Eileen", s(&pair_path)],
        vec!["identify", s(&pair_path)],
        vec!["lookalike", s(&pair_path), "--gallery", s(&gallery)],
    ] {
        let out = facegate(&data, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        println!("{} → {}: {}", args[0], code(&out), err.trim());
        assert_eq!(code(&out), 0, "{err}");
        assert!(
            err.contains("pair.png has 2 faces;") && err.contains("the largest, at x "),
            "{err}"
        );
        // The box named is the astronaut's own, not her copy's a quarter its width.
        let width: f32 = err
            .rsplit_once(" (")
            .and_then(|(_, b)| b.split_once('×'))
            .and_then(|(w, _)| w.parse().ok())
            .unwrap_or_else(|| panic!("no box in {err}"));
        assert!(width > 60.0, "{err}");
    }
    // Not before a refusal: with nobody enrolled, or a gallery without folders, no face was
    // then judged (journey s39 #2).
    let empty = common::temp_dir("cli-verify-background-nobody");
    let empty_gallery = common::temp_dir("cli-verify-background-no-folders");
    for (data, args) in [
        (&empty, vec!["identify", s(&pair_path)]),
        (
            &data,
            vec!["lookalike", s(&pair_path), "--gallery", s(&empty_gallery)],
        ),
    ] {
        let out = facegate(data, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(code(&out), 0, "{err}");
        assert!(!err.contains("faces;"), "{err}");
    }
    let alone = facegate(
        &data,
        &["verify", "Eileen", s(&common::fixture("astronaut.png"))],
    );
    assert_eq!(code(&alone), 0);
    assert!(
        !String::from_utf8_lossy(&alone.stderr).contains("faces;"),
        "{}",
        String::from_utf8_lossy(&alone.stderr)
    );
}

/// `identify --json` carries what the text says beside the verdict: who else passes
/// (`caveat`) and who was left out, and why (`left_out`); it had neither (final read s41).
#[test]
fn identify_json_says_who_else_passes_and_who_was_left_out() {
    let data = common::temp_dir("cli-identify-json-extras");
    let photos = astronaut_folder("cli-identify-json-extras-photos");
    let astro = common::fixture("astronaut.png");
    for name in ["Eileen", "Twin"] {
        assert_eq!(code(&facegate(&data, &["user", "add", name])), 0);
        let out = facegate(&data, &["capture", name, s(&photos)]);
        println!(
            "capture {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let report = |data: &std::path::Path| {
        let out = facegate(data, &["identify", s(&astro), "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        println!("identify --json: {report}");
        (code(&out), report)
    };
    // One face enrolled under two names: both pass, the nearer is named, the other in the caveat.
    let (exit, both) = report(&data);
    assert_eq!(exit, 0);
    let named = both["identity"].as_str().unwrap();
    let other = if named == "Eileen" { "Twin" } else { "Eileen" };
    let caveat = both["caveat"].as_str().unwrap();
    assert!(
        caveat.starts_with(&format!("{other} (mean ")) && caveat.contains("passes too"),
        "{caveat}"
    );
    assert_eq!(both["left_out"], serde_json::json!([]));

    // The other locked out by five rejections: left out, with the lock, and no caveat.
    let camera = common::fixture("camera.png");
    for _ in 0..5 {
        facegate(&data, &["verify", other, s(&camera)]);
    }
    let (exit, one) = report(&data);
    assert_eq!(exit, 0);
    assert_eq!(one["identity"], named);
    assert!(one["caveat"].is_null(), "{one}");
    let left_out = one["left_out"].as_array().unwrap();
    assert_eq!(left_out.len(), 1, "{one}");
    assert_eq!(left_out[0]["name"], other);
    assert!(
        left_out[0]["reason"]
            .as_str()
            .unwrap()
            .contains("locked out"),
        "{one}"
    );
}

/// `user list` and `user show` check whose images show one person with the models; where they
/// cannot (no models, damaged settings), they list anyway and say what was not checked: they
/// passed over it in silence, as if everyone's images were fine (final read s41).
#[test]
fn listings_say_when_the_one_person_check_could_not_run() {
    let data = common::temp_dir("cli-list-unchecked");
    let photos = astronaut_folder("cli-list-unchecked-photos");
    assert_eq!(code(&facegate(&data, &["user", "add", "Eileen"])), 0);
    assert_eq!(
        code(&facegate(&data, &["capture", "Eileen", s(&photos)])),
        0
    );
    let listing = |args: &[&str], models: &std::path::Path| {
        let out = common::facegate_command()
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env(facegate::runtime::MODELS_ENV, models)
            .output()
            .unwrap();
        let (said, warned) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        println!("{args:?}:\n{said}{warned}");
        assert!(out.status.success(), "{warned}");
        assert!(said.contains("verification"), "listed anyway: {said}");
        warned
    };
    const NOTE: &str = "whether each person's verification images show one person is not checked";
    let models = common::models_dir();
    for args in [&["user", "list"][..], &["user", "show", "Eileen", "--json"]] {
        assert!(
            !listing(args, &models).contains(NOTE),
            "checked with models"
        );
    }
    let none = common::temp_dir("cli-list-unchecked-no-models");
    for args in [&["user", "list", "--json"][..], &["user", "show", "Eileen"]] {
        let warned = listing(args, &none);
        assert!(
            warned.contains(&format!("{NOTE} here: the models cannot be loaded")),
            "{warned}"
        );
    }
    std::fs::write(data.join("settings.toml"), "detection = \"high\"\n").unwrap();
    let warned = listing(&["user", "list"], &models);
    assert!(
        warned.contains(NOTE) && warned.contains("settings.toml"),
        "{warned}"
    );
}

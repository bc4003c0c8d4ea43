//! `facegate calibrate` on real faces: a threshold from the store's own genuine and impostor
//! comparisons, and what it says when the negatives hold the enrolled person's own photo (the
//! settings file was blamed for that, bad-input hunt of session 22). Needs ../shared/data.

mod common;

use common::s;
use facegate::store::Store;

/// deepface's id01 (four photos, in `own`) and the first photo of 30 LFW-a people (in
/// `negatives`), in a temporary folder; none without ../shared/data or the models.
fn id01_and_strangers(test: &str) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let shared = common::shared_data(test)?;
    common::models_or_skip(test)?;
    let photos = common::temp_dir(&format!("{test}-photos"));
    let (own, negatives) = (photos.join("own"), photos.join("negatives"));
    std::fs::create_dir_all(&own).unwrap();
    std::fs::create_dir_all(&negatives).unwrap();
    // deepface's id01, and the first photo of 30 LFW-a people as the negatives.
    let dataset = shared.join("deepface/tests/unit/dataset");
    for n in ["img1", "img2", "img4", "img5"] {
        std::fs::copy(
            dataset.join(format!("{n}.jpg")),
            own.join(format!("{n}.jpg")),
        )
        .unwrap();
    }
    let mut people: Vec<_> = std::fs::read_dir(shared.join("lfw_a/lfw"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    people.sort();
    for person in people.iter().take(30) {
        let mut files: Vec<_> = std::fs::read_dir(person).unwrap().flatten().collect();
        files.sort_by_key(std::fs::DirEntry::path);
        let first = files[0].path();
        std::fs::copy(&first, negatives.join(first.file_name().unwrap())).unwrap();
    }
    Some((own, negatives))
}

/// `facegate` on the store in `data`: its exit code, stdout and stderr (facegate_at prints the
/// command and what it said).
fn run(data: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = common::facegate_at(data, args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_persons_own_photo_among_the_negatives_is_named_not_the_settings() {
    let Some((own, negatives)) = id01_and_strangers("calibrate") else {
        return;
    };
    let data = common::temp_dir("calibrate");
    let run = |args: &[&str]| run(&data, args);
    run(&["user", "add", "id01"]);
    let (code, _, _) = run(&["capture", "id01", s(&own)]);
    assert_eq!(code, Some(0));
    let (code, _, err) = run(&["negatives", "add", s(&negatives)]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(!err.contains("warning"), "{err}");
    let (code, said, _) = run(&["calibrate", "id01", "--far", "0.001", "--dry-run"]);
    assert_eq!(code, Some(0));
    assert!(said.contains("detection threshold"), "{said}");

    // The person's own photo added as a negative: said at once, and calibration names it.
    let (_, _, warned) = run(&["negatives", "add", s(&own.join("img1.jpg"))]);
    assert!(warned.contains("shows id01, who is enrolled"), "{warned}");
    let settings = std::fs::read(data.join("settings.toml")).ok();
    // At a strict target (the threshold would have been 1.000) and a loose one (it was 0.73
    // with half the person's own pairs refused): refused, the negative named, nothing saved.
    for far in ["0.001", "0.01"] {
        let (code, _, err) = run(&["calibrate", "id01", "--far", far]);
        assert_eq!(code, Some(2));
        assert!(
            err.contains("not calibrated: negative ") && err.contains(" shows id01"),
            "{err}"
        );
        // The command that removes it, with its id: pasteable as it is.
        assert!(
            err.contains(&format!("({}", common::hint_at(&data, "negatives remove ")))
                && !err.contains("remove ID"),
            "{err}"
        );
        assert!(!err.contains("corrupt"), "{err}");
    }
    assert_eq!(
        std::fs::read(data.join("settings.toml")).ok(),
        settings,
        "nothing saved"
    );
    // The warning named the negative's id: removed by it, calibration works again.
    let at = warned.find("saved as negative ").expect("the id is named") + 18;
    let id = &warned[at..at + 36];
    let (code, said, _) = run(&["negatives", "remove", id]);
    assert_eq!(code, Some(0));
    assert!(said.contains(&format!("removed negative {id}")), "{said}");
    let (code, said, _) = run(&["calibrate", "id01", "--far", "0.001", "--dry-run"]);
    assert_eq!(code, Some(0));
    assert!(said.contains("detection threshold 0.363"), "{said}");
    // An id that is not a stored negative is an error, not a silent success.
    let (code, _, err) = run(&["negatives", "remove", id]);
    assert_eq!(code, Some(2), "{err}");

    // A damaged settings file: refused, as a verification is, and the file kept as it was
    // (calibration saved the defaults standing in for its damaged values, a share meant to be
    // 0.9 as 0.6; design review s32 D5).
    let damaged = b"verification_threshold = \"0.9\"\n";
    std::fs::write(data.join("settings.toml"), damaged).unwrap();
    let (code, _, err) = run(&["calibrate", "id01", "--far", "0.001"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("while the settings are damaged"), "{err}");
    assert_eq!(std::fs::read(data.join("settings.toml")).unwrap(), damaged);
    // The way out it names that needs no window (journey s37 #6): the damaged file is kept
    // aside, and calibration runs again.
    assert!(
        err.contains(
            "calibrate --default`, which also puts the model's default detection threshold back"
        ),
        "{err}"
    );
    let (code, said, err) = run(&["calibrate", "--default"]);
    assert_eq!(code, Some(0), "{said}{err}");
    assert_eq!(
        std::fs::read(data.join(facegate::store::SETTINGS_BACKUP)).unwrap(),
        damaged
    );
    let (code, said, _) = run(&["calibrate", "id01", "--far", "0.001", "--dry-run"]);
    assert_eq!(code, Some(0), "{said}");
}

/// Strangers who look like the person are the impostors calibration needs most, not the
/// person's own photos: three LFW-a actresses verify as deepface's id01 (img6, img7, img10) at
/// the desk's default threshold. They were called "id01" and calibration refused to run until
/// they were removed, after which it chose a threshold below their scores (journey review,
/// session 28). Now they stay, and calibration sets the threshold above them.
#[test]
fn strangers_who_look_like_the_person_raise_the_calibrated_threshold() {
    let Some((_, negatives)) = id01_and_strangers("lookalike-negatives") else {
        return;
    };
    let shared = common::shared_data("lookalike-negatives").unwrap();
    let own = negatives.with_file_name("own-6-7-10");
    std::fs::create_dir_all(&own).unwrap();
    for n in ["img6", "img7", "img10"] {
        let from = shared.join(format!("deepface/tests/unit/dataset/{n}.jpg"));
        std::fs::copy(from, own.join(format!("{n}.jpg"))).unwrap();
    }
    let lookalikes = ["Diane_Lane", "Eliza_Dushku", "Leticia_Dolera"];
    for who in lookalikes {
        let name = format!("{who}_0001.jpg");
        let from = shared.join("lfw_a/lfw").join(who).join(&name);
        std::fs::copy(from, negatives.join(&name)).unwrap();
    }
    let data = common::temp_dir("lookalike-negatives");
    let run = |args: &[&str]| run(&data, args);
    run(&["user", "add", "id01"]);
    assert_eq!(run(&["capture", "id01", s(&own)]).0, Some(0));
    let (_, _, warned) = run(&["negatives", "add", s(&negatives)]);
    assert!(!warned.contains("shows id01"), "{warned}");
    // Each of them passes as id01 at the default threshold: the best score of each.
    let mut best = 0.0f32;
    for who in lookalikes {
        let photo = negatives.join(format!("{who}_0001.jpg"));
        let (code, said, _) = run(&["verify", "id01", s(&photo), "--json"]);
        let report: serde_json::Value = serde_json::from_str(&said).unwrap();
        let score = report["verification"]["best"].as_f64().unwrap() as f32;
        println!("{who} as id01 at the default threshold: exit {code:?}, best {score:.3}");
        assert_eq!(code, Some(0), "{who} looks like id01");
        best = best.max(score);
    }
    // Saved for someone else, such a face is said to show id01, since Verify takes it for her
    // (checked at face unlock's 0.44, it was saved for "bob" without a word, and then let in
    // as both; design review s32 D1).
    run(&["user", "add", "bob"]);
    let photo = negatives.join("Diane_Lane_0001.jpg");
    let (code, _, warned) = run(&["capture", "bob", s(&photo)]);
    assert_eq!(code, Some(1), "{warned}");
    assert!(warned.contains("shows id01, who is enrolled"), "{warned}");
    let (code, said, err) = run(&["calibrate", "id01", "--far", "0.01"]);
    assert_eq!(code, Some(0), "{err}");
    let threshold = Store::open(&data).unwrap().settings().detection_threshold;
    println!("calibrated: {threshold:.4}, above the look-alikes' best {best:.4}\n{said}");
    assert!(threshold >= best, "{threshold} lets a look-alike in");
    for who in lookalikes {
        let photo = negatives.join(format!("{who}_0001.jpg"));
        assert_eq!(
            run(&["verify", "id01", s(&photo)]).0,
            Some(1),
            "{who} is refused once calibrated"
        );
    }
}

/// The other order: a photo went in as a stranger's before its person was enrolled. Enrolling
/// them says so at once (calibration would refuse), naming the negative to remove.
#[test]
fn enrolling_someone_whose_photo_is_a_negative_says_so_at_once() {
    let Some((own, negatives)) = id01_and_strangers("enrol-after-negatives") else {
        return;
    };
    std::fs::rename(own.join("img1.jpg"), negatives.join("img1.jpg")).unwrap();
    let data = common::temp_dir("enrol-after-negatives");
    let run = |args: &[&str]| run(&data, args);
    let (code, _, err) = run(&["negatives", "add", s(&negatives)]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    run(&["user", "add", "id01"]);
    // Negatives, but none of her images yet: that is what calibration lacks (it said to import
    // negatives).
    let (code, _, err) = run(&["calibrate", "--far", "0.01", "--dry-run"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("id01 has no verification images yet"), "{err}");
    let (code, said, warned) = run(&["capture", "id01", s(&own)]);
    assert_eq!(code, Some(0), "{said}");
    let at = warned
        .find("warning: negative ")
        .expect("the negative is named")
        + 18;
    let id = &warned[at..at + 36];
    assert!(warned[at..].contains("shows id01"), "{warned}");
    let (code, _, err) = run(&["calibrate", "id01", "--far", "0.01", "--dry-run"]);
    assert_eq!(code, Some(2), "calibration refuses until it is removed");
    assert!(err.contains(id), "{err}");
    run(&["negatives", "remove", id]);
    let (_, _, warned) = run(&["capture", "id01", s(&own.join("img2.jpg"))]);
    assert!(!warned.contains("negative"), "{warned}");
}

/// A strict detection threshold (calibrated, or set by hand for unlocking) decides matches, not
/// whether two of the person's own photos show one person: at 0.75, id01's img1 scores 0.68 to
/// 0.73 against her other three as stored, and adding it warned "matches none of id01's other images …
/// delete it" (review, session 24). It is the model's question, asked at its own threshold.
#[test]
fn a_strict_threshold_does_not_call_the_persons_own_photo_a_stranger() {
    let Some((own, _)) = id01_and_strangers("strict-threshold") else {
        return;
    };
    let data = common::temp_dir("strict-threshold");
    let run = |args: &[&str]| run(&data, args);
    run(&["user", "add", "id01"]);
    let first = own.join("first");
    std::fs::create_dir_all(&first).unwrap();
    for n in ["img2", "img4", "img5"] {
        std::fs::rename(own.join(format!("{n}.jpg")), first.join(format!("{n}.jpg"))).unwrap();
    }
    assert_eq!(run(&["capture", "id01", s(&first)]).0, Some(0));
    std::fs::write(data.join("settings.toml"), "detection_threshold = 0.75\n").unwrap();
    let (code, said, _) = run(&[
        "compare",
        s(&own.join("img1.jpg")),
        s(&first.join("img2.jpg")),
    ]);
    assert_eq!(code, Some(1), "below the strict threshold: {said}");
    let (code, _, warned) = run(&["capture", "id01", s(&own.join("img1.jpg"))]);
    assert_eq!(code, Some(0));
    assert!(!warned.contains("warning"), "{warned}");
}

/// A threshold from a few hundred comparisons says how far its FAR may be off, keeps the
/// model's default when a lower one saves none of the person's pairs (and says so), and
/// `--default` puts the default back (it said "FAR 0.62 %" for 1 in 162, and had no way back;
/// journey s35).
#[test]
fn a_calibration_says_its_bound_and_the_default_comes_back() {
    let Some((own, negatives)) = id01_and_strangers("calibrate-bound") else {
        return;
    };
    let data = common::temp_dir("calibrate-bound");
    let run = |args: &[&str]| run(&data, args);
    run(&["user", "add", "id01"]);
    assert_eq!(run(&["capture", "id01", s(&own)]).0, Some(0));
    assert!(matches!(
        run(&["negatives", "add", s(&negatives)]).0,
        Some(0 | 1)
    ));
    // Someone enrolled with no image yet is not said to be compared (journey s40 #18).
    run(&["user", "add", "Zoë"]);
    let (code, said, _) = run(&["calibrate", "--far", "0.01"]);
    println!("{said}");
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("by sface, on the images of id01\n"), "{said}");
    let threshold = |said: &str| -> f32 {
        said.split("detection threshold ").nth(1).unwrap()[..5]
            .parse()
            .unwrap()
    };
    let calibrated = threshold(&said);
    assert!(said.contains("at 95 % confidence"), "{said}");
    // 0 of about a hundred impostors: the FAR may be up to about 3 %, well over the 1 % asked.
    assert!(
        said.contains("impostor comparisons passed: at 95 % confidence the FAR may be up to")
            && said.contains("well over the target"),
        "{said}"
    );
    // id01's own pairs all pass at the default: a lower threshold would let in impostors for
    // no rejection saved, so the default stays, and says why (journey s36 #13).
    assert_eq!(calibrated, 0.363, "{said}");
    assert!(said.contains("FRR 0.00 %"), "{said}");
    assert!(
        said.contains(
            "sface's default is kept: a lower threshold meeting the target would reject no fewer genuine pairs"
        ),
        "{said}"
    );
    let (code, said, _) = run(&["calibrate", "--default"]);
    println!("{said}");
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "detection threshold 0.363 (sface's default; was {calibrated:.3})"
        )),
        "{said}"
    );
    let settings = std::fs::read_to_string(data.join("settings.toml")).unwrap();
    assert!(
        settings.contains("detection_threshold = 0.363"),
        "{settings}"
    );
    // Under --json, what the text says around the figures: its notes, whether it was saved
    // and over what, whose images and which model (journey s38 #5: a script saw none of it).
    for (dry, saved) in [(true, false), (false, true)] {
        let mut args = vec!["calibrate", "--far", "0.01", "--json"];
        if dry {
            args.push("--dry-run");
        }
        let (code, said, _) = run(&args);
        println!("{said}");
        assert_eq!(code, Some(0), "{said}");
        let report: serde_json::Value = serde_json::from_str(&said).unwrap();
        assert_eq!(report["saved"], saved, "{report}");
        assert_eq!(report["model"], "sface", "{report}");
        assert_eq!(report["people"], serde_json::json!(["id01"]), "{report}");
        assert_eq!(report["previous"], serde_json::json!(0.363), "{report}");
        let notes = report["notes"].as_array().unwrap();
        assert!(
            notes
                .iter()
                .any(|n| n.as_str().unwrap().contains("well over the target")),
            "{report}"
        );
    }
}

/// One photo enrolled under two people stops a calibration, which names both images and the
/// command that deletes either: it said only that "the same photo is among two enrolled
/// people's images", and left the user to find which (journey s41 #7).
#[test]
fn one_photo_under_two_people_is_named_with_both_ids() {
    let Some(shared) = common::shared_data("calibrate same photo") else {
        return;
    };
    if common::models_or_skip("calibrate same photo").is_none() {
        return;
    }
    let data = common::temp_dir("calibrate-same-photo");
    let dataset = shared.join("deepface/tests/unit/dataset");
    let photo = |n: &str| dataset.join(n).to_str().unwrap().to_owned();
    run(&data, &["user", "add", "angie"]);
    run(&data, &["user", "add", "hostile"]);
    let (img1, img2, img4) = (photo("img1.jpg"), photo("img2.jpg"), photo("img4.jpg"));
    run(&data, &["capture", "angie", &img1, &img2, &img4]);
    run(&data, &["capture", "hostile", &img2]);
    let id_of = |name: &str| {
        let (_, out, _) = run(&data, &["user", "show", name, "--json"]);
        let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
        shown["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["source"] == "img2.jpg")
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let (angies, hostiles) = (id_of("angie"), id_of("hostile"));
    let (code, _, err) = run(&data, &["calibrate", "--far", "0.1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "angie's image {angies} and hostile's image {hostiles} are one photo"
        )) && err.contains(&format!("user forget hostile {hostiles}`")),
        "{err}"
    );
}

/// Each pair of photos of two enrolled people is one impostor comparison: counted from both
/// people's side, one photo of each gave "2 impostor comparisons" and a bound on n = 2, and a
/// store of six people counted 284 pairs as 568 (journey s42 #3).
#[test]
fn a_pair_of_two_peoples_photos_is_counted_once() {
    let Some(_) = common::models_or_skip("calibrate-pairs-once") else {
        return;
    };
    let data = common::temp_dir("calibrate-pairs-once");
    let photos = common::temp_dir("calibrate-pairs-once-photos");
    let him = photos.join("cameraman.png");
    image::open(common::fixture("camera.png"))
        .unwrap()
        .crop_imm(125, 60, 200, 200)
        .resize(600, 600, image::imageops::FilterType::Triangle)
        .save(&him)
        .unwrap();
    let mirrored = photos.join("cameraman-mirrored.png");
    image::open(&him).unwrap().fliph().save(&mirrored).unwrap();
    let astro = common::fixture("astronaut.png");
    for (name, photo) in [("Ren\u{e9}e", &astro), ("b", &him)] {
        run(&data, &["user", "add", name]);
        assert_eq!(run(&data, &["capture", name, s(photo)]).0, Some(0));
    }
    let counted = |args: &[&str]| {
        let (_, said, err) = run(&data, args);
        println!("{args:?}: {said}{err}");
        said.lines()
            .find(|l| l.contains("impostor comparisons"))
            .unwrap_or_else(|| panic!("no count: {said}{err}"))
            .to_owned()
    };
    let all = ["calibrate", "--dry-run", "--far", "0.5"];
    assert!(
        counted(&all).starts_with("0 genuine and 1 impostor comparisons"),
        "one photo of each"
    );
    assert_eq!(run(&data, &["capture", "b", s(&mirrored)]).0, Some(0));
    assert!(counted(&all).starts_with("1 genuine and 2 impostor comparisons"));
    // One person named: their photos against everyone else's, each pair once too; typed
    // decomposed, her own photo is not counted as someone else's (final read s42 #1).
    let named = ["calibrate", "--dry-run", "--far", "0.5", "Rene\u{301}e"];
    assert!(counted(&named).starts_with("0 genuine and 2 impostor comparisons"));
}

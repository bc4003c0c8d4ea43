//! One rule for comparing two faces (issue 17): `facegate compare` judges as the window's
//! Compare does (`Engine::compare_faces`): the saved detection threshold, or a person's trained
//! head in use with `--person`, and says which. And `verify` refuses two faces in its own words.

mod common;

use std::path::PathBuf;

use common::s;
use facegate::store::{Gallery, ImageKind, Store};
use facegate::train;
use facegate::vision::EmbedderKind;

fn dataset() -> Option<PathBuf> {
    common::models_or_skip("compare rule")?;
    Some(common::shared_data("compare rule")?.join("deepface/tests/unit/dataset"))
}

#[test]
fn compare_uses_the_saved_threshold_and_says_so() {
    let Some(ds) = dataset() else {
        return;
    };
    let data = common::temp_dir("compare-rule");
    let (a, b) = (ds.join("img1.jpg"), ds.join("img2.jpg"));
    let out = common::facegate_at(&data, &["compare", s(&a), s(&b)]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cosine > 0.363 (the saved detection threshold, sface's default)"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &common::facegate_at(&data, &["compare", "--json", s(&a), s(&b)]).stdout,
    )
    .unwrap();
    let similarity = json["similarity"].as_f64().unwrap();
    println!("img1 vs img2 (same person): {similarity:.3}");
    // img1 too dark to judge: refused as verify refuses it, not judged "same person" (review
    // s37 #4).
    let dark = data.join("dark.png");
    let mut img = image::open(&a).unwrap().to_rgb8();
    img.pixels_mut().for_each(|p| p.0 = p.0.map(|c| c / 16));
    img.save(&dark).unwrap();
    let out = common::facegate_at(&data, &["compare", "--json", s(&dark), s(&b)]);
    let said = String::from_utf8_lossy(&out.stdout);
    println!("dark img1 vs img2: {said}");
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains(r#""refused":"too_dark""#), "{said}");

    // The user moves the slider above this pair's similarity: compare follows, as the window.
    let store = Store::open(&data).unwrap();
    let mut settings = store.settings();
    settings.detection_threshold = (similarity as f32 + 0.02).min(1.0);
    store.save_settings(&settings).unwrap();
    let out = common::facegate_at(&data, &["compare", "--json", s(&a), s(&b)]);
    assert_eq!(out.status.code(), Some(1), "now below the saved threshold");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rule"]["source"], "settings");
    assert_eq!(json["rule"]["scorer"], "cosine");
    assert!(
        (json["threshold"].as_f64().unwrap() - f64::from(settings.detection_threshold)).abs()
            < 1e-6
    );
    let out = common::facegate_at(&data, &["compare", s(&a), s(&b)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the saved detection threshold, sface's default is 0.363"),
        "{text}"
    );
    // Another model than the saved one: its own default, said so.
    let out = common::facegate_at(&data, &["compare", "--model", "mbf", s(&a), s(&b)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("mbf's default; the saved threshold belongs to the saved model")
    );
}

#[test]
fn compare_for_a_person_uses_their_head_in_use() {
    let Some(ds) = dataset() else {
        return;
    };
    let data = common::temp_dir("compare-head");
    let id01 = [
        "img1.jpg",
        "img2.jpg",
        "img4.jpg",
        "img5.jpg",
        "img6.jpg",
        "img7.jpg",
        "img10.jpg",
        "img11.jpg",
    ];
    let others = ["img3.jpg", "img8.jpg", "img9.jpg", "img12.jpg", "img13.jpg"];
    let path = |n: &str| ds.join(n).to_str().unwrap().to_owned();
    common::facegate_at(&data, &["user", "add", "id01"]);
    let anchors: Vec<String> = id01[..4].iter().map(|n| path(n)).collect();
    let positives: Vec<String> = id01[4..].iter().map(|n| path(n)).collect();
    let negatives = common::temp_dir("compare-head-negatives");
    for n in others {
        std::fs::copy(ds.join(n), negatives.join(n)).unwrap();
    }
    for (kind, files) in [("anchor", &anchors), ("positive", &positives)] {
        let mut args = vec!["capture", "id01", "--kind", kind];
        args.extend(files.iter().map(String::as_str));
        common::facegate_at(&data, &args);
    }
    common::facegate_at(&data, &["negatives", "add", s(&negatives)]);
    assert_eq!(
        common::facegate_at(&data, &["train", "id01"]).status.code(),
        Some(0)
    );
    // Whatever training decided, put the head in use so the rule must pick it.
    let store = Store::open(&data).unwrap();
    let mut saved = train::load_head(&store, "id01", EmbedderKind::Sface)
        .unwrap()
        .expect("trained");
    saved.in_use = true;
    train::save_head(&store, "id01", &saved).unwrap();
    assert!(
        store
            .faces(&Gallery::Person {
                name: "id01".into(),
                kind: ImageKind::Anchor
            })
            .unwrap()
            .len()
            >= 3
    );

    let (a, b) = (path("img1.jpg"), path("img2.jpg"));
    let out = common::facegate_at(&data, &["compare", "--json", "--person", "id01", &a, &b]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rule"]["scorer"], "head");
    assert_eq!(json["rule"]["source"], "head");
    assert_eq!(json["threshold"], 0.5);
    let p = json["score"].as_f64().unwrap();
    println!(
        "id01's head on img1 vs img2: probability {p:.3}, cosine {}",
        json["similarity"]
    );
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(out.status.code(), Some(if p > 0.5 { 0 } else { 1 }));
    let text = String::from_utf8_lossy(
        &common::facegate_at(&data, &["compare", "--person", "id01", &a, &b]).stdout,
    )
    .into_owned();
    assert!(
        text.contains("id01's trained head, probability > 0.5"),
        "{text}"
    );
    // Without --person (two strangers' photos): cosine at the saved threshold.
    let out = common::facegate_at(&data, &["compare", "--json", &a, &b]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rule"]["scorer"], "cosine");
    // Their head taken out of use: cosine at the saved threshold, and the line says why,
    // not as if --person had not been given (journey s37 #13).
    saved.in_use = false;
    train::save_head(&store, "id01", &saved).unwrap();
    let out = common::facegate_at(&data, &["compare", "--person", "id01", &a, &b]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("sface's default; id01 has no trained head in use)"),
        "{text}"
    );
    // Someone not enrolled: an error, not a silent cosine.
    let out = common::facegate_at(&data, &["compare", "--person", "Nobody", &a, &b]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_with_two_faces_says_so_in_verification_terms() {
    let Some(ds) = dataset() else {
        return;
    };
    let data = common::temp_dir("verify-two-faces");
    common::facegate_at(&data, &["user", "add", "id01"]);
    common::facegate_at(
        &data,
        &[
            "capture",
            "id01",
            s(&ds.join("img1.jpg")),
            s(&ds.join("img2.jpg")),
        ],
    );
    let out = common::facegate_at(&data, &["verify", "id01", s(&ds.join("couple.jpg"))]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "couple.jpg has 2 faces, none clearly nearest the camera: verify needs one person \
             (another face"
        ),
        "{err}"
    );
    assert!(
        !err.contains("enrolling"),
        "not the enrolment wording: {err}"
    );
    let out = common::facegate_at(&data, &["identify", s(&ds.join("couple.jpg"))]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("identify needs one person"));
    // A group photo: all its faces, and how many are about as large as the largest (it said
    // "five faces" of a photo `detect` finds seven in; journey s39 #3).
    let group = ds.join("../../../../dlib/examples/faces/2007_007763.jpg");
    let out = common::facegate_at(&data, &["identify", s(&group)]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("has 7 faces, 5 of them about as large as the largest: identify needs one"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And capture, whose gate counts a face half the largest's size as a second person: all
    // of them too, not only those (it said "4 faces" of a photo verify said had 6; journey s41
    // #3).
    let selfie = ds.join("selfie-many-people.jpg");
    let out = common::facegate_at(&data, &["capture", "id01", s(&selfie)]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("6 faces, 4 of them about as large as the largest"),
        "{said}"
    );
    // compare takes a face by the same rule: it gave "same person" on one of the two, taken
    // by box size (journey s39 #5).
    let out = common::facegate_at(
        &data,
        &[
            "compare",
            s(&ds.join("couple.jpg")),
            s(&ds.join("img1.jpg")),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "couple.jpg has 2 faces, none clearly nearest the camera: compare needs one person"
    ));
    // Nor is such a photo a look-alike's candidate: skipped and named (it won the match).
    let gallery = common::temp_dir("lookalike-two-faces");
    for (who, photo) in [("pair", "couple.jpg"), ("single", "img2.jpg")] {
        std::fs::create_dir_all(gallery.join(who)).unwrap();
        std::fs::copy(ds.join(photo), gallery.join(who).join(photo)).unwrap();
    }
    let out = common::facegate_at(
        &data,
        &[
            "lookalike",
            s(&ds.join("img1.jpg")),
            "--gallery",
            s(&gallery),
            "--json",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("couple.jpg has 2 faces, none clearly nearest"),
        "{err}"
    );
    let ranking: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ranking.as_array().unwrap().len(), 1, "{ranking}");
    assert_eq!(ranking[0]["identity"], "single");
}

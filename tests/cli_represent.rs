//! `facegate represent`: each face's box, landmarks and embedding, on deepface's real photos
//! (../shared/data, skipped with a notice where absent) and on broken input.

mod common;

use std::path::{Path, PathBuf};

use common::s;
use serde_json::Value;

fn dataset() -> Option<PathBuf> {
    common::models_or_skip("represent")?;
    Some(common::shared_data("represent")?.join("deepface/tests/unit/dataset"))
}

fn embedding(image: &Value, face: usize) -> Vec<f64> {
    image["faces"][face]["embedding"]
        .as_array()
        .expect("an embedding")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn represent_json(data: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["represent", "--json"];
    all.extend_from_slice(args);
    let out = common::facegate_at(data, &all);
    let json = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    (out.status.code(), json)
}

#[test]
fn same_person_is_closer_than_different_people() {
    let Some(ds) = dataset() else {
        return;
    };
    let data = common::temp_dir("represent-real");
    // img1, img2, img4: deepface's id01; img3: id02; img5 id01 again.
    let names = ["img1.jpg", "img2.jpg", "img4.jpg", "img3.jpg"];
    let paths: Vec<PathBuf> = names.iter().map(|n| ds.join(n)).collect();
    let args: Vec<&str> = paths.iter().map(|p| s(p)).collect();
    // A photo without a face still names its model's dimension (it said 0; journey s37 #12).
    let coffee = common::fixture("coffee.png");
    let (_, json) = represent_json(&data, &["--model", "mbf", s(&coffee)]);
    assert_eq!(json[0]["dim"], 512, "{json}");
    assert_eq!(json[0]["faces"].as_array().map(Vec::len), Some(0));
    for (model, dim, threshold) in [("sface", 128, 0.363), ("mbf", 512, 0.30)] {
        let mut with_model = vec!["--model", model];
        with_model.extend_from_slice(&args);
        let (code, json) = represent_json(&data, &with_model);
        assert_eq!(code, Some(0));
        let images = json.as_array().unwrap();
        assert_eq!(images.len(), 4);
        let mut e = Vec::new();
        for image in images {
            assert_eq!(image["model"], model);
            assert_eq!(image["dim"], dim);
            let faces = image["faces"].as_array().unwrap();
            assert_eq!(faces.len(), 1, "{}", image["path"]);
            let face = &faces[0];
            assert!(face["box"]["w"].as_f64().unwrap() > 50.0);
            assert_eq!(face["landmarks"].as_array().unwrap().len(), 5);
            let v = embedding(image, 0);
            assert_eq!(v.len(), dim);
            assert!((dot(&v, &v) - 1.0).abs() < 1e-4, "L2-normalised");
            e.push(v);
        }
        let same = [dot(&e[0], &e[1]), dot(&e[0], &e[2]), dot(&e[1], &e[2])];
        let different = [dot(&e[0], &e[3]), dot(&e[1], &e[3]), dot(&e[2], &e[3])];
        println!(
            "represent {model}: same person (id01 pairs) {same:.3?}, different (id01 vs id02) {different:.3?}"
        );
        let lowest_same = same.iter().copied().fold(f64::MAX, f64::min);
        let highest_different = different.iter().copied().fold(f64::MIN, f64::max);
        assert!(
            lowest_same > highest_different,
            "every same-person pair is closer than every different pair"
        );
        assert!(lowest_same > threshold && highest_different < threshold);

        // `compare` says the same: its similarity is the cosine of these two embeddings.
        let out = common::facegate_at(
            &data,
            &["compare", "--json", "--model", model, args[0], args[3]],
        );
        let c: Value = serde_json::from_slice(&out.stdout).unwrap();
        let similarity = c["similarity"].as_f64().unwrap();
        assert!(
            (similarity - different[0]).abs() < 1e-4,
            "{similarity} vs {}",
            different[0]
        );
    }

    // Several faces: each one is represented, largest first as detected.
    let (code, json) = represent_json(&data, &[s(&ds.join("couple.jpg"))]);
    assert_eq!(code, Some(0));
    let faces = json[0]["faces"].as_array().unwrap().len();
    println!("couple.jpg: {faces} faces");
    assert!(faces >= 2);
    let (a, b) = (embedding(&json[0], 0), embedding(&json[0], 1));
    assert!(dot(&a, &b) < 0.363, "two different people");
}

#[test]
fn bad_images_get_their_own_error_and_exit_2() {
    common::models_or_skip("represent errors");
    let data = common::temp_dir("represent-bad");
    let files = common::temp_dir("represent-bad-files");
    let corrupt = files.join("corrupt.jpg");
    // A JPEG header followed by garbage: looks like a photo, decodes to nothing.
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
    bytes.extend(std::iter::repeat_n(0x5A, 500));
    std::fs::write(&corrupt, bytes).unwrap();
    let astro = common::fixture("astronaut.png");
    let missing = files.join("missing.png");
    let (code, json) = represent_json(&data, &[s(&astro), s(&corrupt), s(&missing)]);
    assert_eq!(code, Some(2));
    let images = json.as_array().unwrap();
    assert_eq!(images[0]["faces"].as_array().unwrap().len(), 1);
    assert!(images[0].get("error").is_none());
    for bad in &images[1..] {
        assert!(bad["faces"].as_array().unwrap().is_empty());
        let error = bad["error"].as_str().expect("an error per bad image");
        println!("{}: {error}", bad["path"]);
        assert!(error.contains(bad["path"].as_str().unwrap()), "{error}");
    }
    // In text mode each bad image is named on stderr, the good one still printed.
    let out = common::facegate_at(&data, &["represent", s(&corrupt), s(&astro)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corrupt.jpg") && err.contains("error"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 face (sface, 128-d)") && text.contains("embedding"),
        "{text}"
    );
    // No face is not an error but says so: exit 3.
    let out = common::facegate_at(&data, &["represent", s(&common::fixture("coffee.png"))]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no face found"));
}

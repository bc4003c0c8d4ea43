//! The detect → align → embed chain on the sample photos `make setup` fetches (no ../shared).

mod common;

use std::path::Path;

use facegate::imageio;
use facegate::pipeline::{FacePipeline, PipelineOptions};
use facegate::vision::EmbedderKind;
use image::imageops;

fn pipeline(kind: EmbedderKind) -> FacePipeline {
    let options = PipelineOptions {
        embedder: kind,
        ..PipelineOptions::default()
    };
    FacePipeline::new(&common::models(), options).unwrap()
}

#[test]
fn astronaut_has_one_face_with_sane_landmarks() {
    let img = imageio::load(&common::fixture("astronaut.png")).unwrap();
    let faces = pipeline(EmbedderKind::Sface).detect(&img).unwrap();
    println!("astronaut: {faces:?}");
    assert_eq!(faces.len(), 1);
    let f = &faces[0];
    assert!(f.score > 0.9, "score {}", f.score);
    let b = f.bbox;
    for [x, y] in f.landmarks {
        assert!(
            x > b.x && x < b.x + b.w && y > b.y && y < b.y + b.h,
            "landmark outside the box"
        );
    }
    let [le, re, nose, lm, rm] = f.landmarks;
    assert!(le[0] < re[0] && lm[0] < rm[0], "left/right swapped");
    assert!(
        nose[1] > le[1] && lm[1] > nose[1],
        "eyes above nose above mouth"
    );
    // The astronaut's face is ~100 px wide in a 512 px photo.
    assert!((60.0..200.0).contains(&b.w), "box width {}", b.w);
}

#[test]
fn no_faces_in_a_cup_of_coffee_or_a_cat() {
    let mut p = pipeline(EmbedderKind::Sface);
    for name in ["coffee.png", "chelsea.png"] {
        let img = imageio::load(&common::fixture(name)).unwrap();
        let faces = p.detect(&img).unwrap();
        println!("{name}: {} faces", faces.len());
        assert!(faces.is_empty(), "{name}: {faces:?}");
    }
}

/// A face stays itself when mirrored, darkened to 60 % or halved in size, and is not the
/// cameraman; with both embedders.
#[test]
fn embeddings_are_invariant_to_mirror_brightness_and_scale() {
    let astro = imageio::load(&common::fixture("astronaut.png")).unwrap();
    let camera = imageio::load(&common::fixture("camera.png")).unwrap();
    let mirrored = imageops::flip_horizontal(&astro);
    let mut darker = astro.clone();
    darker
        .pixels_mut()
        .for_each(|p| p.0 = p.0.map(|v| (v as f32 * 0.6) as u8));
    let half = imageops::resize(&astro, 256, 256, imageops::FilterType::Triangle);
    for kind in [EmbedderKind::Sface, EmbedderKind::Mbf] {
        let mut p = pipeline(kind);
        let thr = kind.default_threshold();
        let base = p.probe(&astro, Path::new("astronaut")).unwrap().embedding;
        for (name, img) in [
            ("mirror", &mirrored),
            ("brightness x0.6", &darker),
            ("scale x0.5", &half),
        ] {
            let sim = base.cosine(&p.probe(img, Path::new(name)).unwrap().embedding);
            println!("{kind}: astronaut vs {name}: {sim:.3} (threshold {thr})");
            assert!(sim > thr, "{kind} {name}: {sim}");
        }
        let other = base.cosine(&p.probe(&camera, Path::new("camera")).unwrap().embedding);
        println!("{kind}: astronaut vs cameraman: {other:.3}");
        assert!(
            other < thr,
            "{kind}: astronaut matched the cameraman at {other}"
        );
    }
}

//! Template security on real faces: embeddings sealed at rest, the audit log, and a wipe that
//! leaves nothing of a person behind.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use facegate::engine::Engine;
use facegate::imageio;
use facegate::store::{Gallery, ImageKind, Store, StoreError, audit};
use image::imageops;

fn cache_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for model in std::fs::read_dir(root.join("cache")).unwrap().flatten() {
        out.extend(
            std::fs::read_dir(model.path())
                .unwrap()
                .flatten()
                .map(|e| e.path()),
        );
    }
    out
}

fn enrolled(tag: &str) -> (PathBuf, Engine) {
    let data = common::temp_dir(tag);
    let mut e = Engine::new(&common::models(), Store::open(&data).unwrap()).unwrap();
    e.store().add_person("Eileen").unwrap();
    let astro = imageio::load(&common::fixture("astronaut.png")).unwrap();
    let gallery = Gallery::Person {
        name: "Eileen".into(),
        kind: ImageKind::Verification,
    };
    for img in [astro.clone(), imageops::flip_horizontal(&astro)] {
        e.capture(&gallery, &img, None).unwrap();
    }
    (data, e)
}

#[test]
fn embeddings_are_sealed_and_the_key_is_private() {
    let (data, mut e) = enrolled("sealed");
    let files = cache_files(&data);
    assert_eq!(files.len(), 2, "one cached embedding per captured face");
    let gallery = Gallery::Person {
        name: "Eileen".into(),
        kind: ImageKind::Verification,
    };
    let plain = e.embeddings(&gallery).unwrap();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(bytes.starts_with(b"FGS1"), "{} is sealed", f.display());
        // No run of the plain vector's bytes appears in the file.
        for (_, emb) in &plain {
            let raw: Vec<u8> = emb.0[..4].iter().flat_map(|x| x.to_le_bytes()).collect();
            assert!(!bytes.windows(raw.len()).any(|w| w == raw));
        }
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let key = data.join("secret.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600,
        "the key file is readable only by its owner"
    );
    println!(
        "{} sealed cache entries, key at {}",
        files.len(),
        key.display()
    );

    // Losing the key costs time, not data: the store re-embeds from the images.
    std::fs::remove_file(&key).unwrap();
    let mut e = Engine::new(&common::models(), Store::open(&data).unwrap()).unwrap();
    let astro = imageio::load(&common::fixture("astronaut.png")).unwrap();
    let v = e
        .verify_photo("Eileen", &astro, Path::new("astronaut"))
        .unwrap();
    assert!(v.verification.accepted, "still verifies without the key");
}

#[test]
fn wipe_removes_every_trace_and_spares_others() {
    let (data, mut e) = enrolled("wipe");
    e.store().add_person("Other").unwrap();
    let astro_photo = imageio::load(&common::fixture("astronaut.png")).unwrap();
    let small = imageops::resize(&astro_photo, 400, 400, imageops::FilterType::Triangle);
    e.capture(
        &Gallery::Person {
            name: "Other".into(),
            kind: ImageKind::Verification,
        },
        &small,
        None,
    )
    .unwrap();
    let camera = imageio::load(&common::fixture("camera.png")).unwrap();
    let astro = imageio::load(&common::fixture("astronaut.png")).unwrap();
    // Opted in: the failed attempt's frame is kept, named by its audit line; accepted ones not.
    let mut settings = e.settings().clone();
    settings.save_failed_frames = true;
    e.apply_settings(settings).unwrap();
    e.verify_photo("Eileen", &astro, Path::new("astronaut"))
        .unwrap();
    e.verify_photo("Eileen", &camera, Path::new("camera"))
        .unwrap();
    e.verify_photo("Other", &astro, Path::new("astronaut"))
        .unwrap();
    let log = audit::read(&data);
    println!("audit log: {log:?}");
    assert_eq!(log.len(), 3);
    assert_eq!(
        log.iter().map(|l| l.accepted).collect::<Vec<_>>(),
        [true, false, true]
    );
    assert!(log.iter().all(|l| l.scores.is_some()));
    let frames: Vec<&String> = log.iter().filter_map(|l| l.frame.as_ref()).collect();
    assert_eq!(frames.len(), 1, "only the failed attempt keeps its frame");
    let frame = data.join(frames[0]);
    let kept = imageio::load(&frame).unwrap().dimensions();
    println!("kept {kept:?} of the {:?} probe", camera.dimensions());
    assert!(
        kept.0 < camera.width() && kept.0.max(kept.1) <= 640,
        "the face region, bounded, not the whole frame"
    );
    assert_eq!(
        std::fs::metadata(&frame).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A face captured and deleted again: its cached embedding goes with it. When another
    // gallery holds the same crop (the mirrored photo is also a verification image), that one is
    // embedded again when next needed.
    let positive = Gallery::Person {
        name: "Eileen".into(),
        kind: ImageKind::Positive,
    };
    let verification = Gallery::Person {
        name: "Eileen".into(),
        kind: ImageKind::Verification,
    };
    let cached = cache_files(&data).len();
    for (img, shared) in [
        (
            imageops::resize(&astro, 450, 450, imageops::FilterType::Triangle),
            false,
        ),
        (imageops::flip_horizontal(&astro), true),
    ] {
        let (extra, _) = e.capture(&positive, &img, None).unwrap();
        let with = cache_files(&data).len();
        assert_eq!(with, cached + usize::from(!shared), "embedded and cached");
        e.delete_face(&positive, extra.meta.id).unwrap();
        let after = cache_files(&data).len();
        println!("cache entries: {cached}, {with} with a positive image, {after} once deleted");
        assert_eq!(after, cached - usize::from(shared), "shared: {shared}");
        e.embeddings(&verification).unwrap();
        assert_eq!(
            cache_files(&data).len(),
            cached,
            "embedded again when needed"
        );
    }

    let before = cache_files(&data).len();
    let report = e.store().wipe_person("Eileen").unwrap();
    println!("wiped: {report:?}");
    assert_eq!(report.images, 2);
    assert_eq!(report.cached_embeddings, 2);
    assert_eq!(report.audit_entries, 2);
    assert_eq!(report.saved_frames, 1);
    assert!(!frame.exists(), "the saved frame goes with the person");
    assert!(
        report.other_files >= 3,
        "two sidecars and the lock-out state"
    );
    assert!(!data.join("users/Eileen").exists());
    assert_eq!(
        cache_files(&data).len(),
        before - 2,
        "Other's embedding stays"
    );
    let log = audit::read(&data);
    assert!(log.iter().all(|l| l.person == "Other") && log.len() == 1);
    assert!(e.store().people().unwrap() == ["Other"]);
}

/// A person removed without the wipe: their images and cached embeddings go at once (nothing
/// could reach those any more), their audit lines and saved frames stay as history, and a wipe
/// by name removes those afterwards, as the removal's message says.
#[test]
fn a_person_removed_without_the_wipe_can_be_wiped_afterwards() {
    let (data, mut e) = enrolled("remove-then-wipe");
    let mut settings = e.settings().clone();
    settings.save_failed_frames = true;
    e.apply_settings(settings).unwrap();
    let astro = imageio::load(&common::fixture("astronaut.png")).unwrap();
    let camera = imageio::load(&common::fixture("camera.png")).unwrap();
    e.verify_photo("Eileen", &astro, Path::new("astronaut"))
        .unwrap();
    e.verify_photo("Eileen", &camera, Path::new("camera"))
        .unwrap();
    assert_eq!(cache_files(&data).len(), 2);
    e.store().remove_person("Eileen").unwrap();
    assert_eq!(
        cache_files(&data).len(),
        0,
        "cached embeddings go with the images"
    );
    assert_eq!(
        audit::read(&data).len(),
        2,
        "the audit lines stay as history"
    );
    let report = e.store().wipe_person("Eileen").unwrap();
    println!("wiped after removal: {report:?}");
    assert_eq!((report.audit_entries, report.saved_frames), (2, 1));
    assert!(audit::read(&data).is_empty());
    assert!(!data.join("failed").read_dir().unwrap().any(|_| true));
    assert!(matches!(
        e.store().wipe_person("Eileen"),
        Err(StoreError::UnknownPerson(_))
    ));
    assert!(e.store().wipe_person("../x").is_err());
    // A file where a person's folder would be is no person (this once recursed until the
    // stack overflowed).
    std::fs::write(data.join("users/Ghost"), b"not a folder").unwrap();
    assert!(matches!(
        e.store().wipe_person("Ghost"),
        Err(StoreError::UnknownPerson(_))
    ));
}

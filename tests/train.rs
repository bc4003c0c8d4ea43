//! The trainable siamese head on real faces (deepface, LFW-a from ../shared/data; skipped with a
//! notice where it is absent), its persistence, and verification with a head in use.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use facegate::engine::Engine;
use facegate::imageio;
use facegate::store::{Gallery, ImageKind, Store};
use facegate::train::{
    self, EpochReport, Head, Metrics, SavedHead, TrainConfig, TrainData, TrainError, TrainReport,
};
use facegate::vision::{EmbedderKind, Embedding};

const PERSON: &str = "id01";

struct Enrolled {
    /// The data dir.
    dir: PathBuf,
    /// deepface's folder (the CSV paths are relative to it).
    root: PathBuf,
    /// id01's photos.
    mine: Vec<String>,
    /// A photo of someone else.
    impostor: String,
}

fn engine_at(dir: &Path) -> Engine {
    Engine::new(&common::models(), Store::open(dir).unwrap()).unwrap()
}

fn gallery(kind: ImageKind) -> Gallery {
    Gallery::Person {
        name: PERSON.into(),
        kind,
    }
}

/// Imports `paths` into `gallery`, returning how many were kept (the quality gate may refuse).
fn import(e: &mut Engine, gallery: &Gallery, root: &Path, paths: &[String]) -> usize {
    let mut kept = 0;
    for p in paths {
        let img = imageio::load(&root.join(p)).unwrap();
        match e.capture(gallery, &img, None) {
            Ok(_) => kept += 1,
            Err(err) => println!("  {p} refused: {err}"),
        }
    }
    kept
}

/// deepface's id01 (10 photos) enrolled once for the whole suite: even photos as anchors, odd as
/// positives, the first three anchors also as verification images; every photo of the other
/// identities as negatives.
fn deepface_store() -> Option<&'static Enrolled> {
    static STORE: OnceLock<Option<Enrolled>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let data = common::shared_data("training")?;
            let root = data.join("deepface");
            let rows = common::read_csv(&root.join("images.csv"));
            let mine: Vec<String> = rows
                .iter()
                .filter(|r| r["identity"] == PERSON)
                .map(|r| r["path"].clone())
                .collect();
            let others: Vec<String> = rows
                .iter()
                .filter(|r| !r["identity"].is_empty() && r["identity"] != PERSON)
                .map(|r| r["path"].clone())
                .collect();
            let dir = common::temp_dir("train-deepface");
            let mut e = engine_at(&dir);
            e.store().add_person(PERSON).unwrap();
            let (anchors, positives): (Vec<_>, Vec<_>) = mine
                .iter()
                .cloned()
                .enumerate()
                .partition(|(i, _)| i % 2 == 0);
            let anchors: Vec<String> = anchors.into_iter().map(|p| p.1).collect();
            let positives: Vec<String> = positives.into_iter().map(|p| p.1).collect();
            let a = import(&mut e, &gallery(ImageKind::Anchor), &root, &anchors);
            let p = import(&mut e, &gallery(ImageKind::Positive), &root, &positives);
            let v = import(
                &mut e,
                &gallery(ImageKind::Verification),
                &root,
                &anchors[..3],
            );
            let n = import(&mut e, &Gallery::Negatives, &root, &others);
            println!(
                "deepface {PERSON}: {a} anchors, {p} positives, {v} verification, {n} negatives"
            );
            Some(Enrolled {
                dir,
                root,
                impostor: others[0].clone(),
                mine,
            })
        })
        .as_ref()
}

fn print_report(label: &str, r: &TrainReport) {
    let c = r.pairs;
    println!(
        "{label}: {} anchors, {} positives, {} negatives; pairs train {}/{}, validation {}/{}, test {}/{}; epochs {} (best {})",
        c.anchors,
        c.positives,
        c.negatives,
        c.train_same,
        c.train_different,
        c.validation_same,
        c.validation_different,
        c.test_same,
        c.test_different,
        r.epochs_run,
        r.best_epoch
    );
    let row = |name: &str, m: &Metrics| {
        println!(
            "  {name:<22} P {:.3}  R {:.3}  F1 {:.3}  AUC {:.4}",
            m.precision, m.recall, m.f1, m.auc
        )
    };
    row("head", &r.head);
    row("cosine baseline", &r.baseline);
    row("head before training", &r.initial);
    println!(
        "  in use: {} ({})",
        if r.in_use { "head" } else { "cosine" },
        r.adoption.reason()
    );
}

#[test]
fn deepface_person_trains_reproducibly_and_reloads() {
    let Some(Enrolled { dir, .. }) = deepface_store() else {
        return;
    };
    let mut e = engine_at(dir);
    let data = e.training_data(PERSON).unwrap();
    let threshold = e.settings().detection_threshold;
    let config = TrainConfig::default();
    let mut epochs: Vec<EpochReport> = Vec::new();
    let trained = train::prepare(&data, threshold, &config)
        .unwrap()
        .run(|r| epochs.push(*r));
    let r = &trained.report;
    print_report("deepface id01 (SFace)", r);
    assert_eq!(epochs, r.history, "every epoch is reported, in order");
    assert_eq!(epochs[0].epoch, 0);
    assert!(r.best_epoch <= r.epochs_run && r.epochs_run <= config.epochs);
    assert!(
        epochs
            .iter()
            .all(|e| e.train_loss.is_finite() && e.validation_loss.is_finite())
    );
    let best = epochs.iter().find(|e| e.epoch == r.best_epoch).unwrap();
    assert!(
        epochs
            .iter()
            .all(|e| e.validation_loss >= best.validation_loss - 1e-6),
        "the kept epoch has the lowest validation loss"
    );
    // Floors: the measured figures (README table) minus a margin.
    assert!(r.baseline.auc >= 0.95, "baseline AUC {}", r.baseline.auc);
    assert!(
        r.head.auc >= r.baseline.auc - 0.02,
        "head AUC {}",
        r.head.auc
    );
    assert!(r.head.f1 >= 0.85, "head F1 {}", r.head.f1);
    assert_eq!(
        (r.initial.precision, r.initial.recall, r.initial.f1),
        (r.baseline.precision, r.baseline.recall, r.baseline.f1),
        "the initial head decides exactly like cosine"
    );
    assert_eq!(r.in_use, r.adoption.in_use);
    assert!(
        !r.in_use || r.adoption.p_value <= train::adopt::ALPHA,
        "adopted only by more than chance"
    );

    // Same images, same seed: the same head, bit for bit.
    let again = train::prepare(&data, threshold, &config)
        .unwrap()
        .run(|_| {});
    assert_eq!(&again.report, r);
    assert_eq!(again.head, trained.head);

    // Saved and reloaded: the same weights, so the same scores.
    train::save_head(e.store(), PERSON, &SavedHead::new(r, trained.head.clone())).unwrap();
    let saved = train::load_head(e.store(), PERSON, EmbedderKind::Sface)
        .unwrap()
        .expect("saved");
    assert_eq!(saved.weights, trained.head);
    assert_eq!(
        (saved.head, saved.baseline, saved.in_use),
        (r.head, r.baseline, r.in_use)
    );
    let score_all = |h: &Head| -> Vec<f32> {
        data.anchors
            .iter()
            .flat_map(|a| {
                data.positives
                    .iter()
                    .chain(&data.negatives)
                    .map(|b| h.probability(a, b))
            })
            .collect()
    };
    assert_eq!(score_all(&saved.weights), score_all(&trained.head));
    assert!(
        train::load_head(e.store(), PERSON, EmbedderKind::Mbf)
            .unwrap()
            .is_none(),
        "a head belongs to one model"
    );
    let file = dir
        .join("users")
        .join(PERSON)
        .join(train::head_file(EmbedderKind::Sface));
    assert!(file.exists());
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"FGS1"), "the head is sealed at rest");
    assert!(!String::from_utf8_lossy(&bytes).contains("weights"));
}

/// A larger learning rate actually moves the head; it must still rank at least as well as
/// cosine on the held-out pairs (within noise) and report it honestly.
#[test]
fn deepface_person_with_a_larger_learning_rate() {
    let Some(Enrolled { dir, .. }) = deepface_store() else {
        return;
    };
    let mut e = engine_at(dir);
    let data = e.training_data(PERSON).unwrap();
    let config = TrainConfig {
        lr: 1e-2,
        ..TrainConfig::default()
    };
    let r = train::prepare(&data, e.settings().detection_threshold, &config)
        .unwrap()
        .run(|_| {})
        .report;
    print_report("deepface id01 (SFace), lr 1e-2", &r);
    assert!(
        r.head.auc >= r.baseline.auc - 0.02,
        "head AUC {}",
        r.head.auc
    );
    let first = &r.history[0];
    let best = &r.history[r.best_epoch];
    assert!(best.validation_loss <= first.validation_loss);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn cli_train_then_verify_with_the_head_in_use() {
    let Some(Enrolled {
        dir,
        root,
        mine,
        impostor,
    }) = deepface_store()
    else {
        return;
    };
    let data = common::temp_dir("train-cli");
    copy_dir(dir, &data);
    let out = facegate(&data, &["train", PERSON, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["head"]["f1"].as_f64().is_some() && report["baseline"]["auc"].as_f64().is_some()
    );
    let table = facegate(&data, &["train", PERSON]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("cosine (> 0.363)") && text.contains("in use:"),
        "{text}"
    );

    // Whatever training decided, make the head the scorer so verification goes through it.
    let store = Store::open(&data).unwrap();
    let mut saved = train::load_head(&store, PERSON, EmbedderKind::Sface)
        .unwrap()
        .unwrap();
    saved.in_use = true;
    // A head of another size than the model's embeddings is damaged, refused when loaded: every
    // use of a loaded head takes its size as checked (compare had no check of its own).
    let mut small = saved.clone();
    small.weights.w.truncate(4);
    small.dim = 4;
    train::save_head(&store, PERSON, &small).unwrap();
    match train::load_head(&store, PERSON, EmbedderKind::Sface) {
        Err(TrainError::CorruptHead { reason, .. }) => println!("a 4-value head: {reason}"),
        other => panic!("a 4-value head for SFace loaded: {other:?}"),
    }
    train::save_head(&store, PERSON, &saved).unwrap();

    // An anchor photo that is not a verification image: id01 again.
    let genuine = root.join(&mine[6]);
    let out = facegate(
        &data,
        &["verify", PERSON, genuine.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verification"]["scorer"], "head");
    assert_eq!(v["verification"]["thresholds"]["detection"], 0.5);
    let scores = common::comparison_scores(&v);
    assert!(
        scores.iter().all(|&p| (0.0..=1.0).contains(&p)),
        "probabilities: {scores:?}"
    );
    let out = facegate(
        &data,
        &["verify", PERSON, root.join(impostor).to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));

    // Not in use: cosine again, at the cosine threshold.
    saved.in_use = false;
    train::save_head(&store, PERSON, &saved).unwrap();
    let out = facegate(
        &data,
        &["verify", PERSON, genuine.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verification"]["scorer"], "cosine");

    // A damaged head file is ignored with a warning, never a lock-out.
    std::fs::write(
        data.join("users")
            .join(PERSON)
            .join(train::head_file(EmbedderKind::Sface)),
        "{ broken",
    )
    .unwrap();
    let out = facegate(&data, &["verify", PERSON, genuine.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignoring"));
}

#[test]
fn too_few_images_say_what_to_capture() {
    let data = common::temp_dir("train-few");
    assert_eq!(
        facegate(&data, &["user", "add", "Ada Lovelace"])
            .status
            .code(),
        Some(0)
    );
    let out = facegate(&data, &["train", "Ada Lovelace"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&common::hint_at(
            &data,
            "capture 'Ada Lovelace' --kind anchor"
        )),
        "the hint can be pasted as it is: {err}"
    );
    assert!(
        err.contains("--kind positive")
            && err.contains(&common::hint_at(&data, "negatives add IMG_OR_DIR...")),
        "{err}"
    );
    assert_eq!(facegate(&data, &["train", "Nobody"]).status.code(), Some(2));

    // The library says the same through its typed error, and only what is missing.
    let e = |x: f32| Embedding::normalised(vec![1.0, x]);
    let few = TrainData {
        person: "Ada".into(),
        model: EmbedderKind::Sface,
        anchors: vec![e(0.0), e(0.1), e(0.2)],
        positives: vec![e(0.3)],
        negatives: vec![e(5.0), e(6.0), e(7.0)],
    };
    match train::prepare(&few, 0.363, &TrainConfig::default()) {
        Err(err @ TrainError::NotEnoughImages { positives: 1, .. }) => {
            let msg = err.to_string();
            assert!(
                msg.contains("--kind positive") && !msg.contains("--kind anchor"),
                "{msg}"
            );
        }
        other => panic!("expected NotEnoughImages, got {:?}", other.err()),
    }
}

/// LFW-a (grayscale, aligned): each of the five identities with the most photos as the person
/// (alternate photos as anchors and positives), the first photo of about 300 other identities as
/// negatives. Prints the figures; asserts only that the head ranks about as well as cosine.
#[test]
fn lfw_people_head_vs_cosine() {
    let Some(shared) = common::shared_data("LFW training") else {
        return;
    };
    let lfw = shared.join("lfw_a/lfw");
    let list = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let mut identities: Vec<(usize, PathBuf)> = list(&lfw)
        .into_iter()
        .map(|d| (list(&d).len(), d))
        .collect();
    identities.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let (people, others) = identities.split_at(5);
    let dir = common::temp_dir("train-lfw");
    let mut e = engine_at(&dir);
    let add = |e: &mut Engine, gallery: Gallery, path: &Path| {
        let img = imageio::load(path).unwrap();
        usize::from(e.capture(&gallery, &img, None).is_ok())
    };
    let mut negatives = 0;
    for (_, d) in others.iter().step_by(others.len().div_ceil(300)) {
        negatives += add(&mut e, Gallery::Negatives, &list(d)[0]);
    }
    println!("LFW: {negatives} negatives kept");
    for (_, d) in people {
        let person = d.file_name().unwrap().to_str().unwrap();
        e.store().add_person(person).unwrap();
        for (i, p) in list(d).iter().enumerate() {
            let kind = if i % 2 == 0 {
                ImageKind::Anchor
            } else {
                ImageKind::Positive
            };
            let gallery = Gallery::Person {
                name: person.into(),
                kind,
            };
            add(&mut e, gallery, p);
        }
        let report = e
            .train_person(person, &TrainConfig::default(), |_| {})
            .unwrap();
        print_report(&format!("LFW {person} (SFace), lr 1e-4"), &report);
        let data = e.training_data(person).unwrap();
        let config = TrainConfig {
            lr: 1e-2,
            ..TrainConfig::default()
        };
        let fast = train::prepare(&data, e.settings().detection_threshold, &config)
            .unwrap()
            .run(|_| {});
        print_report(&format!("LFW {person} (SFace), lr 1e-2"), &fast.report);
        assert!(
            report.baseline.auc >= 0.9,
            "baseline AUC {}",
            report.baseline.auc
        );
        assert!(report.head.auc >= report.baseline.auc - 0.02);
    }
}

fn facegate(data: &Path, args: &[&str]) -> Output {
    common::facegate_at(data, args)
}

/// A head trained in the background is saved only if its person still has the images it learnt
/// from: removed and added again with other faces, or renamed, while it trained, the person gets
/// no head learnt from someone else's photos.
#[test]
fn a_head_is_not_saved_for_a_person_whose_images_changed_while_it_trained() {
    use facegate::engine::training::{save_trained, training_images};
    let Some(enrolled) = deepface_store() else {
        return;
    };
    let dir = common::temp_dir("train-changed");
    copy_dir(&enrolled.dir, &dir);
    let mut e = engine_at(&dir);
    let images = training_images(e.store(), PERSON).unwrap();
    let data = e.training_data(PERSON).unwrap();
    let config = facegate::train::TrainConfig {
        epochs: 2,
        ..Default::default()
    };
    let trained = facegate::train::prepare(&data, 0.363, &config)
        .unwrap()
        .run(|_| {});
    let head = facegate::train::SavedHead::new(&trained.report, trained.head);

    // Removed and added again, with none of the photos the head learnt from.
    e.store().remove_person(PERSON).unwrap();
    e.store().add_person(PERSON).unwrap();
    let err = save_trained(&dir, PERSON, &head, &images).unwrap_err();
    println!("re-enrolled meanwhile: {err}");
    assert!(matches!(err, facegate::train::TrainError::ImagesChanged(_)));
    assert!(
        facegate::train::load_head(e.store(), PERSON, facegate::vision::EmbedderKind::Sface)
            .unwrap()
            .is_none()
    );

    // Untouched: saved.
    let fresh = common::temp_dir("train-unchanged");
    copy_dir(&enrolled.dir, &fresh);
    save_trained(&fresh, PERSON, &head, &images).unwrap();
    // Renamed: no person of that name is left to take it.
    let renamed = common::temp_dir("train-renamed");
    copy_dir(&enrolled.dir, &renamed);
    Store::open(&renamed)
        .unwrap()
        .rename_person(PERSON, "someone")
        .unwrap();
    assert!(matches!(
        save_trained(&renamed, PERSON, &head, &images),
        Err(facegate::train::TrainError::ImagesChanged(_))
    ));
}

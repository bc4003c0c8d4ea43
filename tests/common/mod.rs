//! Shared helpers for the integration suites.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use facegate::runtime::Models;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The models folder the suites use: `$FACEGATE_MODELS` (set by `make test`), else this
/// repository's `models/`. Binaries no longer look in the source tree themselves, so every
/// `facegate` the suites start is handed this folder explicitly (see [`facegate_command`]).
pub fn models_dir() -> PathBuf {
    std::env::var_os(facegate::runtime::MODELS_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models"))
}

pub fn models() -> Models {
    Models::locate(Some(&models_dir())).expect("models/ is populated by `make setup`")
}

/// [`models`], or None with a printed notice when `make setup` has not been run.
pub fn models_or_skip(suite: &str) -> Option<Models> {
    match Models::locate(Some(&models_dir())) {
        Ok(models) => Some(models),
        Err(e) => {
            println!("NOTICE: {e}; skipping the {suite} suite");
            None
        }
    }
}

/// Names another `facegate` binary for the suites to run instead of this build's (e.g. an older
/// commit's, to show that a regression test fails there).
pub const TEST_BIN_ENV: &str = "FACEGATE_TEST_BIN";

/// The `facegate` binary under test: `$FACEGATE_TEST_BIN` when set, else this build's.
pub fn facegate_bin() -> PathBuf {
    std::env::var_os(TEST_BIN_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_facegate")))
}

/// The `facegate` binary under test ([`facegate_bin`]), with the suites' models folder in its
/// environment.
pub fn facegate_command() -> std::process::Command {
    let mut command = std::process::Command::new(facegate_bin());
    command.env(facegate::runtime::MODELS_ENV, models_dir());
    command
}

/// A sample image fetched by `make setup` (scikit-image's public-domain data).
pub fn fixture(name: &str) -> PathBuf {
    let p = repo().join("assets/fixtures").join(name);
    assert!(p.exists(), "{} missing: run `make setup`", p.display());
    p
}

/// `../shared/data` (or `$FACEGATE_SHARED_DATA`), or None with a printed notice so a CI log shows
/// which suites were skipped.
pub fn shared_data(suite: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("FACEGATE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data"));
    if dir.join("README.md").exists() {
        Some(dir)
    } else {
        println!(
            "NOTICE: {} not found; skipping the {suite} suite on shared data",
            dir.display()
        );
        None
    }
}

/// Rows of a manifest CSV as header-keyed maps.
pub fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .deserialize()
        .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// `n` items spread evenly over `items` (manifests are sorted by label or file name, so their
/// first rows would all be alike).
pub fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    let n = n.min(items.len());
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facegate-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the `facegate` binary with `args` and prints the command, its status and its output, so
/// a failing assertion shows what the user would have seen.
pub fn run_facegate(args: &[&str]) -> std::process::Output {
    let out = facegate_command()
        .args(args)
        .output()
        .expect("run facegate");
    println!(
        "$ facegate {}\n-> {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`run_facegate`] on the store at `data`.
pub fn facegate_at(data: &Path, args: &[&str]) -> std::process::Output {
    let data = data.to_str().expect("temp paths are UTF-8");
    let mut all = vec!["--data-dir", data];
    all.extend_from_slice(args);
    run_facegate(&all)
}

/// How a command a message suggests to [`facegate_at`]'s user begins: with the `--data-dir`
/// typed, so that pasted it acts on the same store (`` `facegate --data-dir DATA REST ``).
pub fn hint_at(data: &Path, rest: &str) -> String {
    format!("`facegate --data-dir {} {rest}", data.display())
}

/// A system config (root's face unlock) at `dir/config.toml`, for the store at `store` and a
/// socket in `dir`.
pub fn system_config(dir: &Path, store: &Path) -> PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"{}\"\nsocket = \"{}\"\n",
            store.display(),
            dir.join("fg.sock").display()
        ),
    )
    .unwrap();
    config
}

/// `facegate unlock enrol USER FILES... EXTRA... --config CONFIG`, run as [`run_facegate`].
pub fn unlock_enrol(
    config: &Path,
    user: &str,
    files: &[&PathBuf],
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["unlock", "enrol", user];
    args.extend(files.iter().map(|p| s(p)));
    args.extend(extra);
    args.extend(["--config", s(config)]);
    run_facegate(&args)
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// The per-image scores of a `verify --json` report, in its order.
pub fn comparison_scores(report: &serde_json::Value) -> Vec<f64> {
    report["verification"]["comparisons"]
        .as_array()
        .expect("a verification report lists its comparisons")
        .iter()
        .map(|c| c["score"].as_f64().expect("a numeric score"))
        .collect()
}

/// Three photos of the astronaut (mirrored, darker, as is) in `dir`: one person, three
/// images, for enrolment.
pub fn astronaut_photos(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let astro = image::open(fixture("astronaut.png")).unwrap().to_rgb8();
    let mut darker = astro.clone();
    darker
        .pixels_mut()
        .for_each(|p| p.0 = p.0.map(|v| (v as f32 * 0.7) as u8));
    image::imageops::flip_horizontal(&astro)
        .save(dir.join("a.png"))
        .unwrap();
    darker.save(dir.join("b.png")).unwrap();
    astro.save(dir.join("c.png")).unwrap();
    dir.to_owned()
}

/// The sample photo and its one face, found by the app's detector: the face the attribute and
/// presentation-attack suites read.
pub fn astronaut(models: &Models) -> (image::RgbImage, facegate::vision::Face) {
    use facegate::vision::{Detector, DetectorConfig};
    let img = facegate::imageio::load(&fixture("astronaut.png")).unwrap();
    let mut faces = Detector::new(models, DetectorConfig::default())
        .unwrap()
        .detect(&img)
        .unwrap();
    assert_eq!(faces.len(), 1, "the astronaut photo has one face");
    (img, faces.remove(0))
}

/// A store in `data` where id01 is enrolled from deepface's photos (anchors and positives in
/// turn) and everyone else's photos are negatives, captured through the engine as the window
/// captures them: what a trained head needs. Group photos and small faces are refused by the
/// quality gate, as in the app.
pub fn enrol_id01_from_deepface(shared: &Path, data: &Path) {
    let root = shared.join("deepface");
    let rows = read_csv(&root.join("images.csv"));
    let store = facegate::store::Store::open(data).unwrap();
    let mut e = facegate::engine::Engine::new(&models(), store).unwrap();
    e.store().add_person("id01").unwrap();
    let mut mine = 0;
    for r in rows.iter().filter(|r| !r["identity"].is_empty()) {
        let img = facegate::imageio::load(&root.join(&r["path"])).unwrap();
        let gallery = if r["identity"] == "id01" {
            mine += 1;
            let kind = if mine % 2 == 0 {
                facegate::store::ImageKind::Anchor
            } else {
                facegate::store::ImageKind::Positive
            };
            facegate::store::Gallery::Person {
                name: "id01".into(),
                kind,
            }
        } else {
            facegate::store::Gallery::Negatives
        };
        let _ = e.capture(&gallery, &img, None);
    }
}

/// Frames `indices` of `clip`, extracted with ffmpeg into `dir` as PNGs (`frame1.png`, ...).
pub fn frames_of(clip: &Path, dir: &Path, indices: &[u32]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let select = indices
        .iter()
        .map(|i| format!("eq(n\\,{i})"))
        .collect::<Vec<_>>()
        .join("+");
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(clip)
        .args(["-vf", &format!("select='{select}'"), "-vsync", "0"])
        .arg(dir.join("frame%d.png"))
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (1..=indices.len())
        .map(|i| dir.join(format!("frame{i}.png")))
        .inspect(|p| assert!(p.exists(), "{} not extracted", p.display()))
        .collect()
}

/// A live attempt for `person` under `rule` with `liveness` on `img` shown frame after frame, a
/// frame every 0.2 s of the attempt's own clock (so a time-out comes without the wait): frame `n`
/// (from 1) holds the faces `faces(n)` gives.
pub fn timed_attempt(
    e: &mut facegate::engine::Engine,
    person: &str,
    rule: facegate::auth::attempt::AttemptRule,
    liveness: facegate::auth::attempt::LivenessCheck,
    img: &image::RgbImage,
    faces: impl Fn(u64) -> Vec<facegate::vision::Face>,
) -> facegate::auth::attempt::Outcome {
    use facegate::auth::attempt::Step;
    let mut attempt = e.begin_attempt(person, rule, liveness).unwrap();
    let start = std::time::Instant::now();
    for n in 1.. {
        let now = start + std::time::Duration::from_millis(200 * n);
        let faces = faces(n);
        let ids: Vec<u64> = (1..=faces.len() as u64).collect();
        let frame = e
            .attempt_frame(&mut attempt, img, &faces, &ids, now)
            .unwrap();
        if let Step::Done(outcome) = frame.step {
            return outcome;
        }
    }
    unreachable!("the attempt's time-out ends it")
}

/// [`timed_attempt`] on a photo with one face, liveness off: what the rule alone decides about
/// that face. (Common to the suites that compare rules.)
pub fn still_attempt(
    e: &mut facegate::engine::Engine,
    person: &str,
    rule: facegate::auth::attempt::AttemptRule,
    img: &image::RgbImage,
) -> facegate::auth::attempt::Outcome {
    use facegate::auth::attempt::LivenessCheck;
    let faces = e.detect(img).unwrap();
    assert_eq!(faces.len(), 1, "one face in the photo");
    timed_attempt(e, person, rule, LivenessCheck::Off, img, |_| faces.clone())
}

/// A refused "cli" attempt of `person` at `unix_time`, as the audit log holds it.
pub fn audit_entry(person: &str, unix_time: u64) -> facegate::store::audit::AuditEntry {
    facegate::store::audit::AuditEntry {
        unix_time,
        person: person.into(),
        channel: "cli".into(),
        accepted: false,
        ..Default::default()
    }
}

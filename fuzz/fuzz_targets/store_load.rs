//! Arbitrary bytes as each file the store reads back from disk, loaded through the public API.
//! The first byte picks the file, the rest is its content:
//!
//! 0 a face's JSON sidecar (then the face is aligned, as embedding a stored face does)
//! 1 settings.toml
//! 2 a sealed file as raw bytes (`Store::read_sealed`, `load_head`)
//! 3 a trained head sealed with the store's real key (the JSON parser behind the seal)
//! 4 lockout.json (read, then an attempt begun and settled as failed, as the engine does)
//! 5 audit.log (read, then a person wiped: the log is rewritten, saved frames removed)
//! 6 secret.toml, 7 secret.key (opening the data key)
//!
//! Loaders fall back or return a typed error; a panic, hang or runaway allocation is a bug.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use facegate::store::{DataDir, Gallery, ImageKind, Owner, Store, audit, secret::Sealer};
use facegate::train::load_head;
use facegate::auth::lockout::{self, Lockout};
use facegate::vision::{EmbedderKind, align_arcface};
use libfuzzer_sys::fuzz_target;

const PERSON: &str = "ann";
const FACE_ID: &str = "6f1c2a3e-5b4d-4c7a-9e8f-0a1b2c3d4e5f";
const NOW: u64 = 1_700_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: Store,
    /// A second data folder whose key files are fuzzed (opening it may rewrite them).
    key_root: PathBuf,
    png: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // One folder per process, on tmpfs where there is one: the store fsyncs every write.
        let base = Path::new("/dev/shm");
        let dir = if base.is_dir() {
            tempfile::tempdir_in(base)
        } else {
            tempfile::tempdir()
        }
        .expect("temp dir");
        let root = dir.path().join("data");
        let store = Store::open(&root).expect("store opens");
        store.add_person(PERSON).expect("person added");
        let key_root = dir.path().join("keys");
        std::fs::create_dir_all(&key_root).expect("key folder");
        let mut png = Vec::new();
        image::RgbImage::from_pixel(8, 8, image::Rgb([128, 100, 90]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png encodes");
        Fixture {
            _dir: dir,
            root,
            store,
            key_root,
            png,
        }
    })
}

fn key_dir(f: &Fixture) -> DataDir {
    DataDir::open(&f.key_root, Owner::EffectiveUser).expect("key folder opens")
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("fixture write");
}

fuzz_target!(
    init: {
        // Never touch the OS keyring: the key lives in a file of the temp store.
        unsafe { std::env::set_var("FACEGATE_NO_KEYRING", "1") };
        fixture();
    },
    |data: &[u8]| {
        let Some((&which, body)) = data.split_first() else {
            return;
        };
        let f = fixture();
        let person = f.root.join("users").join(PERSON);
        match which % 8 {
            0 => {
                let dir = person.join("verification");
                std::fs::create_dir_all(&dir).expect("gallery folder");
                write(&dir.join(format!("{FACE_ID}.png")), &f.png);
                write(&dir.join(format!("{FACE_ID}.json")), body);
                let gallery = Gallery::Person {
                    name: PERSON.into(),
                    kind: ImageKind::Verification,
                };
                let crop = image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
                for face in f.store.faces(&gallery).expect("a bad sidecar is skipped") {
                    let aligned = align_arcface(&crop, &face.meta.face);
                    assert_eq!(aligned.image.dimensions(), (112, 112));
                }
            }
            1 => {
                write(&f.root.join("settings.toml"), body);
                let settings = f.store.settings();
                let _ = settings.thresholds();
            }
            2 => {
                let file = facegate::train::head_file(EmbedderKind::Sface);
                write(&person.join(&file), body);
                assert!(f.store.read_sealed(PERSON, &file).is_err(), "forged seal");
                let _ = load_head(&f.store, PERSON, EmbedderKind::Sface);
            }
            3 => {
                let file = facegate::train::head_file(EmbedderKind::Sface);
                let sealer = f.store.sealer().expect("file key");
                let sealed = sealer.seal(body, &format!("users/{PERSON}/{file}"));
                write(&person.join(&file), &sealed);
                assert_eq!(f.store.read_sealed(PERSON, &file).unwrap().as_deref(), Some(body));
                if let Ok(Some(head)) = load_head(&f.store, PERSON, EmbedderKind::Sface) {
                    assert!(head.dim > 0 && head.weights.dim() == head.dim);
                }
            }
            4 => {
                write(&person.join(lockout::STATE_FILE), body);
                let Ok(mut lock) = f.store.read_state::<Lockout>(PERSON, lockout::STATE_FILE)
                else {
                    return;
                };
                let _ = lock.lock(NOW);
                if lock.begin(NOW).is_none() {
                    lock.settle(false, NOW);
                }
                let _ = lock.lock(NOW);
            }
            5 => {
                write(&f.root.join(audit::LOG_FILE), body);
                let _ = audit::read(&f.root);
                // A wipe rewrites the log and deletes the frames its lines name (inside the
                // data folder only): wipe a throw-away person, not the fixture's.
                let _ = f.store.add_person("zed");
                f.store.wipe_person("zed").expect("wipe of an existing person");
            }
            6 => {
                write(&f.key_root.join("secret.toml"), body);
                if let Ok(sealer) = Sealer::open(&key_dir(f)) {
                    let sealed = sealer.seal(b"x", "label");
                    assert_eq!(sealer.unseal(&sealed, "label").unwrap(), b"x");
                }
            }
            _ => {
                write(&f.key_root.join("secret.toml"), b"key = \"file\"\n");
                write(&f.key_root.join("secret.key"), body);
                assert_eq!(Sealer::open(&key_dir(f)).is_ok(), body.len() == 32);
            }
        }
    }
);

//! A full disk loses nothing: the store on a small tmpfs filled to the last byte. Mounting needs
//! root (CI runs as root); elsewhere the suite is skipped with a notice.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use facegate::engine::Engine;
use facegate::store::{Gallery, ImageKind, Settings, Store};

/// A tmpfs of `size` mounted for the test, unmounted (and its folder removed) on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(tag: &str, size: &str) -> Option<SmallDisk> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("NOTICE: not root; skipping the full-disk suite ({tag})");
            return None;
        }
        let dir = common::temp_dir(&format!("full-{tag}"));
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("NOTICE: cannot mount a tmpfs here; skipping the full-disk suite ({tag})");
            return None;
        }
        Some(SmallDisk { dir })
    }

    /// Fills the disk but for about `room` bytes: room for one more face, not two.
    fn fill_leaving(&self, room: u64) -> PathBuf {
        let filler = self.fill();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .unwrap();
        f.set_len(f.metadata().unwrap().len() - room).unwrap();
        filler
    }

    /// Fills the disk with one file until a write fails; removing `filler` gives the room back.
    fn fill(&self) -> PathBuf {
        let filler = self.dir.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        // The last bytes: a block that did not fit may have left a few.
        while f.write_all(&[0]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Three photos of the astronaut in `dir` (as taken, mirrored, darker): one person, no two
/// alike.
fn three_photos(dir: &Path) -> [PathBuf; 3] {
    let (astro, _) = common::astronaut(&common::models());
    let mut darker = astro.clone();
    darker
        .pixels_mut()
        .for_each(|p| p.0 = p.0.map(|c| c / 4 * 3));
    [
        ("astro.png", astro.clone()),
        ("mirrored.png", image::imageops::flip_horizontal(&astro)),
        ("darker.png", darker),
    ]
    .map(|(name, img)| {
        let path = dir.join(name);
        img.save(&path).unwrap();
        path
    })
}

/// An engine on a store on `disk` with Ann, one astronaut photo of her in `kind`: the engine,
/// the photo and the gallery.
fn ann_on(disk: &SmallDisk, kind: ImageKind) -> (Engine, image::RgbImage, Gallery) {
    let data = disk.dir.join("store");
    let mut e = Engine::new(&common::models(), Store::open(&data).unwrap()).unwrap();
    e.store().add_person("Ann").unwrap();
    let (astro, _) = common::astronaut(&common::models());
    let gallery = Gallery::Person {
        name: "Ann".into(),
        kind,
    };
    e.capture(&gallery, &astro, None).unwrap();
    (e, astro, gallery)
}

/// A settings file with a problem is kept aside when settings are saved; on a full disk the save
/// fails and the file stays where it was, every good value in it still read.
#[test]
fn a_settings_save_on_a_full_disk_keeps_the_old_file() {
    let Some(disk) = SmallDisk::mount("settings", "256k") else {
        return;
    };
    let data = disk.dir.join("store");
    let store = Store::open(&data).unwrap();
    let written = "detection_threshold = 0.5\nlive_k = 99\n";
    std::fs::write(data.join("settings.toml"), written).unwrap();
    assert_eq!(store.settings().detection_threshold, 0.5);
    let filler = disk.fill();
    let err = store.save_settings(&Settings::default()).unwrap_err();
    println!("save on a full disk: {err}");
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert_eq!(
        std::fs::read_to_string(data.join("settings.toml")).unwrap(),
        written,
        "the old file is where it was"
    );
    assert_eq!(store.settings().detection_threshold, 0.5);
    std::fs::remove_file(filler).unwrap();
    store.save_settings(&Settings::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(data.join("settings.toml.bad")).unwrap(),
        written,
        "with room, the file with a problem is kept aside"
    );
    assert_eq!(store.settings(), Settings::default());
}

/// `user remove --wipe` on a full disk stops before anything is removed, so it can be run again
/// once there is room, and then removes every trace.
#[test]
fn a_wipe_on_a_full_disk_can_be_run_again() {
    let Some(disk) = SmallDisk::mount("wipe", "4m") else {
        return;
    };
    let (e, _, _) = ann_on(&disk, ImageKind::Verification);
    // An audit log of about 1 MiB, half of it Ann's: rewriting it needs room for a copy.
    let mut log = Vec::new();
    for i in 0..6000 {
        let who = if i % 2 == 0 { "Ann" } else { "Bob" };
        serde_json::to_writer(&mut log, &common::audit_entry(who, 1_700_000_000 + i)).unwrap();
        log.push(b'\n');
    }
    std::fs::write(e.store().root().join("audit.log"), &log).unwrap();
    let filler = disk.fill();
    let err = e.store().wipe_person("Ann").unwrap_err();
    println!("wipe on a full disk: {err}");
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert!(
        e.store().require_person("Ann").is_ok(),
        "Ann is still there"
    );
    assert_eq!(e.store().audit_log().len(), 6000);
    std::fs::remove_file(filler).unwrap();
    let report = e.store().wipe_person("Ann").unwrap();
    println!("wiped with room: {report:?}");
    assert_eq!((report.images, report.audit_entries), (1, 3000));
    assert!(e.store().require_person("Ann").is_err());
    let left = e.store().audit_log();
    assert_eq!(left.len(), 3000);
    assert!(left.iter().all(|l| l.person == "Bob"));
}

/// Images captured before the disk filled are kept, and the capture that does not fit says so.
#[test]
fn a_capture_on_a_full_disk_keeps_the_earlier_ones() {
    let Some(disk) = SmallDisk::mount("capture", "4m") else {
        return;
    };
    let (mut e, astro, gallery) = ann_on(&disk, ImageKind::Anchor);
    // Other images of her (the same one twice is refused as a duplicate).
    let mirrored = image::imageops::flip_horizontal(&astro);
    let mut darker = astro.clone();
    darker
        .pixels_mut()
        .for_each(|p| p.0 = p.0.map(|c| c / 4 * 3));
    let filler = disk.fill();
    let err = e.capture(&gallery, &mirrored, None).unwrap_err();
    println!("capture on a full disk: {err}");
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert_eq!(e.store().faces(&gallery).unwrap().len(), 1);
    let leftovers: Vec<_> = walk(e.store().root())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    assert!(leftovers.is_empty(), "no temp files left: {leftovers:?}");
    std::fs::remove_file(filler).unwrap();
    e.capture(&gallery, &darker, None).unwrap();
    assert_eq!(e.store().faces(&gallery).unwrap().len(), 2);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Switching the model on a full disk changes nothing: the save fails before the new model is
/// put in place, so probes and gallery vectors still come from one model and Ann still verifies.
#[test]
fn a_model_switch_on_a_full_disk_changes_nothing() {
    use facegate::vision::EmbedderKind;
    let Some(disk) = SmallDisk::mount("model", "4m") else {
        return;
    };
    let (mut e, astro, _) = ann_on(&disk, ImageKind::Verification);
    let mirrored = image::imageops::flip_horizontal(&astro);
    let before = e
        .verify_photo("Ann", &mirrored, Path::new("mirrored"))
        .unwrap();
    let filler = disk.fill();
    let mbf = e.settings().with_model(EmbedderKind::Mbf);
    let err = e.apply_settings(mbf).unwrap_err();
    println!("model switch on a full disk: {err}");
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert_eq!(e.settings().model, EmbedderKind::Sface);
    std::fs::remove_file(filler).unwrap();
    let after = e
        .verify_photo("Ann", &mirrored, Path::new("mirrored"))
        .unwrap();
    println!(
        "Ann's mirrored photo: {:.3} before, {:.3} after the failed switch",
        before.verification.best, after.verification.best
    );
    assert!(after.verification.accepted);
    assert!((after.verification.best - before.verification.best).abs() < 1e-4);
}

/// `detect --draw` on a full disk: exit 2, and the drawing it was to replace is kept whole (it
/// used to be cut to 0 bytes, or to a truncated PNG).
#[test]
fn a_drawing_on_a_full_disk_keeps_the_old_one() {
    let Some(disk) = SmallDisk::mount("draw", "1m") else {
        return;
    };
    if common::models_or_skip("full-disk drawing").is_none() {
        return;
    }
    let photo = common::fixture("astronaut.png");
    let out = disk.dir.join("drawn.png");
    let first = common::run_facegate(&["detect", common::s(&photo), "--draw", common::s(&out)]);
    assert!(first.status.success());
    let before = std::fs::read(&out).unwrap();
    let filler = disk.fill();
    let full = common::run_facegate(&["detect", common::s(&photo), "--draw", common::s(&out)]);
    // A file's error is on stderr, with the OS's reason.
    let said = String::from_utf8_lossy(&full.stderr);
    println!("measured: exit {:?}; {}", full.status.code(), said.trim());
    assert_eq!(full.status.code(), Some(2));
    assert!(
        said.contains("nothing was written") && said.contains("No space left on device"),
        "{said}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the old drawing is kept whole"
    );
    assert_eq!(
        walk(&disk.dir).len(),
        2,
        "no temporary file left: {:?}",
        walk(&disk.dir)
    );
    std::fs::remove_file(filler).unwrap();
}

/// A store on a read-only mount is still read (`user list`, `identify`): the store once made
/// its folders private on every open, the change failed, and every command said only
/// "Read-only file system". What must write (an attempt is counted before it is judged) says
/// which file it could not write, and nothing in the store changes.
#[test]
fn a_store_on_a_read_only_mount_is_read_and_a_verify_says_why_not() {
    let Some(disk) = SmallDisk::mount("read-only", "4m") else {
        return;
    };
    let (e, _, _) = ann_on(&disk, ImageKind::Verification);
    drop(e);
    let before = walk(&disk.dir);
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&disk.dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(remounted, "remount read-only");
    let data = disk.dir.join("store");
    let run = |args: &[&str]| {
        let out = common::facegate_at(&data, args);
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let astronaut = common::fixture("astronaut.png");
    let astronaut = astronaut.to_str().unwrap();
    let (code, listed) = run(&["user", "list"]);
    assert_eq!(code, Some(0));
    assert!(listed.contains("Ann"));
    let (code, who) = run(&["identify", astronaut]);
    assert_eq!(code, Some(0));
    assert!(who.contains("identified: Ann"));
    let (code, why) = run(&["verify", "Ann", astronaut]);
    assert_eq!(
        code,
        Some(2),
        "a verify that cannot count its attempt is refused"
    );
    // Said as what it is and what still works (journey s40 #6: a bare "Read-only file
    // system" on a lock file).
    assert!(
        why.contains("the store is on a read-only file system")
            && why.contains(".lock")
            && why.contains("give a store on a writable file system (--data-dir on the desk"),
        "{why}"
    );
    println!("verify on a read-only store: {why}");
    assert_eq!(walk(&disk.dir), before, "nothing in the store changed");
}

/// `unlock enrol` stopped part-way by a full disk keeps none of the images it saved: they were
/// never checked (one person, no other account's face), and the account would have unlocked
/// with them. Before, the first photo's image stayed.
#[test]
fn an_unlock_enrolment_stopped_by_a_full_disk_keeps_none_of_its_images() {
    let Some(disk) = SmallDisk::mount("enrol", "8m") else {
        return;
    };
    let photos = common::temp_dir("full-enrol-photos");
    let files = three_photos(&photos);
    let store = disk.dir.join("store");
    let config = common::system_config(&photos, &store);
    let enrol = |files: &[&PathBuf]| common::unlock_enrol(&config, "nobody", files, &[]);
    assert!(enrol(&[&files[0]]).status.success());
    let folder = store.join("users/nobody/verification");
    let kept = || {
        let mut names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = kept();
    let one_face: u64 = before
        .iter()
        .map(|n| std::fs::metadata(folder.join(n)).unwrap().len())
        .sum();
    // Room for about one more face, not two.
    let filler = disk.fill_leaving(one_face * 3 / 2 + 8192);
    let out = enrol(&[&files[1], &files[2]]);
    let said = String::from_utf8_lossy(&out.stderr);
    println!("one face is {one_face} bytes; the enrolment said: {said}");
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("disk is full"), "{said}");
    assert_eq!(kept(), before, "only the first enrolment's image is left");
    std::fs::remove_file(filler).unwrap();
    let _ = std::fs::remove_dir_all(&photos);
}

/// `capture` stopped part-way by a full disk says that the images saved before the write that
/// failed stay, and where to see them: "nothing was changed" read as the whole batch (journey
/// s39 #14).
#[test]
fn a_desk_capture_stopped_by_a_full_disk_says_what_stays() {
    let Some(disk) = SmallDisk::mount("desk-capture", "8m") else {
        return;
    };
    let photos = common::temp_dir("full-desk-photos");
    let files = three_photos(&photos);
    let data = disk.dir.join("data");
    assert!(
        common::facegate_at(&data, &["user", "add", "Ann"])
            .status
            .success()
    );
    assert!(
        common::facegate_at(&data, &["capture", "Ann", common::s(&files[0])])
            .status
            .success()
    );
    let folder = data.join("users/Ann/verification");
    let one_face: u64 = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    // Room for about one more face, not two.
    let filler = disk.fill_leaving(one_face * 3 / 2 + 8192);
    let out = common::facegate_at(
        &data,
        &["capture", "Ann", common::s(&files[1]), common::s(&files[2])],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    let saved = std::fs::read_dir(&folder).unwrap().count();
    println!("one face is {one_face} bytes; {saved} files; the capture said: {said}");
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("that write was undone"), "{said}");
    // The first of the two fitted (an image is a PNG and its sidecar): it stays, and is said to.
    assert_eq!(saved, 4, "{said}");
    assert!(
        said.contains("note: the 1 image saved before this stays"),
        "{said}"
    );
    std::fs::remove_file(filler).unwrap();
    let _ = std::fs::remove_dir_all(&photos);
}

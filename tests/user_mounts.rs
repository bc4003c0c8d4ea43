//! Root's `unlock enrol` never reaches a file system a user serves: a FUSE server that answers
//! nothing but its start, mounted inside the photos' folder as another user's, would hold root's
//! read for as long as it likes (red team s38 F2; review s39 M1). Run as root, where `/dev/fuse`
//! and python3 are there; skipped with a notice otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A FUSE server mounted at argv[1] as uid 65534's (`user_id=`, as `fusermount` writes it for a
/// user): it answers FUSE_INIT, so the mount comes up, and logs every other request's opcode to
/// argv[2] without answering it.
const SILENT_SERVER: &str = r#"
import ctypes, os, struct, sys
point, log = sys.argv[1], sys.argv[2]
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
options = f"fd={fd},rootmode=40000,user_id=65534,group_id=65534,allow_other".encode()
if libc.mount(b"facegate-test", point.encode(), b"fuse", 0, options) != 0:
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))
print("mounted", flush=True)
with open(log, "a") as out:
    while True:
        request = os.read(fd, 1 << 20)
        length, opcode, unique = struct.unpack_from("<IIQ", request)
        if opcode == 26:
            # fuse_init_out: protocol 7.31, no flags, the rest zero.
            body = struct.pack("<IIIIHHIIHHI", 7, 31, 65536, 0, 16, 12, 65536, 1, 32, 0, 0)
            body += bytes(28)
            os.write(fd, struct.pack("<IiQ", 16 + len(body), 0, unique) + body)
        else:
            print(opcode, file=out, flush=True)
"#;

/// The server and its mount, taken down on drop: the mount detached first, then the server
/// killed, which also ends any request left waiting on it.
struct Served {
    server: Child,
    point: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.point).status();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn skip_reason() -> Option<&'static str> {
    if !rustix::process::geteuid().is_root() {
        return Some("not root");
    }
    if !Path::new("/dev/fuse").exists() {
        return Some("no /dev/fuse");
    }
    if !Path::new("/usr/bin/python3").exists() {
        return Some("no /usr/bin/python3");
    }
    None
}

fn serve(point: &Path, log: &Path) -> Option<Served> {
    let mut server = Command::new("/usr/bin/python3")
        .args(["-c", SILENT_SERVER])
        .arg(point)
        .arg(log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let served = Served {
        server,
        point: point.to_owned(),
    };
    (line.trim() == "mounted").then_some(served)
}

/// What an enrolment beside a user's server did (it ended, and asked the server nothing, or
/// [`enrol_beside`] failed): its exit and what it said (stdout and stderr).
struct Beside {
    code: Option<i32>,
    said: String,
}

/// `unlock enrol nobody INPUT` as root, with
/// a never-answering server mounted as uid 65534's at `point` and a config in `dir`; None
/// where a FUSE file system cannot be mounted here. The server is taken down before the
/// enrolment is waited for: a read left hanging on it then ends.
fn enrol_beside(dir: &Path, point: &Path, input: &Path) -> Option<Beside> {
    std::fs::create_dir(point).unwrap();
    let log = dir.join("requests.log");
    std::fs::write(&log, "").unwrap();
    let served = serve(point, &log)?;
    let config = common::system_config(dir, &dir.join("store"));
    let mut enrol = common::facegate_command()
        .args(["unlock", "enrol", "nobody"])
        .arg(input)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while enrol.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(90) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let hung = enrol.try_wait().unwrap().is_none();
    drop(served);
    let _ = enrol.kill();
    let out = enrol.wait_with_output().unwrap();
    let beside = Beside {
        code: out.status.code(),
        said: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    let requests = std::fs::read_to_string(&log).unwrap();
    println!(
        "enrol: {:?} in {:.1} s; requests the server saw beyond its start: {:?}\n{}",
        beside.code,
        start.elapsed().as_secs_f64(),
        requests.lines().collect::<Vec<_>>(),
        beside.said
    );
    assert!(!hung, "root's enrolment waited on the user's server");
    assert_eq!(requests, "", "no request reached the user's server");
    Some(beside)
}

#[test]
fn enrol_from_a_folder_with_a_users_mount_inside_never_reaches_it() {
    if let Some(why) = skip_reason() {
        println!("NOTICE: {why}; skipping the user-mount suite");
        return;
    }
    let dir = common::temp_dir("user-mounts");
    let photos = common::astronaut_photos(&dir.join("photos"));
    let point = photos.join("theirs");
    let Some(run) = enrol_beside(&dir, &point, &photos) else {
        println!("NOTICE: a FUSE file system cannot be mounted here; skipping");
        return;
    };
    let said = &run.said;
    assert_eq!(run.code, Some(0), "{said}");
    assert!(said.contains("3 saved"), "{said}");
    // What the user sees there was not read, and is said not to be.
    assert!(
        said.contains(&format!(
            "note: {} (a fuse file system that uid 65534 serves) was not read",
            point.display()
        )),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A photo on a user's file system is refused by name: set aside, it read as missing, or as
/// whatever lay hidden in the folder beneath it (final read s39 F2).
#[test]
fn a_photo_on_a_users_mount_is_refused_by_name() {
    if let Some(why) = skip_reason() {
        println!("NOTICE: {why}; skipping the user-mount suite");
        return;
    }
    let dir = common::temp_dir("user-mounts-on");
    let point = dir.join("theirs");
    let photo = point.join("me.png");
    let Some(run) = enrol_beside(&dir, &point, &photo) else {
        println!("NOTICE: a FUSE file system cannot be mounted here; skipping");
        return;
    };
    let said = &run.said;
    assert_eq!(run.code, Some(2), "{said}");
    assert!(
        said.contains(&format!(
            "{} is on a fuse file system that uid 65534 serves (mounted at {})",
            photo.display(),
            point.display()
        )),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `facegate ARGS` as root, waiting at most 30 s: its exit (None if it hung, then killed)
/// and what it said.
fn run_within(args: &[&str]) -> (Option<i32>, String) {
    let mut child = common::facegate_command()
        .args(args)
        .env("FACEGATE_NO_KEYRING", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let hung = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "$ facegate {}\n-> {:?} in {:.2} s\n{said}",
        args.join(" "),
        out.status.code(),
        start.elapsed().as_secs_f64()
    );
    (if hung { None } else { out.status.code() }, said)
}

/// Root's config and store on a file system a user serves are refused, told from the mount
/// table before anything on it is looked at: such a mount reports whatever owner its server
/// likes (root's, at a name in /tmp whose root-owned folder was cleaned away, which unlocked
/// root with the attacker's face), and a stopped server held every look at it for good (red
/// team s41 F1, F2). The server here answers nothing after its start, so a look would hang.
#[test]
fn roots_config_and_store_on_a_users_mount_are_refused_unasked() {
    if let Some(why) = skip_reason() {
        println!("NOTICE: {why}; skipping the user-mount suite");
        return;
    }
    let dir = common::temp_dir("user-mounts-root");
    let point = dir.join("theirs");
    std::fs::create_dir(&point).unwrap();
    let log = dir.join("requests.log");
    std::fs::write(&log, "").unwrap();
    let Some(served) = serve(&point, &log) else {
        println!("NOTICE: a FUSE file system cannot be mounted here; skipping");
        return;
    };
    let on_it = format!(
        "is on a fuse file system that uid 65534 serves (mounted at {})",
        point.display()
    );
    // The config there (what the PAM module and the daemon read first).
    let config_there = point.join("config.toml");
    let listed = run_within(&["unlock", "list", "--config", common::s(&config_there)]);
    // The store there, under a config of root's own.
    let config = common::system_config(&dir, &point);
    let listed_store = run_within(&["unlock", "list", "--config", common::s(&config)]);
    let daemon = run_within(&["daemon", "--config", common::s(&config)]);
    // What was opened is judged by its own mount too: a mount made between the path's check
    // and the open passed that check (retest s41 N1: root unlocked 1 start in 270). Opened
    // O_PATH, which asks the server nothing.
    let opened = rustix::fs::open(
        &point,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let theirs = facegate_proto::mounts::users_mount_of(std::os::fd::AsFd::as_fd(&opened));
    let ours = std::fs::File::open(&log).unwrap();
    let not_theirs = facegate_proto::mounts::users_mount_of(std::os::fd::AsFd::as_fd(&ours));
    // Detached once opened (`umount -l`: out of the table, its server still answering the
    // descriptor), it is not taken as nobody's (retest s41 N3: the forged store listed so).
    let detached = Command::new("umount")
        .arg("-l")
        .arg(&point)
        .status()
        .unwrap();
    assert!(detached.success());
    let detached = facegate_proto::mounts::users_mount_of(std::os::fd::AsFd::as_fd(&opened));
    drop(opened);
    let requests = std::fs::read_to_string(&log).unwrap();
    drop(served);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "requests the server saw beyond its start: {:?}",
        requests.lines().collect::<Vec<_>>()
    );
    for (code, said) in [listed, listed_store, daemon] {
        assert_eq!(code, Some(2), "refused, not hung: {said}");
        assert!(said.contains(&on_it), "{said}");
    }
    assert_eq!(requests, "", "no request reached the user's server");
    let Some(facegate_proto::mounts::NotRoots::Users(theirs)) = theirs.unwrap() else {
        panic!("the opened folder's mount is the user's");
    };
    assert_eq!(
        (theirs.point.as_path(), theirs.user_id),
        (point.as_path(), Some(65534))
    );
    assert_eq!(not_theirs.unwrap(), None);
    assert_eq!(
        detached.unwrap(),
        Some(facegate_proto::mounts::NotRoots::Detached)
    );
}

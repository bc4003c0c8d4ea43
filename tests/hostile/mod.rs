//! Shared by the `hostile_*` suites (issue 14): an enrolled store, commands run with a time limit,
//! and snapshots of folders outside the data dir that nothing may touch.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::{self, s};

/// The person every suite enrols.
pub const NAME: &str = "Eileen";

pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// stdout and stderr together, as a user reads them.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn run(data: &Path, args: &[&str]) -> Output {
    common::facegate_at(data, args)
}

/// Three different photos of the astronaut (mirrored, darker, original) in `dir`.
pub use crate::common::astronaut_photos;

/// A fresh store under `temp_dir(tag)/data` with [`NAME`] enrolled on three astronaut photos,
/// or None (with a printed NOTICE) when the models are missing.
pub fn enrolled(tag: &str) -> Option<PathBuf> {
    common::models_or_skip(tag)?;
    let root = common::temp_dir(tag);
    let data = root.join("data");
    let photos = astronaut_photos(&root.join("photos"));
    assert_eq!(code(&run(&data, &["user", "add", NAME])), Some(0));
    let out = run(
        &data,
        &["capture", NAME, "--kind", "verification", s(&photos)],
    );
    assert_eq!(code(&out), Some(0), "enrolment: {}", text(&out));
    Some(data)
}

/// A folder of one photo without a face (coffee): a brick wall held up to the camera.
pub fn brick_wall(root: &Path) -> PathBuf {
    let dir = root.join("brick-wall");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(common::fixture("coffee.png"), dir.join("wall.png")).unwrap();
    dir
}

pub fn write_settings(data: &Path, text: &str) {
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join("settings.toml"), text).unwrap();
}

pub fn lockout_file(data: &Path) -> PathBuf {
    data.join("users").join(NAME).join("lockout.json")
}

/// [`NAME`]'s lockout.json, or None when there is none.
pub fn lockout(data: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(lockout_file(data)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Most memory a bounded run may hold before it is killed: far above what any command here
/// needs, far below the machine's (a regression reading `/dev/zero` must not take it all).
pub const MAX_RSS_KB: u64 = 2 << 20;

/// What a command did within its time and memory limits.
#[derive(Debug)]
pub struct Timed {
    /// None when it was killed at a limit ([`Timed::killed`] says which).
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The most resident memory seen, in kB (sampled every 20 ms).
    pub peak_kb: u64,
    /// Why it was killed, when it was.
    pub killed: Option<String>,
}

impl Timed {
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A process's resident memory in kB (Linux), or 0 once it is gone.
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Runs `command` for at most `limit` and [`MAX_RSS_KB`], killing it at either: a hang or a
/// runaway allocation fails the test, not the suite or the machine.
pub fn run_for(mut command: Command, limit: Duration) -> Timed {
    let shown = format!("{command:?}");
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn facegate");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut peak_kb = 0;
    let mut killed = None;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        peak_kb = peak_kb.max(rss_kb(child.id()));
        if peak_kb > MAX_RSS_KB {
            killed = Some(format!("held {} MB", peak_kb >> 10));
        } else if start.elapsed() >= limit {
            killed = Some(format!("still running after {:.0} s", limit.as_secs_f64()));
        }
        if killed.is_some() {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let timed = Timed {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed,
        peak_kb,
        killed,
    };
    println!(
        "$ {shown}\n-> {:?} after {:.1} s, peak {} MB{}\n{}",
        timed.status,
        elapsed.as_secs_f64(),
        peak_kb >> 10,
        timed
            .killed
            .as_ref()
            .map_or(String::new(), |why| format!(" (killed: {why})")),
        timed.text()
    );
    timed
}

/// `facegate --data-dir DATA ARGS` for [`run_for`].
pub fn facegate_cmd(data: &Path, args: &[&str]) -> Command {
    let mut command = common::facegate_command();
    command.arg("--data-dir").arg(data).args(args);
    command
}

/// Every entry under `dir` (not following links): its mode, and a file's bytes or a link's
/// target. Two equal snapshots mean nothing was created, changed, re-moded or deleted there.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (u32, String)>) {
        let meta = std::fs::symlink_metadata(dir).unwrap();
        out.insert(
            dir.strip_prefix(root).unwrap().to_owned(),
            (meta.mode() & 0o7777, "<dir>".into()),
        );
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_owned();
            if meta.is_dir() {
                walk(root, &p, out);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(rel, (0, format!("-> {}", target.display())));
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let shown = if bytes.len() <= 64 {
                    String::from_utf8_lossy(&bytes).into_owned()
                } else {
                    format!("{} bytes, sum {}", bytes.len(), checksum(&bytes))
                };
                out.insert(rel, (meta.mode() & 0o7777, shown));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Prints both snapshots and fails naming every difference.
pub fn assert_untouched(
    what: &str,
    before: &BTreeMap<PathBuf, (u32, String)>,
    after: &BTreeMap<PathBuf, (u32, String)>,
) {
    let mut diffs = Vec::new();
    for (p, was) in before {
        match after.get(p) {
            None => diffs.push(format!("{} deleted", p.display())),
            Some(now) if now != was => diffs.push(format!(
                "{}: mode {:o} {:?} -> mode {:o} {:?}",
                p.display(),
                was.0,
                was.1,
                now.0,
                now.1
            )),
            _ => {}
        }
    }
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        diffs.push(format!("{} created", p.display()));
    }
    println!(
        "measured: {what}: {} entries before, {} after, {} differences {diffs:?}",
        before.len(),
        after.len(),
        diffs.len()
    );
    assert!(diffs.is_empty(), "{what} was touched: {diffs:#?}");
}

/// Sets `mode` on `path` (a file or folder the suite made).
pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The effective uid of this test process (the owner of a file it just made).
pub fn my_uid(probe_dir: &Path) -> u32 {
    std::fs::metadata(probe_dir).unwrap().uid()
}

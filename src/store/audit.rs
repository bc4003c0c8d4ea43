//! The audit log: one JSON line per verification attempt, so a user can see who tried to unlock
//! as whom, when, and how close it was. Rotated by size; a wipe removes a person's lines.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dir::{DataDir, Kind, Owner};

pub const LOG_FILE: &str = "audit.log";
/// Rotate when the log passes this size; keep this many old logs (audit.log.1 ...).
const MAX_BYTES: u64 = 1 << 20;
const KEEP: usize = 3;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub unix_time: u64,
    pub person: String,
    /// Where the attempt came from: "cli", "gui", "unlock".
    pub channel: String,
    pub accepted: bool,
    /// The scores of the (last) verification the verdict rests on, when the caller had them.
    pub scores: Option<AuditScores>,
    /// The liveness score when a liveness check ran.
    pub liveness: Option<f32>,
    /// Saved frame of a failed attempt (only when the user opted in).
    pub frame: Option<String>,
    /// How it ended ([`crate::auth::lockout::Ended::as_str`]): "refused" counts toward a
    /// lock-out, "no face judged" and "cut short" do not. Absent in lines written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// The uid of the system account an unlock attempt was for: lines are kept by name after
    /// `unlock remove`, and a later account given the name is another person (red team s33
    /// F3). Absent for the desk's attempts and in lines written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditScores {
    pub share: f32,
    pub best: f32,
    pub template_score: f32,
    /// "cosine" or "head".
    pub scorer: String,
}

/// The log and its rotated predecessors that exist, newest first (relative to the data dir).
pub fn files(dir: &DataDir) -> Vec<PathBuf> {
    std::iter::once(PathBuf::from(LOG_FILE))
        .chain((1..=KEEP).map(|i| PathBuf::from(format!("{LOG_FILE}.{i}"))))
        .filter(|p| dir.kind(p) == Kind::File)
        .collect()
}

/// Appends one entry (the caller holds the store lock).
pub fn append(dir: &DataDir, entry: &AuditEntry) -> std::io::Result<()> {
    let log = Path::new(LOG_FILE);
    if dir.stamp(log).is_some_and(|s| s.len > MAX_BYTES) {
        rotate(dir)?;
    }
    let mut line = serde_json::to_vec(entry).expect("entry serialises");
    line.push(b'\n');
    // One write call per line: concurrent appenders (GUI and CLI) cannot interleave within it.
    dir.append(log, &line)
}

fn rotate(dir: &DataDir) -> std::io::Result<()> {
    let _ = dir.remove_file(Path::new(&format!("{LOG_FILE}.{KEEP}")));
    for i in (1..KEEP).rev() {
        let from = PathBuf::from(format!("{LOG_FILE}.{i}"));
        if dir.kind(&from) == Kind::File {
            dir.rename(&from, Path::new(&format!("{LOG_FILE}.{}", i + 1)))?;
        }
    }
    dir.rename(Path::new(LOG_FILE), Path::new(&format!("{LOG_FILE}.1")))
}

/// Every readable entry of the store at `root`, oldest first (see [`read_in`]).
pub fn read(root: &Path) -> Vec<AuditEntry> {
    DataDir::open(root, Owner::EffectiveUser)
        .map(|dir| read_in(&dir))
        .unwrap_or_default()
}

/// Every readable entry, oldest first; damaged lines are skipped (a crash mid-append).
pub fn read_in(dir: &DataDir) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    for file in files(dir).into_iter().rev() {
        // Bytes, not a String: one non-UTF-8 byte (found by fuzzing) used to drop the whole
        // file; now only its line is skipped, like any other damaged line.
        let Ok(bytes) = dir.read(&file, 4 * MAX_BYTES) else {
            continue;
        };
        out.extend(lines(&bytes).filter_map(|l| serde_json::from_slice(l).ok()));
    }
    out
}

/// Rewrites every log without `person`'s entries; returns how many were removed and the saved
/// frames they referred to.
pub fn forget(dir: &DataDir, person: &str) -> std::io::Result<(usize, Vec<String>)> {
    let mut frames = Vec::new();
    let removed = rewrite(dir, person, |e| {
        frames.extend(e.frame);
        None
    })?;
    Ok((removed, frames))
}

/// Rewrites every log with `from`'s entries under the name `to` (a renamed person: a later wipe
/// of `to` must find them, and a later person called `from` must not); returns how many.
pub fn rename(dir: &DataDir, from: &str, to: &str) -> std::io::Result<usize> {
    rewrite(dir, from, |mut e| {
        e.person = to.to_owned();
        Some(e)
    })
}

/// Rewrites every log with each of `person`'s entries replaced by what `change` makes of it
/// (`None`: removed); returns how many there were. Other lines, damaged ones included, are kept
/// byte for byte. Every log is read before any is written: one that cannot be read (over the
/// size FaceGate writes) used to refuse the wipe after the logs before it were rewritten, so
/// the person stayed enrolled without their lines (red team, session 30).
fn rewrite(
    dir: &DataDir,
    person: &str,
    mut change: impl FnMut(AuditEntry) -> Option<AuditEntry>,
) -> std::io::Result<usize> {
    let mut changed = 0;
    let mut rewritten = Vec::new();
    for file in files(dir) {
        // Bytes, not a String: a non-UTF-8 byte anywhere in a log (found by fuzzing) made
        // read_to_string fail, and with it `user remove --wipe`. Damaged lines are kept as
        // they are.
        let bytes = dir.read(&file, 4 * MAX_BYTES).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => std::io::Error::new(
                e.kind(),
                format!(
                    "{} is over {} MB, which FaceGate never writes (it starts a new log at {} \
                     MB): move it out of the data dir, then run this again",
                    dir.display(&file).display(),
                    (4 * MAX_BYTES) >> 20,
                    MAX_BYTES >> 20
                ),
            ),
            _ => e,
        })?;
        let mut kept = Vec::with_capacity(bytes.len());
        let mut touched = false;
        for line in lines(&bytes) {
            match serde_json::from_slice::<AuditEntry>(line) {
                Ok(e) if e.person == person => {
                    changed += 1;
                    touched = true;
                    if let Some(e) = change(e) {
                        serde_json::to_writer(&mut kept, &e).map_err(std::io::Error::other)?;
                        kept.push(b'\n');
                    }
                }
                _ => {
                    kept.extend_from_slice(line);
                    kept.push(b'\n');
                }
            }
        }
        if touched {
            rewritten.push((file, kept));
        }
    }
    for (file, kept) in rewritten {
        dir.write_atomic(&file, &kept)?;
    }
    Ok(changed)
}

/// The non-empty lines of a log as bytes, without their `\r` (like `str::lines`).
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(person: &str, accepted: bool) -> AuditEntry {
        AuditEntry {
            unix_time: 1,
            person: person.into(),
            channel: "cli".into(),
            accepted,
            ..Default::default()
        }
    }

    #[test]
    fn append_read_rotate_forget() {
        let t = tempfile::tempdir().unwrap();
        let dir = DataDir::open(t.path(), Owner::EffectiveUser).unwrap();
        append(&dir, &entry("ann", true)).unwrap();
        append(&dir, &entry("bob", false)).unwrap();
        assert_eq!(
            read(t.path()),
            vec![entry("ann", true), entry("bob", false)]
        );
        rotate(&dir).unwrap();
        append(&dir, &entry("ann", false)).unwrap();
        assert_eq!(files(&dir).len(), 2);
        assert_eq!(
            read_in(&dir).len(),
            3,
            "rotated entries still read, oldest first"
        );
        let (removed, _) = forget(&dir, "ann").unwrap();
        assert_eq!(removed, 2);
        assert_eq!(read_in(&dir), vec![entry("bob", false)]);
    }

    #[test]
    fn a_log_that_cannot_be_read_stops_the_wipe_before_any_line_goes() {
        let t = tempfile::tempdir().unwrap();
        let dir = DataDir::open(t.path(), Owner::EffectiveUser).unwrap();
        append(&dir, &entry("ann", true)).unwrap();
        let oversized = vec![b'x'; 4 * MAX_BYTES as usize + 1];
        std::fs::write(t.path().join(format!("{LOG_FILE}.1")), oversized).unwrap();
        let before = std::fs::read(t.path().join(LOG_FILE)).unwrap();
        let refused = forget(&dir, "ann").unwrap_err();
        println!("{refused}");
        assert!(refused.to_string().contains("move it out"), "{refused}");
        assert_eq!(std::fs::read(t.path().join(LOG_FILE)).unwrap(), before);
    }
}

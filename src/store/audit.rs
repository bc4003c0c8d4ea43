//! The audit log: one JSON line per verification attempt, so a user can see who tried to unlock
//! as whom, when, and how close it was. Rotated by size; a wipe removes a person's lines.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsio;

pub const LOG_FILE: &str = "audit.log";
/// Rotate when the log passes this size; keep this many old logs (audit.log.1 ...).
const MAX_BYTES: u64 = 1 << 20;
const KEEP: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditScores {
    pub share: f32,
    pub best: f32,
    pub template_score: f32,
    /// "cosine" or "head".
    pub scorer: String,
}

/// The log and its rotated predecessors, newest first.
pub fn files(root: &Path) -> Vec<PathBuf> {
    std::iter::once(root.join(LOG_FILE))
        .chain((1..=KEEP).map(|i| root.join(format!("{LOG_FILE}.{i}"))))
        .filter(|p| p.exists())
        .collect()
}

/// Appends one entry (the caller holds the store lock).
pub fn append(root: &Path, entry: &AuditEntry) -> std::io::Result<()> {
    let path = root.join(LOG_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_BYTES) {
        rotate(root)?;
    }
    let mut line = serde_json::to_vec(entry).expect("entry serialises");
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)?;
    // One write call per line: concurrent appenders (GUI and CLI) cannot interleave within it.
    f.write_all(&line)?;
    f.sync_data()
}

fn rotate(root: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(root.join(format!("{LOG_FILE}.{KEEP}")));
    for i in (1..KEEP).rev() {
        let from = root.join(format!("{LOG_FILE}.{i}"));
        if from.exists() {
            std::fs::rename(&from, root.join(format!("{LOG_FILE}.{}", i + 1)))?;
        }
    }
    std::fs::rename(root.join(LOG_FILE), root.join(format!("{LOG_FILE}.1")))
}

/// Every readable entry, oldest first; damaged lines are skipped (a crash mid-append).
pub fn read(root: &Path) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    for file in files(root).into_iter().rev() {
        // Bytes, not a String: one non-UTF-8 byte (found by fuzzing) used to drop the whole
        // file; now only its line is skipped, like any other damaged line.
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        out.extend(lines(&bytes).filter_map(|l| serde_json::from_slice(l).ok()));
    }
    out
}

/// Rewrites every log without `person`'s entries; returns how many were removed and the saved
/// frames they referred to.
pub fn forget(root: &Path, person: &str) -> std::io::Result<(usize, Vec<String>)> {
    let mut removed = 0;
    let mut frames = Vec::new();
    for file in files(root) {
        // Bytes, not a String: a non-UTF-8 byte anywhere in a log (found by fuzzing) made
        // read_to_string fail, and with it `user remove --wipe`, after the person's folder was
        // already gone. Damaged lines are kept as they are.
        let bytes = std::fs::read(&file)?;
        let mut kept = Vec::with_capacity(bytes.len());
        for line in lines(&bytes) {
            match serde_json::from_slice::<AuditEntry>(line) {
                Ok(e) if e.person == person => {
                    removed += 1;
                    frames.extend(e.frame);
                }
                _ => {
                    kept.extend_from_slice(line);
                    kept.push(b'\n');
                }
            }
        }
        fsio::write_atomic(&file, &kept)?;
    }
    Ok((removed, frames))
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
            scores: None,
            liveness: None,
            frame: None,
        }
    }

    #[test]
    fn append_read_rotate_forget() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &entry("ann", true)).unwrap();
        append(dir.path(), &entry("bob", false)).unwrap();
        assert_eq!(
            read(dir.path()),
            vec![entry("ann", true), entry("bob", false)]
        );
        rotate(dir.path()).unwrap();
        append(dir.path(), &entry("ann", false)).unwrap();
        assert_eq!(files(dir.path()).len(), 2);
        assert_eq!(
            read(dir.path()).len(),
            3,
            "rotated entries still read, oldest first"
        );
        let (removed, _) = forget(dir.path(), "ann").unwrap();
        assert_eq!(removed, 2);
        assert_eq!(read(dir.path()), vec![entry("bob", false)]);
    }
}

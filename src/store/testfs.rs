//! A small tmpfs for the store's full-disk tests: mounted on a temporary folder, unmounted on
//! drop. Needs root; elsewhere the caller's test is skipped with a printed notice.

use std::path::Path;
use std::process::Command;

pub struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// A tmpfs of `size` (as `mount -o size=` reads it, e.g. "8k"), or None with a notice
    /// naming `test` when this process may not mount one.
    pub fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        if !rustix::process::geteuid().is_root() {
            println!("NOTICE: not root; {test} needs a tmpfs mount, skipped");
            return None;
        }
        let fs = Tmpfs(tempfile::tempdir().unwrap());
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(fs.path())
            .status();
        if !mounted.is_ok_and(|s| s.success()) {
            println!("NOTICE: cannot mount a tmpfs here; {test} skipped");
            return None;
        }
        Some(fs)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

//! What the daemon reads about a caller's process under `/proc`: one place for the paths and the
//! control-group parsing, so that the caller check ([`super::caller`]) and the remote-session
//! check ([`super::remote`]) read them alike. `procfs` is `/proc`, or a fake one in tests.

use std::path::Path;

/// `/proc/PID/FILE` as text; `None` when it cannot be read (the process is gone or unseen).
pub fn read(procfs: &Path, pid: i32, file: &str) -> Option<String> {
    if pid <= 0 {
        return None;
    }
    std::fs::read_to_string(procfs.join(pid.to_string()).join(file)).ok()
}

/// The file name of the process's executable (`/proc/PID/exe`), without the " (deleted)" the
/// kernel adds once the file is gone.
pub fn exe_name(procfs: &Path, pid: i32) -> Option<String> {
    if pid <= 0 {
        return None;
    }
    let exe = std::fs::read_link(procfs.join(pid.to_string()).join("exe")).ok()?;
    let name = exe.file_name()?.to_string_lossy();
    Some(name.trim_end_matches(" (deleted)").to_owned())
}

/// Every path component of the process's control groups, from all its lines (one per cgroup v1
/// hierarchy, `0::/…` for v2): `system.slice`, `sshd.service`, `session-3.scope`, …
pub fn cgroup_components(procfs: &Path, pid: i32) -> Option<Vec<String>> {
    cgroup_components_under(procfs, pid, None)
}

/// [`cgroup_components`] of the lines whose path starts at the slice `top` (`system.slice`):
/// only systemd names units there, where a user's own manager (`user@UID.service`) names what
/// lies below it as its user likes.
pub fn cgroup_components_under(procfs: &Path, pid: i32, top: Option<&str>) -> Option<Vec<String>> {
    let cgroups = read(procfs, pid, "cgroup")?;
    Some(
        cgroups
            .lines()
            .map(|line| line.splitn(3, ':').nth(2).unwrap_or(""))
            .filter(|path| {
                top.is_none_or(|top| path.split('/').find(|c| !c.is_empty()) == Some(top))
            })
            .flat_map(|path| path.split('/'))
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_of_v1_and_v2_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("7")).unwrap();
        std::fs::write(
            dir.path().join("7/cgroup"),
            "9:name=systemd:/system.slice/sshd.service\n0::/user.slice/session-3.scope\n",
        )
        .unwrap();
        assert_eq!(
            cgroup_components(dir.path(), 7).unwrap(),
            [
                "system.slice",
                "sshd.service",
                "user.slice",
                "session-3.scope"
            ]
        );
        assert_eq!(cgroup_components(dir.path(), 8), None);
        assert_eq!(read(dir.path(), 0, "cgroup"), None);
    }
}

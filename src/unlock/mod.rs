//! System face unlock: a thin PAM module with no secrets asks a root daemon for yes or no, and
//! everything the daemon trusts is root-owned ([`config`]: `/etc/facegate/config.toml`, the store
//! in `/var/lib/facegate`). The user's own FaceGate data is never read on this path: the person
//! being authenticated must not decide the faces, thresholds or lock-out that gate `sudo`.
//!
//! - [`config`]: the system config, read only after ownership checks on it and its folders;
//! - [`account`]: the uid an enrolment was made for, so a name reused by a new account is not
//!   unlocked by the old one's face;
//! - [`daemon`]: `facegate daemon`, one attempt at a time over a Unix socket (protocol in the
//!   `facegate-proto` crate, shared with the PAM module);
//! - `gate`: what is answered without the camera (not enrolled, locked out, paused), at once;
//! - [`caller`]: who is behind a connection (the user who started it, also for `su`);
//! - [`turns`]: how much of the daemon one caller may hold (readers per uid, one attempt per
//!   account);
//! - `procfs`: what both read about a caller's process;
//! - `subids`: subordinate uids (rootless containers), counted as the user who owns them;
//! - [`remote`]: whether the caller was started from another machine (an SSH login), which
//!   PAM_RHOST alone does not tell for `sudo`.

pub mod account;
pub mod caller;
pub mod config;
pub mod daemon;
pub mod gate;
mod hush;
mod procfs;
pub mod remote;
mod subids;
pub mod turns;

pub use config::SystemConfig;
pub use daemon::Daemon;

/// The command that enrols `account` for system face unlock from `person`'s verification images
/// in the desk store at `data_dir`: what the app runs through `pkexec`, or shows to be run.
pub fn enrol_command(account: &str, data_dir: &std::path::Path, person: &str) -> Vec<String> {
    let exe = std::env::current_exe()
        .ok()
        .filter(|e| e.is_absolute())
        .map_or_else(|| "facegate".to_owned(), |e| e.display().to_string());
    vec![
        exe,
        "unlock".into(),
        "enrol".into(),
        account.into(),
        "--from-user-store".into(),
        data_dir.display().to_string(),
        "--person".into(),
        person.into(),
    ]
}

/// What the window says once [`enrol_command`] succeeded: face unlock is on, each image the
/// enrolment turned down beside those it kept (by its file's name: the copies it imports are
/// named by the images' ids), its warnings, and how PAM is told to use it. "Face unlock is on"
/// alone hid an image turned down (design review s32 D3).
pub fn enrolled_said(account: &str, out: &std::process::Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let turned_down: Vec<String> = stdout
        .lines()
        .chain(stderr.lines())
        .filter_map(|line| line.strip_prefix(crate::shown::REFUSED))
        .filter_map(|rest| rest.split_once(": "))
        .map(|(file, why)| {
            let name = std::path::Path::new(file)
                .file_stem()
                .map(|n| n.to_string_lossy());
            format!("{}: {why}", name.unwrap_or(file.into()))
        })
        .collect();
    let mut said = format!("face unlock is on for {account}");
    if !turned_down.is_empty() {
        let counted = crate::shown::counted(turned_down.len(), "image was", "images were");
        said.push_str(&format!(
            "; {counted} turned down ({})",
            turned_down.join("; ")
        ));
    }
    for warning in stderr.lines().filter_map(|l| l.strip_prefix("warning: ")) {
        said.push_str(&format!("; {warning}"));
    }
    said.push_str(" (enable it in PAM with `sudo pam-auth-update --enable facegate`)");
    said
}

/// The name of the account running this process.
pub fn current_account() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
}

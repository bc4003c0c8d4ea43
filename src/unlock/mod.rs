//! System face unlock: a thin PAM module with no secrets asks a root daemon for yes or no, and
//! everything the daemon trusts is root-owned ([`config`]: `/etc/facegate/config.toml`, the store
//! in `/var/lib/facegate`). The user's own FaceGate data is never read on this path: the person
//! being authenticated must not decide the faces, thresholds or lock-out that gate `sudo`.
//!
//! - [`config`]: the system config, read only after ownership checks on it and its folders;
//! - [`daemon`]: `facegate daemon`, one attempt at a time over a Unix socket (protocol in the
//!   `facegate-proto` crate, shared with the PAM module).

pub mod config;
pub mod daemon;

pub use config::SystemConfig;
pub use daemon::Daemon;

//! Reading a file someone else named: a photo, a model, a CSV manifest. Only a regular file is
//! read, opened without blocking (a FIFO in its place would wait for a writer for ever), judged
//! on the opened handle (nothing can be swapped in between the check and the read), and never
//! past a cap (`/dev/zero` never ends, and a file can grow while it is read). Each caller turns
//! [`Refused`] into its own error, with its own advice.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum Refused {
    Io(io::Error),
    /// A folder, a device, a pipe or a socket.
    NotAFile,
    /// Its size in bytes (as far as it was read), over the cap.
    TooLarge(u64),
    /// Not to be trusted by a privileged reader ([`open_owned`]): why.
    Untrusted(String),
}

/// Opens `path` for reading if it is a regular file (a link is followed) of at most `max` bytes.
pub fn open(path: &Path, max: u64) -> Result<File, Refused> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(Refused::Io)?;
    checked(file, max)
}

/// `uid` as an admin reads it: "1002 (alice)", or the number alone when no account has it
/// (an owner named by uid alone sent the admin to /etc/passwd; journey s32 #12).
fn with_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => format!("{uid} ({})", crate::shown::Escaped(&user.name)),
        _ => uid.to_string(),
    }
}

/// [`open`] for a process running as root on a file a user may have put there (photos to enrol
/// an account from): no link is followed, in the file's name or in any folder above it, and the
/// opened file must belong to one of `owners` (root and the account), so a photo planted by
/// anyone else is not read. A linked folder on the way let a user have root read, and enrol as
/// theirs, any root-owned photo, another account's enrolment included (red team S27-F2).
pub fn open_owned(path: &Path, max: u64, owners: &[u32]) -> Result<File, Refused> {
    use std::os::unix::fs::MetadataExt;
    let file = open_without_links(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            Refused::Untrusted(
                "it is a symbolic link or is reached through one, which is not followed here; \
                 give the path without links"
                    .into(),
            )
        } else {
            Refused::Io(e)
        }
    })?;
    let file = checked(file, max)?;
    let meta = file.metadata().map_err(Refused::Io)?;
    let uid = meta.uid();
    if !owners.contains(&uid) {
        return Err(Refused::Untrusted(format!(
            "it belongs to uid {}; only files of uid {} are read here",
            with_name(uid),
            owners
                .iter()
                .map(|&uid| with_name(uid))
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    // Its owner's, but rewritten in place by another user: not theirs to give (design review,
    // session 29: R3). Group-writable too, even where the group is the owner's private one
    // (umask 002): with an ACL the group bits are its mask, and another user's entry hides
    // behind a group that looks private; nor does a group entry say who else has it as their
    // primary group or knows its password (read-through, session 29).
    let mode = meta.mode();
    if facegate_proto::trust::others_can_write(mode, false) {
        return Err(Refused::Untrusted(format!(
            "users besides its owner can write it (mode {:o}); make it its owner's alone \
             (`chmod go-w`)",
            mode & 0o7777
        )));
    }
    Ok(file)
}

/// The first link on `path`: itself or a folder above it (made absolute first), if any. Its
/// components are taken afresh: `linked/` with its trailing slash would be looked at through
/// the link (lstat of "linked/" follows it).
pub fn link_on(path: &Path) -> Option<std::path::PathBuf> {
    let absolute: std::path::PathBuf = std::path::absolute(path).ok()?.components().collect();
    absolute
        .ancestors()
        .find(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()))
        .map(Path::to_owned)
}

/// Opens `path` read-only without blocking, failing with `ELOOP` on a link anywhere in it:
/// `openat2`'s `RESOLVE_NO_SYMLINKS`, which the kernel applies to every component as it walks,
/// so nothing can be swapped in between a check and the open. Kernels before 5.6 lack it (and
/// some sandboxes forbid it): there the folders are checked by [`link_on`] and the file opened
/// with `O_NOFOLLOW` (a folder swapped for a link between the two is the race that remains).
fn open_without_links(path: &Path) -> io::Result<File> {
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    match rustix::fs::openat2(CWD, path, flags, Mode::empty(), resolve) {
        Ok(fd) => Ok(File::from(fd)),
        // ENOSYS: a kernel before 5.6; EPERM: a sandbox's seccomp filter that does not know it.
        Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
            if link_on(path).is_some() {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            File::options()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
                .open(path)
        }
        Err(e) => Err(e.into()),
    }
}

/// `file` if it is a regular file of at most `max` bytes, judged on the open handle.
fn checked(file: File, max: u64) -> Result<File, Refused> {
    let meta = file.metadata().map_err(Refused::Io)?;
    if !meta.is_file() {
        return Err(Refused::NotAFile);
    }
    if meta.len() > max {
        return Err(Refused::TooLarge(meta.len()));
    }
    Ok(file)
}

/// The rest of `file`, refused once it passes `max` bytes.
pub fn read_all(file: File, max: u64) -> Result<Vec<u8>, Refused> {
    let expected = file.metadata().map_or(0, |m| m.len().min(max));
    let mut bytes = Vec::with_capacity(expected as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(Refused::Io)?;
    if bytes.len() as u64 > max {
        return Err(Refused::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_a_folder_and_an_endless_device_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(open(&fifo, 10), Err(Refused::NotAFile)));
        assert!(matches!(open(dir.path(), 10), Err(Refused::NotAFile)));
        assert!(matches!(
            open(Path::new("/dev/zero"), 10),
            Err(Refused::NotAFile)
        ));
        let small = dir.path().join("small");
        std::fs::write(&small, b"12345").unwrap();
        assert!(matches!(open(&small, 4), Err(Refused::TooLarge(5))));
        let file = open(&small, 5).unwrap();
        assert_eq!(read_all(file, 5).unwrap(), b"12345");
        // Grown past the cap after the open: the read stops at it.
        let file = open(&small, 5).unwrap();
        std::fs::write(&small, b"1234567").unwrap();
        assert!(matches!(read_all(file, 5), Err(Refused::TooLarge(6))));
    }

    #[test]
    fn a_privileged_reader_takes_neither_a_link_nor_another_owners_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo");
        std::fs::write(&photo, b"12345").unwrap();
        let me = std::fs::metadata(&photo).unwrap().uid();
        assert!(open_owned(&photo, 5, &[me]).is_ok());
        let other = me + 1;
        assert!(
            matches!(open_owned(&photo, 5, &[other]), Err(Refused::Untrusted(why)) if why.contains(&format!("belongs to uid {me}")) && (me != 0 || why.contains("uid 0 (root)")))
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&photo, &link).unwrap();
        assert!(open(&link, 5).is_ok(), "an ordinary reader follows it");
        assert!(
            matches!(open_owned(&link, 5, &[me]), Err(Refused::Untrusted(why)) if why.contains("symbolic link"))
        );
        // A link to a folder above the file: the file itself is no link (red team S27-F2).
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("photo"), b"12345").unwrap();
        let linked = dir.path().join("linked");
        std::os::unix::fs::symlink(&folder, &linked).unwrap();
        assert!(open(&linked.join("photo"), 5).is_ok());
        assert_eq!(link_on(&linked.join("photo")), Some(linked.clone()));
        let slashed = format!("{}/", linked.display());
        assert_eq!(link_on(Path::new(&slashed)), Some(linked.clone()));
        assert_eq!(link_on(&folder.join("photo")), None);
        assert!(
            matches!(open_owned(&linked.join("photo"), 5, &[me]), Err(Refused::Untrusted(why)) if why.contains("reached through"))
        );
        assert!(open_owned(&folder.join("photo"), 5, &[me]).is_ok());
        // Its owner's, but anyone may rewrite it in place (design review, session 29: R3).
        use std::os::unix::fs::PermissionsExt;
        for mode in [0o666, 0o646, 0o664] {
            std::fs::set_permissions(&photo, std::fs::Permissions::from_mode(mode)).unwrap();
            let why = match open_owned(&photo, 5, &[me]) {
                Err(Refused::Untrusted(why)) => why,
                other => panic!("mode {mode:o}: {other:?}"),
            };
            println!("mode {mode:o}: {why}");
            assert!(
                why.contains("users besides its owner can write it"),
                "{why}"
            );
        }
        std::fs::set_permissions(&photo, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(open_owned(&photo, 5, &[me]).is_ok());
    }
}

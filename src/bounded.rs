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
}

/// Opens `path` for reading if it is a regular file (a link is followed) of at most `max` bytes.
pub fn open(path: &Path, max: u64) -> Result<File, Refused> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(Refused::Io)?;
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
}

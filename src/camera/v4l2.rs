//! What a `/dev/videoN` node is, asked of its driver (VIDIOC_QUERYCAP) before the system unlock
//! path reads faces from it. A virtual camera (v4l2loopback, OBS's "virtual camera", akvcam,
//! vivid) shows frames a program writes, and whoever may open the node (the `video` group) can
//! be that program: a recording of the owner turning their head would then arrive as clean
//! frames, past the texture model that looks for a screen or a print. The desk app may read
//! such a camera (a demo through OBS); face unlock never does.

use std::os::fd::AsRawFd;

use v4l::v4l_sys::{
    V4L2_CAP_DEVICE_CAPS, V4L2_CAP_VIDEO_M2M, V4L2_CAP_VIDEO_M2M_MPLANE, V4L2_CAP_VIDEO_OUTPUT,
    V4L2_CAP_VIDEO_OUTPUT_MPLANE, v4l2_capability,
};
use v4l::v4l2::{self as api, vidioc::VIDIOC_QUERYCAP};

/// Words in a driver's name or bus whose frames come from a program, not a lens (compared in
/// lower case): v4l2loopback ("v4l2 loopback", bus "platform:v4l2loopback-000") and its forks
/// such as DroidCam's, which calls itself "Droidcam" and shows no output capability, akvcam,
/// vivid.
const VIRTUAL: [&str; 5] = ["loopback", "droidcam", "akvcam", "vivid", "vcam"];

/// A V4L2 node as its driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    /// The node's own capabilities (or the device's, from a driver too old to say).
    pub caps: u32,
}

impl Node {
    /// Why this node is not a camera whose frames come from a lens, if it is not.
    pub fn not_a_lens(&self) -> Option<String> {
        let named = |text: &str| {
            let text = text.to_lowercase();
            VIRTUAL.iter().any(|word| text.contains(word))
        };
        if named(&self.driver) || named(&self.bus_info) {
            return Some(format!(
                "a virtual camera (driver \"{}\", bus \"{}\"): its frames come from a program",
                self.driver, self.bus_info
            ));
        }
        let written = V4L2_CAP_VIDEO_OUTPUT
            | V4L2_CAP_VIDEO_OUTPUT_MPLANE
            | V4L2_CAP_VIDEO_M2M
            | V4L2_CAP_VIDEO_M2M_MPLANE;
        (self.caps & written != 0).then(|| {
            format!(
                "frames can be written into it (driver \"{}\", capabilities {:#x})",
                self.driver, self.caps
            )
        })
    }
}

/// Asks the driver of `/dev/video{index}` what it is. Opened without following a link and
/// without blocking; anything but a character device answering VIDIOC_QUERYCAP is an error.
pub fn query(index: u32) -> std::io::Result<Node> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let path = format!("/dev/video{index}");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{path}: {e}")))?;
    if !file.metadata()?.file_type().is_char_device() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{path} is not a device"),
        ));
    }
    query_fd(&file).map_err(|e| std::io::Error::new(e.kind(), format!("{path}: {e}")))
}

fn query_fd(file: &std::fs::File) -> std::io::Result<Node> {
    // SAFETY: zeroed bytes are a valid v4l2_capability (integers and byte arrays only).
    let mut cap: v4l2_capability = unsafe { std::mem::zeroed() };
    // SAFETY: VIDIOC_QUERYCAP writes one struct v4l2_capability into `cap`, which lives for
    // the call; the fd is open.
    unsafe { api::ioctl(file.as_raw_fd(), VIDIOC_QUERYCAP, (&raw mut cap).cast()) }.map_err(
        |e| {
            std::io::Error::new(
                e.kind(),
                format!("not a V4L2 camera (VIDIOC_QUERYCAP: {e})"),
            )
        },
    )?;
    let text = |bytes: &[u8]| {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    Ok(Node {
        driver: text(&cap.driver),
        card: text(&cap.card),
        bus_info: text(&cap.bus_info),
        caps: if cap.capabilities & V4L2_CAP_DEVICE_CAPS != 0 {
            cap.device_caps
        } else {
            cap.capabilities
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(driver: &str, caps: u32) -> Node {
        Node {
            driver: driver.into(),
            card: "x".into(),
            bus_info: "usb-0000:00:14.0-6".into(),
            caps,
        }
    }

    #[test]
    fn virtual_and_writable_nodes_are_not_lenses() {
        const CAPTURE: u32 = v4l::v4l_sys::V4L2_CAP_VIDEO_CAPTURE;
        assert_eq!(node("uvcvideo", CAPTURE).not_a_lens(), None);
        for driver in ["v4l2 loopback", "akvcam", "vivid", "Droidcam"] {
            assert!(node(driver, CAPTURE).not_a_lens().is_some(), "{driver}");
        }
        // A fork that renames its driver still sits on v4l2loopback's bus.
        let renamed = Node {
            bus_info: "platform:v4l2loopback-000".into(),
            ..node("mycam", CAPTURE)
        };
        assert!(renamed.not_a_lens().is_some());
        // v4l2loopback without exclusive_caps: capture and output on one node.
        let both = node("some driver", CAPTURE | V4L2_CAP_VIDEO_OUTPUT);
        assert!(both.not_a_lens().unwrap().contains("written"));
        assert!(node("m2m", V4L2_CAP_VIDEO_M2M).not_a_lens().is_some());
    }

    #[test]
    fn a_device_that_is_not_v4l2_is_refused() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let err = query_fd(&null).unwrap_err();
        println!("/dev/null: {err}");
        assert!(err.to_string().contains("not a V4L2 camera"));
        // No such node here (or anywhere with 4096 cameras).
        assert!(query(4095).is_err());
    }
}

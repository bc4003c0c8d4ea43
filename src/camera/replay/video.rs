//! A video file replayed through the ffmpeg CLI: probed, bounded, decoded to RGB by a child
//! process and restarted at the end of each pass.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::RgbImage;

use super::{MAX_CLIP_SIDE, Pacer};
use crate::camera::{Frame, FrameSource, SourceError};

/// Used to pace a clip whose container states no usable frame rate.
const FALLBACK_FPS: f32 = 25.0;
/// How much of ffmpeg's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 2048;

/// Geometry and timing of a clip's first video stream, as ffmpeg will deliver it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ClipInfo {
    width: u32,
    height: u32,
    fps: Option<f32>,
}

/// A video file decoded to RGB by an `ffmpeg` child process, restarted at the end of each pass.
pub struct VideoReplay {
    path: PathBuf,
    info: ClipInfo,
    decoder: Option<Decoder>,
    frames_this_pass: u64,
    next_index: u64,
    pacer: Pacer,
}

impl VideoReplay {
    /// Probes the clip with `ffprobe` and starts decoding it. `paced: false` delivers frames as
    /// fast as ffmpeg decodes them.
    pub fn open(path: &Path, paced: bool) -> Result<Self, SourceError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SourceError::NotFound(path.to_owned()));
            }
            // A link loop, a folder above it that may not be entered: say so, not "missing".
            Err(e) => {
                return Err(SourceError::UnreadableClip {
                    path: path.to_owned(),
                    reason: e.to_string(),
                });
            }
            // A FIFO or a device: ffprobe would wait on it for ever, and the window with it.
            Ok(m) if !m.is_file() => {
                return Err(SourceError::UnreadableClip {
                    path: path.to_owned(),
                    reason: "not a regular file (a pipe or a device?)".into(),
                });
            }
            // As a photo says it; ffprobe's words for it are "moov atom not found".
            Ok(m) if m.len() == 0 => {
                return Err(SourceError::UnreadableClip {
                    path: path.to_owned(),
                    reason: "the file is empty".into(),
                });
            }
            Ok(_) => {}
        }
        let info = probe(path)?;
        let decoder = Decoder::spawn(path, &info)?;
        Ok(VideoReplay {
            path: path.to_owned(),
            info,
            decoder: Some(decoder),
            frames_this_pass: 0,
            next_index: 0,
            pacer: Pacer::new(info.fps.unwrap_or(FALLBACK_FPS), paced),
        })
    }

    fn unreadable(&self, reason: impl Into<String>) -> SourceError {
        SourceError::UnreadableClip {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }
}

impl VideoReplay {
    /// The next frame of the first pass over the clip, None once it has ended: for reading a
    /// clip once (a capture from a recording), where a camera's endless loop would decode a clip
    /// of mostly broken frames again and again.
    pub fn next_in_pass(&mut self) -> Result<Option<Frame>, SourceError> {
        self.read(false)
    }

    fn read(&mut self, looping: bool) -> Result<Option<Frame>, SourceError> {
        let (width, height) = (self.info.width, self.info.height);
        let mut buf = vec![0u8; width as usize * height as usize * 3];
        loop {
            let decoder = match &mut self.decoder {
                Some(decoder) => decoder,
                None if !looping && self.next_index > 0 => return Ok(None),
                None => {
                    self.frames_this_pass = 0;
                    self.decoder.insert(Decoder::spawn(&self.path, &self.info)?)
                }
            };
            let filled = read_full(&mut decoder.stdout, &mut buf)
                .map_err(|e| self.unreadable(format!("reading ffmpeg's output: {e}")))?;
            if filled == buf.len() {
                break;
            }
            // End of this pass (or ffmpeg stopped early): reap it and loop from the start.
            let (status, stderr) = self.decoder.take().map(Decoder::finish).unwrap_or_default();
            let stderr = stderr.trim();
            if self.frames_this_pass == 0 {
                let reason = if stderr.is_empty() {
                    format!("ffmpeg decoded no frames ({})", describe_status(status))
                } else {
                    format!("ffmpeg decoded no frames: {stderr}")
                };
                return Err(self.unreadable(reason));
            }
            if filled != 0 || status.is_some_and(|s| !s.success()) || !stderr.is_empty() {
                tracing::warn!(
                    "{}: ffmpeg ended a pass after {} frames ({}){}: {stderr}",
                    self.path.display(),
                    self.frames_this_pass,
                    describe_status(status),
                    if looping { "; restarting" } else { "" }
                );
            }
        }
        let image = RgbImage::from_raw(width, height, buf).expect("buffer sized for the frame");
        self.frames_this_pass += 1;
        let index = self.next_index;
        self.next_index += 1;
        self.pacer.wait();
        Ok(Some(Frame {
            image,
            index,
            captured_at: Instant::now(),
        }))
    }
}

impl FrameSource for VideoReplay {
    fn next_frame(&mut self) -> Result<Frame, SourceError> {
        Ok(self
            .read(true)?
            .expect("a looping replay always has a next frame"))
    }

    fn describe(&self) -> String {
        let name = self.path.file_name().unwrap_or(self.path.as_os_str());
        let fps = match self.info.fps {
            Some(f) if (f - f.round()).abs() < 0.005 => format!("{f:.0} fps"),
            Some(f) => format!("{f:.2} fps"),
            None => "unknown fps".to_owned(),
        };
        format!(
            "video {} ({}×{}, {fps})",
            name.to_string_lossy(),
            self.info.width,
            self.info.height
        )
    }

    fn nominal_fps(&self) -> Option<f32> {
        self.info.fps
    }

    fn rewind(&mut self) {
        // Dropped, the decoder is stopped; the next frame starts a new pass.
        self.decoder = None;
    }
}

fn describe_status(status: Option<ExitStatus>) -> String {
    status.map_or_else(|| "exit status unknown".to_owned(), |s| s.to_string())
}

/// Asks ffprobe for the first video stream's size, rate and rotation. JSON rather than CSV
/// because the rotation lives in side data: ffmpeg auto-rotates phone clips, so a 1920×1080 stream
/// tagged 90° arrives as 1080×1920 frames, and reading it as 1920×1080 would give same-sized but
/// garbled frames with no error.
fn probe(path: &Path) -> Result<ClipInfo, SourceError> {
    let unreadable = |reason: String| SourceError::UnreadableClip {
        path: path.to_owned(),
        reason,
    };
    let output = ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,r_frame_rate,avg_frame_rate:stream_side_data=rotation:stream_tags=rotate:format=format_name",
            "-of",
            "json",
        ],
    )?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let probed = if output.status.success() {
        parse_probe(&output.stdout)
    } else {
        Err(format!(
            "it is not a video ffmpeg can read, or it is damaged (ffprobe: {})",
            ffprobe_words(&stderr, path)
        ))
    };
    // Over the decoders' bound, ffprobe reports a width of 0 (as for no picture at all) or
    // fails with a page of decoder errors: a real clip was called "not a video at all" (red
    // team, session 30). Read only when the probe failed: the line may be about another
    // stream (a large cover picture) of a clip whose video is fine.
    probed.map_err(|why| match over_max_pixels(&stderr) {
        Some(size) => unreadable(format!(
            "its pictures of {size} px are out of range (at most {MAX_CLIP_SIDE}×{MAX_CLIP_SIDE}; \
             {SCALE_IT_DOWN})"
        )),
        None => unreadable(why),
    })
}

/// ffprobe's complaint without its decoder's address and the path again ("[mov,mp4,m4a,3gp,
/// 3g2,mj2 @ 0x55de97197f80] moov atom not found" and "/x.mp4: Invalid data found when
/// processing input" were shown raw; journey s40 #15).
fn ffprobe_words(stderr: &str, path: &Path) -> String {
    let path = path.display().to_string();
    let words: Vec<&str> = (stderr.lines().map(str::trim))
        .map(|mut line| {
            // "[mjpeg @ 0x5] [IMGUTILS @ 0x7] Picture size ...": each tag in turn.
            while let Some((_, said)) = (line.strip_prefix('[')).and_then(|r| r.split_once("] ")) {
                line = said;
            }
            line
        })
        .map(|line| (line.strip_prefix(path.as_str())).map_or(line, |r| r.trim_start_matches(": ")))
        .filter(|line| !line.is_empty())
        .collect();
    match words.is_empty() {
        true => "it said nothing".to_owned(),
        false => words.join("; "),
    }
}

/// The advice for a clip too large to replay.
const SCALE_IT_DOWN: &str = "scale it down, e.g. ffmpeg -i IN -vf scale=1920:-2 OUT";

/// The picture size ffmpeg's decoders refused for being over `-max_pixels`, from their
/// "Picture size WxH exceeds specified max pixel count" line.
fn over_max_pixels(stderr: &str) -> Option<&str> {
    let (_, after) = stderr.split_once("Picture size ")?;
    let (size, _) = after.split_once(" exceeds specified max pixel count")?;
    let mut sides = size.split('x');
    let numeric = sides.by_ref().take(2).all(|n| n.parse::<u32>().is_ok());
    (numeric && sides.next().is_none()).then_some(size)
}

/// The same bound given to ffmpeg's decoders (`-max_pixels`), for every picture they decode:
/// the probe sees the first stream's size only, and a clip whose stream grows to 8192² after
/// a small first picture made ffmpeg take 1 GB.
const MAX_CLIP_PIXELS: u64 = MAX_CLIP_SIDE as u64 * MAX_CLIP_SIDE as u64;
/// ffmpeg's demuxers for lists of other files or URLs.
const LISTS: &[&str] = &["concat", "hls", "dash"];
/// Longest an ffprobe may take. It reads a header and some packets; a clip that makes it wait
/// (a concat list that names a FIFO, a stalled network mount) is refused, not waited on.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `ffprobe -v error -max_pixels … ARGS PATH` within [`PROBE_TIMEOUT`]: its output, or
/// why there is none. Its status is the caller's to judge.
pub(crate) fn ffprobe(path: &Path, args: &[&str]) -> Result<std::process::Output, SourceError> {
    use wait_timeout::ChildExt;
    let mut child = crate::runtime::environment::helper("ffprobe")
        .args(["-v", "error", "-max_pixels", &MAX_CLIP_PIXELS.to_string()])
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error("ffprobe", e))?;
    // Read on threads, so that a chatty ffprobe cannot fill a pipe and stall until the deadline.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(1 << 20).read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = match child.wait_timeout(PROBE_TIMEOUT) {
        Ok(Some(status)) => status,
        waited => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SourceError::UnreadableClip {
                path: path.to_owned(),
                reason: match waited {
                    Err(e) => format!("waiting for ffprobe: {e}"),
                    Ok(_) => format!(
                        "ffprobe gave no answer within {} s (does it read from a pipe or a \
                         network path?)",
                        PROBE_TIMEOUT.as_secs()
                    ),
                },
            });
        }
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn parse_probe(json: &[u8]) -> Result<ClipInfo, String> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("unexpected ffprobe output: {e}"))?;
    // Lists that name other files (or URLs) are refused: ffmpeg opens each entry only when it
    // reaches it, so a FIFO as a list's second entry hung the decoder past any time-out.
    let format = value["format"]["format_name"].as_str().unwrap_or("");
    if format.split(',').any(|f| LISTS.contains(&f)) {
        return Err(format!(
            "it is a {format} list naming other files; give the video itself"
        ));
    }
    let stream = value["streams"]
        .get(0)
        .ok_or_else(|| "no video stream".to_owned())?;
    let dim = |key: &str| {
        stream[key]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("ffprobe reported no {key} for the video stream"))
            .and_then(|v| match v {
                1..=MAX_CLIP_SIDE => Ok(v),
                // ffprobe's guess from the name (a text file called .jpg is "mjpeg") with no
                // picture it could read: not a size to scale down.
                0 => Err(
                    "ffprobe found no picture in it: it is not a video or an image \
                          FaceGate can read (corrupt, or not a video at all)"
                        .to_owned(),
                ),
                _ => Err(format!(
                    "the video's {key} of {v} px is out of range (at most {MAX_CLIP_SIDE}; \
                     {SCALE_IT_DOWN})"
                )),
            })
    };
    let (mut width, mut height) = (dim("width")?, dim("height")?);
    let rotation = stream["side_data_list"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| d["rotation"].as_f64())
        .or_else(|| stream["tags"]["rotate"].as_str()?.parse().ok())
        .unwrap_or(0.0);
    if (rotation.round() as i64).rem_euclid(180) == 90 {
        std::mem::swap(&mut width, &mut height);
    }
    // avg_frame_rate is the real playback rate; r_frame_rate can be a timebase artefact (e.g.
    // 90000/1) on variable-rate phone clips.
    let rate = |key: &str| stream[key].as_str().and_then(parse_rate);
    let fps = rate("avg_frame_rate").or_else(|| rate("r_frame_rate"));
    Ok(ClipInfo { width, height, fps })
}

/// "30000/1001" → 29.97; None for "0/0" and rates no camera would have. Under 1 fps too: paced
/// at such a rate, a clip declared at 1/200 fps held an attempt 200 s per frame past its
/// time-out.
fn parse_rate(text: &str) -> Option<f32> {
    let (num, den) = text.split_once('/').unwrap_or((text, "1"));
    let fps = num.trim().parse::<f64>().ok()? / den.trim().parse::<f64>().ok()?;
    (fps.is_finite() && (1.0..=240.0).contains(&fps)).then_some(fps as f32)
}

fn spawn_error(program: &'static str, e: std::io::Error) -> SourceError {
    if e.kind() == std::io::ErrorKind::NotFound {
        SourceError::FfmpegMissing { program }
    } else {
        SourceError::UnreadableClip {
            path: PathBuf::from(program),
            reason: format!("cannot start {program}: {e}"),
        }
    }
}

/// One running `ffmpeg` pass over the clip. Dropping it kills the process, so an abandoned source
/// never leaves a decoder running.
struct Decoder {
    child: Child,
    stdout: ChildStdout,
    stderr_tail: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Decoder {
    fn spawn(path: &Path, info: &ClipInfo) -> Result<Self, SourceError> {
        let mut child = crate::runtime::environment::helper("ffmpeg")
            .args([
                "-v",
                "error",
                "-nostdin",
                "-max_pixels",
                &MAX_CLIP_PIXELS.to_string(),
                "-i",
            ])
            .arg(path)
            // Forcing the probed size guarantees every frame is exactly w×h×3 bytes even if the
            // stream changes resolution midway, so the byte stream can never drift out of frame.
            .args(["-s", &format!("{}x{}", info.width, info.height)])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error("ffmpeg", e))?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let stderr = child.stderr.take().expect("stderr was piped");
        // Drained on a thread: a chatty ffmpeg would otherwise fill the pipe and stall decoding.
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        let tail = Arc::clone(&stderr_tail);
        let stderr_reader = std::thread::Builder::new()
            .name("ffmpeg-stderr".into())
            .spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    tail.push_str(&line);
                    tail.push('\n');
                    if tail.len() > STDERR_TAIL_BYTES {
                        let mut cut = tail.len() - STDERR_TAIL_BYTES;
                        while !tail.is_char_boundary(cut) {
                            cut += 1;
                        }
                        tail.drain(..cut);
                    }
                }
            })
            .ok();
        Ok(Decoder {
            child,
            stdout,
            stderr_tail,
            stderr_reader,
        })
    }

    /// Waits for the process to exit (its stdout is exhausted) and returns how it ended.
    fn finish(mut self) -> (Option<ExitStatus>, String) {
        let status = self.child.wait().ok();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        (status, tail.clone())
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // Kill fails only if it already exited; wait reaps it either way so no zombie remains.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffprobes_complaint_is_said_without_its_address_and_the_path() {
        let said = "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55de97197f80] moov atom not found\n\
                    /tmp/bad.mp4: Invalid data found when processing input\n";
        assert_eq!(
            ffprobe_words(said, Path::new("/tmp/bad.mp4")),
            "moov atom not found; Invalid data found when processing input"
        );
        assert_eq!(ffprobe_words("\n", Path::new("/x")), "it said nothing");
        assert_eq!(
            ffprobe_words(
                "[mjpeg @ 0x5] [IMGUTILS @ 0x7] Picture size",
                Path::new("/x")
            ),
            "Picture size"
        );
    }

    #[test]
    fn a_picture_over_the_decoders_bound_is_read_from_their_error() {
        let said = "[mjpeg @ 0x5] [IMGUTILS @ 0x7] Picture size 4200x4200 exceeds specified \
                    max pixel count 16777216, see the documentation";
        assert_eq!(over_max_pixels(said), Some("4200x4200"));
        assert_eq!(
            over_max_pixels("Picture size 1x2x3 exceeds specified max pixel count"),
            None
        );
        assert_eq!(
            over_max_pixels("Picture size \x1b[31m exceeds specified max pixel count"),
            None
        );
        assert_eq!(over_max_pixels("moov atom not found"), None);
    }

    #[test]
    fn probe_output_is_parsed_with_rotation() {
        let plain = br#"{"streams":[{"width":512,"height":512,"r_frame_rate":"25/1","avg_frame_rate":"25/1"}]}"#;
        assert_eq!(
            parse_probe(plain),
            Ok(ClipInfo {
                width: 512,
                height: 512,
                fps: Some(25.0)
            })
        );
        let rotated = br#"{"streams":[{"width":640,"height":360,"r_frame_rate":"90000/1",
            "avg_frame_rate":"30000/1001","side_data_list":[{"rotation":-90}]}]}"#;
        let info = parse_probe(rotated).unwrap();
        assert_eq!((info.width, info.height), (360, 640));
        assert!((info.fps.unwrap() - 29.97).abs() < 0.01);
        let old_tag = br#"{"streams":[{"width":640,"height":360,"r_frame_rate":"0/0","tags":{"rotate":"270"}}]}"#;
        let info = parse_probe(old_tag).unwrap();
        assert_eq!((info.width, info.height, info.fps), (360, 640, None));
        assert!(parse_probe(br#"{"streams":[]}"#).is_err());
        let huge = br#"{"streams":[{"width":11904,"height":11904,"avg_frame_rate":"25/1"}]}"#;
        let why = parse_probe(huge).unwrap_err();
        assert!(why.contains("11904 px is out of range"), "{why}");
        // What ffprobe says of a text file named .jpg: no picture, not a size to scale down.
        let text = br#"{"streams":[{"codec_name":"mjpeg","width":0,"height":0}]}"#;
        let why = parse_probe(text).unwrap_err();
        assert!(
            why.contains("found no picture") && !why.contains("scale"),
            "{why}"
        );
        let cinema = br#"{"streams":[{"width":4096,"height":2160,"avg_frame_rate":"24/1"}]}"#;
        assert!(parse_probe(cinema).is_ok());
        let list = br#"{"streams":[{"width":64,"height":48}],"format":{"format_name":"concat"}}"#;
        let why = parse_probe(list).unwrap_err();
        assert!(why.contains("concat list"), "{why}");
        assert_eq!(
            parse_rate("1/200"),
            None,
            "paced as unknown, not 200 s a frame"
        );
        assert_eq!(parse_rate("1/1"), Some(1.0));
    }

    #[test]
    fn a_missing_program_names_the_fix() {
        let missing = std::process::Command::new("facegate-no-such-program-ffmpeg")
            .spawn()
            .unwrap_err();
        let err = spawn_error("ffmpeg", missing);
        assert!(matches!(
            err,
            SourceError::FfmpegMissing { program: "ffmpeg" }
        ));
        assert!(
            err.to_string().contains("install ffmpeg / run make setup"),
            "{err}"
        );
    }
}

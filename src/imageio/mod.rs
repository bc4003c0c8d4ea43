//! Decoding photos and frames into RGB, safely: EXIF orientation honoured, every common pixel
//! layout accepted, hostile input refused with a reason instead of a panic or an OOM.

pub mod listing;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

/// Largest side we accept. Bigger photos exist (50 MP phones) but decode to >150 MB; a face app
/// gains nothing from them, and a forged header must not make us allocate gigabytes.
pub const MAX_SIDE: u32 = 12_000;
/// Cap (bytes) on what a decode holds at once, its copies included: an upright 12k × 12k RGB
/// photo at 8 bits (432 MB) fits. Its 16-bit and RGBA forms do not: with the conversion to 8-bit
/// RGB after the decode, an 840 KB 16-bit PNG of that size once took 1.4 GB.
pub const MAX_ALLOC: u64 = 512 << 20;
/// Files above this are refused before reading them into memory.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read {}", crate::shown::Shown(path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is empty", crate::shown::Shown(.0))]
    Empty(PathBuf),
    #[error("{} is not a regular file (a device or pipe); give a photo file", crate::shown::Shown(.0))]
    NotAFile(PathBuf),
    #[error(
        "{} is a folder; give the photos in it (`{}`)",
        crate::shown::Shown(.0), crate::shown::Shown(&.0.join("*"))
    )]
    Folder(PathBuf),
    #[error("{} is not read: {why}", crate::shown::Shown(path))]
    Untrusted { path: PathBuf, why: String },
    #[error("{} is {size} bytes; images over {} MB are refused", crate::shown::Shown(path), MAX_FILE_BYTES >> 20)]
    FileTooLarge { path: PathBuf, size: u64 },
    #[error(
        "{} is {width}×{height} px; the limit is {MAX_SIDE} px a side",
        crate::shown::Shown(path)
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error(
        "{} is not a readable image (corrupt, truncated or unsupported format): {}",
        crate::shown::Shown(path),
        decoder_said(decoder)
    )]
    Decode {
        path: PathBuf,
        /// Said in the message ([`decoder_said`]), not as a source, which would repeat it in
        /// the decoder's own words.
        decoder: image::ImageError,
    },
    #[error(
        "{} would take {} MiB to decode, over the {} MiB limit; scale it down (e.g. to 4000 px \
         a side) or save it as 8-bit RGB",
        crate::shown::Shown(path), needs >> 20, MAX_ALLOC >> 20
    )]
    TooMuchMemory { path: PathBuf, needs: u64 },
    #[error(
        "{} would take more than the {} MiB limit to decode; scale it down (e.g. to 4000 px a \
         side) or save it as 8-bit RGB",
        crate::shown::Shown(.0), MAX_ALLOC >> 20
    )]
    OverMemoryLimit(PathBuf),
    #[error(
        "{} says it is {width}×{height} px but holds only {data} bytes of image data, too few \
         for that size: it is cut off or its header is forged",
        crate::shown::Shown(path)
    )]
    JpegDataTooShort {
        path: PathBuf,
        width: u32,
        height: u32,
        data: u64,
    },
    #[error(
        "{} is not an image FaceGate reads: its content is not {} (HEIC and JPEG 2000 are not \
         read; a file damaged at its start looks like this too)",
        crate::shown::Shown(.0), listing::PHOTOS
    )]
    UnknownFormat(PathBuf),
    #[error("{} is a truncated JPEG (its image data ends before the end-of-image marker)", crate::shown::Shown(.0))]
    TruncatedJpeg(PathBuf),
    #[error(
        "{} has JPEG markers that the decoder reads differently from its frame header's checks \
         (stray bytes among the headers): its size cannot be vouched for before decoding, so it \
         is refused; saving it again with any image editor gives an ordinary JPEG",
        crate::shown::Shown(.0)
    )]
    JpegMarkers(PathBuf),
}

/// The formats FaceGate reads (the `image` features it is built with): a folder's files are
/// taken by these formats' extensions (`listing`), and others are refused by name.
pub const READ: [ImageFormat; 6] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Gif,
    ImageFormat::Bmp,
    ImageFormat::Tiff,
];

/// Reads and decodes an image file. See [`decode`].
pub fn load(path: &Path) -> Result<RgbImage, ImageError> {
    decode(&read(path)?, path)
}

/// [`load`] as root for an account: no link followed, and the file must belong to one of
/// `owners` ([`crate::bounded::open_owned`]).
pub fn load_owned(path: &Path, owners: &[u32]) -> Result<RgbImage, ImageError> {
    let file = crate::bounded::open_owned(path, MAX_FILE_BYTES, owners)
        .map_err(|why| refused(path, why))?;
    let bytes = crate::bounded::read_all(file, MAX_FILE_BYTES).map_err(|why| refused(path, why))?;
    decode(&bytes, path)
}

/// Reads an image file's bytes. Only a regular file is read, and at most [`MAX_FILE_BYTES`] of
/// it: a FIFO given as a photo would block forever and `/dev/zero` never ends, so the file is
/// opened without blocking, checked on the opened handle (no window for a swap), and read
/// through a bounded reader.
pub fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    let file = crate::bounded::open(path, MAX_FILE_BYTES).map_err(|why| refused(path, why))?;
    crate::bounded::read_all(file, MAX_FILE_BYTES).map_err(|why| refused(path, why))
}

fn refused(path: &Path, why: crate::bounded::Refused) -> ImageError {
    use crate::bounded::Refused;
    match why {
        Refused::Io(source) => ImageError::Io {
            path: path.to_owned(),
            source,
        },
        // Said as a folder, with what to give instead: "not a regular file" of a folder of
        // photos read as if it were broken (journey s37 #7). Looked at again only for words.
        Refused::NotAFile if path.is_dir() => ImageError::Folder(path.to_owned()),
        Refused::NotAFile => ImageError::NotAFile(path.to_owned()),
        Refused::TooLarge(size) => ImageError::FileTooLarge {
            path: path.to_owned(),
            size,
        },
        Refused::Untrusted(why) => ImageError::Untrusted {
            path: path.to_owned(),
            why,
        },
    }
}

/// The decoder's reason in words. The PNG decoder names a chunk by its Rust debug form
/// ("while decoding ChunkType { type: IDAT, critical: true, private: false, … } chunk"),
/// said here by its name alone ("while decoding IDAT chunk"; journey s37 #10).
fn decoder_said(e: &image::ImageError) -> String {
    let text = e.to_string();
    const CHUNK: &str = "ChunkType { type: ";
    let Some(start) = text.find(CHUNK) else {
        return text;
    };
    let rest = &text[start + CHUNK.len()..];
    match (rest.find(','), rest.find('}')) {
        (Some(comma), Some(close)) if comma < close => {
            format!("{}{}{}", &text[..start], &rest[..comma], &rest[close + 1..])
        }
        _ => text,
    }
}

/// Decodes bytes (JPEG, PNG incl. RGBA/16-bit/grey, and the other formats `image` enables) into
/// 8-bit RGB, upright per EXIF. `name` only labels errors.
pub fn decode(bytes: &[u8], name: &Path) -> Result<RgbImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty(name.to_owned()));
    }
    let decode_err = |source| match source {
        // The decoder's own allocation guard (a TIFF tag bomb, a 12000² CMYK TIFF): the file
        // is not corrupt, it is too big for the cap, and the advice is the same as ours.
        image::ImageError::Limits(_) => ImageError::OverMemoryLimit(name.to_owned()),
        decoder => ImageError::Decode {
            path: name.to_owned(),
            decoder,
        },
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_err(image::ImageError::IoError(e)))?;
    // Formats `image` recognises but is built without (PNM, QOI, ICO…) are not read either,
    // and said so: their decoder's "not supported" read as a corrupt file.
    if !reader.format().is_some_and(|f| READ.contains(&f)) {
        return Err(ImageError::UnknownFormat(name.to_owned()));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let jpeg = (reader.format() == Some(ImageFormat::Jpeg)).then(|| JpegLayout::of(bytes));
    if let Some(layout) = &jpeg {
        // Every check below weighs the frame this walk found; it must be the one the decoder
        // decodes. A stray `FF 00` before the real frame is fill to the decoder and a segment
        // to a marker walk, so a 1.2 MB file could show the walk a decoy 64² frame while the
        // decoder filled 1.6 GB (bad-input hunt, session 26).
        if !layout.agrees_with_decoder(bytes) {
            return Err(ImageError::JpegMarkers(name.to_owned()));
        }
        // The JPEG decoder fills a cut-off scan with grey and reports success; a half-grey face
        // must not be enrolled or compared, so refuse it here.
        let Some(data) = layout.data_bytes() else {
            return Err(ImageError::TruncatedJpeg(name.to_owned()));
        };
        // A header that lies is said to lie, before its size or the memory it claims is
        // weighed ("scale it down" is advice for a real large photo).
        if let Some(frame) = &layout.frame
            && data < frame.fewest_data_bytes()
        {
            return Err(ImageError::JpegDataTooShort {
                path: name.to_owned(),
                width: frame.width,
                height: frame.height,
                data,
            });
        }
    }
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::TooLarge {
            path: name.to_owned(),
            width,
            height,
        });
    }
    // `Limits::max_alloc` alone is not enough: image's PNG decoder checks only the dimensions
    // against it, so the 57-byte header of a 12000² 16-bit RGBA PNG had `from_decoder` allocate
    // a 1.15 GB buffer before finding no pixel data (found pinning fuzz cases in
    // tests/fuzz_regressions.rs).
    // Enforce the cap on the decoded buffer for every format.
    // And on the whole peak, not the decoded buffer alone: the upright copy a quarter turn
    // needs, or else the 8-bit RGB copy, is made while a buffer of the decoded size is held.
    // (A 35-byte GIF of 11580² decoded to 511 MiB of RGBA, within the cap, and its RGB copy
    // took the process to 962 MB.)
    let orientation = decoder.orientation().map_err(decode_err)?;
    let decoded = decoder.total_bytes();
    let pixels = u64::from(width) * u64::from(height);
    let turned = matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let rgb_copy = if decoder.color_type() == image::ColorType::Rgb8 {
        0
    } else {
        3 * pixels
    };
    // Turned, the decoded buffer is dropped once its upright copy exists, before the RGB copy.
    // A progressive JPEG's decoder holds every coefficient while the output buffer is filled
    // (a 2 MB progressive CMYK file of 12000² took 1.6 GB where the output is 432 MB).
    let coefficients = jpeg
        .as_ref()
        .and_then(|l| l.frame.as_ref())
        .map_or(0, JpegFrame::coefficient_bytes);
    let peak = decoded
        + rgb_copy
            .max(if turned { decoded } else { 0 })
            .max(coefficients);
    if peak > MAX_ALLOC {
        return Err(ImageError::TooMuchMemory {
            path: name.to_owned(),
            needs: peak,
        });
    }
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    img.apply_orientation(orientation);
    // Alpha is dropped rather than composited: transparent regions are background, and the
    // detector is indifferent to what colour they become.
    Ok(img.into_rgb8())
}

/// Where a JPEG's parts are, from one walk of its marker segments up to the first
/// start-of-scan (so that an EXIF thumbnail, a whole JPEG inside APP1, cannot vouch for a
/// cut-off main image).
struct JpegLayout {
    frame: Option<JpegFrame>,
    /// The first start-of-scan's `FF`, and the end-of-image marker's after it. Data after the
    /// end marker (a motion photo's video) is allowed, and is not image data.
    scan: Option<(usize, Option<usize>)>,
}

impl JpegLayout {
    fn of(bytes: &[u8]) -> Self {
        let mut frame_at = None;
        let mut sos = None;
        for (marker, at) in jpeg_segments(bytes) {
            // SOF0..SOF15, not DHT (C4), JPG (C8) or DAC (CC).
            if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
                frame_at.get_or_insert((marker, at));
            }
            if marker == 0xDA {
                sos = Some(at);
            }
        }
        // Within coded data an FF is always followed by 00 or a restart marker, so the first
        // FF D9 after the scan starts is the end of the image.
        let scan = sos.map(|at| {
            let end = bytes[at..].windows(2).position(|w| w == [0xFF, 0xD9]);
            (at, end.map(|e| at + e))
        });
        Self {
            frame: frame_at.and_then(|(marker, at)| JpegFrame::parse(bytes, marker, at)),
            scan,
        }
    }

    /// Whether the decoder `image` runs (zune-jpeg, with `image`'s options) reads the same frame
    /// header from `bytes`: its size, its number of components and whether it is progressive.
    /// Headers it cannot read at all fail the decode itself, with its own error.
    fn agrees_with_decoder(&self, bytes: &[u8]) -> bool {
        let options = zune_jpeg::zune_core::options::DecoderOptions::default()
            .set_strict_mode(false)
            .set_max_width(usize::MAX)
            .set_max_height(usize::MAX);
        let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
            zune_jpeg::zune_core::bytestream::ZCursor::new(bytes),
            options,
        );
        if decoder.decode_headers().is_err() {
            return true;
        }
        let Some(info) = decoder.info() else {
            return true;
        };
        let Some(frame) = &self.frame else {
            return false;
        };
        (u32::from(info.width), u32::from(info.height)) == (frame.width, frame.height)
            && usize::from(info.components) == frame.blocks.len()
            && info.sof.is_progressive() == frame.progressive
    }

    /// Bytes from the first start-of-scan to the end-of-image marker: the coded data (and any
    /// scan headers and tables between progressive scans, a few hundred bytes, which only
    /// makes the data floor milder). None when the image has no end: cut off.
    fn data_bytes(&self) -> Option<u64> {
        match self.scan {
            Some((sos, Some(eoi))) => Some((eoi - sos) as u64),
            _ => None,
        }
    }
}

/// What a JPEG's frame header (SOF) says: its size, coding, and each component's blocks.
struct JpegFrame {
    width: u32,
    height: u32,
    progressive: bool,
    /// Arithmetic-coded frames (SOF9..SOF15) can spend under a bit a block.
    arithmetic: bool,
    /// 8×8 blocks of each component, after its subsampling.
    blocks: Vec<u64>,
}

impl JpegFrame {
    /// The frame header whose `FF` is at `at`.
    fn parse(bytes: &[u8], marker: u8, at: usize) -> Option<Self> {
        // FF Cx, length (2), precision (1), height (2), width (2), components (1), then for
        // each: id, sampling (H << 4 | V), table.
        let head = bytes.get(at..at + 10)?;
        let height = u16::from_be_bytes([head[5], head[6]]);
        let width = u16::from_be_bytes([head[7], head[8]]);
        let components = bytes.get(at + 10..at + 10 + 3 * usize::from(head[9]))?;
        let sampling: Vec<(u64, u64)> = components
            .chunks(3)
            .map(|c| (u64::from(c[1] >> 4).max(1), u64::from(c[1] & 15).max(1)))
            .collect();
        let h_max = sampling.iter().map(|s| s.0).max().unwrap_or(1);
        let v_max = sampling.iter().map(|s| s.1).max().unwrap_or(1);
        let blocks = sampling
            .iter()
            .map(|&(h, v)| {
                let blocks_x = (u64::from(width) * h).div_ceil(h_max).div_ceil(8);
                let blocks_y = (u64::from(height) * v).div_ceil(v_max).div_ceil(8);
                blocks_x * blocks_y
            })
            .collect();
        Some(Self {
            width: width.into(),
            height: height.into(),
            // SOF2, SOF6, SOF10, SOF14.
            progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
            arithmetic: marker >= 0xC9,
            blocks,
        })
    }

    /// The bytes the decoder holds for coefficients (two a coefficient, 64 a block, every block
    /// of every component) when progressive; 0 for baseline, whose blocks become pixels as they
    /// come.
    fn coefficient_bytes(&self) -> u64 {
        if self.progressive {
            self.blocks.iter().sum::<u64>() * 64 * 2
        } else {
            0
        }
    }

    /// Fewest bytes of Huffman-coded data that can hold every block: each block's DC value is
    /// at least a one-bit code, in baseline and progressive frames alike. A file with less was
    /// cut off (an end marker appended hides that from the decoder, which fills the rest) or
    /// its header lies about its size; either way the decoder would fill hundreds of MB with
    /// made-up pixels from a few hundred bytes.
    fn fewest_data_bytes(&self) -> u64 {
        if self.arithmetic {
            0
        } else {
            self.blocks.iter().sum::<u64>().div_ceil(8)
        }
    }
}

/// A JPEG's marker segments up to and including the first start-of-scan: each marker and where
/// its `FF` is.
fn jpeg_segments(bytes: &[u8]) -> impl Iterator<Item = (u8, usize)> + '_ {
    let mut i = 2; // after SOI
    let mut done = false;
    std::iter::from_fn(move || {
        while !done && i + 4 <= bytes.len() {
            if bytes[i] != 0xFF {
                done = true;
                return None;
            }
            let (marker, at) = (bytes[i + 1], i);
            match marker {
                0xFF => {
                    i += 1; // fill byte
                    continue;
                }
                0xDA => done = true,
                0x01 | 0xD0..=0xD7 => i += 2,
                _ => i += 2 + u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize,
            }
            return Some((marker, at));
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG whose image data fails its checksum: the chunk is named by its name, not the
    /// decoder's debug form.
    #[test]
    fn a_damaged_png_is_said_in_words() {
        let mut bytes = Vec::new();
        RgbImage::from_pixel(16, 16, image::Rgb([90, 120, 150]))
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        let idat = bytes.windows(4).position(|w| w == b"IDAT").unwrap();
        let len = u32::from_be_bytes(bytes[idat - 4..idat].try_into().unwrap()) as usize;
        // Its checksum, after the chunk's data.
        bytes[idat + 4 + len] ^= 0xff;
        let said = decode(&bytes, Path::new("flip.png"))
            .unwrap_err()
            .to_string();
        println!("{said}");
        assert!(said.contains("IDAT chunk"), "{said}");
        assert!(!said.contains('{'), "{said}");
    }
}

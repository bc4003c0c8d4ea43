//! What fuzzing the image decoder and the store's loaders found (issue 8; `make fuzz`, targets
//! in fuzz/fuzz_targets). The crash it found is replayed byte for byte from tests/fuzz_cases;
//! the other cases are hostile inputs of the kinds the fuzzer explored, each pinned to the clean
//! error or fallback it gets. None of them needs the models.

mod common;

use std::path::{Path, PathBuf};

use facegate::auth::lockout::{self, Lockout};
use facegate::imageio::{self, ImageError, MAX_SIDE};
use facegate::store::{Gallery, ImageKind, Settings, Store, StoreError, audit};
use facegate::train::{TrainError, head_file, load_head};
use facegate::vision::{EmbedderKind, align_arcface};

fn case(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_cases")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A store in a temp folder with one person, "ann", and a data key in a file (written here, so
/// no OS keyring is ever asked, whatever FACEGATE_NO_KEYRING says).
fn store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let store = Store::open(&root).unwrap();
    std::fs::write(root.join("secret.toml"), "key = \"file\"\n").unwrap();
    std::fs::write(root.join("secret.key"), [7u8; 32]).unwrap();
    store.add_person("ann").unwrap();
    (dir, root, store)
}

fn refused(bytes: &[u8], what: &str) -> ImageError {
    match imageio::decode(bytes, Path::new(what)) {
        Ok(img) => panic!("{what}: decoded as {}x{}", img.width(), img.height()),
        Err(e) => {
            println!("{what}: {e}");
            e
        }
    }
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[4..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG signature, a valid IHDR (CRC included) and the first bytes of a zlib stream in an
/// IDAT, then the file ends: a whole header, almost no pixels.
fn png_header(width: u32, height: u32, bit_depth: u8, colour: u8) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, colour, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", b"\x78\x9c\x63\x60"));
    png
}

#[test]
fn png_headers_claiming_huge_images_are_refused_before_allocating() {
    // Past the side limit but cheap to allocate: our own check names the size.
    let err = refused(&png_header(MAX_SIDE + 1, 1, 8, 2), "wide png");
    assert!(
        matches!(err, ImageError::TooLarge { width, height: 1, .. } if width == MAX_SIDE + 1),
        "{err:?}"
    );
    // 100k × 100k RGB would be 30 GB: refused from the 57-byte header, before any buffer.
    let err = refused(&png_header(100_000, 100_000, 8, 2), "huge png");
    assert!(
        matches!(
            err,
            ImageError::TooLarge {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err:?}"
    );
    // Width 2^31 - 1: the PNG decoder itself refuses it, by its memory limit.
    let err = refused(&png_header(u32::MAX >> 1, 2, 8, 6), "2^31 png");
    assert!(matches!(err, ImageError::OverMemoryLimit(_)), "{err:?}");
    // Within the side limit, 16-bit RGBA: 12000² × 8 bytes = 1.15 GB is over MAX_ALLOC. The PNG
    // decoder does not enforce `Limits::max_alloc` on its output, so `decode` checks it; before,
    // this header made it allocate the 1.15 GB and then fail on the missing data.
    // 16-bit RGB (864 MB) is over it too: decoded and then converted to 8 bits, such a file of
    // 840 KB once took 1.4 GB.
    for (colour, what) in [(6, "16-bit rgba png"), (2, "16-bit rgb png")] {
        let err = refused(&png_header(MAX_SIDE, MAX_SIDE, 16, colour), what);
        assert!(
            matches!(&err, ImageError::TooMuchMemory { .. }),
            "{what}: {err:?}"
        );
    }
    // The same size at 8-bit RGB (432 MB) is within the cap: it gets as far as the data.
    let err = refused(&png_header(MAX_SIDE, MAX_SIDE, 8, 2), "8-bit rgb png");
    assert!(
        matches!(
            &err,
            ImageError::Decode {
                decoder: image::ImageError::IoError(_) | image::ImageError::Decoding(_),
                ..
            }
        ),
        "{err:?}"
    );
    // A small header with its pixel data cut off is a decode error too, not a blank image.
    let err = refused(&png_header(64, 64, 8, 2), "cut-off IDAT");
    assert!(matches!(err, ImageError::Decode { .. }), "{err:?}");
    // A 35-byte GIF with an 11580² screen and one 1×1 frame: 511 MiB of RGBA, within the cap
    // alone, but its 8-bit RGB copy is made while it is held (the process reached 962 MB). The
    // cap is on that peak now.
    let mut gif = b"GIF89a".to_vec();
    gif.extend(11580u16.to_le_bytes());
    gif.extend(11580u16.to_le_bytes());
    gif.extend(b"\x80\0\0\0\0\0\xff\xff\xff,\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0;");
    assert_eq!(gif.len(), 35);
    let err = refused(&gif, "11580² gif");
    assert!(matches!(&err, ImageError::TooMuchMemory { .. }), "{err:?}");
    // An 855-byte progressive CMYK JPEG whose frame says 9000²: 243 MB of RGB out, within the
    // cap, but its decoder holds every coefficient while decoding (9000² × 4 × 2 bytes = 648
    // MB): the release build reached 912 MB on it. Its 855 bytes cannot hold 5 million blocks,
    // so it is refused as a forged header first.
    let err = refused(
        &case("image-progressive-cmyk-9000-header.jpg"),
        "progressive cmyk jpeg",
    );
    assert!(
        matches!(
            &err,
            ImageError::JpegDataTooShort {
                width: 9000,
                height: 9000,
                ..
            }
        ),
        "{err:?}"
    );
    // With enough bytes in its scan to pass for data (700 KB before its end marker), the
    // coefficients are what refuses it: counted in the peak.
    let mut padded = case("image-progressive-cmyk-9000-header.jpg");
    let end = padded
        .windows(2)
        .rposition(|w| w == [0xFF, 0xD9])
        .expect("an end marker");
    padded.splice(end..end, std::iter::repeat_n(0u8, 700 << 10));
    let err = refused(&padded, "padded progressive cmyk jpeg");
    assert!(
        matches!(&err, ImageError::TooMuchMemory { needs, .. } if *needs > 600 << 20),
        "{err:?}"
    );
}

#[test]
fn a_jpeg_header_claiming_more_than_its_data_can_hold_is_refused() {
    // A real 64² baseline JPEG (noise, so its data is not trivially small) decodes; the same
    // file with its frame header saying 11900² made the decoder fill 425 MB with made-up pixels
    // from 3 KB (red team, session 22). Every block needs at least a bit of coded data.
    let noise = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 37 + y * 11) as u8, (x * y) as u8, (x ^ y) as u8 * 4])
    });
    let mut real = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut real, 90)
        .encode_image(&noise)
        .unwrap();
    let decoded = imageio::decode(&real, Path::new("real 64² jpeg")).unwrap();
    assert_eq!(decoded.dimensions(), (64, 64));
    let sof = real
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    let mut forged = real.clone();
    forged[sof + 5..sof + 9].copy_from_slice(&[0x2E, 0x7C, 0x2E, 0x7C]);
    println!("forged 11900² jpeg: {} bytes", forged.len());
    let err = refused(&forged, "forged 11900² jpeg");
    assert!(
        matches!(
            err,
            ImageError::JpegDataTooShort {
                width: 11900,
                height: 11900,
                ..
            }
        ),
        "{err:?}"
    );
    // Padding after its end marker (where a motion photo keeps its video) is not image data:
    // 1 MB of zeros there does not make it pass.
    let mut padded = forged.clone();
    padded.resize(padded.len() + (1 << 20), 0);
    let err = refused(&padded, "forged 11900² jpeg padded after its end");
    assert!(
        matches!(err, ImageError::JpegDataTooShort { .. }),
        "{err:?}"
    );
}

/// A JPEG laid out so that a marker walk and the decoder read different frame headers: the
/// real frame (here 64² said to be 12000²) sits behind `FF 00`, which the decoder skips as fill
/// and a walk takes for a segment whose length (the frame's own `FF C0`) lands it on a decoy
/// 64² frame and scan hidden in a comment. Every size check weighed the decoy, and the decoder
/// filled 432 MB (1.6 GB for the progressive CMYK version; bad-input hunt, session 26).
#[test]
fn a_jpeg_whose_markers_read_differently_to_the_decoder_is_refused() {
    let noise = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, 90])
    });
    let mut small = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut small, 90)
        .encode_image(&noise)
        .unwrap();
    // Its marker segments up to the start of scan, and the coded data after.
    let mut segments = Vec::new();
    let mut i = 2;
    loop {
        let marker = small[i + 1];
        let len = usize::from(u16::from_be_bytes([small[i + 2], small[i + 3]]));
        segments.push((marker, small[i..i + 2 + len].to_vec()));
        i += 2 + len;
        if marker == 0xDA {
            break;
        }
    }
    let of = |wanted: u8| {
        segments
            .iter()
            .find(|(m, _)| *m == wanted)
            .unwrap()
            .1
            .clone()
    };
    let mut frame = of(0xC0);
    frame[5..9].copy_from_slice(&[0x2E, 0xE0, 0x2E, 0xE0]);
    let mut file = vec![0xFF, 0xD8, 0xFF, 0x00];
    file.extend(&frame);
    // The walk reads `FF 00` as a segment whose length is the next two bytes, FF C0.
    let lands = 4 + usize::from(u16::from_be_bytes([frame[0], frame[1]]));
    let decoy = [
        0xFF, 0xC0, 0, 11, 8, 0, 64, 0, 64, 1, 1, 0x11, 0, // a 64² grey frame
        0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, // and its scan
    ];
    let mut comment = vec![0u8; lands - (file.len() + 4)];
    comment.extend(decoy);
    comment.extend([0u8; 16]);
    file.extend([0xFF, 0xFE]);
    file.extend(u16::try_from(comment.len() + 2).unwrap().to_be_bytes());
    file.extend(comment);
    for (marker, segment) in &segments {
        if !matches!(marker, 0xC0 | 0xDA) {
            file.extend(segment);
        }
    }
    file.extend(of(0xDA));
    file.extend(&small[i..]);
    println!("12000² behind FF 00, a 64² decoy: {} bytes", file.len());
    let err = refused(&file, "desynchronised jpeg");
    assert!(matches!(err, ImageError::JpegMarkers(_)), "{err:?}");
    assert!(imageio::decode(&small, Path::new("the 64² original")).is_ok());
}

/// The check above asks zune-jpeg for the header it will decode; it is only that decoder's
/// reading while FaceGate and `image` build the same zune-jpeg. Two versions in the lock file
/// would have it compare another decoder's reading.
#[test]
fn the_jpeg_check_reads_with_the_decoder_image_runs() {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let versions = lock.matches("name = \"zune-jpeg\"").count();
    assert_eq!(versions, 1, "zune-jpeg is in Cargo.lock {versions} times");
}

#[test]
fn a_tiff_over_the_decoders_memory_limit_says_so_not_corrupt() {
    // 158 bytes: a 12000² deflated CMYK TIFF header and a few bytes of data. The TIFF decoder
    // refuses it with its own limit error, which was reported as "corrupt, truncated or
    // unsupported" (bad-input hunt, session 22); the advice is to scale it down.
    let (side, entries) = (12000u32, 10u16);
    let bits_at = 8 + 2 + 12 * u32::from(entries) + 4;
    let data_at = bits_at + 8;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(entries.to_le_bytes());
    // (tag, type: 3 short / 4 long, count, value or offset)
    for (tag, kind, count, value) in [
        (256u16, 4u16, 1u32, side), // width
        (257, 4, 1, side),          // height
        (258, 3, 4, bits_at),       // 8 bits × 4 samples, at bits_at
        (259, 3, 1, 8),             // deflate
        (262, 3, 1, 5),             // separated (CMYK)
        (273, 4, 1, data_at),       // the one strip's offset
        (277, 3, 1, 4),             // samples a pixel
        (278, 4, 1, side),          // rows a strip
        (279, 4, 1, 16),            // the strip's bytes
        (284, 3, 1, 1),             // chunky
    ] {
        tiff.extend(tag.to_le_bytes());
        tiff.extend(kind.to_le_bytes());
        tiff.extend(count.to_le_bytes());
        tiff.extend(value.to_le_bytes());
    }
    tiff.extend(0u32.to_le_bytes());
    tiff.extend([8u8, 0, 8, 0, 8, 0, 8, 0]);
    tiff.extend(b"\x78\x9c");
    tiff.extend([0u8; 14]);
    assert_eq!(tiff.len(), 158);
    let err = refused(&tiff, "12000² cmyk tiff");
    assert!(matches!(err, ImageError::OverMemoryLimit(_)), "{err:?}");
    assert!(err.to_string().contains("scale it down"), "{err}");
}

#[test]
fn cut_off_jpeg_marker_walks_are_refused() {
    // SOI then a segment whose length runs past the end; SOI alone plus a byte; SOI, SOF0
    // header and a start-of-scan with no end-of-image marker.
    let cases: [&[u8]; 4] = [
        b"\xFF\xD8\xFF\xE1\xFF\xFF",
        b"\xFF\xD8\xFF",
        b"\xFF\xD8\xFF\xDB\x00",
        b"\xFF\xD8\xFF\xC0\x00\x0B\x08\x2E\xE0\x2E\xE0\x01\x01\x11\x00\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\x12\x34",
    ];
    for bytes in cases {
        let err = refused(bytes, "cut jpeg");
        assert!(matches!(err, ImageError::TruncatedJpeg(_)), "{err:?}");
    }
}

#[test]
fn other_formats_with_forged_sizes_are_refused() {
    // BMP: 54-byte header claiming 2^30 × 2^30 at 24 bits, no pixels.
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&1000u32.to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&(1i32 << 30).to_le_bytes());
    bmp.extend_from_slice(&(1i32 << 30).to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    // GIF: logical screen and one image descriptor of 65535 × 65535, no image data.
    let mut gif = b"GIF89a\xFF\xFF\xFF\xFF\x00\x00\x00".to_vec();
    gif.extend_from_slice(b"\x2C\x00\x00\x00\x00\xFF\xFF\xFF\xFF\x00");
    for (bytes, what) in [(bmp, "forged bmp"), (gif, "forged gif")] {
        let err = refused(&bytes, what);
        assert!(
            matches!(err, ImageError::TooLarge { .. } | ImageError::Decode { .. }),
            "{what}: {err:?}"
        );
    }
}

/// The one crash fuzzing found: `store_load` input 0x8d... whose first byte (0x8d % 8 = 5)
/// picked audit.log and whose rest, mostly 0x8d bytes (not UTF-8), became the log. `audit::forget`
/// read the log with `read_to_string`, so wiping anyone failed with "cannot access <data dir>",
/// after the person's folder was already deleted, and `audit::read` dropped the whole file.
#[test]
fn an_audit_log_that_is_not_utf8_still_reads_and_wipes() {
    let input = case("store_load-audit-log-not-utf8.bin");
    assert_eq!(input[0] % 8, 5, "the fuzz target's selector for audit.log");
    let damaged = &input[1..];
    assert!(std::str::from_utf8(damaged).is_err());

    let (_dir, root, store) = store();
    store.add_person("zed").unwrap();
    std::fs::write(root.join(audit::LOG_FILE), damaged).unwrap();
    assert!(audit::read(&root).is_empty(), "no readable line in it");
    let report = store.wipe_person("zed").expect("the wipe goes through");
    assert_eq!(report.audit_entries, 0);
    assert_eq!(damaged.last(), Some(&b'\n'));
    assert_eq!(
        std::fs::read(root.join(audit::LOG_FILE)).unwrap(),
        damaged,
        "a damaged line is kept byte for byte"
    );

    // A damaged line between good ones costs that line only, in reading and in wiping.
    let line = |person: &str| {
        let mut l = serde_json::to_vec(&common::audit_entry(person, 1)).unwrap();
        l.push(b'\n');
        l
    };
    store.add_person("zed").unwrap();
    let log = [line("ann"), damaged.to_vec(), b"\n".to_vec(), line("zed")].concat();
    std::fs::write(root.join(audit::LOG_FILE), &log).unwrap();
    let people: Vec<String> = audit::read(&root).into_iter().map(|e| e.person).collect();
    assert_eq!(people, ["ann", "zed"]);
    let report = store.wipe_person("zed").unwrap();
    assert_eq!(report.audit_entries, 1);
    let people: Vec<String> = audit::read(&root).into_iter().map(|e| e.person).collect();
    assert_eq!(people, ["ann"]);
    let kept = std::fs::read(root.join(audit::LOG_FILE)).unwrap();
    assert!(kept.windows(damaged.len()).any(|w| w == damaged));
}

#[test]
fn hostile_face_sidecars_are_skipped_or_align_cleanly() {
    let (_dir, root, store) = store();
    let dir = root.join("users/ann/verification");
    let gallery = Gallery::Person {
        name: "ann".into(),
        kind: ImageKind::Verification,
    };
    let id = "6f1c2a3e-5b4d-4c7a-9e8f-0a1b2c3d4e5f";
    std::fs::write(
        dir.join(format!("{id}.png")),
        b"png bytes are not read here",
    )
    .unwrap();
    let sidecar = |body: &[u8]| {
        std::fs::write(dir.join(format!("{id}.json")), body).unwrap();
        store
            .faces(&gallery)
            .expect("a bad sidecar never fails the gallery")
    };
    // 100k nested arrays: serde_json's depth limit refuses it instead of overflowing the stack.
    let deep = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
    assert!(sidecar(&deep).is_empty());
    assert!(sidecar(b"\xFF\xFE{}").is_empty());
    assert!(sidecar(b"").is_empty());
    // Valid JSON naming another id: refused rather than attached to this file's image.
    let meta = |id: &str, coord: &str| {
        format!(
            r#"{{"id":"{id}","face":{{"bbox":{{"x":0,"y":0,"w":4,"h":4}},
            "landmarks":[[{coord},1],[3,1],[2,2],[1,3],[3,3]],"score":0.9}},
            "sha256":"00","created_unix":0,"source":null}}"#
        )
    };
    assert!(sidecar(meta("00000000-0000-0000-0000-000000000000", "1").as_bytes()).is_empty());
    // Landmarks that overflow f32 (1e39 parses as infinity) are skipped (issue 14: a sidecar is
    // range-checked); ones that all coincide load, and aligning them gives a 112×112 crop
    // instead of a panic or a NaN-sized buffer.
    for coord in ["1e39", "-1e39", "1e30"] {
        assert!(
            sidecar(meta(id, coord).as_bytes()).is_empty(),
            "landmark {coord}"
        );
    }
    let crop = image::RgbImage::from_pixel(8, 8, image::Rgb([90, 80, 70]));
    let faces = sidecar(meta(id, "3").as_bytes());
    assert_eq!(faces.len(), 1);
    let aligned = align_arcface(&crop, &faces[0].meta.face);
    assert_eq!(aligned.image.dimensions(), (112, 112));
}

#[test]
fn hostile_settings_fall_back_to_defaults_and_hostile_state_is_an_error() {
    let (_dir, root, store) = store();
    let settings = |text: &[u8]| {
        std::fs::write(root.join("settings.toml"), text).unwrap();
        store.settings()
    };
    for text in [
        &b"\xFF\xFE"[..],
        b"detection_threshold = \"high\"",
        b"model = \"resnet\"",
        b"live_n = -1",
        b"camera = 99999999999",
        &[b'['; 10_000],
    ] {
        assert_eq!(
            settings(text),
            Settings::default(),
            "{}",
            String::from_utf8_lossy(text)
        );
    }
    // One valid key keeps the others' defaults.
    let s = settings(b"live_k = 4\n");
    assert_eq!(
        s,
        Settings {
            live_k: 4,
            ..Settings::default()
        }
    );

    let lock = |body: &[u8]| {
        std::fs::write(root.join("users/ann").join(lockout::STATE_FILE), body).unwrap();
        store.read_state::<Lockout>("ann", lockout::STATE_FILE)
    };
    for body in [
        &b"\xFF"[..],
        b"{\"consecutive_failures\":-1}",
        b"{\"consecutive_failures\":4294967296}",
        b"{\"locked_until\":1e400}",
        &[b'{'; 10_000],
    ] {
        // A damaged lock-out is an error naming the file, never "no lock-out" (which would fail
        // open): attempts then cannot start and identify leaves the person out, until a reset.
        let err = lock(body).unwrap_err();
        println!(
            "{:?}: {err}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        );
        assert!(
            matches!(&err, StoreError::Corrupt { path, .. } if path.ends_with(lockout::STATE_FILE)),
            "{err:?}"
        );
    }
    // Too long to be one: the same error, not "cannot access".
    let err = lock(&[b' '; 1 << 20]).unwrap_err();
    println!("1 MiB of spaces: {err}");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    std::fs::remove_file(root.join("users/ann").join(lockout::STATE_FILE)).unwrap();
    assert_eq!(
        store
            .read_state::<Lockout>("ann", lockout::STATE_FILE)
            .unwrap(),
        Lockout::default(),
        "no file yet is no lock-out"
    );
}

#[test]
fn forged_sealed_files_and_keys_are_typed_errors() {
    let (_dir, root, store) = store();
    let file = head_file(EmbedderKind::Sface);
    let path = root.join("users/ann").join(&file);
    for body in [
        &b""[..],
        b"FGS1",
        b"FGS1\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a",
        &[b'F'; 4096],
    ] {
        std::fs::write(&path, body).unwrap();
        assert!(matches!(
            store.read_sealed("ann", &file),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            load_head(&store, "ann", EmbedderKind::Sface),
            Err(TrainError::CorruptHead { .. })
        ));
    }
    // Sealed with the right key but not a head: corrupt, with the parser's reason.
    let sealer = store.sealer().expect("the key file written above");
    for plain in [&b"{}"[..], b"[[[[[[[[", b"{\"model\":\"sface\",\"dim\":0}"] {
        std::fs::write(&path, sealer.seal(plain, &format!("users/ann/{file}"))).unwrap();
        match load_head(&store, "ann", EmbedderKind::Sface) {
            Err(TrainError::CorruptHead { reason, .. }) => println!("sealed junk: {reason}"),
            other => panic!("{other:?}"),
        }
    }

    // A key file of the wrong length.
    let keys = tempfile::tempdir().unwrap();
    std::fs::write(keys.path().join("secret.toml"), "key = \"file\"\n").unwrap();
    std::fs::write(keys.path().join("secret.key"), [1u8; 31]).unwrap();
    let err = facegate::store::secret::open_at(keys.path()).unwrap_err();
    assert!(
        matches!(err, facegate::store::secret::SecretError::BadKey(_)),
        "{err}"
    );
}

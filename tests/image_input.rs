//! Bad and unusual image input: every kind gets its own clear error, and nothing panics.

mod common;

use std::path::Path;

use facegate::imageio::{self, ImageError};
use image::{DynamicImage, ImageFormat, RgbImage};

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    img.write_to(&mut buf, format).unwrap();
    buf.into_inner()
}

/// The error of a decode that must fail (without Debug-printing megabytes of pixels if it didn't).
fn refused(result: Result<RgbImage, ImageError>, what: &str) -> ImageError {
    match result {
        Ok(img) => panic!("{what}: decoded as {}x{}", img.width(), img.height()),
        Err(e) => e,
    }
}

fn astronaut() -> RgbImage {
    imageio::load(&common::fixture("astronaut.png")).unwrap()
}

#[test]
fn empty_corrupt_and_missing_files_are_refused() {
    let name = Path::new("x");
    assert!(matches!(
        imageio::decode(b"", name),
        Err(ImageError::Empty(_))
    ));
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let err = refused(imageio::decode(&garbage, name), "garbage decoded");
    println!("garbage: {err}");
    assert!(matches!(err, ImageError::UnknownFormat(_)), "{err:?}");
    // An iPhone's HEIC photo (its `ftyp` box): named as a format not read, with what is, where
    // it was "The image format could not be determined".
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.resize(4096, 0);
    let err = refused(
        imageio::decode(&heic, Path::new("IMG_0001.HEIC")),
        "heic decoded",
    );
    println!("heic: {err}");
    assert!(err.to_string().contains("JPEG, PNG, WebP"), "{err}");
    // A format `image` knows but FaceGate is built without (a PNM here; QOI and ICO alike) is
    // said to be one it does not read, not "corrupt, truncated or unsupported".
    let mut pnm = b"P6\n4 4\n255\n".to_vec();
    pnm.resize(pnm.len() + 48, 128);
    let err = refused(imageio::decode(&pnm, Path::new("face.ppm")), "pnm decoded");
    println!("pnm: {err}");
    assert!(matches!(err, ImageError::UnknownFormat(_)), "{err:?}");
    let err = refused(
        imageio::load(Path::new("/nonexistent/face.jpg")),
        "a missing file loaded",
    );
    assert!(matches!(err, ImageError::Io { .. }), "{err}");
}

#[test]
fn truncated_png_and_jpeg_are_refused() {
    let img = DynamicImage::ImageRgb8(astronaut());
    for format in [ImageFormat::Png, ImageFormat::Jpeg] {
        let bytes = encode(&img, format);
        let cut = &bytes[..bytes.len() / 2];
        let err = refused(
            imageio::decode(cut, Path::new("half")),
            "a truncated image decoded",
        );
        println!("{format:?} cut in half: {err}");
        assert!(
            matches!(
                err,
                ImageError::Decode { .. } | ImageError::TruncatedJpeg(_)
            ),
            "{format:?}: {err}"
        );
    }
}

/// A forged PNG header claiming 100 000 × 100 000 px must be refused before any allocation.
#[test]
fn absurd_dimensions_are_refused() {
    let small = encode(&DynamicImage::new_rgb8(1, 1), ImageFormat::Png);
    let mut forged = small.clone();
    // IHDR data starts at byte 16: width, height as big-endian u32 (the CRC is not re-computed;
    // the size check must fire before the decoder gets that far, or the CRC check refuses it).
    forged[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    forged[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let err = refused(
        imageio::decode(&forged, Path::new("forged.png")),
        "a forged header decoded",
    );
    println!("forged header: {err}");
    assert!(
        matches!(err, ImageError::TooLarge { .. } | ImageError::Decode { .. }),
        "{err}"
    );
}

/// Grey, RGBA and 16-bit PNGs all decode to the same upright RGB picture.
#[test]
fn grey_rgba_and_16_bit_pngs_decode() {
    let rgb = DynamicImage::ImageRgb8(astronaut());
    let variants = [
        ("grey", DynamicImage::ImageLuma8(rgb.to_luma8())),
        ("rgba", DynamicImage::ImageRgba8(rgb.to_rgba8())),
        ("rgb16", DynamicImage::ImageRgb16(rgb.to_rgb16())),
        ("grey16", DynamicImage::ImageLuma16(rgb.to_luma16())),
    ];
    for (name, img) in variants {
        let decoded = imageio::decode(&encode(&img, ImageFormat::Png), Path::new(name)).unwrap();
        assert_eq!(decoded.dimensions(), (512, 512), "{name}");
        let p = decoded.get_pixel(256, 100).0;
        if name.starts_with("grey") {
            assert!(p[0] == p[1] && p[1] == p[2], "{name}: {p:?}");
        } else {
            assert_eq!(p, rgb.to_rgb8().get_pixel(256, 100).0, "{name}");
        }
    }
}

/// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6), as phones write.
#[test]
fn exif_orientation_is_applied() {
    let src = astronaut();
    let wide = image::imageops::crop_imm(&src, 0, 0, 512, 256).to_image();
    let jpeg = encode(&DynamicImage::ImageRgb8(wide), ImageFormat::Jpeg);
    // Insert an APP1 Exif segment right after SOI: TIFF little-endian, one IFD entry
    // (0x0112 Orientation, SHORT, count 1, value 6).
    let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut bytes = jpeg[..2].to_vec();
    bytes.extend_from_slice(&[0xFF, 0xE1]);
    bytes.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    bytes.extend_from_slice(&app1);
    bytes.extend_from_slice(&jpeg[2..]);
    let decoded = imageio::decode(&bytes, Path::new("rotated.jpg")).unwrap();
    assert_eq!(
        decoded.dimensions(),
        (256, 512),
        "EXIF orientation 6 ignored"
    );
}

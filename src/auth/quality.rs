//! The capture gate: a face is only stored when it is alone, big, sharp and lit enough to be a
//! good reference. Measured on the 112×112 aligned crop, the same pixels the embedder sees.

use image::{GrayImage, RgbImage, imageops};
use imageproc::filter::laplacian_filter;
use serde::Serialize;

use crate::vision::{Face, align_arcface};

#[derive(Debug, Clone, Copy)]
pub struct QualityConfig {
    /// Minimum distance between the eyes in the source image, pixels. Below ~25 px the aligned
    /// crop is mostly interpolation.
    pub min_eye_distance: f32,
    /// Minimum variance of the Laplacian of the aligned grey crop.
    pub min_sharpness: f32,
    /// Minimum mean grey level (0..255) of the aligned crop.
    pub min_brightness: f32,
    /// Other faces at least this fraction of the largest face's eye distance count as a second
    /// person (a tiny face far in the background does not).
    pub second_face_ratio: f32,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            min_eye_distance: 25.0,
            min_sharpness: 40.0,
            min_brightness: 40.0,
            second_face_ratio: 0.5,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct QualityReport {
    pub eye_distance: f32,
    pub sharpness: f32,
    pub brightness: f32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QualityIssue {
    #[error("no face found")]
    NoFace,
    // Said for a person's images and for negatives alike (a negative refused for the
    // background face of an LFW photo was told about "the person enrolling").
    // All the faces found and those of about the largest's size (the ratio is the caller's):
    // "4 faces" of a photo `detect` found 6 in read as a miscount (journey s39 #3, s41 #3).
    #[error(
        "{}; a picture should show one person (crop it, or choose another)",
        many_faces(*comparable, *found)
    )]
    ManyFaces { comparable: usize, found: usize },
    // Each with its remedy at the camera and for a photo file: the same gate judges both, and
    // "hold still" said of an LFW photo meant nothing (journey s37 #9).
    #[error(
        "the face is too small ({eye_distance:.0} px between the eyes, need {min:.0}); come \
         closer, or choose a photo where the face is larger"
    )]
    TooSmall { eye_distance: f32, min: f32 },
    #[error(
        "the face is blurry (sharpness {sharpness:.0}, need {min:.0}); hold still, or choose a \
         sharper photo"
    )]
    Blurry { sharpness: f32, min: f32 },
    #[error(
        "the face is too dark (brightness {brightness:.0}, need {min:.0}); add light, or choose \
         a brighter photo"
    )]
    TooDark { brightness: f32, min: f32 },
}

/// For verification, a second face only makes the probe ambiguous when it is nearly as large as
/// the first: a colleague walking past behind the user (deepface's img62) must not block them.
pub const AMBIGUOUS_FACE_RATIO: f32 = 0.8;

/// A photo's faces as a refusal says them: all it holds, and how many of them are about as large
/// as the largest where that is fewer ("5 faces" of a photo `detect` found 7 in read as a
/// miscount: journey s39 #3, final read s39 F3).
pub fn many_faces(faces: usize, found: usize) -> String {
    match found > faces {
        true => format!("{found} faces, {faces} of them about as large as the largest"),
        false => format!("{faces} faces, none clearly nearest the camera"),
    }
}

/// The largest face, or why there is none: no face, or another face at least `second_face_ratio`
/// of its size (by eye distance).
pub fn main_face(faces: &[Face], second_face_ratio: f32) -> Result<&Face, QualityIssue> {
    main_face_index(faces, second_face_ratio).map(|i| &faces[i])
}

/// [`main_face`] as its index in `faces`, for callers that label every face of a frame.
pub fn main_face_index(faces: &[Face], second_face_ratio: f32) -> Result<usize, QualityIssue> {
    let (index, largest) = faces
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| a.eye_distance().total_cmp(&b.eye_distance()))
        .ok_or(QualityIssue::NoFace)?;
    let comparable = faces
        .iter()
        .filter(|f| f.eye_distance() >= second_face_ratio * largest.eye_distance())
        .count();
    if comparable > 1 {
        return Err(QualityIssue::ManyFaces {
            comparable,
            found: faces.len(),
        });
    }
    Ok(index)
}

pub fn measure(img: &RgbImage, face: &Face) -> QualityReport {
    let aligned = align_arcface(img, face);
    let grey: GrayImage = imageops::grayscale(&aligned.image);
    let n = grey.len() as f32;
    let brightness = grey.iter().map(|&v| v as f32).sum::<f32>() / n;
    let lap = laplacian_filter(&grey);
    let mean = lap.iter().map(|&v| v as f32).sum::<f32>() / n;
    let sharpness = lap.iter().map(|&v| (v as f32 - mean).powi(2)).sum::<f32>() / n;
    QualityReport {
        eye_distance: face.eye_distance(),
        sharpness,
        brightness,
    }
}

/// Runs every check; returns the face to store and its measurements.
pub fn check<'a>(
    img: &RgbImage,
    faces: &'a [Face],
    config: &QualityConfig,
) -> Result<(&'a Face, QualityReport), QualityIssue> {
    let face = main_face(faces, config.second_face_ratio)?;
    let r = measure(img, face);
    if r.eye_distance < config.min_eye_distance {
        return Err(QualityIssue::TooSmall {
            eye_distance: r.eye_distance,
            min: config.min_eye_distance,
        });
    }
    if r.brightness < config.min_brightness {
        return Err(QualityIssue::TooDark {
            brightness: r.brightness,
            min: config.min_brightness,
        });
    }
    if r.sharpness < config.min_sharpness {
        return Err(QualityIssue::Blurry {
            sharpness: r.sharpness,
            min: config.min_sharpness,
        });
    }
    Ok((face, r))
}

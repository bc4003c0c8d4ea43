//! Part 1 of `facegate bench`: each stage timed on its own (median and p95 after warm-up) on the
//! photo placed on webcam-sized frames, then the whole per-frame verify against a gallery.

use std::path::Path;
use std::time::Instant;

use image::{RgbImage, imageops};
use serde::Serialize;
use uuid::Uuid;

use super::{GALLERY_SIZE, Quantiles, budget, proc_status};
use crate::auth::{self, Thresholds};
use crate::imageio;
use crate::liveness::PadModel;
use crate::runtime::Models;
use crate::vision::attributes::{AgeNet, AttributeModel, AttributeNets, EmotionNet};
use crate::vision::{Detector, DetectorConfig, Embedder, EmbedderKind, Embedding, align_arcface};

#[derive(Serialize)]
pub(super) struct Row {
    /// Stable id for scripts (scripts/opencv_bench.py matches on it).
    key: String,
    pub(super) stage: String,
    pub(super) median_ms: f64,
    pub(super) p95_ms: f64,
    runs: usize,
    pub(super) budget_ms: Option<f64>,
}

impl Row {
    fn with_budget(mut self, ms: f64) -> Row {
        self.budget_ms = Some(ms);
        self
    }

    /// Budgets are judged on the median: the typical frame, with p95 beside it.
    pub(super) fn met(&self) -> Option<bool> {
        self.budget_ms.map(|b| self.median_ms <= b)
    }
}

fn time<F: FnMut()>(key: &str, stage: impl Into<String>, runs: usize, mut f: F) -> Row {
    for _ in 0..5 {
        f();
    }
    let ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let q = Quantiles::of(ms);
    Row {
        key: key.into(),
        stage: stage.into(),
        median_ms: q.median_ms,
        p95_ms: q.p95_ms,
        runs,
        budget_ms: None,
    }
}

/// The photo placed on a webcam-sized canvas (letterboxed, like a frame from a desk camera),
/// shrunk by `zoom` (1 = as large as fits) and shifted by `shift` pixels.
fn frame(photo: &RgbImage, w: u32, h: u32, zoom: f32, shift: i64) -> RgbImage {
    let s = (w as f32 / photo.width() as f32).min(h as f32 / photo.height() as f32) * zoom;
    let scaled = imageops::resize(
        photo,
        (photo.width() as f32 * s) as u32,
        (photo.height() as f32 * s) as u32,
        imageops::FilterType::Triangle,
    );
    let mut canvas = RgbImage::from_pixel(w, h, image::Rgb([40, 40, 40]));
    imageops::overlay(
        &mut canvas,
        &scaled,
        i64::from((w - scaled.width()) / 2) + shift,
        i64::from((h - scaled.height()) / 2),
    );
    canvas
}

fn detector(models: &Models, max_side: u32) -> crate::Result<Detector> {
    Detector::new(
        models,
        DetectorConfig {
            max_side,
            ..DetectorConfig::default()
        },
    )
}

/// Part 1: every stage on its own, then the whole per-frame verify. Also returns the process's
/// thread count while the sessions are alive. `bytes` are the photo's, read from `path` through
/// [`imageio::read`] (a regular file of bounded size).
pub(super) fn run(
    models: &Models,
    path: &Path,
    bytes: &[u8],
    runs: usize,
) -> anyhow::Result<(Vec<Row>, usize)> {
    let photo = imageio::decode(bytes, path)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut rows = vec![time("decode", format!("decode {name}"), runs, || {
        imageio::decode(bytes, path).expect("decoded once already");
    })];

    let frame_320 = frame(&photo, 320, 240, 1.0, 0);
    let frame_640 = frame(&photo, 640, 480, 1.0, 0);
    let frame_1280 = frame(&photo, 1280, 720, 1.0, 0);
    let mut det_320 = detector(models, 320)?;
    let mut det_640 = detector(models, 640)?;
    let mut det_1280 = detector(models, 1280)?;
    rows.push(time("detect_320x240", "detect 320×240", runs, || {
        det_320.detect(&frame_320).expect("detect");
    }));
    rows.push(
        time(
            "detect_640x480",
            "detect 640×480 (full size)",
            runs,
            || {
                det_640.detect(&frame_640).expect("detect");
            },
        )
        .with_budget(budget::DETECT_640_MS),
    );
    rows.push(
        time(
            "detect_640x480_on_320",
            "detect 640×480 (on a 320×240 copy)",
            runs,
            || {
                det_320.detect(&frame_640).expect("detect");
            },
        )
        .with_budget(budget::DETECT_640_MS),
    );
    rows.push(time(
        "detect_1280x720_on_640",
        "detect 1280×720 (on a 640×360 copy)",
        runs,
        || {
            det_640.detect(&frame_1280).expect("detect");
        },
    ));
    rows.push(time(
        "detect_1280x720",
        "detect 1280×720 (full size)",
        runs,
        || {
            det_1280.detect(&frame_1280).expect("detect");
        },
    ));
    drop(det_1280);

    let face = det_640
        .detect(&frame_640)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no face in {}", path.display()))?;
    rows.push(time("align", "align to 112×112", runs, || {
        align_arcface(&frame_640, &face);
    }));
    let aligned = align_arcface(&frame_640, &face);
    let mut sface = Embedder::new(models, EmbedderKind::Sface)?;
    for kind in [EmbedderKind::Sface, EmbedderKind::Mbf] {
        let mut other;
        let embedder = if kind == EmbedderKind::Sface {
            &mut sface
        } else {
            other = Embedder::new(models, kind)?;
            &mut other
        };
        rows.push(
            time(
                &format!("embed_{kind}"),
                format!("embed one face ({kind})"),
                runs,
                || {
                    embedder.embed(&aligned).expect("embed");
                },
            )
            .with_budget(budget::EMBED_MS),
        );
    }

    let mut attributes = AttributeModel::new(models, AttributeNets::default())?;
    rows.push(time(
        "attributes_age_gender",
        "age (FaceGate's own network, the default) beside gender (one chip, the face only)",
        runs,
        || {
            attributes
                .age_and_gender(&frame_640, &face.landmarks)
                .expect("age and gender");
        },
    ));
    rows.push(time(
        "attributes_emotion",
        "emotion (FaceGate's own two networks side by side, the default; the face only)",
        runs,
        || {
            attributes.emotion(&frame_640, &face.bbox).expect("emotion");
        },
    ));
    let mut permissive = AttributeModel::new(
        models,
        AttributeNets {
            age: AgeNet::Dlib,
            emotion: EmotionNet::MiniXception,
        },
    )?;
    rows.push(time(
        "attributes_age_dlib",
        "age (dlib's age-v1; mirrored pair) then gender (one chip, the face only)",
        runs,
        || {
            permissive
                .age_and_gender(&frame_640, &face.landmarks)
                .expect("age and gender");
        },
    ));
    rows.push(time(
        "attributes_emotion_mini_xception",
        "emotion (fer's mini-Xception; mirrored pair)",
        runs,
        || {
            permissive.emotion(&frame_640, &face.bbox).expect("emotion");
        },
    ));
    rows.push(time(
        "attributes",
        "attributes (age + gender + emotion; two networks at a time)",
        runs,
        || {
            attributes.analyze(&frame_640, &face).expect("attributes");
        },
    ));

    let mut pad = PadModel::new(models)?;
    rows.push(
        time(
            "pad",
            "presentation-attack score (MiniFASNet V2 beside V1SE)",
            runs,
            || {
                pad.score(&frame_640, &face).expect("pad");
            },
        )
        .with_budget(budget::PAD_MS),
    );
    drop(pad);

    // Ten verification embeddings of the same face in other places and sizes, as an enrolled
    // person's gallery would hold.
    let gallery: Vec<(Uuid, Embedding)> = (0..GALLERY_SIZE)
        .filter_map(|i| {
            let img = frame(&photo, 640, 480, 0.7 + 0.03 * i as f32, 10 * i as i64 - 45);
            let f = det_640.detect(&img).ok()?.into_iter().next()?;
            let e = sface.embed(&align_arcface(&img, &f)).ok()?;
            Some((Uuid::new_v4(), e))
        })
        .collect();
    anyhow::ensure!(!gallery.is_empty(), "no face in the gallery frames");
    let thresholds = Thresholds {
        detection: EmbedderKind::Sface.default_threshold(),
        verification: auth::DEFAULT_VERIFICATION_THRESHOLD,
    };
    let mut verify_frame = |det: &mut Detector| {
        let faces = det.detect(&frame_640).expect("detect");
        let face = faces.first().expect("a face");
        let probe = sface
            .embed(&align_arcface(&frame_640, face))
            .expect("embed");
        auth::verify(&probe, &gallery, thresholds)
    };
    rows.push(
        time(
            "verify_frame_640x480",
            format!(
                "verify 640×480 frame (detect + align + embed + {} compares)",
                gallery.len()
            ),
            runs,
            || {
                verify_frame(&mut det_640);
            },
        )
        .with_budget(budget::VERIFY_FRAME_MS),
    );
    rows.push(
        time(
            "verify_frame_640x480_on_320",
            "same, detecting on a 320×240 copy",
            runs,
            || {
                verify_frame(&mut det_320);
            },
        )
        .with_budget(budget::VERIFY_FRAME_MS),
    );
    let threads = proc_status("Threads:").unwrap_or(0) as usize;
    Ok((rows, threads))
}

//! YuNet face detector (OpenCV Zoo, 2023mar) run through ONNX Runtime.
//!
//! Decoding follows OpenCV's `FaceDetectorYN` exactly (see models/README in the repo docs): per
//! stride, each grid cell predicts a class and an objectness score, a box as offsets from the cell
//! plus log-sizes, and five landmarks as offsets.

use fast_image_resize::PixelType;
use image::RgbImage;
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

use super::face::{BBox, Face};
use super::resize::Downscaler;
use crate::runtime::Models;
use crate::{Error, Result};

const MODEL: &str = "yunet";
const STRIDES: [usize; 3] = [8, 16, 32];

#[derive(Debug, Clone, Copy)]
pub struct DetectorConfig {
    /// Minimum face score in 0..1 (OpenCV's demos use 0.9; lower finds more small faces).
    pub score_threshold: f32,
    /// Boxes overlapping a better one by more than this IoU are suppressed.
    pub nms_iou: f32,
    /// Detection runs on a copy whose longest side is at most this; boxes are mapped back.
    /// 640 keeps faces down to ~20 px in a phone photo; the live view detects at 320 for speed
    /// (see `live::worker::LIVE_MAX_SIDE`).
    pub max_side: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            score_threshold: 0.7,
            nms_iou: 0.3,
            max_side: 640,
        }
    }
}

pub struct Detector {
    session: Session,
    pub config: DetectorConfig,
    input: Array4<f32>,
    /// The downscale ran at ~5 ms per 640×480 frame with `image::imageops::resize` (more than
    /// YuNet itself at 320×240).
    downscaler: Downscaler,
}

impl Detector {
    pub fn new(models: &Models, config: DetectorConfig) -> Result<Detector> {
        Ok(Detector {
            session: models.session(MODEL)?,
            config,
            input: Array4::zeros((1, 3, 32, 32)),
            downscaler: Downscaler::default(),
        })
    }

    /// All faces in `img`, best first, in `img`'s pixel coordinates.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<Face>> {
        self.detect_at(img, self.config.max_side)
    }

    /// [`Detector::detect`] on a copy whose longest side is at most `max_side`.
    pub fn detect_at(&mut self, img: &RgbImage, max_side: u32) -> Result<Vec<Face>> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let scale = (max_side.max(32) as f32 / w.max(h) as f32).min(1.0);
        if scale < 1.0 {
            let sw = ((w as f32 * scale).round() as u32).max(1);
            let sh = ((h as f32 * scale).round() as u32).max(1);
            let small =
                self.downscaler
                    .resize(img.as_raw(), (w, h), PixelType::U8x3, (sw, sh), MODEL)?;
            Self::fill_input(&mut self.input, sw as usize, sh as usize, small);
        } else {
            Self::fill_input(&mut self.input, w as usize, h as usize, img.as_raw());
        }
        let (_, _, ih, iw) = self.input.dim();
        let outputs = self
            .session
            .run(ort::inputs!["input" => TensorRef::from_array_view(&self.input).map_err(Error::inference(MODEL))?])
            .map_err(Error::inference(MODEL))?;

        let mut faces = Vec::new();
        for stride in STRIDES {
            let get = |name: &str| -> Result<&[f32]> {
                let key = format!("{name}_{stride}");
                outputs[key.as_str()]
                    .try_extract_tensor::<f32>()
                    .map(|(_, data)| data)
                    .map_err(Error::inference(MODEL))
            };
            let (cls, obj, bbox, kps) = (get("cls")?, get("obj")?, get("bbox")?, get("kps")?);
            let cols = iw / stride;
            let rows = ih / stride;
            let s = stride as f32;
            for idx in 0..rows * cols {
                let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
                if score < self.config.score_threshold {
                    continue;
                }
                let (row, col) = ((idx / cols) as f32, (idx % cols) as f32);
                let b = &bbox[idx * 4..idx * 4 + 4];
                let (cx, cy) = ((col + b[0]) * s, (row + b[1]) * s);
                let (bw, bh) = (b[2].exp() * s, b[3].exp() * s);
                let k = &kps[idx * 10..idx * 10 + 10];
                let landmarks =
                    std::array::from_fn(|i| [(col + k[2 * i]) * s, (row + k[2 * i + 1]) * s]);
                faces.push(Face {
                    bbox: BBox {
                        x: cx - bw / 2.0,
                        y: cy - bh / 2.0,
                        w: bw,
                        h: bh,
                    },
                    landmarks,
                    score,
                });
            }
        }
        let kept = nms(faces, self.config.nms_iou);
        Ok(kept.into_iter().map(|f| f.scaled(1.0 / scale)).collect())
    }

    /// Copies a `w`×`h` RGB buffer into the reused input tensor as BGR 0..255, zero-padded
    /// bottom/right to multiples of 32 (the coarsest stride). Only the padding is cleared: the
    /// picture overwrites the rest, so a full memset of the tensor every frame is wasted work.
    fn fill_input(input: &mut Array4<f32>, w: usize, h: usize, rgb: &[u8]) {
        let (pw, ph) = (w.div_ceil(32) * 32, h.div_ceil(32) * 32);
        if input.dim() != (1, 3, ph, pw) {
            *input = Array4::zeros((1, 3, ph, pw));
        }
        let buf = input
            .as_slice_mut()
            .expect("allocated by Array4::zeros, contiguous");
        let (plane, rest) = buf.split_at_mut(ph * pw);
        let (plane_g, plane_r) = rest.split_at_mut(ph * pw);
        // Output planes are B, G, R; input pixels are R, G, B.
        for (c, out) in [(2, plane), (1, plane_g), (0, plane_r)] {
            for (y, row) in rgb.chunks_exact(w * 3).take(h).enumerate() {
                let line = &mut out[y * pw..(y + 1) * pw];
                for (dst, px) in line[..w].iter_mut().zip(row.chunks_exact(3)) {
                    *dst = px[c] as f32;
                }
                line[w..].fill(0.0);
            }
            out[h * pw..].fill(0.0);
        }
    }
}

/// Greedy non-maximum suppression: keep the best box, drop those overlapping it, repeat.
fn nms(mut faces: Vec<Face>, iou: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| k.bbox.iou(&f.bbox) <= iou) {
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, score: f32) -> Face {
        Face {
            bbox: BBox {
                x,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
            landmarks: [[0.0; 2]; 5],
            score,
        }
    }

    #[test]
    fn nms_keeps_best_of_overlapping_and_all_disjoint() {
        let kept = nms(vec![face(0.0, 0.8), face(1.0, 0.9), face(50.0, 0.75)], 0.3);
        let scores: Vec<f32> = kept.iter().map(|f| f.score).collect();
        assert_eq!(scores, vec![0.9, 0.75]);
    }
}

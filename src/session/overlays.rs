//! Age, gender and emotion for the faces on screen: each tracked face refreshed a few times a
//! second and smoothed, so the labels stay live without flickering or taking frames from
//! detection.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::runtime::Models;
use crate::vision::Face;
use crate::vision::attributes::{AttributeModel, AttributeNets, Attributes, Smoother};

/// Attributes change slowly; refreshing each face a few times a second keeps the labels live
/// without taking frames from detection.
const PERIOD: Duration = Duration::from_millis(250);
/// Weight of each new attribute reading: settles in about two seconds at four readings a second.
const SMOOTHING: f32 = 0.3;

pub(super) struct AttributeOverlay {
    /// Built on first use, so a user who never turns attributes on never loads them.
    model: Option<AttributeModel>,
    pub(super) on: bool,
    smoother: Smoother<u64>,
    /// When each tracked face last had its attributes refreshed.
    last: HashMap<u64, Instant>,
}

impl Default for AttributeOverlay {
    fn default() -> Self {
        AttributeOverlay {
            model: None,
            on: true,
            smoother: Smoother::new(SMOOTHING),
            last: HashMap::new(),
        }
    }
}

/// Smoothed attributes per face, in the faces' order, and whether any model ran this frame.
pub(super) struct Read {
    pub attributes: Vec<Option<Attributes>>,
    pub ran: bool,
}

impl AttributeOverlay {
    /// Attributes for `faces` (tracked as `ids`) in `image`, refreshing those due. A model that
    /// cannot load turns the overlay off and says why (the error); the feed goes on.
    pub(super) fn read(
        &mut self,
        models: &Models,
        nets: AttributeNets,
        image: &RgbImage,
        faces: &[Face],
        ids: &[u64],
    ) -> Result<Read, String> {
        self.smoother.retain(|id| ids.contains(id));
        self.last.retain(|id, _| ids.contains(id));
        let none = Read {
            attributes: vec![None; faces.len()],
            ran: false,
        };
        if !self.on {
            return Ok(none);
        }
        // Loaded on first use; when the settings pick another age or emotion network, only its
        // session is loaded.
        let loaded = match self.model.take() {
            None => AttributeModel::new(models, nets),
            Some(mut m) => m.set_nets(models, nets).map(|()| m),
        };
        let model = match loaded {
            Ok(m) => self.model.insert(m),
            Err(e) => {
                self.on = false;
                return Err(format!(
                    "age, gender and emotion are off: {}",
                    crate::shown::Reason(&e)
                ));
            }
        };
        let now = Instant::now();
        let mut ran = false;
        let attributes = faces
            .iter()
            .zip(ids)
            .map(|(face, id)| {
                let due = self
                    .last
                    .get(id)
                    .is_none_or(|t| now.duration_since(*t) >= PERIOD);
                if due {
                    self.last.insert(*id, now);
                    ran = true;
                    match model.analyze(image, face) {
                        Ok(Some(fresh)) => return Some(self.smoother.update(*id, &fresh)),
                        Ok(None) => return None,
                        Err(e) => tracing::warn!("attributes failed: {e}"),
                    }
                }
                self.smoother.get(id).copied()
            })
            .collect();
        Ok(Read { attributes, ran })
    }
}

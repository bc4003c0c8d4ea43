//! Running small networks on prepared inputs, two at a time when there are cores for it: a
//! face's attribute networks, and the presentation-attack pair.
//!
//! Our small int8 and fp32 networks (48-80 px inputs) are split poorly by ONNX Runtime across
//! threads: two at a time on one thread each read a face's attributes in 18-24 % less time than
//! one at a time on two threads (README, speed), and the two MiniFASNets in 3.4-3.6 ms instead
//! of 4.9-6.6 one after the other on one thread (README, liveness).

use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

use crate::{Error, Result};

/// How many networks run at once, each session on its share of the ORT threads
/// ([`Lanes::session_threads`]). At most two, because a face has two to four networks of
/// unequal size: more would leave lanes idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lanes(usize);

impl Lanes {
    const MOST: usize = 2;
    /// One network at a time, on all the threads.
    pub const ONE: Lanes = Lanes(1);

    /// As many lanes as `intra_threads` ORT threads allow.
    pub fn for_threads(intra_threads: usize) -> Lanes {
        Lanes(intra_threads.clamp(1, Self::MOST))
    }

    /// ORT intra-op threads for each session, so that the lanes together use `intra_threads`.
    pub fn session_threads(self, intra_threads: usize) -> usize {
        (intra_threads / self.0).max(1)
    }
}

/// One network's run on its prepared input.
pub struct NetRun<'a> {
    pub session: &'a mut Session,
    pub model: &'static str,
    pub input_name: &'static str,
    pub input: &'a Array4<f32>,
    pub output_name: &'static str,
    /// How many values the output has for each image of the batch.
    pub per_image: usize,
}

impl NetRun<'_> {
    /// The output, `batch × per_image` values row by row, checked to be that many and finite.
    fn run(self) -> Result<Vec<f32>> {
        let NetRun {
            session,
            model,
            input_name,
            input,
            output_name,
            per_image,
        } = self;
        let batch = input.dim().0;
        let outputs = session
            .run(ort::inputs![input_name => TensorRef::from_array_view(input).map_err(Error::inference(model))?])
            .map_err(Error::inference(model))?;
        let (_, data) = outputs[output_name]
            .try_extract_tensor::<f32>()
            .map_err(Error::inference(model))?;
        if data.len() != per_image * batch || data.iter().any(|v| !v.is_finite()) {
            return Err(Error::Inference {
                model,
                source: ort::Error::new(format!(
                    "expected {batch}×{per_image} finite values of `{output_name}`, got {} ({:?}…)",
                    data.len(),
                    &data[..data.len().min(4)]
                )),
            });
        }
        Ok(data.to_vec())
    }
}

/// Runs `runs` and returns their outputs in the same order. With two lanes the runs are dealt
/// alternately to this thread and to one helper thread, so the caller orders them to balance.
pub fn run_all(runs: Vec<NetRun<'_>>, lanes: Lanes) -> Result<Vec<Vec<f32>>> {
    if lanes.0 < 2 || runs.len() < 2 {
        return runs.into_iter().map(NetRun::run).collect();
    }
    let n = runs.len();
    let (mine, theirs): (Vec<_>, Vec<_>) =
        runs.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let run_lane = |lane: Vec<(usize, NetRun<'_>)>| -> Vec<Result<Vec<f32>>> {
        lane.into_iter().map(|(_, r)| r.run()).collect()
    };
    let (mine, theirs) = std::thread::scope(|s| {
        let helper = s.spawn(|| run_lane(theirs));
        let mine = run_lane(mine);
        let theirs = helper
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (mine, theirs)
    });
    let (mut mine, mut theirs) = (mine.into_iter(), theirs.into_iter());
    (0..n)
        .map(|i| {
            let lane = if i % 2 == 0 { &mut mine } else { &mut theirs };
            lane.next().expect("one answer per run")
        })
        .collect()
}

/// Resizes a reused [N,C,H,W] input to batch `n` (only when it changes).
pub fn ensure_batch(t: &mut Array4<f32>, n: usize) {
    let (b, c, h, w) = t.dim();
    if b != n {
        *t = Array4::zeros((n, c, h, w));
    }
}

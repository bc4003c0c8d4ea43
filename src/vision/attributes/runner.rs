//! Running the attribute networks of one face: each answers class probabilities for a prepared
//! batch, and they run two at a time when there are cores for it.

use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

use super::{AgeNet, AttributeNets};
use crate::{Error, Result};

/// How many networks of one face run at once, each session on its share of the ORT threads
/// ([`Lanes::session_threads`]). Our networks are small int8 ones (a 48 px grey crop, a 64 px
/// chip), which ONNX Runtime splits poorly across threads: two at a time on one thread each
/// read a face in 18-24 % less time than one at a time on two threads (README, speed). Two
/// lanes, because a face has three or four networks of unequal size: more would leave lanes
/// idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lanes(usize);

impl Lanes {
    const MOST: usize = 2;

    /// The lanes for `nets` on `intra_threads` ORT threads: one when there is only one thread,
    /// or when `nets` has a network that needs them all ([`AgeNet::Dlib`]).
    pub(super) fn for_nets(nets: AttributeNets, intra_threads: usize) -> Lanes {
        // dlib's age-v1 is fp32 and about three times our age network's work: on one thread it
        // takes 4-5 ms, so beside gender it made age and gender slower (2.5 -> 4.5 ms), not faster.
        if nets.age == AgeNet::Dlib {
            return Lanes(1);
        }
        Lanes(intra_threads.clamp(1, Self::MOST))
    }

    /// ORT intra-op threads for each attribute session, so that the lanes together use
    /// `intra_threads`.
    pub(super) fn session_threads(self, intra_threads: usize) -> usize {
        (intra_threads / self.0).max(1)
    }
}

/// One network's run on its prepared input.
pub(super) struct NetRun<'a> {
    pub session: &'a mut Session,
    pub model: &'static str,
    pub input_name: &'static str,
    pub input: &'a Array4<f32>,
    /// How many probabilities one image gets.
    pub classes: usize,
}

impl NetRun<'_> {
    /// The mean `probabilities` row over the batch (one image, or an image and its mirror),
    /// checked to have `classes` entries.
    fn run(self) -> Result<Vec<f32>> {
        let NetRun {
            session,
            model,
            input_name,
            input,
            classes,
        } = self;
        let batch = input.dim().0;
        let outputs = session
            .run(ort::inputs![input_name => TensorRef::from_array_view(input).map_err(Error::inference(model))?])
            .map_err(Error::inference(model))?;
        let (_, data) = outputs["probabilities"]
            .try_extract_tensor::<f32>()
            .map_err(Error::inference(model))?;
        if data.len() != classes * batch {
            return Err(Error::Inference {
                model,
                source: ort::Error::new(format!(
                    "expected {batch}×{classes} probabilities, got {}",
                    data.len()
                )),
            });
        }
        let mut mean = vec![0.0; classes];
        for row in data.chunks(classes) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, p)| *m += p / batch as f32);
        }
        Ok(mean)
    }
}

/// Runs `runs` and returns their answers in the same order. With two lanes the runs are dealt
/// alternately to this thread and to one helper thread, so the caller orders them to balance:
/// ours go (emotion 1, gender) beside (emotion 2, age).
pub(super) fn run_all(runs: Vec<NetRun<'_>>, lanes: Lanes) -> Result<Vec<Vec<f32>>> {
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
pub(super) fn ensure_batch(t: &mut Array4<f32>, n: usize) {
    let (b, c, h, w) = t.dim();
    if b != n {
        *t = Array4::zeros((n, c, h, w));
    }
}

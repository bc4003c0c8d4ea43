//! The simulation behind `facegate eval attempts`: enrol each person with enough photos from
//! their first K, then attack and use every gallery with the product's own rule code
//! ([`auth::verify`] for one frame, [`Votes`] for the live K-of-N rule), at every point of a
//! grid of (detection threshold, verification share).

use serde::Serialize;
use uuid::Uuid;

use crate::auth::votes::{KofN, Votes};
use crate::auth::{self, Thresholds};
use crate::vision::Embedding;

/// One labelled identity: its usable photos' embeddings, in the order they were listed.
pub struct Person {
    pub name: String,
    pub images: Vec<Embedding>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Protocol {
    /// Photos each person enrols with (their first K); only people with more are enrolled.
    pub enrol: usize,
    /// Live rule: accepted when `live_k` of `live_n` consecutive frames verify (the JSON names
    /// them so).
    #[serde(flatten)]
    pub live: KofN,
}

/// Every (detection threshold, verification share) pair, thresholds outer, both ascending.
#[derive(Debug, Clone)]
pub struct Grid {
    detection: Vec<f32>,
    shares: Vec<f32>,
}

impl Grid {
    /// One bit per point in a `u128`.
    pub const MAX_POINTS: usize = 128;

    pub fn new(mut detection: Vec<f32>, mut shares: Vec<f32>) -> anyhow::Result<Grid> {
        for v in [&mut detection, &mut shares] {
            v.retain(|x| x.is_finite());
            v.sort_by(f32::total_cmp);
            v.dedup();
        }
        anyhow::ensure!(
            !detection.is_empty() && !shares.is_empty(),
            "the grid needs at least one detection threshold and one share"
        );
        let points = detection.len() * shares.len();
        anyhow::ensure!(
            points <= Self::MAX_POINTS,
            "{points} grid points; at most {} (fewer thresholds or shares)",
            Self::MAX_POINTS
        );
        Ok(Grid { detection, shares })
    }

    pub fn points(&self) -> impl Iterator<Item = Thresholds> + '_ {
        self.detection.iter().flat_map(|&detection| {
            self.shares.iter().map(move |&verification| Thresholds {
                detection,
                verification,
            })
        })
    }

    pub fn len(&self) -> usize {
        self.detection.len() * self.shares.len()
    }

    /// The most lenient point: the lowest threshold and share.
    fn loosest(&self) -> Thresholds {
        Thresholds {
            detection: self.detection[0],
            verification: self.shares[0],
        }
    }
}

/// Errors out of attempts (false accepts of impostor attempts, false rejects of genuine ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub errors: u64,
    pub attempts: u64,
}

/// The four tallies at one grid point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PointTally {
    pub one_frame_far: Tally,
    pub one_frame_frr: Tally,
    pub live_far: Tally,
    pub live_frr: Tally,
}

#[derive(Debug, Clone)]
pub struct Simulation {
    /// People enrolled (at least `enrol + 1` photos).
    pub enrolled: usize,
    /// Enrolled people with at least `live_n` photos beyond their gallery (a live genuine attempt).
    pub live_genuine_people: usize,
    /// One per grid point, in [`Grid::points`] order.
    pub points: Vec<PointTally>,
}

/// Which grid points accept `probe` against `gallery` (bit i = point i). The rule is monotone:
/// a higher threshold matches no more images and a higher share needs no fewer, so a probe
/// refused at the loosest point is refused everywhere and needs only one call; otherwise each
/// point is asked of [`auth::verify`] itself.
pub fn accepted_mask(probe: &Embedding, gallery: &[(Uuid, Embedding)], grid: &Grid) -> u128 {
    if !auth::verify(probe, gallery, grid.loosest()).accepted {
        return 0;
    }
    grid.points()
        .enumerate()
        .filter(|(_, th)| auth::verify(probe, gallery, *th).accepted)
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// Whether the live rule accepts a run of frames at grid point `bit`, frame verdicts taken from
/// their masks: the frames go through [`Votes`] as a camera's would.
fn live_passes(frames: &[u128], bit: usize, protocol: Protocol) -> bool {
    let mut votes = Votes::new(protocol.live);
    for m in frames {
        votes.push(m >> bit & 1 == 1);
        if votes.passed() {
            return true;
        }
    }
    false
}

/// Runs every attempt:
/// - one frame, genuine: each of a person's photos after the first K against their gallery;
///   impostor: every photo of every other person against each gallery;
/// - live, genuine: each run of `live_n` consecutive photos after the first K; impostor: each run
///   of `live_n` consecutive photos of another person (people with fewer photos give none).
pub fn simulate(people: &[Person], grid: &Grid, protocol: Protocol) -> Simulation {
    let n = protocol.live.n();
    let mut points = vec![PointTally::default(); grid.len()];
    let mut enrolled = 0;
    let mut live_genuine_people = 0;
    for (p, person) in people.iter().enumerate() {
        if person.images.len() <= protocol.enrol {
            continue;
        }
        enrolled += 1;
        let gallery: Vec<(Uuid, Embedding)> = person.images[..protocol.enrol]
            .iter()
            .enumerate()
            .map(|(i, e)| (Uuid::from_u128(i as u128 + 1), e.clone()))
            .collect();
        for (q, other) in people.iter().enumerate() {
            let genuine = p == q;
            let probes = if genuine {
                &other.images[protocol.enrol..]
            } else {
                &other.images[..]
            };
            let masks: Vec<u128> = probes
                .iter()
                .map(|e| accepted_mask(e, &gallery, grid))
                .collect();
            for &m in &masks {
                count(&mut points, m, genuine, false);
            }
            if genuine && masks.len() >= n {
                live_genuine_people += 1;
            }
            for window in masks.windows(n) {
                let any = window.iter().fold(0, |a, m| a | m);
                let live = (0..grid.len())
                    .filter(|&bit| any >> bit & 1 == 1 && live_passes(window, bit, protocol))
                    .fold(0u128, |a, bit| a | 1 << bit);
                count(&mut points, live, genuine, true);
            }
        }
    }
    Simulation {
        enrolled,
        live_genuine_people,
        points,
    }
}

/// Adds one attempt at every grid point, an error where the verdict (bit i of `accepted`) is
/// wrong for a genuine (or impostor) attempt.
fn count(points: &mut [PointTally], accepted: u128, genuine: bool, live: bool) {
    for (i, point) in points.iter_mut().enumerate() {
        let tally = match (live, genuine) {
            (false, true) => &mut point.one_frame_frr,
            (false, false) => &mut point.one_frame_far,
            (true, true) => &mut point.live_frr,
            (true, false) => &mut point.live_far,
        };
        tally.attempts += 1;
        if (accepted >> i & 1 == 1) != genuine {
            tally.errors += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person's photos: their own direction plus noise. Deterministic (a small LCG).
    fn synthetic(people: usize, photos: usize, noise: f32, seed: u64) -> Vec<Person> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        const DIM: usize = 32;
        (0..people)
            .map(|p| {
                let centre: Vec<f32> = (0..DIM).map(|_| next()).collect();
                let images = (0..photos)
                    .map(|_| {
                        Embedding::normalised(centre.iter().map(|c| c + noise * next()).collect())
                    })
                    .collect();
                Person {
                    name: format!("p{p}"),
                    images,
                }
            })
            .collect()
    }

    #[test]
    fn the_pruned_mask_is_verify_at_every_point() {
        let people = synthetic(6, 6, 0.8, 7);
        let grid = Grid::new(vec![0.1, 0.3, 0.5, 0.7], vec![0.5, 0.6, 1.0]).unwrap();
        let gallery: Vec<(Uuid, Embedding)> = people[0].images[..3]
            .iter()
            .map(|e| (Uuid::new_v4(), e.clone()))
            .collect();
        let mut some_accepted = false;
        for probe in people.iter().flat_map(|p| &p.images) {
            let mask = accepted_mask(probe, &gallery, &grid);
            for (i, th) in grid.points().enumerate() {
                assert_eq!(
                    mask >> i & 1 == 1,
                    auth::verify(probe, &gallery, th).accepted
                );
            }
            some_accepted |= mask != 0;
        }
        assert!(some_accepted);
    }

    #[test]
    fn counts_attempts_as_the_protocol_says() {
        // 4 people: 8, 8, 4 and 3 photos. K = 3, 3 of 5 live.
        let mut people = synthetic(4, 8, 0.3, 11);
        people[2].images.truncate(4);
        people[3].images.truncate(3);
        let grid = Grid::new(vec![-1.0, 0.5, 0.999], vec![0.6, 1.0]).unwrap();
        let protocol = Protocol {
            enrol: 3,
            live: KofN::DEFAULT,
        };
        let sim = simulate(&people, &grid, protocol);
        assert_eq!(sim.enrolled, 3, "the person with 3 photos only attacks");
        assert_eq!(sim.live_genuine_people, 2);
        let photos = 8 + 8 + 4 + 3;
        for t in &sim.points {
            // Genuine: the photos after the first 3 of each enrolled person.
            assert_eq!(t.one_frame_frr.attempts, 5 + 5 + 1);
            // Impostor: every photo of everyone else, against each of the 3 galleries.
            assert_eq!(t.one_frame_far.attempts, 3 * photos - (8 + 8 + 4));
            // Live genuine: one run of 5 in each 5 remaining photos; impostor: the runs of 5 in
            // the two 8-photo people (4 each), against the other galleries.
            assert_eq!(t.live_frr.attempts, 2);
            assert_eq!(t.live_far.attempts, 4 + 4 + 4 + 4);
        }
        // A threshold of -1 matches everything: no false reject, every impostor accepted.
        let all = sim.points[0];
        assert_eq!(all.one_frame_frr.errors, 0);
        assert_eq!(all.one_frame_far.errors, all.one_frame_far.attempts);
        assert_eq!(all.live_far.errors, all.live_far.attempts);
        // 0.999 matches nothing (noisy photos): every genuine attempt is refused.
        let none = sim.points[grid.len() - 1];
        assert_eq!(none.one_frame_far.errors, 0);
        assert_eq!(none.one_frame_frr.errors, none.one_frame_frr.attempts);
        assert_eq!(none.live_frr.errors, 2);
        // Well separated people at 0.5: genuine accepted, impostors refused.
        let mid = sim.points[2];
        assert_eq!(mid.one_frame_far.errors, 0);
        assert_eq!(mid.live_far.errors, 0);
        assert_eq!(mid.live_frr.errors, 0);
    }

    #[test]
    fn live_rule_needs_k_of_the_frames() {
        let protocol = Protocol {
            enrol: 3,
            live: KofN::DEFAULT,
        };
        assert!(live_passes(&[1, 0, 1, 0, 1], 0, protocol));
        assert!(!live_passes(&[1, 0, 1, 0, 0], 0, protocol));
        assert!(live_passes(&[2, 2, 2, 0, 0], 1, protocol));
        assert!(!live_passes(&[2, 2, 2, 0, 0], 0, protocol));
    }

    #[test]
    fn grid_is_sorted_and_bounded() {
        let g = Grid::new(vec![0.5, 0.3, 0.3], vec![1.0, 0.6]).unwrap();
        let points: Vec<(f32, f32)> = g.points().map(|t| (t.detection, t.verification)).collect();
        assert_eq!(points, [(0.3, 0.6), (0.3, 1.0), (0.5, 0.6), (0.5, 1.0)]);
        assert!(Grid::new((0..65).map(|i| i as f32).collect(), vec![0.5, 1.0]).is_err());
        assert!(Grid::new(vec![], vec![0.5]).is_err());
    }
}

//! Per-face smoothing of attributes over frames, so on-screen labels hold still.

use std::collections::HashMap;
use std::hash::Hash;

use super::{Attributes, EmotionProbs};

/// Smooths attributes over frames per tracked face (exponential moving average), so on-screen
/// labels do not flicker from frame to frame. Keys are whatever the caller uses to follow a face
/// across frames (a track id, a person's name).
#[derive(Debug, Clone)]
pub struct Smoother<K> {
    alpha: f32,
    state: HashMap<K, Attributes>,
}

impl<K: Hash + Eq> Smoother<K> {
    /// `alpha` in (0, 1] is the weight of each new frame: 1 disables smoothing, 0.2 settles in
    /// roughly ten frames. Values outside are clamped.
    pub fn new(alpha: f32) -> Smoother<K> {
        Smoother {
            alpha: if alpha.is_finite() {
                alpha.clamp(1e-3, 1.0)
            } else {
                1.0
            },
            state: HashMap::new(),
        }
    }

    /// Folds a new observation of `key` in and returns the smoothed value. The first observation
    /// is taken as is. Probabilities stay normalised: the average of distributions is one.
    pub fn update(&mut self, key: K, fresh: &Attributes) -> Attributes {
        let a = self.alpha;
        let mix = |old: f32, new: f32| old + a * (new - old);
        let smoothed = match self.state.get(&key) {
            None => *fresh,
            Some(old) => Attributes {
                age: mix(old.age, fresh.age),
                male: mix(old.male, fresh.male),
                emotions: EmotionProbs(std::array::from_fn(|i| {
                    mix(old.emotions.0[i], fresh.emotions.0[i])
                })),
            },
        };
        self.state.insert(key, smoothed);
        smoothed
    }

    /// The current smoothed value for `key`, if it has been seen.
    pub fn get(&self, key: &K) -> Option<&Attributes> {
        self.state.get(key)
    }

    /// Forgets a face (it left the frame), so a new face given the same key starts afresh.
    pub fn remove(&mut self, key: &K) -> Option<Attributes> {
        self.state.remove(key)
    }

    /// Keeps only the faces for which `keep` is true (e.g. those still tracked).
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.state.retain(|k, _| keep(k));
    }

    pub fn clear(&mut self) {
        self.state.clear();
    }

    pub fn len(&self) -> usize {
        self.state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }
}

impl<K: Hash + Eq> Default for Smoother<K> {
    /// α = 0.3: a label settles within about half a second at 15 fps.
    fn default() -> Self {
        Smoother::new(0.3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::attributes::{Emotion, Gender};

    fn attrs(age: f32, male: f32, top: Emotion) -> Attributes {
        let mut p = [0.0; 7];
        p[top.index()] = 1.0;
        Attributes {
            age,
            male,
            emotions: EmotionProbs(p),
        }
    }

    #[test]
    fn smoother_starts_at_first_value_then_moves_by_alpha() {
        let mut s = Smoother::new(0.25);
        let first = s.update("a", &attrs(40.0, 1.0, Emotion::Happy));
        assert_eq!(first, attrs(40.0, 1.0, Emotion::Happy));
        let second = s.update("a", &attrs(20.0, 0.0, Emotion::Sad));
        assert!((second.age - 35.0).abs() < 1e-5);
        assert!((second.male - 0.75).abs() < 1e-5);
        assert!((second.emotions.get(Emotion::Happy) - 0.75).abs() < 1e-5);
        assert!((second.emotions.get(Emotion::Sad) - 0.25).abs() < 1e-5);
        let total: f32 = second.emotions.0.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert_eq!(second.emotion().0, Emotion::Happy);
        assert_eq!(s.get(&"a"), Some(&second));
    }

    #[test]
    fn smoother_keeps_keys_apart_and_forgets_on_request() {
        let mut s = Smoother::default();
        s.update(1u64, &attrs(30.0, 1.0, Emotion::Neutral));
        s.update(2u64, &attrs(60.0, 0.0, Emotion::Angry));
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(&2).unwrap().age, 60.0);
        s.retain(|k| *k == 1);
        assert!(s.get(&2).is_none());
        // A new face under a forgotten key starts from its own first value.
        let fresh = s.update(2u64, &attrs(10.0, 0.0, Emotion::Fear));
        assert_eq!(fresh.age, 10.0);
        s.remove(&1);
        assert_eq!(s.len(), 1);
        s.clear();
        assert!(s.is_empty());
    }

    #[test]
    fn smoother_converges_and_alpha_one_disables_it() {
        let mut s = Smoother::new(0.3);
        s.update((), &attrs(20.0, 0.0, Emotion::Sad));
        let mut last = attrs(0.0, 0.0, Emotion::Sad);
        for _ in 0..30 {
            last = s.update((), &attrs(50.0, 1.0, Emotion::Happy));
        }
        assert!((last.age - 50.0).abs() < 0.01, "{}", last.age);
        assert_eq!(last.gender(), Gender::Male);
        let mut raw = Smoother::new(1.0);
        raw.update((), &attrs(20.0, 0.0, Emotion::Sad));
        assert_eq!(raw.update((), &attrs(50.0, 1.0, Emotion::Happy)).age, 50.0);
        // Nonsense alpha falls back to no smoothing rather than freezing or diverging.
        assert_eq!(Smoother::<()>::new(f32::NAN).alpha, 1.0);
    }
}

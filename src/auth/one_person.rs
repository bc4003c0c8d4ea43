//! Whether a person's verification images show one person. Every image votes as the person in
//! every verification, so a stranger's photos among them let the stranger in once they are a
//! large enough share (with the default verification threshold, a majority: and then the
//! person's own photos are the odd ones). A gallery that is not one person is refused by every
//! decision that would use it, rather than hoping the share stays small.

use uuid::Uuid;

use crate::vision::Embedding;

/// An image that matches fewer than half of the person's other images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Odd {
    pub id: Uuid,
    pub matches: usize,
    pub others: usize,
}

/// The images of `gallery` that match (cosine above `threshold`) fewer than half of the others;
/// empty when it is one person. Half, not a majority, so one unlucky photo of three still
/// passes; any two people mixed fail it, whoever has more photos: with `a` and `b` images each
/// matching only their own, one of them matches `a - 1` of `a + b - 1`, under half whenever
/// `b ≥ a`.
pub fn odd_images(gallery: &[(Uuid, Embedding)], threshold: f32) -> Vec<Odd> {
    let others = gallery.len().saturating_sub(1);
    gallery
        .iter()
        .enumerate()
        .filter_map(|(i, (id, e))| {
            let rest = gallery.iter().enumerate().filter(|&(j, _)| j != i);
            let matched = matches(rest.map(|(_, (_, other))| other), e, threshold);
            (!shows(matched, others)).then_some(Odd {
                id: *id,
                matches: matched,
                others,
            })
        })
        .collect()
}

/// A cosine only a photo against itself, or against a copy that kept its pixels (the same
/// size, lightly recompressed), reaches between two faces. Copies resized or recompressed
/// harder score lower, 0.92 to 0.98 ([`crate::engine::NEAR_COPY`], where they are measured).
pub const SAME_PHOTO: f32 = 0.99;

/// Whether `face` shows the person of `gallery`: by the same rule, it matches at least half of
/// the gallery's images, or it is a copy of one of them ([`SAME_PHOTO`]). (A negative that does
/// is the person's own photo, not an impostor.)
pub fn shows_the_person(gallery: &[(Uuid, Embedding)], face: &Embedding, threshold: f32) -> bool {
    let images = || gallery.iter().map(|(_, e)| e);
    !gallery.is_empty()
        && (shows(matches(images(), face, threshold), gallery.len())
            || images().any(|e| face.cosine(e) >= SAME_PHOTO))
}

fn matches<'a>(
    images: impl Iterator<Item = &'a Embedding>,
    face: &Embedding,
    threshold: f32,
) -> usize {
    images
        .filter(|other| face.cosine(other) > threshold)
        .count()
}

/// At least half of `of`.
fn shows(matches: usize, of: usize) -> bool {
    matches * 2 >= of
}

/// The one sentence for `person`'s `images` verification images when `odd` of them match fewer
/// than half of the others, wherever it is said: `which` shows the user which they are (their
/// ids in the CLI, where they are framed in the window).
pub fn not_one_person(person: &str, images: usize, odd: usize, which: &str) -> String {
    format!(
        "{person}'s {images} verification images do not all show one person: {odd} of them \
         ({which}) {} fewer than half of the others. Whichever are not {person}, these or the \
         others, delete them: until then {person} is not verified, since a stranger's photos \
         among them would let the stranger in as {person}",
        if odd == 1 { "matches" } else { "match" },
    )
}

/// Where the window shows which images are odd, in [`not_one_person`]'s words.
pub const ON_DESK: &str = "framed in red under Enrol & verify";

/// The refusal, for people and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", not_one_person(person, *images, odd.len(), &list(odd)))]
pub struct NotOnePerson {
    pub person: String,
    pub images: usize,
    pub odd: Vec<Odd>,
}

impl NotOnePerson {
    /// The odd images where they are fewer than half: then they are the ones that are not the
    /// person, likely enough to offer deleting them. Half or more odd, which side is the
    /// person's is theirs to say.
    pub fn odd_minority(&self) -> Option<&[Odd]> {
        (self.odd.len() * 2 < self.images).then_some(&self.odd[..])
    }

    /// The refusal as the window says it: the images by where they are seen (framed in red in
    /// the Enrol view), not by ids the window never shows.
    pub fn for_desk(&self) -> String {
        not_one_person(&self.person, self.images, self.odd.len(), ON_DESK)
    }
}

fn list(odd: &[Odd]) -> String {
    odd.iter()
        .map(|o| format!("{} matches {} of {}", o.id, o.matches, o.others))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gallery(people: &[usize]) -> Vec<(Uuid, Embedding)> {
        // Person p's photos point near axis p; people are orthogonal.
        people
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                let mut v = vec![0.0; 8];
                v[p] = 1.0;
                v[7] = 0.05 * k as f32;
                (Uuid::new_v4(), Embedding::normalised(v))
            })
            .collect()
    }

    #[test]
    fn one_person_passes_and_any_two_mixed_fail() {
        assert!(odd_images(&gallery(&[0]), 0.4).is_empty());
        assert!(odd_images(&gallery(&[0, 0, 0, 0]), 0.4).is_empty());
        for (a, b) in [(1, 1), (1, 4), (2, 4), (4, 2), (3, 3), (2, 7)] {
            let mixed: Vec<usize> = std::iter::repeat_n(0, a)
                .chain(std::iter::repeat_n(1, b))
                .collect();
            let odd = odd_images(&gallery(&mixed), 0.4);
            assert!(!odd.is_empty(), "{a} + {b} photos of two people pass");
        }
    }

    #[test]
    fn one_photo_that_matches_none_of_three_others_is_odd() {
        let g = gallery(&[0, 0, 0, 2]);
        let odd = odd_images(&g, 0.4);
        assert_eq!(odd.len(), 1);
        assert_eq!((odd[0].id, odd[0].matches, odd[0].others), (g[3].0, 0, 3));
    }

    #[test]
    fn a_face_shows_the_person_when_it_matches_half_or_copies_one() {
        let g = gallery(&[0, 0, 0, 0]);
        let other = &gallery(&[1])[0].1;
        assert!(shows_the_person(&g, &g[0].1, 0.4));
        assert!(!shows_the_person(&g, other, 0.4));
        assert!(!shows_the_person(&[], &g[0].1, 0.4));
        // At a threshold none of the others pass, a copy of one image still shows the person
        // (the same photo among the negatives), and a stranger still does not.
        let strict = 0.9999;
        assert!(g[1..].iter().all(|(_, e)| g[0].1.cosine(e) <= strict));
        assert!(shows_the_person(&g, &g[0].1, strict));
        assert!(!shows_the_person(&g, other, strict));
    }
}

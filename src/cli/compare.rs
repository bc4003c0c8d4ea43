//! `facegate compare A B`: the face nearest the camera in each photo (taken as verify takes
//! one, [`crate::engine::Engine::probe`]), judged by the same rule as the
//! window's Compare ([`crate::engine::Engine::compare_faces`]): the saved detection threshold,
//! or a person's trained head with `--person`.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{Cli, exit};
use crate::Error;
use crate::engine::compare::{CompareRule, FaceComparison, RuleSource};
use crate::pipeline::ProbeFace;
use crate::vision::{EmbedderKind, Face};

#[derive(Debug, Args)]
pub struct CompareArgs {
    pub a: PathBuf,
    pub b: PathBuf,
    /// Embedding model [default: the saved one]; another model than the saved one is judged at
    /// its own default threshold (the saved threshold belongs to the saved model)
    #[arg(long, value_enum)]
    pub model: Option<EmbedderKind>,
    /// Cosine similarity above which it is the same person, -1 to 1 [default: the saved
    /// detection threshold, as the window's Compare]
    #[arg(long, value_parser = super::checked::cosine, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
    /// Judge with this enrolled person's rule: their trained head when it is in use
    #[arg(long, value_name = "NAME", conflicts_with = "threshold")]
    pub person: Option<String>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Side<'a> {
    #[serde(serialize_with = "super::lossy_path")]
    path: &'a PathBuf,
    face: &'a Face,
    faces_in_image: usize,
}

#[derive(Serialize)]
struct Report<'a> {
    a: Side<'a>,
    b: Side<'a>,
    model: EmbedderKind,
    /// Cosine similarity (also with a head: the head's probability is `score`).
    similarity: f32,
    score: f32,
    threshold: f32,
    rule: &'a CompareRule,
    /// The rule in words.
    rule_text: String,
    same_person: bool,
}

pub fn run(cli: &Cli, args: &CompareArgs) -> anyhow::Result<u8> {
    for path in [&args.a, &args.b] {
        super::one_photo(path, "give one photo from it")?;
    }
    let store = cli.store()?;
    let other_model = args
        .model
        .is_some_and(|m| m != store.settings_checked().0.model);
    // The saved threshold is the saved model's; with another model its default applies.
    let mut engine = crate::engine::Engine::open(&cli.models()?, store, args.model)?;
    if let Some(notice) = engine.settings().model.licence_notice() {
        eprintln!("{notice}");
    }
    if let Some(person) = &args.person {
        engine.store().require_person(person)?;
    }
    // Each photo's face as verify takes one, and as the window's Compare does; a photo with no
    // face to judge is refused as verify refuses one (no face, too dark, faces of one size).
    let mut probe = |path: &PathBuf| -> Result<ProbeFace, Error> {
        let img = crate::imageio::load(path)?;
        engine.probe(&img, path)
    };
    let (a, b) = match probe(&args.a).and_then(|a| Ok((a, probe(&args.b)?))) {
        Ok(both) => both,
        Err(e) => return super::verify::refusal("compare", e, args.json),
    };
    let mut result: FaceComparison = match args.threshold {
        Some(t) => CompareRule::given(engine.settings().model, t).judge(&a.embedding, &b.embedding),
        None => engine.compare_faces(&a.embedding, &b.embedding, args.person.as_deref())?,
    };
    // With the verdict, not before an error that follows (review s39 L6).
    for (path, p) in [(&args.a, &a), (&args.b, &b)] {
        super::verify::note_largest(path, p.faces_in_image, &p.face, "comparing");
    }
    if other_model && result.rule.source == RuleSource::Settings {
        result.rule.source = RuleSource::ModelDefault;
    }
    let rule_text = result.rule.describe();
    if args.json {
        let report = Report {
            a: Side {
                path: &args.a,
                face: &a.face,
                faces_in_image: a.faces_in_image,
            },
            b: Side {
                path: &args.b,
                face: &b.face,
                faces_in_image: b.faces_in_image,
            },
            model: result.rule.model,
            similarity: result.cosine,
            score: result.score,
            threshold: result.rule.threshold,
            rule: &result.rule,
            rule_text,
            same_person: result.same,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let verdict = if result.same {
            "same person"
        } else {
            "different people"
        };
        match result.rule.source {
            RuleSource::Head => println!(
                "head probability {:.3}, similarity {:.3}: {verdict}",
                result.score, result.cosine
            ),
            _ => println!("similarity {:.3}: {verdict}", result.cosine),
        }
        println!("rule: {rule_text}");
    }
    Ok(if result.same {
        exit::OK
    } else {
        exit::DIFFERENT
    })
}

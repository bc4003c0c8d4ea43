//! Recognition on deepface's labelled pairs (skipped with a notice where ../shared is absent).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use facegate::eval::{ScoredPair, accuracy_at, best_threshold, roc_auc};
use facegate::pipeline::{FacePipeline, PipelineOptions};
use facegate::vision::{EmbedderKind, Embedding};

/// (AUC floor, accuracy-at-default-threshold floor): measured values minus a small margin.
fn floors(kind: EmbedderKind) -> (f64, f64) {
    match kind {
        EmbedderKind::Sface => (0.98, 0.90),
        EmbedderKind::Mbf => (0.98, 0.90),
    }
}

#[test]
fn deepface_explicit_pairs() {
    let Some(data) = common::shared_data("deepface recognition") else {
        return;
    };
    let root = data.join("deepface");
    let rows = common::read_csv(&root.join("pairs_explicit.csv"));
    for kind in [EmbedderKind::Sface, EmbedderKind::Mbf] {
        let options = PipelineOptions {
            embedder: kind,
            ..PipelineOptions::default()
        };
        let mut pipeline = FacePipeline::new(&common::models(), options).unwrap();
        let mut cache: HashMap<String, Option<Embedding>> = HashMap::new();
        let mut embed = |rel: &str| {
            cache
                .entry(rel.to_owned())
                .or_insert_with(|| match pipeline.probe_file(&root.join(rel)) {
                    Ok(p) => Some(p.embedding),
                    Err(e) => {
                        println!("  skipped {rel}: {e}");
                        None
                    }
                })
                .clone()
        };
        let mut pairs = Vec::new();
        let mut unscored = 0;
        for row in &rows {
            match (embed(&row["path_a"]), embed(&row["path_b"])) {
                (Some(a), Some(b)) => pairs.push(ScoredPair {
                    score: a.cosine(&b),
                    same: row["same"] == "1",
                }),
                _ => unscored += 1,
            }
        }
        let auc = roc_auc(&pairs);
        let thr = kind.default_threshold();
        let acc = accuracy_at(&pairs, thr);
        let (best_t, best_acc) = best_threshold(&pairs);
        let genuine = pairs.iter().filter(|p| p.same).count();
        println!(
            "{kind}: {} pairs ({genuine} same, {unscored} unscored) AUC {auc:.4}, accuracy {acc:.4} at default {thr}, best {best_acc:.4} at {best_t:.3}",
            pairs.len()
        );
        let images: Vec<PathBuf> = cache.keys().map(PathBuf::from).collect();
        assert!(
            unscored <= 5,
            "{unscored} pairs without a face over {} images",
            images.len()
        );
        let (auc_floor, acc_floor) = floors(kind);
        assert!(auc >= auc_floor, "{kind}: AUC {auc}");
        assert!(acc >= acc_floor, "{kind}: accuracy {acc}");
    }
}

//! `facegate train NAME`: train the person's siamese head and say whether it beats cosine.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{Cli, exit};
use crate::train::{Metrics, SavedHead, TrainConfig, TrainReport};

#[derive(Debug, Args)]
pub struct TrainArgs {
    pub name: String,
    /// Adam learning rate, above 0 and at most 1
    #[arg(long, default_value_t = TrainConfig::default().lr,
          value_parser = super::checked::positive_f64::<1>)]
    pub lr: f64,
    /// Most epochs, 1 to 10000 (early stopping on held-out images usually ends sooner)
    #[arg(long, default_value_t = TrainConfig::default().epochs,
          value_parser = super::checked::count::<1, 10_000>)]
    pub epochs: usize,
    /// Pairs per mini-batch, 1 to 65536
    #[arg(long, default_value_t = TrainConfig::default().batch,
          value_parser = super::checked::count::<1, 65_536>)]
    pub batch: usize,
    /// Epochs without a better validation loss before stopping, 1 to 10000
    #[arg(long, default_value_t = TrainConfig::default().patience,
          value_parser = super::checked::count::<1, 10_000>)]
    pub patience: usize,
    /// Seed of the image split and batch order (same images + seed = same head)
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &TrainArgs) -> anyhow::Result<u8> {
    let mut engine = cli.engine()?;
    let config = TrainConfig {
        lr: args.lr,
        epochs: args.epochs,
        batch: args.batch,
        patience: args.patience,
        seed: args.seed,
        ..TrainConfig::default()
    };
    let (trainer, images) = engine.prepare_training(&args.name, &config)?;
    let c = trainer.counts();
    if !args.json {
        println!(
            "{}: {} anchor, {} positive images, {} negatives ({} embeddings)",
            args.name,
            c.anchors,
            c.positives,
            c.negatives,
            engine.settings().model
        );
        println!(
            "pairs (same / different): train {} / {}, validation {} / {}, test {} / {}",
            c.train_same,
            c.train_different,
            c.validation_same,
            c.validation_different,
            c.test_same,
            c.test_different
        );
    }
    // indicatif hides itself when stderr is not a terminal, so logs and --json stay clean.
    let bar = ProgressBar::new(config.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg}").expect("valid template"),
    );
    let trained = trainer.run(|e| {
        bar.set_position(e.epoch as u64);
        bar.set_message(format!(
            "train loss {:.4}, validation loss {:.4} (best epoch {})",
            e.train_loss, e.validation_loss, e.best_epoch
        ));
    });
    bar.finish_and_clear();
    let report = trained.report;
    // Kept only if the person's images are the ones it learnt from: the window may have
    // deleted or renamed some while it trained.
    let saved = SavedHead::new(&report, trained.head);
    crate::engine::training::save_trained(engine.store().root(), &args.name, &saved, &images)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(exit::OK)
}

fn print_report(r: &TrainReport) {
    println!(
        "stopped after epoch {} of {}; kept epoch {} (lowest validation loss)",
        r.epochs_run, r.config.epochs, r.best_epoch
    );
    println!(
        "held-out test pairs: {} same, {} different",
        r.pairs.test_same, r.pairs.test_different
    );
    println!(
        "{:<28} {:>9} {:>7} {:>7} {:>7}",
        "scorer", "precision", "recall", "F1", "AUC"
    );
    let row = |name: String, m: &Metrics| {
        println!(
            "{name:<28} {:>9.3} {:>7.3} {:>7.3} {:>7.4}",
            m.precision, m.recall, m.f1, m.auc
        )
    };
    row(format!("head (p > {})", r.head.threshold), &r.head);
    row(
        format!("cosine (> {:.3})", r.baseline.threshold),
        &r.baseline,
    );
    row("head before training".into(), &r.initial);
    if r.in_use {
        println!(
            "in use: the head; verification now scores {} with it ({})",
            r.person,
            r.adoption.reason()
        );
    } else {
        println!(
            "in use: cosine; the head is saved but not used ({})",
            r.adoption.reason()
        );
    }
}

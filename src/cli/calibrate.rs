//! `facegate calibrate`: set the detection threshold from the store's own faces for a target
//! false-accept rate, and say what it costs in false rejections.

use clap::Args;

use super::{Cli, exit};
use crate::auth::calibrate::percent;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Only this person's images (default: everyone enrolled)
    pub name: Option<String>,
    /// Target false-accept rate of one comparison, between 0 and 1
    #[arg(long, default_value_t = crate::auth::calibrate::DEFAULT_TARGET_FAR, value_parser = far)]
    pub far: f64,
    /// Show the threshold without saving it
    #[arg(long)]
    pub dry_run: bool,
    /// Put the model's default detection threshold back, measuring nothing
    #[arg(long, conflicts_with_all = ["name", "far", "dry_run", "json"])]
    pub default: bool,
    #[arg(long)]
    pub json: bool,
}

fn far(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    crate::auth::calibrate::target_far(v)
}

pub fn run(cli: &Cli, args: &CalibrateArgs) -> anyhow::Result<u8> {
    let mut engine = cli.engine()?;
    if args.default {
        // A threshold calibrated below the default had no way back but a stricter target that
        // happened to land on it (journey s35 #6).
        let model = engine.settings().model;
        let previous = engine.settings().detection_threshold;
        engine.set_detection_threshold(model.default_threshold())?;
        println!(
            "detection threshold {:.3} ({model}'s default; was {previous:.3}): saved to settings",
            model.default_threshold()
        );
        return Ok(exit::OK);
    }
    let people = match &args.name {
        Some(name) => vec![name.clone()],
        None => engine.store().people()?,
    };
    let calibrated = engine.calibrate(&people, args.far)?;
    // Those whose images were compared: everyone enrolled was named, the ones with no image
    // too (journey s40 #18).
    let compared: Vec<String> = people
        .iter()
        .filter(|name| engine.store().has_verification_images(name))
        .cloned()
        .collect();
    let cautions = calibrated.cautions();
    let result = calibrated.calibration;
    let previous = engine.settings().detection_threshold;
    if !args.dry_run {
        engine.apply_calibration(&result)?;
    }
    if args.json {
        // With what the text says around the figures: the bound (review s35), the cautions,
        // whether it was saved and over what, and on whose images with which model (a script
        // saved a weak threshold with no word of it; journey s38 #5).
        let extra = [
            ("far_upper95", result.far_bound().into()),
            ("notes", cautions.into()),
            ("saved", (!args.dry_run).into()),
            // Through its shortest text: `f32::into` widened 0.363 to 0.3630000054836273.
            ("previous", serde_json::from_str(&previous.to_string())?),
            ("model", engine.settings().model.to_string().into()),
            ("people", compared.into()),
        ];
        println!("{}", super::json_with(&result, &extra)?);
        return Ok(exit::OK);
    }
    println!(
        "{} genuine and {} impostor comparisons, by {}, on the images of {}",
        result.genuine,
        result.impostor,
        engine.settings().model,
        compared
            .iter()
            .map(|n| crate::shown::Escaped(n).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "detection threshold {:.3} (was {previous:.3}): FAR {} ({} of {}; at most {} at 95 % \
         confidence; target {}), FRR {}",
        result.threshold,
        percent(result.far),
        result.false_accepts(),
        result.impostor,
        percent(result.far_bound()),
        percent(args.far),
        result
            .frr
            .map_or("unmeasured (capture more images)".into(), percent),
    );
    for caution in cautions {
        println!("note: {caution}");
    }
    if args.dry_run {
        println!("dry run: settings unchanged");
    } else {
        println!("saved to settings");
    }
    Ok(exit::OK)
}

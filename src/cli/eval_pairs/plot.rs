//! The evaluation plot: ROC on a log FAR axis beside the genuine and impostor score histograms.

use std::path::Path;

use plotters::prelude::*;

use super::PairsReport;
use crate::eval;

const SIZE: (u32, u32) = (1400, 560);
const BINS: usize = 60;

pub fn roc_plot(report: &PairsReport, out: &Path) -> anyhow::Result<()> {
    // No system fonts are assumed: plotters draws with the font egui ships.
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .map_err(|_| anyhow::anyhow!("the bundled font did not load"))?;
    let mut buf = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        draw_roc(&left, report)?;
        draw_histograms(&right, report)?;
        root.present()?;
    }
    let plot = image::RgbImage::from_raw(SIZE.0, SIZE.1, buf).expect("buffer has the plot's size");
    crate::cli::checked::save_image(&plot, out)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_roc(area: &Area, report: &PairsReport) -> anyhow::Result<()> {
    let points: Vec<(f64, f64)> = eval::roc(&report.scored)
        .into_iter()
        .filter(|p| p.far > 0.0)
        .map(|p| (p.far, 1.0 - p.frr))
        .collect();
    let min_far = points.iter().map(|p| p.0).fold(1.0, f64::min).max(1e-5);
    let min_tar = points
        .iter()
        .map(|p| p.1)
        .fold(1.0, f64::min)
        .clamp(0.0, 0.9);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "ROC, {} (AUC {:.4}, EER {:.2} %)",
                report.scorer,
                report.auc,
                report.eer * 100.0
            ),
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d((min_far..1.0).log_scale(), min_tar..1.0)?;
    chart
        .configure_mesh()
        .x_desc("false accept rate (log)")
        .y_desc("true accept rate")
        .label_style(("sans-serif", 16))
        .draw()?;
    chart.draw_series(LineSeries::new(points, BLUE.stroke_width(3)))?;
    Ok(())
}

fn draw_histograms(area: &Area, report: &PairsReport) -> anyhow::Result<()> {
    let (lo, hi) = (-0.3f32, 1.0f32);
    let bin = |s: f32| (((s - lo) / (hi - lo) * BINS as f32) as usize).min(BINS - 1);
    let density = |same: bool| {
        let mut counts = vec![0f64; BINS];
        let pairs: Vec<_> = report
            .scored
            .iter()
            .filter(|p| p.same == same && p.score >= lo)
            .collect();
        for p in &pairs {
            counts[bin(p.score)] += 1.0;
        }
        let n = pairs.len().max(1) as f64;
        counts
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    lo as f64 + (i as f64 + 0.5) * (hi - lo) as f64 / BINS as f64,
                    c / n,
                )
            })
            .collect::<Vec<_>>()
    };
    let (genuine, impostor) = (density(true), density(false));
    let top = genuine
        .iter()
        .chain(&impostor)
        .map(|p| p.1)
        .fold(0.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "Scores: {} genuine, {} impostor pairs",
                report.genuine,
                report.pairs - report.genuine
            ),
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(lo as f64..hi as f64, 0.0..top.max(0.01))?;
    chart
        .configure_mesh()
        .x_desc("cosine similarity")
        .y_desc("share of pairs")
        .label_style(("sans-serif", 16))
        .draw()?;
    chart
        .draw_series(
            AreaSeries::new(genuine, 0.0, GREEN.mix(0.35)).border_style(GREEN.stroke_width(2)),
        )?
        .label("same person")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], GREEN.filled()));
    chart
        .draw_series(
            AreaSeries::new(impostor, 0.0, RED.mix(0.35)).border_style(RED.stroke_width(2)),
        )?
        .label("different people")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], RED.filled()));
    let t = report.default_threshold as f64;
    chart
        .draw_series(LineSeries::new([(t, 0.0), (t, top)], BLACK.stroke_width(2)))?
        .label(format!("default threshold {t:.3}"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    Ok(())
}

//! `facegate bench`'s Markdown tables: each figure beside its budget, met or missed.

use super::{Report, budget};

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "",
    }
}

pub(super) fn print(report: &Report, runs: usize) {
    println!(
        "{}, {} build, {} ORT threads per session ({} OS threads), {runs} runs per stage",
        report.machine, report.build, report.threads, report.process_threads
    );
    println!("\n| stage | median ms | p95 ms | budget | |\n|---|---:|---:|---:|---|");
    for r in &report.rows {
        let budget = r
            .budget_ms
            .map_or(String::new(), |b| format!("≤ {b:.0} ms"));
        println!(
            "| {} | {:.2} | {:.2} | {budget} | {} |",
            r.stage,
            r.median_ms,
            r.p95_ms,
            verdict(r.met())
        );
    }
    let m = &report.memory;
    println!(
        "| peak RSS, all models loaded (VmHWM) | {:.0} MB | | ≤ {:.0} MB | {} |",
        m.peak_rss_mb_models,
        m.budget_mb,
        verdict(Some(m.peak_rss_mb_models <= m.budget_mb))
    );
    let Some(l) = &report.live else {
        return;
    };
    println!(
        "\nlive session, {:.1} s of {} ({} fps nominal), continuous verify against {} enrolled images, attributes on",
        l.seconds,
        l.source,
        l.nominal_fps.map_or("?".into(), |f| format!("{f:.0}")),
        l.enrolled_images
    );
    let rate = |n: u64| n as f64 / l.seconds;
    println!("\n| | count | per s | budget | |\n|---|---:|---:|---:|---|");
    let nominal = l.nominal_fps.map(f64::from);
    let shown_met = nominal.map(|f| rate(l.frames_shown) >= 0.95 * f);
    for (what, n, budget, met) in [
        ("frames captured", l.frames_captured, String::new(), None),
        (
            "frames shown (GUI)",
            l.frames_shown,
            nominal.map_or(String::new(), |f| format!("camera rate ({f:.0})")),
            shown_met,
        ),
        ("frames analysed", l.frames_analysed, String::new(), None),
        (
            "frames not analysed (dropped for newer)",
            l.frames_dropped,
            String::new(),
            None,
        ),
        (
            "frames with a fresh verdict (embedded)",
            l.verdicts,
            String::new(),
            None,
        ),
    ] {
        println!(
            "| {what} | {n} | {:.1} | {budget} | {} |",
            rate(n),
            verdict(met)
        );
    }
    println!(
        "\n| per analysed frame | median ms | p95 ms | n | budget | |\n|---|---:|---:|---:|---:|---|"
    );
    let vl = &l.verdict_latency;
    for (what, q, budget) in [
        ("capture → verdict", vl, Some(budget::VERDICT_LATENCY_MS)),
        ("capture → result (all frames)", &l.latency, None),
        ("detect (worker)", &l.detect, None),
        ("embed (worker)", &l.embed, None),
        ("attributes, when refreshed (worker)", &l.attributes, None),
    ] {
        println!(
            "| {what} | {:.1} | {:.1} | {} | {} | {} |",
            q.median_ms,
            q.p95_ms,
            q.n,
            budget.map_or(String::new(), |b| format!("≤ {b:.0} ms (p95)")),
            verdict(budget.map(|b| q.n > 0 && q.p95_ms <= b))
        );
    }
    println!(
        "\npeak RSS at the end (VmHWM, both parts): {:.0} MB",
        m.peak_rss_mb_end
    );
}

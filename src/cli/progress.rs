//! Progress bars for long commands (`capture`, `negatives add`, `eval ...`). indicatif draws on
//! stderr and hides the bar entirely when stderr is not a terminal, so piped or captured output
//! carries no bar and no escape codes (tests/cli_capture.rs checks it). Lines printed while a bar
//! is up go through [`line`], which also prints when the bar is hidden (`ProgressBar::println`
//! would drop them then).

use std::fmt::Display;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` steps, labelled `what`.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ({elapsed}, {eta} left)")
            .expect("valid template"),
    );
    bar.set_message(what.to_owned());
    bar
}

/// A spinner for work of unknown length (a camera capture), labelled `what`.
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message(what.to_owned());
    bar
}

/// Prints `text` on stdout without tearing the bar.
pub fn line(bar: &ProgressBar, text: impl Display) {
    bar.suspend(|| println!("{text}"));
}

/// Prints `text` on stderr without tearing the bar.
pub fn note(bar: &ProgressBar, text: impl Display) {
    bar.suspend(|| eprintln!("{text}"));
}

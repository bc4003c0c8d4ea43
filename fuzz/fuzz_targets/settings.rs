//! Arbitrary bytes as `settings.toml` (issue 14): whatever the file says, the settings FaceGate
//! goes on to use are within every documented range, so no file can rig a verdict (K of N with
//! K = 0, a threshold below the model's floor, a time-out that never ends or panics).
//!
//! Checked on every input:
//! - `Settings::parse` returns (never panics, never allocates by a number in the file);
//! - `Settings::check` finds nothing out of range in the result;
//! - the attempt rule built from it has 1 ≤ K ≤ N ≤ 30 and a time-out of at most 60 s;
//! - every problem reported names the file;
//! - what `Store::save_settings` would write reads back as the same settings, without problems.
#![no_main]

use std::path::Path;

use facegate::auth::attempt::MAX_TIMEOUT_S;
use facegate::store::Settings;
use libfuzzer_sys::fuzz_target;

/// The documented window: 1 ≤ K ≤ N ≤ 30 (one second of video).
const MAX_LIVE_N: usize = 30;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/fuzz/data/settings.toml");
    let (settings, problems) = Settings::parse(&text, path);

    let out_of_range = settings.check(path);
    assert!(
        out_of_range.is_empty(),
        "parse let through {out_of_range:?} from {text:?}"
    );

    let rule = settings.attempt_rule();
    assert!(
        1 <= rule.k && rule.k <= rule.n && rule.n <= MAX_LIVE_N,
        "rule {rule:?} from {text:?}"
    );
    assert!(
        rule.timeout.as_secs_f64() <= MAX_TIMEOUT_S,
        "time-out {:?} from {text:?}",
        rule.timeout
    );

    for p in &problems {
        let said = p.to_string();
        assert!(
            said.contains("settings.toml"),
            "{said:?} does not name the file"
        );
    }

    let saved = toml::to_string_pretty(&settings).expect("settings serialise");
    let (again, more) = Settings::parse(&saved, path);
    assert!(
        more.is_empty(),
        "saved settings {saved:?} reported {more:?}"
    );
    assert_eq!(again, settings, "saved as {saved:?}");
});

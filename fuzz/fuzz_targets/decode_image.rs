//! Arbitrary bytes into the one decoder every photo, capture and stored crop goes through.
//! It must return a typed error, never panic, and never hand back more than MAX_SIDE a side.
#![no_main]

use std::path::Path;

use facegate::imageio::{self, MAX_SIDE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = imageio::decode(data, Path::new("fuzz-input")) {
        assert!(
            img.width() <= MAX_SIDE && img.height() <= MAX_SIDE,
            "decoded {}x{} past the {MAX_SIDE} px limit",
            img.width(),
            img.height()
        );
        assert_eq!(
            img.as_raw().len(),
            img.width() as usize * img.height() as usize * 3
        );
    }
});

//! Text from outside (a file name, a folder) as a terminal should show it. A file may be named
//! `a\nACCEPTED: x.jpg`, or hold an escape sequence that recolours or retitles the terminal:
//! printed raw, its name forges a line of the verdict. Control characters and the bidi controls
//! that reorder a line are written as escapes (`\n`, `\u{202e}`); everything else as it is.

use std::fmt;
use std::path::Path;

/// `n` with its noun, singular for one ("1 image", "2 images", "0 images").
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `path` for a message: [`fmt::Display`] with control characters escaped.
pub struct Shown<'a>(pub &'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.display().to_string().chars() {
            if needs_escape(c) {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// An error and its causes on one line, `error: cause: cause`, each cause said once. The OS
/// reason ("Permission denied") sits in a source and is lost when only the outer message is
/// printed, and a library that prints its own source as well as returning it would otherwise
/// repeat it ("Too many scans: Too many scans").
pub struct Reason<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = self.0.to_string();
        f.write_str(&said)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !said.contains(&text) {
                write!(f, ": {text}")?;
                said.push_str(&text);
            }
            source = cause.source();
        }
        Ok(())
    }
}

/// Control characters, and the bidi overrides and isolates that reorder what follows them.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_a_thing_is_singular() {
        assert_eq!(counted(1, "image", "images"), "1 image");
        assert_eq!(counted(0, "image", "images"), "0 images");
    }

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        let p = Path::new("ev\"il\nACCEPTED: x\u{1b}[31m\u{202e}gpj.exe/été.jpg");
        let shown = Shown(p).to_string();
        assert_eq!(
            shown,
            "ev\"il\\nACCEPTED: x\\u{1b}[31m\\u{202e}gpj.exe/été.jpg"
        );
        assert!(!shown.chars().any(needs_escape));
        assert_eq!(
            Shown(Path::new("/tmp/ok photo.png")).to_string(),
            "/tmp/ok photo.png"
        );
    }

    #[test]
    fn a_reason_carries_each_cause_once() {
        let missing = std::fs::File::open("/nonexistent/facegate/photo.jpg").unwrap_err();
        let err = anyhow::Error::new(missing).context("cannot read photo.jpg");
        let text = Reason(err.as_ref()).to_string();
        assert!(
            text.starts_with("cannot read photo.jpg: No such file"),
            "{text}"
        );
        let repeated = anyhow::anyhow!("Too many scans").context("decoding failed: Too many scans");
        assert_eq!(
            Reason(repeated.as_ref()).to_string(),
            "decoding failed: Too many scans"
        );
    }
}

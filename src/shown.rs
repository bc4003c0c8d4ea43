//! Text from outside (a file name, a folder) as a terminal should show it. A file may be named
//! `a\nACCEPTED: x.jpg`, or hold an escape sequence that recolours or retitles the terminal:
//! printed raw, its name forges a line of the verdict. Control characters and the bidi controls
//! that reorder a line are written as escapes (`\n`, `\u{202e}`); everything else as it is.

use std::fmt;
use std::path::Path;

/// How the import's line for a photo it turned down begins (`refused FILE: why`): written by
/// the import, read back by the window from the system enrolment's output.
pub const REFUSED: &str = "refused ";

/// `n` with its noun, singular for one ("1 image", "2 images", "0 images").
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Lines about many like things (files skipped, frames unreadable): the first few are said,
/// then one line that the rest go unsaid. A folder of 10,000 empty files printed 10,000 lines
/// (journey review, session 28).
#[derive(Debug, Default)]
pub struct FirstFew {
    seen: usize,
}

impl FirstFew {
    /// Lines said before the rest go unsaid.
    pub const AT_MOST: usize = 5;

    /// What to say about one more: `line` for the first [`Self::AT_MOST`], then `rest` once,
    /// then nothing.
    pub fn say(
        &mut self,
        line: impl FnOnce() -> String,
        rest: impl FnOnce() -> String,
    ) -> Option<String> {
        self.seen = self.seen.saturating_add(1);
        match self.seen {
            n if n <= Self::AT_MOST => Some(line()),
            n if n == Self::AT_MOST + 1 => Some(rest()),
            _ => None,
        }
    }
}

/// `path` for a message: [`fmt::Display`] with control characters escaped, and bytes that are
/// not UTF-8 written `\xff`: shown as U+FFFD, two names that differ only there read alike, and
/// none could be told from what was printed (journey s37 #4).
pub struct Shown<'a>(pub &'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for_each_part(self.0, |part| match part {
            Part::Text(text) => Escaped(&backslashed(text)).fmt(f),
            Part::Byte(b) => write!(f, "\\x{b:02x}"),
        })
    }
}

/// `text` with each backslash doubled, so that one in a name is not read as the start of an
/// escape (a file named `a\xff` against one with the byte 0xff; final read s37 #4).
fn backslashed(text: &str) -> std::borrow::Cow<'_, str> {
    match text.contains('\\') {
        true => text.replace('\\', "\\\\").into(),
        false => text.into(),
    }
}

/// A path's bytes as UTF-8 text and the bytes that are not.
pub enum Part<'a> {
    Text(&'a str),
    Byte(u8),
}

/// Calls `each` on `path`'s parts in order.
pub fn for_each_part(path: &Path, mut each: impl FnMut(Part<'_>) -> fmt::Result) -> fmt::Result {
    use std::os::unix::ffi::OsStrExt;
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        each(Part::Text(chunk.valid()))?;
        for &b in chunk.invalid() {
            each(Part::Byte(b))?;
        }
    }
    Ok(())
}

/// `path` as text: UTF-8 as it is, other bytes written `\xff` (see [`Shown`]), for JSON,
/// whose strings must be UTF-8.
pub fn path_text(path: &Path) -> String {
    let mut text = String::new();
    let _ = for_each_part(path, |part| {
        match part {
            Part::Text(t) => text.push_str(&backslashed(t)),
            Part::Byte(b) => text.push_str(&format!("\\x{b:02x}")),
        }
        Ok(())
    });
    text
}

/// Any text from outside for a message or a log line, escaped as [`Shown`] escapes a path
/// (one rule, shared with the PAM module's log: [`facegate_proto::Escaped`]).
pub use facegate_proto::Escaped;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_few_are_said_then_one_line_for_the_rest() {
        let mut few = FirstFew::default();
        let said: Vec<Option<String>> = (0..8)
            .map(|i| few.say(|| format!("file {i}"), || "and the rest".into()))
            .collect();
        assert_eq!(said.iter().flatten().count(), FirstFew::AT_MOST + 1);
        assert_eq!(said[FirstFew::AT_MOST].as_deref(), Some("and the rest"));
        assert_eq!(said[7], None);
    }
    use facegate_proto::needs_escape;

    #[test]
    fn bytes_that_are_not_utf8_are_written_as_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/bad\xff\xfe\nname.jpg"));
        assert_eq!(Shown(path).to_string(), r"/tmp/bad\xff\xfe\nname.jpg");
        assert_eq!(path_text(path), "/tmp/bad\\xff\\xfe\nname.jpg");
        assert_eq!(Shown(Path::new("été.jpg")).to_string(), "été.jpg");
        // A name with a backslash of its own is not taken for one with a byte escaped.
        assert_eq!(Shown(Path::new(r"a\xff.jpg")).to_string(), r"a\\xff.jpg");
        assert_eq!(path_text(Path::new(r"a\xff.jpg")), r"a\\xff.jpg");
    }

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

    /// A parser's error quoting a client's bytes prints on one line (red team S27-F1).
    #[test]
    fn outside_text_in_errors_stays_on_one_line() {
        let forged = "x\nfacegate daemon: attempt for katie: accepted";
        let request = serde_json::json!({ forged: {} }).to_string();
        let parsed = serde_json::from_str::<facegate_proto::Request>(&request).unwrap_err();
        assert!(
            parsed.to_string().contains(forged),
            "the parser quotes the key raw"
        );
        let line = Escaped(&parsed.to_string()).to_string();
        println!("{line}");
        assert!(
            !line.contains('\n') && line.contains("x\\nfacegate"),
            "{line}"
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

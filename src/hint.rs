//! The `facegate` of a command a message suggests, as this process was started: a `--data-dir`
//! or `--models` typed on its command line is given again, or the hint pasted from the message
//! acted on another store (quick re-check s35). Given by environment variable, they reach the
//! pasted command the same way, and are left out. System unlock's hints name their `--config`
//! instead (`unlock::config::Commands`).

use std::fmt;
use std::sync::OnceLock;

static TYPED: OnceLock<String> = OnceLock::new();

/// `facegate` and the options typed on this process's command line that a suggested command
/// must repeat: `` format!("`{FACEGATE} user add NAME`") ``.
pub struct Facegate;

pub const FACEGATE: Facegate = Facegate;

impl fmt::Display for Facegate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("facegate")?;
        f.write_str(TYPED.get().map_or("", String::as_str))
    }
}

/// Records the options (`--name value` pairs, each value quoted for the shell) that suggested
/// commands repeat; the first call wins.
pub fn remember_typed(options: &[(&str, &std::path::Path)]) {
    let typed = options
        .iter()
        .map(|(name, value)| option(name, value, "DIR"))
        .collect();
    let _ = TYPED.set(typed);
}

/// ` --name VALUE` for a suggested command, the value written as [`shell_value`] writes it,
/// `placeholder` (DIR, FILE) standing for one that cannot be: the one way a path is given
/// back, here and in system unlock's hints.
pub fn option(name: &str, value: &std::path::Path, placeholder: &str) -> String {
    format!(" {name}{}", shell_value(value, placeholder))
}

/// ` VALUE` quoted for the shell, `=VALUE` for one that begins with `-` (read as an option
/// after a space), or ` DIR` (`placeholder`) for a path that cannot be written back as typed (not UTF-8, or
/// with a control character): printed lossily or escaped, it named another folder that looked
/// right (review s36 #4), and printed raw, a control character would act on the terminal.
fn shell_value(path: &std::path::Path, placeholder: &str) -> String {
    let Some(text) = path.to_str().filter(|t| !t.chars().any(char::is_control)) else {
        return format!(" {placeholder}");
    };
    // A path cannot hold the NUL that `try_quote` refuses.
    let quoted = shlex::try_quote(text).map_or_else(|_| text.into(), |q| q.into_owned());
    match text.starts_with('-') {
        true => format!("={quoted}"),
        false => format!(" {quoted}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_value_is_written_back_as_the_shell_reads_it() {
        use std::os::unix::ffi::OsStrExt;
        let path = |p: &str| std::path::PathBuf::from(p);
        assert_eq!(shell_value(&path("/tmp/a b"), "DIR"), " '/tmp/a b'");
        assert_eq!(shell_value(&path("-data"), "DIR"), "=-data");
        assert_eq!(
            shell_value(&path("/tmp/a\nb"), "FILE"),
            " FILE",
            "a newline"
        );
        let bytes = std::ffi::OsStr::from_bytes(b"/tmp/\xff");
        assert_eq!(
            shell_value(std::path::Path::new(bytes), "DIR"),
            " DIR",
            "not UTF-8"
        );
    }
}

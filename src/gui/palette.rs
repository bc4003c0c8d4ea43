//! The window's meaning colours, one definition each: red for what failed or does not match,
//! green for what passed, amber for what needs the user's attention.

use egui::Color32;

/// A failure, a refusal, a face that does not match.
pub const ERROR: Color32 = Color32::from_rgb(235, 60, 60);
/// A match, a decision that passed.
pub const GOOD: Color32 = Color32::from_rgb(40, 200, 90);
/// A warning or a caution: nothing failed, but something wants looking at.
pub const WARN: Color32 = Color32::from_rgb(230, 170, 40);
/// Neither good nor bad: a note on how something is decided, where a drop would land, a prompt
/// being asked.
pub const INFO: Color32 = Color32::from_rgb(120, 200, 255);

//! People's names become folder names and appear in prompts: refuse anything that could escape
//! the store, hide in it or exceed what a file system takes, and flag a new name that looks like
//! an existing one.

use unicode_security::skeleton;

use super::StoreError;

/// Most characters in a name, and most bytes (a name is a folder name: 255 bytes at most on
/// common file systems; 64 letters of a 4-byte script would be 256).
pub const MAX_CHARS: usize = 64;
pub const MAX_BYTES: usize = 128;

/// `name` as it may be printed: every character a name may not hold that is not visible ASCII
/// (the escape that would recolour or rewrite the terminal, a newline that would forge a line, a
/// bidi override, a zero-width space) shown escaped, the rest as is, so "../x" reads as typed. A
/// name that was refused is still echoed, so it is shown this way in every message.
pub fn printable(name: &str) -> String {
    name.chars()
        .map(|c| match allowed(c) || c.is_ascii_graphic() {
            true => c.to_string(),
            // `\n`, `\t`, `\u{1b}`: what a person reads, not `\u{a}`.
            false => c.escape_default().to_string(),
        })
        .collect()
}

/// What a name may hold; anything else is refused, and escaped when a name is printed (a
/// control character, or a bidi override that would reorder the line it is shown in).
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || " -_.'".contains(c)
}

/// A name as it is stored: in Unicode's composed form (NFC). Typed or pasted decomposed ("Rene"
/// and a combining accent, as macOS file names and some input methods give it), "Renée" was
/// refused for a character it may not hold, and could never find the Renée stored composed
/// (journey s37 #5). Every name a person types goes through here.
pub fn normalised(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc().collect()
}

/// [`normalised`] as clap's parser of a name argument.
pub fn parse_name(name: &str) -> Result<String, std::convert::Infallible> {
    Ok(normalised(name))
}

/// Checks a name; the reason says what to change.
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    let invalid = |reason| {
        Err(StoreError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return invalid("it is empty");
    }
    if name.chars().count() > MAX_CHARS {
        return invalid("it is longer than 64 characters");
    }
    if name.len() > MAX_BYTES {
        return invalid("it is longer than 128 bytes in UTF-8 (fewer letters of that script fit)");
    }
    if !name.chars().all(allowed) {
        return invalid("use letters, digits, spaces and - _ . ' only");
    }
    if name.starts_with('.') {
        return invalid("it starts with a dot (a hidden folder's name)");
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return invalid("it starts or ends with a space");
    }
    Ok(())
}

/// Checks the name of a person about to be added or renamed to: [`validate_name`], and no
/// leading `-`, which every command would read as an option. (Folders so named before this
/// rule stay readable: only new names are refused.)
pub fn validate_new_name(name: &str) -> Result<(), StoreError> {
    validate_name(name)?;
    if name.starts_with('-') {
        return Err(StoreError::InvalidName {
            name: name.to_owned(),
            reason: "it starts with '-', which commands would read as an option",
        });
    }
    Ok(())
}

/// `name` quoted for a command line printed as a hint ("Anne Marie" → `'Anne Marie'`,
/// "O'Brien" → `"O'Brien"`), so that the hint can be pasted as it is.
pub fn shell_arg(name: &str) -> String {
    shlex::try_quote(name).map_or_else(|_| printable(name), |q| q.into_owned())
}

/// The note for a new name that [can be mistaken for](confusable_with) `other`: a warning,
/// not a refusal (two people may be called alike), said where the name was given.
pub fn lookalike_note(name: &str, other: &str) -> String {
    let how = letters_apart(other, name).map_or_else(
        || "the same letters in other case".to_owned(),
        |apart| format!("spelt with {apart}"),
    );
    format!(
        "`{name}` looks like `{other}`, who is already enrolled ({how}); check that this is not \
         a mistake or an impersonation"
    )
}

/// The existing name that `name` can be mistaken for (same Unicode skeleton, UTS #39: "аlice"
/// with a Cyrillic а and "alice"), case aside, if any.
pub fn confusable_with<'a>(name: &str, existing: &'a [String]) -> Option<&'a str> {
    let key = |s: &str| skeleton(&s.to_lowercase()).collect::<String>();
    let mine = key(name);
    existing
        .iter()
        .find(|other| other.as_str() != name && key(other) == mine)
        .map(String::as_str)
}

/// The enrolled name `name` was most likely a typo of, for "did you mean": the same name in
/// another case or confusable letters ([`confusable_with`]), else the nearest within two edits
/// (letters swapped, one missing or extra), for a name long enough that two edits leave it
/// recognisable.
pub fn nearest<'a>(name: &str, existing: &'a [String]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    confusable_with(name, existing).or_else(|| {
        existing
            .iter()
            .map(|other| {
                let d = strsim::damerau_levenshtein(&lower, &other.to_lowercase());
                (d, other)
            })
            .filter(|(d, other)| *d <= 2 && *d < other.chars().count().min(lower.chars().count()))
            .min_by_key(|(d, _)| *d)
            .map(|(_, other)| other.as_str())
    })
}

/// What sets `meant` apart from `typed` when the two can print alike (the same letters from
/// another script): its letters that `typed` lacks, each with its script and code point
/// ("Cyrillic а U+0430"). "did you mean `аlice`?" to someone who typed `alice` read as
/// nonsense, and hid the impersonation the name was warned of (journey s37 #3). None for
/// names that read apart, or differ in case alone.
pub fn letters_apart(typed: &str, meant: &str) -> Option<String> {
    use unicode_script::UnicodeScript;
    confusable_with(typed, std::slice::from_ref(&meant.to_owned()))?;
    let typed = typed.to_lowercase();
    let mut apart: Vec<char> = Vec::new();
    for c in meant.to_lowercase().chars() {
        if !typed.contains(c) && !apart.contains(&c) {
            apart.push(c);
        }
    }
    let said: Vec<String> = (apart.iter())
        .map(|&c| format!("{} {c} U+{:04X}", c.script().full_name(), u32::from(c)))
        .collect();
    (!said.is_empty()).then(|| said.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_typed_decomposed_is_the_name_stored_composed() {
        let typed = "Rene\u{301}e";
        assert!(validate_name(typed).is_err(), "a combining accent alone");
        assert_eq!(normalised(typed), "Ren\u{e9}e");
        assert!(validate_name(&normalised(typed)).is_ok());
    }

    #[test]
    fn a_look_alike_in_another_script_is_told_apart() {
        let cyrillic = "\u{430}lice";
        assert_eq!(
            letters_apart("alice", cyrillic).as_deref(),
            Some("Cyrillic \u{430} U+0430")
        );
        assert_eq!(letters_apart("Alice", "alice"), None, "case alone");
        assert_eq!(letters_apart("Katei", "Katie"), None, "a typo reads apart");
    }

    #[test]
    fn a_typo_finds_the_name_it_was_meant_as() {
        let people = ["me".to_owned(), "Katie".to_owned(), "Anne Marie".to_owned()];
        assert_eq!(nearest("mee", &people), Some("me"));
        assert_eq!(nearest("Me", &people), Some("me"));
        assert_eq!(nearest("katei", &people), Some("Katie"));
        assert_eq!(nearest("Anne-Marie", &people), Some("Anne Marie"));
        assert_eq!(nearest("Bob", &people), None, "unlike anyone");
        assert_eq!(nearest("x", &people), None, "too short to tell");
    }

    #[test]
    fn a_refused_name_is_echoed_without_its_control_characters() {
        let e = validate_name("bo\x1b[31mb\nforged line")
            .unwrap_err()
            .to_string();
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert!(e.contains("bo\\u{1b}[31mb\\nforged line"), "{e}");
        assert_eq!(printable("../x"), "../x");
        assert_eq!(printable("eve\u{202e}gnp.exe"), "eve\\u{202e}gnp.exe");
        assert_eq!(printable("Zoë O'Neil"), "Zoë O'Neil");
    }

    #[test]
    fn bytes_are_limited_as_well_as_characters() {
        assert!(validate_name(&"𝔸".repeat(32)).is_ok(), "128 bytes");
        let e = validate_name(&"𝔸".repeat(33)).unwrap_err().to_string();
        assert!(e.contains("128 bytes"), "{e}");
        assert!(validate_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn a_new_name_may_not_look_like_an_option_and_hints_quote_names() {
        let e = validate_new_name("-rf").unwrap_err().to_string();
        assert!(e.contains("option"), "{e}");
        assert!(
            validate_name("-rf").is_ok(),
            "an existing folder stays readable"
        );
        assert!(validate_new_name("Anne-Marie").is_ok());
        assert_eq!(shell_arg("Anne"), "Anne");
        assert_eq!(shell_arg("Anne Marie"), "'Anne Marie'");
        assert_eq!(shell_arg("O'Brien"), "\"O'Brien\"");
    }

    #[test]
    fn lookalike_names_are_found() {
        let people = vec!["alice".to_owned(), "Bob".to_owned()];
        assert_eq!(confusable_with("\u{430}lice", &people), Some("alice"));
        assert_eq!(confusable_with("ALICE", &people), Some("alice"));
        assert_eq!(confusable_with("carol", &people), None);
        assert_eq!(confusable_with("alice", &people), None, "itself");
    }
}

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
/// control character, or a bidi override that would reorder the line it is shown in). A
/// combining mark is a part of the letter before it: the composed form of ज़ (U+0958) is ज and
/// a nukta, and of many names in other scripts the same (final read s37 #1).
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || " -_.'".contains(c) || unicode_normalization::char::is_combining_mark(c)
}

/// A new name as it is stored: in Unicode's composed form (NFC). Typed or pasted decomposed
/// ("Rene" and a combining accent, as macOS file names and some input methods give it), "Renée"
/// was refused for a character it may not hold (journey s37 #5). Every new name a person types
/// goes through here ([`validate_new_name`] refuses one that did not); a name typed to find
/// someone is found in either form (`Store::require_person`).
pub fn normalised(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc().collect()
}

/// [`normalised`] as clap's parser of a new name.
pub fn parse_new_name(name: &str) -> Result<String, std::convert::Infallible> {
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
    if name
        .chars()
        .next()
        .is_some_and(unicode_normalization::char::is_combining_mark)
    {
        return invalid("it starts with a combining mark, which belongs to a letter before it");
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
    if !unicode_normalization::is_nfc(name) {
        return Err(StoreError::InvalidName {
            name: name.to_owned(),
            reason: "it is not in Unicode's composed form (NFC), which names are stored in",
        });
    }
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
    let how = match letters_apart(name, other) {
        Some((ours, theirs)) => format!("with {ours} where `{other}` has {theirs}"),
        None => "the same letters in other case".to_owned(),
    };
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

/// Where two names that can print alike (the same Unicode skeleton) differ, in words: the
/// letters of `a`, then those of `b` in their place, each named with its script and code point
/// ("Latin a U+0061", "Cyrillic а U+0430"). What the names share at their start and end is
/// left out, and the rest compared place by place when as long ("rn" against "m" as wholes).
/// None for names that read apart, or that differ in case alone. "did you mean `аlice`?" to
/// someone who typed `alice` read as nonsense, and hid the impersonation the name was warned of
/// (journey s37 #3).
pub fn letters_apart(a: &str, b: &str) -> Option<(String, String)> {
    use unicode_script::UnicodeScript;
    confusable_with(a, std::slice::from_ref(&b.to_owned()))?;
    // One letter in upper case and the same in lower is a difference of case; two capitals
    // that lower alike (Å U+00C5, Å ANGSTROM SIGN U+212B) are two letters.
    let same = |x: char, y: char| {
        x == y || (x.to_lowercase().eq(y.to_lowercase()) && x.is_lowercase() != y.is_lowercase())
    };
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let start = a.iter().zip(&b).take_while(|(x, y)| same(**x, **y)).count();
    let end = (a[start..].iter().rev())
        .zip(b[start..].iter().rev())
        .take_while(|(x, y)| same(**x, **y))
        .count();
    let (ours, theirs) = (&a[start..a.len() - end], &b[start..b.len() - end]);
    let (ours, theirs): (Vec<char>, Vec<char>) = match ours.len() == theirs.len() {
        true => ours
            .iter()
            .zip(theirs)
            .filter(|(x, y)| !same(**x, **y))
            .unzip(),
        false => (ours.to_vec(), theirs.to_vec()),
    };
    let said = |letters: &[char]| -> String {
        let mut named: Vec<String> = Vec::new();
        for &c in letters {
            let name = format!("{} {c} U+{:04X}", c.script().full_name(), u32::from(c));
            if !named.contains(&name) {
                named.push(name);
            }
        }
        named.join(", ")
    };
    (!ours.is_empty() || !theirs.is_empty()).then(|| (said(&ours), said(&theirs)))
}

/// `user forget NAME IDS…`, quoted for the shell, in backquotes: the command every message that
/// offers to delete some of a person's images gives.
pub fn forget_command(name: &str, ids: impl Iterator<Item = impl std::fmt::Display>) -> String {
    let ids: Vec<String> = ids.map(|id| id.to_string()).collect();
    format!(
        "`{} user forget {} {}`",
        crate::hint::FACEGATE,
        shell_arg(name),
        ids.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_typed_decomposed_is_the_name_stored_composed() {
        let typed = "Rene\u{301}e";
        assert_eq!(normalised(typed), "Ren\u{e9}e");
        assert!(validate_new_name(typed).is_err(), "stored composed only");
        assert!(validate_new_name(&normalised(typed)).is_ok());
        // Composed, ज़ (U+0958) is ज and a nukta: a mark after its letter is part of a name
        // (final read s37 #1), a mark before any letter is not.
        let nukta = normalised("\u{958}\u{930}");
        assert_eq!(nukta, "\u{915}\u{93c}\u{930}");
        assert!(validate_new_name(&nukta).is_ok());
        assert!(validate_name("\u{301}e").is_err());
        // No new name in another form than NFC (ANGSTROM SIGN).
        assert!(validate_new_name("\u{212b}sa").is_err());
    }

    #[test]
    fn a_look_alike_in_another_script_is_told_apart() {
        let cyrillic = "\u{430}lice";
        let apart = |a, b| letters_apart(a, b).map(|(x, y)| format!("{x} / {y}"));
        assert_eq!(
            apart("alice", cyrillic).as_deref(),
            Some("Latin a U+0061 / Cyrillic \u{430} U+0430")
        );
        // Place by place: Latin a is in both names, but not in the first place of both
        // (review s37 #3: "the same letters in other case").
        assert_eq!(
            apart("ala", "\u{430}la").as_deref(),
            Some("Latin a U+0061 / Cyrillic \u{430} U+0430")
        );
        assert_eq!(
            apart("Kirn", "Kim").as_deref(),
            Some("Latin r U+0072, Latin n U+006E / Latin m U+006D")
        );
        assert_eq!(letters_apart("Alice", "alice"), None, "case alone");
        // Neither side empty where one name is longer (final read s37 #3: "with  where").
        assert_eq!(
            apart("Mamie", "Marnie").as_deref(),
            Some("Latin m U+006D / Latin r U+0072, Latin n U+006E")
        );
        assert_eq!(
            apart("mmrn", "rnmrn").as_deref(),
            Some("Latin m U+006D / Latin r U+0072, Latin n U+006E")
        );
        assert_eq!(
            apart("\u{c5}sa", "\u{212b}sa").as_deref(),
            Some("Latin \u{c5} U+00C5 / Latin \u{212b} U+212B"),
            "two capitals that lower alike"
        );
        assert_eq!(letters_apart("Katei", "Katie"), None, "a typo reads apart");
        assert!(
            lookalike_note("ala", "\u{430}la").contains("with Latin a U+0061 where"),
            "{}",
            lookalike_note("ala", "\u{430}la")
        );
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

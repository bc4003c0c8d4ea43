//! `facegate user ...` and `facegate negatives`, and the import that `facegate capture` uses:
//! building the store.

use crate::hint::FACEGATE;
use crate::store::names::forget_command;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;

use super::{Cli, exit};
use crate::auth::lockout::LockShown;
use crate::engine::adding::{Added, SavedWarning};
use crate::engine::{NearCopy, Unlike};
use crate::shown::Shown;
use crate::store::{Gallery, ImageKind, Store, names};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Enrol a new person (then `facegate capture` their images)
    Add {
        #[arg(value_parser = crate::store::names::parse_new_name)]
        name: String,
    },
    /// Everyone enrolled, with image counts per kind
    List {
        #[arg(long)]
        json: bool,
    },
    /// A person's images, each with its kind, its id (what `user forget` takes), the file it
    /// came from and when it was saved
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Turn face verification back on for a person locked out after repeated failures (they
    /// have proved who they are another way)
    Reset { name: String },
    /// Delete some of a person's images by the id they were saved as (one that shows someone
    /// else, say), whatever their kind
    Forget {
        name: String,
        #[arg(required = true, value_parser = super::checked::image_id)]
        ids: Vec<uuid::Uuid>,
    },
    /// Remove a person and all their images
    Remove {
        name: String,
        /// Also remove their cached embeddings, audit-log lines and saved frames, and list it all
        #[arg(long)]
        wipe: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NegativesCommand {
    /// Import other people's faces (one face per image) from photos and folders (walked
    /// recursively), as `capture` takes them
    Add {
        #[arg(value_name = "IMG_OR_DIR", required = true)]
        inputs: Vec<PathBuf>,
    },
    /// How many negatives are stored
    Count,
    /// Every negative, with its id (what `negatives remove` takes), the file it came from and
    /// when it was saved
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove negatives by the id they were saved as (e.g. one that is an enrolled person)
    Remove {
        #[arg(required = true, value_parser = super::checked::image_id)]
        ids: Vec<uuid::Uuid>,
    },
}

#[derive(Serialize)]
struct PersonRow {
    name: String,
    anchor: usize,
    positive: usize,
    verification: usize,
    /// What holds their face verification now, if anything: a desk lock-out was seen only by
    /// trying to verify (journey s39 #9).
    lock: Option<LockShown>,
    /// Why their images cannot be read, where they cannot (then nothing is counted, and no
    /// lock is told: it cannot be read either, and `user reset` could not lift it).
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<String>,
    /// Why their verification images verify nobody, where the models could tell: images that
    /// do not all show one person were seen only by trying to verify (journey s41 #1).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_one_person: Option<String>,
}

/// `user show --json`: the images and the lock, as `user list` gives it.
#[derive(Serialize)]
struct PersonShown<'a> {
    name: &'a str,
    images: &'a [ImageRow],
    lock: Option<LockShown>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_one_person: Option<String>,
}

/// `name`'s lock, if any, with the command that lifts it.
fn lock_shown(store: &Store, name: &str) -> Option<LockShown> {
    crate::engine::attempts::lock_of(store, name).map(|l| l.shown(reset_command(name)))
}

/// Why `name`'s verification images verify nobody (they do not all show one person), with the
/// command that deletes the odd ones where they are few; None where they do. Err: why the
/// models could not tell (not loaded, damaged settings), which the listing says once rather
/// than passing over in silence (final read s41): it works without them.
fn not_one_person(
    engine: Result<&mut crate::engine::Engine, &str>,
    name: &str,
) -> Result<Option<String>, String> {
    match engine?.gallery(name) {
        Ok(_) => Ok(None),
        Err(crate::error::Error::NotOnePerson(mixed)) => {
            Ok(Some(format!("{mixed}{}", delete_odd(&mixed))))
        }
        Err(e) => Err(crate::shown::Reason(&e).to_string()),
    }
}

/// The engine for [`not_one_person`], or why there is none.
fn checking_engine(cli: &Cli) -> Result<crate::engine::Engine, String> {
    cli.engine()
        .map_err(|e| format!("the models cannot be loaded ({e:#})"))
}

/// The note a listing ends with when [`not_one_person`] could not tell for someone.
fn note_unchecked(why: Option<String>) {
    if let Some(why) = why {
        eprintln!(
            "note: whether each person's verification images show one person is not checked \
             here: {why}"
        );
    }
}

/// The command that lifts `name`'s lock-out or pause.
fn reset_command(name: &str) -> String {
    format!("{FACEGATE} user reset {}", names::shell_arg(name))
}

pub fn user(cli: &Cli, cmd: &UserCommand) -> anyhow::Result<u8> {
    let store = cli.store()?;
    match cmd {
        UserCommand::Add { name } => {
            if let Some(other) = store.add_person(name)? {
                eprintln!("warning: {}", names::lookalike_note(name, &other));
            }
            let quoted = names::shell_arg(name);
            let least = crate::train::MIN_IMAGES;
            println!(
                "enrolled {name}; now add images with `{FACEGATE} capture {quoted} --kind \
                 verification PHOTOS...` (and, to train their own head later, at least {least} \
                 with `--kind anchor`, {least} with `--kind positive` and {least} negatives)"
            );
        }
        UserCommand::Reset { name } => {
            println!(
                "{name}: {}",
                reset_said(
                    crate::engine::attempts::reset_lock(&store, name)?,
                    "verification"
                )
            );
        }
        UserCommand::Remove { name, wipe: false } => {
            // Removed before, their audit lines may stay: `--wipe` named for them, as `unlock
            // remove` names it (final read s38).
            match store.remove_person(name) {
                Err(e @ crate::store::StoreError::UnknownPerson(_))
                    if store.audit_lines_about(name) > 0 =>
                {
                    anyhow::bail!(
                        "{e}; the audit-log lines about them, kept from before, go with `{FACEGATE} \
                         user remove {} --wipe`",
                        names::shell_arg(name)
                    );
                }
                removed => removed?,
            }
            // `--wipe` offered only where it has something left to remove: for someone never
            // verified it then said "no person called …" (journey s38 #2).
            let left = match store.audit_lines_about(name) {
                0 => String::new(),
                n => format!(
                    " ({} about them {}; `{FACEGATE} user remove {} --wipe` removes {})",
                    crate::shown::counted(n, "audit-log line", "audit-log lines"),
                    if n == 1 { "stays" } else { "stay" },
                    names::shell_arg(name),
                    if n == 1 { "it too" } else { "those too" },
                ),
            };
            println!("removed {name}, their images and their cached embeddings{left}");
        }
        UserCommand::Remove { name, wipe: true } => {
            let r = store.wipe_person(name)?;
            println!("wiped {name}: {r}");
        }
        UserCommand::Forget { name, ids } => {
            store.require_person(name)?;
            let gallery = |kind| Gallery::Person {
                name: name.clone(),
                kind,
            };
            let ids = distinct(ids);
            let found = found_all(&ids, &format!("{name}'s images"), |id| {
                for kind in ImageKind::ALL {
                    if store.has_face(&gallery(kind), id)? {
                        return Ok(Some(kind));
                    }
                }
                Ok(None)
            })
            // An id of another person's: whose, and their command (it said only "not among";
            // journey s37/s38 #10).
            .map_err(|e| whose(e, &store, Some(name), &ids))?;
            for (id, kind) in found {
                store.delete_face(&gallery(kind), id)?;
                println!("deleted {name}'s {} image {id}", kind.dir_name());
            }
        }
        // The ids `user forget` takes were printed once, at capture, and never again
        // (journey s36 #15).
        UserCommand::Show { name, json } => {
            let mut rows = Vec::new();
            for kind in ImageKind::ALL {
                let gallery = Gallery::Person {
                    name: name.clone(),
                    kind,
                };
                rows.extend(image_rows(&store, &gallery, Some(kind))?);
            }
            let lock = lock_shown(&store, name);
            let mut engine = checking_engine(cli);
            let (mixed, unchecked) =
                match not_one_person(engine.as_mut().map_err(|e| e.as_str()), name) {
                    Ok(mixed) => (mixed, None),
                    Err(why) => (None, Some(why)),
                };
            if *json {
                // The name as stored (and as `user list` gives it), not as typed: a decomposed
                // form names the same person (final read s40 #10).
                let stored = names::normalised(name);
                let shown = PersonShown {
                    name: &stored,
                    images: &rows,
                    lock,
                    not_one_person: mixed,
                };
                println!("{}", serde_json::to_string_pretty(&shown)?);
                note_unchecked(unchecked);
            } else {
                show_rows(&rows, false, &format!("{name} has no images yet"))?;
                if let Some(lock) = lock {
                    eprintln!(
                        "note: {} is {} (`{}` lifts it)",
                        crate::shown::Escaped(name),
                        lock.says,
                        lock.remedy
                    );
                }
                if let Some(mixed) = mixed {
                    eprintln!("note: {mixed}");
                }
                note_unchecked(unchecked);
            }
        }
        UserCommand::List { json } => {
            let mut rows = Vec::new();
            // Loaded where it can be, to tell whose images do not all show one person; the
            // listing works without the models.
            let mut engine = checking_engine(cli);
            let mut unchecked = None;
            for name in store.people()? {
                let count = |kind| {
                    store.faces(&Gallery::Person {
                        name: name.clone(),
                        kind,
                    })
                };
                // A folder that cannot be read was listed as no images and "locked out (its
                // record cannot be read)", with a reset that failed on it too (journey s40 #5).
                let counted = [
                    ImageKind::Anchor,
                    ImageKind::Positive,
                    ImageKind::Verification,
                ]
                .map(|kind| count(kind).map(|f| f.len()));
                let unreadable = counted
                    .iter()
                    .find_map(|c| c.as_ref().err())
                    .map(|e| crate::shown::Reason(e).to_string());
                let [anchor, positive, verification] = counted.map(|c| c.unwrap_or(0));
                rows.push(PersonRow {
                    anchor,
                    positive,
                    verification,
                    lock: match unreadable {
                        None => lock_shown(&store, &name),
                        Some(_) => None,
                    },
                    not_one_person: match unreadable {
                        None => not_one_person(engine.as_mut().map_err(|e| e.as_str()), &name)
                            .unwrap_or_else(|why| {
                                unchecked.get_or_insert(why);
                                None
                            }),
                        Some(_) => None,
                    },
                    unreadable,
                    name,
                });
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!(
                    "nobody is enrolled yet (store: {}); add someone with `{FACEGATE} user add NAME`",
                    store.root().display()
                );
            } else {
                println!(
                    "{:<24} {:>7} {:>9} {:>13}",
                    "name", "anchor", "positive", "verification"
                );
                for r in &rows {
                    println!(
                        "{:<24} {:>7} {:>9} {:>13}{}",
                        r.name,
                        r.anchor,
                        r.positive,
                        r.verification,
                        match (&r.lock, &r.unreadable, &r.not_one_person) {
                            (_, Some(_), _) => "  cannot be read".to_owned(),
                            (Some(l), None, _) => format!("  {}", l.says),
                            (None, None, Some(_)) => "  not one person: not verified".to_owned(),
                            (None, None, None) => String::new(),
                        }
                    );
                }
                for mixed in rows.iter().filter_map(|r| r.not_one_person.as_ref()) {
                    println!("{mixed}");
                }
                for r in &rows {
                    if let Some(why) = &r.unreadable {
                        println!(
                            "{}'s images cannot be read: {why}; it must be a folder of \
                             yours that you can read (`ls -ld` it)",
                            crate::shown::Escaped(&r.name)
                        );
                    }
                }
                for r in &rows {
                    if let Some(lock) = &r.lock {
                        println!(
                            "`{}` lifts {}'s lock",
                            lock.remedy,
                            crate::shown::Escaped(&r.name)
                        );
                    }
                }
            }
            note_unchecked(unchecked);
        }
    }
    Ok(exit::OK)
}

/// One stored image, as `user show` and `negatives list` give it.
#[derive(Serialize)]
struct ImageRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<ImageKind>,
    id: uuid::Uuid,
    /// The file (or frame) it came from, by name.
    source: Option<String>,
    saved_unix: u64,
}

/// The images of `gallery`, oldest first; `kind` is said for a person's.
fn image_rows(
    store: &crate::store::Store,
    gallery: &Gallery,
    kind: Option<ImageKind>,
) -> anyhow::Result<Vec<ImageRow>> {
    let mut faces = store.faces(gallery)?;
    // Frames of one capture share their second: then by the file or frame they came from.
    faces.sort_by(|a, b| {
        (a.meta.created_unix, &a.meta.source).cmp(&(b.meta.created_unix, &b.meta.source))
    });
    Ok(faces
        .into_iter()
        .map(|f| ImageRow {
            kind,
            id: f.meta.id,
            source: f.meta.source,
            saved_unix: f.meta.created_unix,
        })
        .collect())
}

/// `rows` as JSON, or a line each (`none` when there are none).
fn show_rows(rows: &[ImageRow], json: bool, none: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
    } else if rows.is_empty() {
        println!("{none}");
    }
    for r in rows.iter().filter(|_| !json) {
        println!(
            "{}{}  saved {}  from {}",
            r.kind
                .map_or(String::new(), |k| format!("{:<13}", k.dir_name())),
            r.id,
            saved_at(r.saved_unix),
            // A name from outside, printed as a terminal should show it.
            r.source
                .as_deref()
                .map_or("(not recorded)".into(), |s| crate::shown::Escaped(s)
                    .to_string())
        );
    }
    Ok(())
}

/// When an image was saved, from its sidecar: a time no calendar date can show (a damaged or
/// forged sidecar; year 10000 and on) as its number, not a panic half-way through the listing
/// (final read s36 #1).
fn saved_at(unix: u64) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    match std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(unix)) {
        Some(t) if unix < YEAR_10000 => humantime::format_rfc3339_seconds(t).to_string(),
        _ => format!("at unix time {unix}"),
    }
}

/// Image files named by `inputs`, folders expanded ([`crate::imageio::listing`]); what was
/// left out (a folder that cannot be listed, a link not named as a photo, a folder without photos) is
/// said on stderr, and the rest is still imported.
pub fn image_files(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let listing = crate::imageio::listing::image_files(inputs);
    say_skipped(&listing);
    listing.files
}

/// A gallery of one sub-folder of photos per identity (`lookalike`, `eval attempts`): each
/// identity's name (its folder's) and image files, in name order, identities without a photo
/// left out. What was left out is said once for the whole gallery ([`say_skipped`]).
pub fn identity_folders(root: &Path) -> anyhow::Result<Vec<(String, Vec<PathBuf>)>> {
    let (mut dirs, loose): (Vec<PathBuf>, Vec<PathBuf>) = std::fs::read_dir(root)
        .with_context(|| format!("cannot list the gallery {}", Shown(root)))?
        .flatten()
        .map(|e| e.path())
        // Through links: a gallery the user gave, often a dataset of linked folders (not the
        // store, where no link is followed).
        .partition(|p| p.is_dir());
    dirs.sort();
    let mut all = crate::imageio::listing::Listing::default();
    // Photos beside the identities' folders belong to no identity: said, not passed over in
    // silence (review s36 #8). With no folder at all, the caller's error says it for all.
    let loose = if dirs.is_empty() { Vec::new() } else { loose };
    let mut loose = crate::imageio::listing::image_files(&loose).files;
    loose.sort();
    all.skipped.extend(loose.into_iter().map(|p| {
        (
            p,
            "a photo directly in the gallery, not in an identity's folder".into(),
        )
    }));
    let mut out = Vec::new();
    for dir in dirs {
        let mut listing = crate::imageio::listing::image_files(std::slice::from_ref(&dir));
        all.skipped.append(&mut listing.skipped);
        if !listing.files.is_empty() {
            // Its bytes that are not UTF-8 written out, as its path is beside it: two folders
            // apart only in such bytes were one identity (journey s38 #8).
            let name = crate::shown::path_text(Path::new(dir.file_name().unwrap_or_default()));
            note_folders_within(&name, &dir, &listing.files);
            out.push((name, listing.files));
        }
    }
    say_skipped(&all);
    Ok(out)
}

/// Said when the photos of the identity `name` (its folder `dir`) come from several folders of
/// its own: a gallery one level too high (`examples/` over `knn_examples/train/NAME/`) made
/// each of its folders one identity of everyone below it, and named a folder as the look-alike
/// (journey s38 #1). A note, not a refusal: one person's photos by year are such folders too.
fn note_folders_within(name: &str, dir: &Path, files: &[PathBuf]) {
    let within: std::collections::BTreeSet<_> = files
        .iter()
        .filter_map(|f| {
            let inner = f.strip_prefix(dir).ok()?;
            (inner.components().count() > 1).then(|| inner.components().next())?
        })
        .map(|c| crate::shown::path_text(Path::new(c.as_os_str())))
        .collect();
    if within.len() > 1 {
        let named: Vec<_> = within.iter().take(3).cloned().collect();
        let more = if within.len() > 3 { ", …" } else { "" };
        eprintln!(
            "note: {name}'s photos come from {} folders of its own ({}{more}): if those are \
             people, the gallery is {}",
            within.len(),
            named.join(", "),
            Shown(dir)
        );
    }
}

/// What a listing left out, on stderr ([`say_first_few`]).
pub fn say_skipped(listing: &crate::imageio::listing::Listing) {
    let lines: Vec<String> = (listing.skipped.iter())
        .map(|(path, why)| format!("skipped {}: {why}", Shown(path)))
        .collect();
    say_first_few(&lines);
}

/// Lines about things skipped, on stderr: the first few, then how many more (a gallery of
/// 30,000 empty folders printed 30,000 lines; red team, session 30).
pub fn say_first_few(lines: &[String]) {
    let mut few = crate::shown::FirstFew::default();
    let more = lines.len().saturating_sub(crate::shown::FirstFew::AT_MOST);
    for line in lines {
        let said = few.say(
            || line.clone(),
            || format!("skipped {more} more without naming each"),
        );
        if let Some(said) = said {
            eprintln!("{said}");
        }
    }
}

/// Imports each image into `gallery`, printing what was saved or why not (with a progress bar on
/// a terminal). Exit 0 when every image was saved, 1 when some were refused or were saved with a
/// warning ([`warn_after_saving`]).
pub fn import(cli: &Cli, gallery: &Gallery, inputs: &[PathBuf]) -> anyhow::Result<u8> {
    import_with(&mut cli.engine()?, gallery, inputs)
}

/// [`import`] with an engine already made (`capture`'s, which checked the name with it).
pub fn import_with(
    engine: &mut crate::engine::Engine,
    gallery: &Gallery,
    inputs: &[PathBuf],
) -> anyhow::Result<u8> {
    let stored =
        |engine: &crate::engine::Engine| engine.store().faces(gallery).map_or(0, |f| f.len());
    let before = stored(engine);
    let imported = match import_into(engine, gallery, inputs, None) {
        Ok(imported) => imported,
        Err(e) => {
            // Stopped part-way (a full disk): what was saved before stays, and is said so.
            let kept = stored(engine).saturating_sub(before);
            if kept > 0 {
                let (what, stay) = match kept {
                    1 => ("image", "stays"),
                    _ => ("images", "stay"),
                };
                eprintln!(
                    "note: the {kept} {what} saved before this {stay}{}",
                    match gallery {
                        Gallery::Person { name, .. } => format!(
                            " (`{FACEGATE} user show {}` lists them)",
                            names::shell_arg(name)
                        ),
                        Gallery::Negatives => String::new(),
                    }
                );
            }
            return Err(e);
        }
    };
    println!("{}", imported.tally("saved"));
    let saved = imported
        .saved
        .iter()
        .map(|(id, path)| (*id, Shown(path).to_string()))
        .collect();
    let warned = warn_after_saving(engine, gallery, &saved);
    Ok(with_warnings(imported.code, warned))
}

/// The images just saved into a gallery, by id, each named as the user knows it
/// ("photo.jpg", "frame 12 of clip.mp4").
pub type SavedFrom = std::collections::HashMap<uuid::Uuid, String>;

/// After images were saved into `gallery`, from files or live: what the next verification or
/// calibration would say about them, said now. Warnings only; the images stay, and a check that
/// cannot be made is one more warning, not a failure of the import that succeeded. Returns
/// whether anything was said: the command then exits 1, not 0, so that a script can tell
/// "saved" from "saved, and it may be someone else" (a capture from another person's clip
/// exited 0, and the next `verify` refused the person; journey review and red team, session
/// 30).
#[must_use]
pub fn warn_after_saving(
    engine: &mut crate::engine::Engine,
    gallery: &Gallery,
    saved: &SavedFrom,
) -> bool {
    let ids: Vec<_> = saved.keys().copied().collect();
    let what = |id| {
        let from = saved.get(&id).map_or("an image", String::as_str);
        match gallery {
            Gallery::Person { .. } => format!("{from} (saved as {id})"),
            Gallery::Negatives => format!("{from} (saved as negative {id})"),
        }
    };
    let mut warned = false;
    let mut doubtful = std::collections::BTreeSet::new();
    // The odd ones the whole gallery's warning gave a command for, where it did.
    let mut named = None;
    for warning in engine.after_saving(gallery, &ids) {
        warned |= warning.about_the_save();
        match &warning {
            SavedWarning::Unlike(Unlike { id, .. }) | SavedWarning::ShowsAnother { id, .. } => {
                doubtful.insert(*id);
            }
            SavedWarning::NotOnePerson(mixed) => {
                named = mixed
                    .odd_minority()
                    .map(|odd| odd.iter().map(|o| o.id).collect());
            }
            _ => {}
        }
        eprintln!(
            "warning: {}{}",
            warning.text(gallery, what),
            to_undo(&warning, gallery)
        );
    }
    // A folder of several people (sub-folders are read too) left one command per photo to
    // type before the person verified again (journey s40 #1): one for them all, unless the
    // whole gallery's warning gave that one. Where that one names others (the person's own
    // earlier photo, outnumbered by the import's), both are said: which is the mistake is
    // theirs to say.
    if let (Gallery::Person { name, .. }, 2..) = (gallery, doubtful.len())
        && named.as_ref() != Some(&doubtful)
    {
        eprintln!(
            "warning: {} of the images this import saved may not show {}; if the import was the \
             mistake, delete them all: {}",
            doubtful.len(),
            crate::shown::Escaped(name),
            forget_command(name, doubtful.iter())
        );
    }
    warned
}

/// The command that undoes what `warning` is about, for the CLI's line.
fn to_undo(warning: &SavedWarning, gallery: &Gallery) -> String {
    let remove_negative = |id| format!(" (`{FACEGATE} negatives remove {id}`)");
    let Gallery::Person { name, .. } = gallery else {
        return match warning {
            SavedWarning::NegativeShows { id, .. } => remove_negative(id),
            _ => String::new(),
        };
    };
    match warning {
        SavedWarning::Unlike(Unlike { id, .. })
        | SavedWarning::ShowsAnother { id, .. }
        | SavedWarning::NearCopy(NearCopy { id, .. }) => {
            format!("; to delete it: {}", forget_command(name, [id].iter()))
        }
        // The odd ones by id, ready to run, where they are a minority (it said `ID...`;
        // journey s35 #5).
        SavedWarning::NotOnePerson(mixed) => delete_odd(mixed),
        SavedWarning::NegativeShows { id, .. } => remove_negative(id),
        SavedWarning::Unchecked { .. } => String::new(),
    }
}

/// The command that deletes the odd images of a gallery that is not one person: those by id,
/// ready to run, where they are a minority (it said `ID...`; journey s35 #5).
fn delete_odd(mixed: &crate::auth::one_person::NotOnePerson) -> String {
    match mixed.odd_minority() {
        Some(odd) => format!(
            "; to delete those: {}",
            forget_command(&mixed.person, odd.iter().map(|o| o.id))
        ),
        None => format!(
            "; to delete: {}",
            forget_command(&mixed.person, ["ID..."].iter())
        ),
    }
}

/// The exit status of an import that `warned` ([`warn_after_saving`]) after ending with `code`.
pub fn with_warnings(code: u8, warned: bool) -> u8 {
    if warned && code == exit::OK {
        exit::DIFFERENT
    } else {
        code
    }
}

/// What [`import_into`] did.
pub struct Imported {
    /// The exit status it stands for.
    pub code: u8,
    /// The images it saved, and the files they came from.
    pub saved: std::collections::HashMap<uuid::Uuid, PathBuf>,
    /// Files whose image was already stored in the gallery (skipped, not saved again).
    pub already_stored: usize,
    /// Files turned down, of which `unreadable` were no readable image and `untrusted` were
    /// not read, as root, for whose they are ([`crate::imageio::load_owned`]).
    refused: usize,
    unreadable: usize,
    untrusted: usize,
}

impl Imported {
    /// "2 saved, 1 refused (1 unreadable), 0 already stored", with `saved` for what became of
    /// the images saved: an enrolment taken back says so here, where "2 saved" was followed by
    /// "nothing of this batch was kept" (journey s34 #9).
    pub fn tally(&self, saved: &str) -> String {
        // A file refused for its owner or mode was read as "unreadable" (journey s35 #2).
        let kinds: Vec<String> = [
            (self.unreadable - self.untrusted, "unreadable"),
            (self.untrusted, "not trusted"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        let unreadable = if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        };
        format!(
            "{} {saved}, {} refused{unreadable}, {} already stored",
            self.saved.len(),
            self.refused,
            self.already_stored
        )
    }
}

/// The most photos one `unlock enrol` reads, from files ([`import_into`] as root) or a desk
/// store: an account needs a handful, and each costs root a decode of up to 512 MiB (red team
/// s39: a folder of 20,000 small PNGs of 12,000² pixels would hold root's enrolment for hours).
pub const MAX_ENROL_BATCH: usize = 100;

/// [`import`] into any engine's store (the system unlock store too). `owners`: when set (root
/// enrolling an account), only files of those uids are read, and no link is followed
/// ([`crate::imageio::load_owned`]). The tally is the caller's to print ([`Imported::tally`]),
/// once it knows what became of what was saved.
pub fn import_into(
    engine: &mut crate::engine::Engine,
    gallery: &Gallery,
    inputs: &[PathBuf],
    owners: Option<&[u32]>,
) -> anyhow::Result<Imported> {
    // As root, a linked folder would be listed (its names printed) before each photo in it is
    // refused by `load_owned`: the whole import is refused, before anything is read. A relative
    // path is refused too: it starts from a working folder the shell may have reached through a
    // link (`cd ~user/linked; unlock enrol user .`), which no check of the path itself can see.
    // That nothing was imported is the enrolment's to say (it was said twice; journey s35 #3).
    if owners.is_some() {
        if let Some(relative) = inputs.iter().find(|i| i.is_relative()) {
            anyhow::bail!(
                "{} is a relative path; as root, give photos by their absolute path (the \
                 working folder may have been reached through a link)",
                Shown(relative)
            );
        }
        if let Some(link) = inputs.iter().find_map(|i| crate::bounded::link_on(i)) {
            anyhow::bail!(
                "{} is a symbolic link, and no link in a path a user may have made is followed \
                 here: give the path without links",
                Shown(&link)
            );
        }
    }
    let files = image_files(inputs);
    // Counted before any is read, as root enrolling an account.
    if owners.is_some() && files.len() > MAX_ENROL_BATCH {
        anyhow::bail!(
            "{} photos given; an account is enrolled from at most {} at once (a handful is \
             enough): choose some",
            files.len(),
            MAX_ENROL_BATCH
        );
    }
    if files.is_empty() {
        // Nothing was read, so there is no verdict on a photo to give (exit 1 means "some
        // refused"): bad input, as a missing file is.
        anyhow::bail!(
            "no photo to import: give {} files, or folders holding them",
            crate::imageio::listing::PHOTOS
        );
    }
    let (mut refused, mut skipped, mut unreadable, mut untrusted) = (0, 0, 0, 0);
    let mut sources = std::collections::HashMap::new();
    let bar = super::progress::bar(files.len() as u64, "images");
    for path in &files {
        bar.inc(1);
        let added = match engine.add_file(gallery, path, owners) {
            Ok(added) => added,
            Err(e) => {
                bar.finish_and_clear();
                return Err(e.into());
            }
        };
        match added {
            Added::Saved { stored, quality: q } => {
                sources.insert(stored.meta.id, path.clone());
                super::progress::line(
                    &bar,
                    format!(
                        "saved {} from {} (eyes {:.0} px, sharpness {:.0}, brightness {:.0})",
                        stored.meta.id,
                        Shown(path),
                        q.eye_distance,
                        q.sharpness,
                        q.brightness
                    ),
                );
            }
            Added::AlreadyStored(existing) => {
                skipped += 1;
                super::progress::line(
                    &bar,
                    format!(
                        "skipped {}: the same image is already stored ({existing})",
                        Shown(path)
                    ),
                );
            }
            Added::Refused(e) => {
                refused += 1;
                unreadable += usize::from(matches!(e, crate::Error::Image(_)));
                untrusted += usize::from(matches!(
                    e,
                    crate::Error::Image(crate::imageio::ImageError::Untrusted { .. })
                ));
                super::progress::line(
                    &bar,
                    format!(
                        "{}{}: {}",
                        crate::shown::REFUSED,
                        Shown(path),
                        crate::shown::Reason(&e)
                    ),
                );
            }
        }
    }
    bar.finish_and_clear();
    // A file that is not a readable image is bad input (2), as for `detect`; a photo the
    // quality gate turned down is a verdict on the photo (1).
    let code = if unreadable > 0 {
        exit::ERROR
    } else if refused == 0 && sources.len() + skipped > 0 {
        exit::OK
    } else {
        exit::DIFFERENT
    };
    Ok(Imported {
        code,
        saved: sources,
        already_stored: skipped,
        refused,
        unreadable,
        untrusted,
    })
}

/// What `user reset` and `unlock reset` say: the lock they lifted, or that there was none
/// (it said it had cleared one either way).
pub(super) fn reset_said(held: Option<crate::auth::lockout::Lock>, what: &str) -> String {
    match held {
        // "lifted the lock: locked out for 30 more s" read as still locked (journey s33).
        Some(lock) => format!(
            "lifted the lock (it was {}); face {what} is on again",
            lock.brief()
        ),
        None => format!(
            "not locked out; face {what} was on (failed attempts counted toward a lock-out, if \
             any, are cleared)"
        ),
    }
}

pub fn negatives(cli: &Cli, cmd: &NegativesCommand) -> anyhow::Result<u8> {
    match cmd {
        NegativesCommand::Add { inputs } => import(cli, &Gallery::Negatives, inputs),
        NegativesCommand::Count => {
            println!("{}", cli.store()?.faces(&Gallery::Negatives)?.len());
            Ok(exit::OK)
        }
        NegativesCommand::List { json } => {
            let rows = image_rows(&cli.store()?, &Gallery::Negatives, None)?;
            show_rows(
                &rows,
                *json,
                &format!("no negatives yet (`{FACEGATE} negatives add IMG_OR_DIR...`)"),
            )?;
            Ok(exit::OK)
        }
        NegativesCommand::Remove { ids } => {
            let store = cli.store()?;
            let ids = distinct(ids);
            let found = found_all(&ids, "the negatives", |id| {
                Ok(store.has_face(&Gallery::Negatives, id)?.then_some(()))
            })
            // A person's image id, from capture's warnings among the negative checks' (journey
            // s42 #14).
            .map_err(|e| whose(e, &store, None, &ids))?;
            for (id, ()) in found {
                store.delete_face(&Gallery::Negatives, id)?;
                println!("removed negative {id}");
            }
            Ok(exit::OK)
        }
    }
}

/// `ids` in the order given, each once.
fn distinct(ids: &[uuid::Uuid]) -> Vec<uuid::Uuid> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// `e` (ids not found), with whose image the first of `ids` is that belongs to someone other
/// than `except`, and the command that deletes it.
fn whose(
    e: anyhow::Error,
    store: &crate::store::Store,
    except: Option<&str>,
    ids: &[uuid::Uuid],
) -> anyhow::Error {
    match elsewhere(store, except, ids) {
        Some((other, id)) => anyhow::anyhow!(
            "{e}; {id} is {other}'s image ({})",
            forget_command(&other, [id].iter())
        ),
        None => e,
    }
}

/// The first of `ids` that is an image of someone other than `except`, and whose.
fn elsewhere(
    store: &crate::store::Store,
    except: Option<&str>,
    ids: &[uuid::Uuid],
) -> Option<(String, uuid::Uuid)> {
    let people = store.people().ok()?;
    ids.iter().find_map(|&id| {
        people
            .iter()
            .filter(|p| Some(p.as_str()) != except)
            .find_map(|other| {
                ImageKind::ALL
                    .into_iter()
                    .any(|kind| {
                        let gallery = Gallery::Person {
                            name: other.clone(),
                            kind,
                        };
                        store.has_face(&gallery, id).unwrap_or(false)
                    })
                    .then(|| (other.clone(), id))
            })
    })
}

/// Where each of `ids` is (`locate`: `None` when nowhere in `among`), or an error naming every
/// id that is not there: a deletion by ids deletes all of them or none, so a typo in one of
/// several pasted ids leaves nothing half done behind an error.
fn found_all<T>(
    ids: &[uuid::Uuid],
    among: &str,
    mut locate: impl FnMut(uuid::Uuid) -> anyhow::Result<Option<T>>,
) -> anyhow::Result<Vec<(uuid::Uuid, T)>> {
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for &id in ids {
        match locate(id)? {
            Some(at) => found.push((id, at)),
            None => missing.push(id.to_string()),
        }
    }
    anyhow::ensure!(
        missing.is_empty(),
        "{} not among {among}; nothing was deleted",
        match missing.as_slice() {
            [one] => format!("{one} is"),
            many => format!("{} are", many.join(", ")),
        }
    );
    Ok(found)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_saved_time_no_date_can_show_is_said_as_a_number() {
        assert_eq!(super::saved_at(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::saved_at(253_402_300_800),
            "at unix time 253402300800"
        );
        assert_eq!(
            super::saved_at(u64::MAX),
            format!("at unix time {}", u64::MAX)
        );
    }
}

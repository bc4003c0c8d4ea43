//! `facegate unlock enrol|list|remove|test` and `facegate daemon`: system face unlock. Enrolment
//! writes the root-owned store, so it runs as root only; `test` asks the daemon exactly as the PAM
//! module does and prints what a person at the login prompt would see.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use facegate_proto::socket;
use facegate_proto::{Outcome, Request};

use uuid::Uuid;

use super::people::{Imported, MAX_ENROL_BATCH};
use super::{Cli, exit};
use crate::engine::adding::SavedWarning;
use crate::shown::{Escaped, Shown};
use crate::store::{CROP_MAX_SIDE, Gallery, ImageKind, Owner, Store};
use crate::unlock::account::{Holder, Records};
use crate::unlock::config::Commands;
use crate::unlock::gate::{self, Answer};
use crate::unlock::{SystemConfig, daemon};

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The system config (root-owned)
    #[arg(long, default_value = facegate_proto::DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum UnlockCommand {
    /// Enrol USER for face unlock from photos or folders (quality-checked); root only. Exit 0
    /// enrolled (a photo turned down beside others kept is named), 1 nothing of the batch kept,
    /// 2 error (a file that cannot be read or trusted too)
    Enrol(EnrolArgs),
    /// Accounts enrolled for face unlock, with their image counts; root only
    List {
        /// Print JSON: each account's images, state, reason and the command that lifts it
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Remove USER from face unlock (images, cache); the audit lines of their attempts stay;
    /// root only
    Remove {
        user: String,
        /// Also remove the audit-log lines and saved frames of their attempts (also for an
        /// account already removed)
        #[arg(long)]
        wipe: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Lift USER's lock-out after repeated failures (they signed in another way); root only
    Reset {
        user: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// One attempt for USER (default: the account running it) through the daemon, exactly as
    /// PAM makes it; prints the prompts. Exit 0 unlocked, 1 refused (a lock-out or pause too:
    /// the verdict's text says which), 2 not tried (not enrolled, no daemon, unavailable)
    Test {
        /// The account to unlock; a user may test only their own (journey s38: it had to be
        /// typed, though it can be no other)
        user: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Args)]
pub struct EnrolArgs {
    pub user: String,
    #[arg(required_unless_present = "from_user_store")]
    pub inputs: Vec<PathBuf>,
    /// Copy the verification images of USER's own FaceGate data (default
    /// ~USER/.local/share/facegate; it must belong to USER), each checked again
    #[arg(long, value_name = "DATA_DIR", num_args = 0..=1)]
    pub from_user_store: Option<Option<PathBuf>>,
    /// The person in that data (default: USER)
    #[arg(long, requires = "from_user_store")]
    pub person: Option<String>,
    /// ACCOUNT, enrolled already, is the same person as USER (one person with two
    /// accounts): photos that show ACCOUNT's face are not refused, now or when either account
    /// is added to later
    #[arg(long, value_name = "ACCOUNT")]
    pub same_person_as: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Listen here instead of the config's socket (tests)
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// An account this command added and left with no image goes again: no empty entry stays
/// ("0 images, not used") after a refused enrolment. Only when its images are known to be
/// none: a listing that fails removes nothing.
fn undo_new(store: &Store, user: &str, gallery: &Gallery) -> anyhow::Result<()> {
    if store.faces(gallery).is_ok_and(|f| f.is_empty()) {
        store.remove_person(user)?;
    }
    Ok(())
}

/// Why an enrolment that saved images is taken back, if it is: the account's images would not
/// all show one person, or one of them shows another account enrolled (not one person's with
/// it in `links`), or either could not be checked, or none shows an account `links` names for
/// the first time. Face unlock fails closed here, where the
/// desk only warns: a stranger's photo among an account's lets the stranger in as that
/// account, and one face enrolled for two accounts lets each person in as the other.
fn refusal(
    warnings: &[SavedWarning],
    user: &str,
    links: Links,
    saved: &HashMap<Uuid, PathBuf>,
    commands: &Commands,
) -> Option<Vec<String>> {
    let same_person = links.all;
    let file = |id: &Uuid| {
        saved.get(id).map_or_else(
            || format!("{user}'s image {id} (enrolled before)"),
            |path| crate::shown::Shown(path).to_string(),
        )
    };
    let mut lines = Vec::new();
    let mut shown_others = std::collections::BTreeSet::new();
    // Images that fit none of the account's others: one of them showing another account is
    // that person's face, not a second account of this one, and linking the two would let
    // each in as the other (journey s38 #3: it was offered, and refused again when followed).
    let odd: Vec<Uuid> = warnings
        .iter()
        .filter_map(|w| match w {
            SavedWarning::NotOnePerson(mixed) => Some(mixed.odd.iter().map(|o| o.id)),
            _ => None,
        })
        .flatten()
        .collect();
    for warning in warnings {
        match warning {
            SavedWarning::NotOnePerson(mixed) => {
                lines.push(format!(
                    "{user}'s images would not all show one person (a stranger's photos among \
                     {user}'s would let the stranger in as {user}):"
                ));
                lines.extend(mixed.odd.iter().map(|odd| {
                    format!(
                        "  {} matches {} of the {} others",
                        file(&odd.id),
                        odd.matches,
                        odd.others
                    )
                }));
                // What to do, as every reason here says (it gave none; journey s39 #15).
                lines.push(format!(
                    "  leave out photos that are not {user}'s; if they are, enrol them with more \
                     of {user} in that light and pose"
                ));
                // Said only where it is so: it followed every refusal of an account already
                // enrolled, one for another account's face too (journey s32 #8).
                if mixed.odd.iter().any(|odd| !saved.contains_key(&odd.id)) {
                    lines.push(format!(
                        "  (an image enrolled before is among them: {} without it)",
                        commands.re_enrol(user)
                    ));
                }
            }
            SavedWarning::ShowsAnother { id, other } if !same_person.contains(other) => {
                lines.push(format!(
                    "{} shows {other}, who is enrolled for face unlock: one face enrolled for \
                     two accounts lets each in as the other",
                    file(id)
                ));
                if !odd.contains(id) {
                    shown_others.insert(other);
                }
            }
            // One that is about this batch; a copy's check is advice (review s38).
            SavedWarning::Unchecked { .. } if warning.about_the_save() => {
                lines.push(format!(
                    "{} (face unlock enrols nothing it could not check)",
                    warning.text(
                        &Gallery::Person {
                            name: user.to_owned(),
                            kind: ImageKind::Verification,
                        },
                        |id| file(&id),
                    )
                ));
            }
            _ => {}
        }
    }
    // Once for each account shown, after its images (it followed every one; journey s34 #9).
    lines.extend(shown_others.into_iter().map(|other| {
        format!("(if {user} and {other} are one person's accounts, add `--same-person-as {other}`)")
    }));
    // A link not made before needs a face of the account named in the batch: naming an
    // account by a slip linked two people's in silence (journey s34).
    let shown = |named: &str| {
        warnings
            .iter()
            .any(|w| matches!(w, SavedWarning::ShowsAnother { other, .. } if other == named))
    };
    for named in links.new.iter().filter(|named| !shown(named)) {
        lines.push(format!(
            "none of these images shows {named}, so {user} and {named} are not recorded as one \
             person's accounts (--same-person-as names the enrolled account of the person in the \
             photos)"
        ));
    }
    (!lines.is_empty()).then_some(lines)
}

/// The accounts an enrolment is one person's with: `all` (named now or before), of which `new`
/// are named now for the first time.
#[derive(Clone, Copy)]
struct Links<'a> {
    all: &'a [String],
    new: &'a [&'a String],
}

/// After an import stopped by a store failure: the faces this run saved (those not listed
/// `before` it) are deleted, and the account, if this run added it.
fn undo_partial(
    engine: &mut crate::engine::Engine,
    user: &str,
    gallery: &Gallery,
    before: &[std::ffi::OsString],
    first: bool,
) -> anyhow::Result<()> {
    for face in engine.store().faces(gallery)? {
        if !before.contains(&face.sidecar_name()) {
            engine.delete_face(gallery, face.meta.id)?;
        }
    }
    if first {
        undo_new(engine.store(), user, gallery)?;
    }
    Ok(())
}

/// Takes an enrolment back whole: this run's images are deleted (and the account, if this run
/// added it), so the store is as it was and the account unlocks as before or not at all. Exit
/// 1, with `why`.
fn take_back(
    engine: &mut crate::engine::Engine,
    user: &str,
    first: bool,
    imported: &Imported,
    why: &[String],
    commands: &Commands,
) -> anyhow::Result<u8> {
    let saved = &imported.saved;
    let gallery = &Gallery::Person {
        name: user.to_owned(),
        kind: ImageKind::Verification,
    };
    // Every one tried, and the first failure said after the refusal: stopping at it kept the
    // rest and said nothing of the refusal.
    let mut failed = None;
    for id in saved.keys() {
        if let Err(e) = engine.delete_face(gallery, *id) {
            failed.get_or_insert(e);
        }
    }
    // The batch's refusal, told from the photos the quality gate turned down one by one
    // ("refused FILE: …" above, counted in the tally): each reason on its own line (the first
    // shared the heading's; review s35).
    eprintln!("refused, this batch as a whole:");
    for line in why {
        eprintln!("  {line}");
    }
    let undone = match failed {
        None if first => undo_new(engine.store(), user, gallery),
        None => Ok(()),
        Some(e) => Err(e.into()),
    };
    undone.context(format!(
        "not every image saved above could be deleted again: {}",
        remove_before_login(commands, user)
    ))?;
    // On stdout, once every image saved is deleted again: the batch's outcome, where a script
    // reads it (a "saved" stood there alone; journey s33).
    println!("{}", imported.tally("taken back"));
    let gone = if saved.is_empty() {
        ""
    } else {
        ": the images saved above were deleted again"
    };
    println!(
        "Nothing of this batch was kept{gone} (each reason under \"refused\" says what to do)."
    );
    // A file that could not be read or trusted is an error whether or not the batch was kept
    // (it exited 2 when kept, 1 when taken back; review s35).
    Ok(match imported.code {
        exit::ERROR => exit::ERROR,
        _ => exit::DIFFERENT,
    })
}

/// A store error about `user` as the `unlock` commands say it: an unknown name points to the
/// system's own listing, not the desk's `user list` the store's error names; any other error
/// (a link planted in the store) is said as it is.
fn not_enrolled(e: crate::store::StoreError, user: &str, commands: &Commands) -> anyhow::Error {
    match e {
        crate::store::StoreError::UnknownPerson(_) => anyhow::anyhow!(
            "{} is not enrolled for face unlock (see {})",
            Escaped(user),
            commands.unlock(&["list"])
        ),
        e => e.into(),
    }
}

/// `unlock remove USER [--wipe]`: what was removed, as root is told it.
fn remove(store: &Store, user: &str, wipe: bool, commands: &Commands) -> anyhow::Result<String> {
    let said = |e| not_enrolled(e, user, commands);
    if wipe {
        // A name already removed still has its lines to wipe.
        let r = store.wipe_person(user).map_err(said)?;
        return Ok(format!(
            "{user} has no face unlock and no record of it now; removed {r}"
        ));
    }
    store.remove_person(user).map_err(|e| match e {
        // Removed before, its record may stay: said how that goes too, where it does (it was
        // offered for any name, a mistyped one too; journey s36 #16).
        crate::store::StoreError::UnknownPerson(_) if store.audit_lines_about(user) > 0 => {
            anyhow::anyhow!(
                "{}; the record of its attempts, kept from before, goes with {}",
                said(e),
                commands.unlock(&["remove", user, "--wipe"])
            )
        }
        e => said(e),
    })?;
    // Root's record of who tried to unlock the account, kept as a removed account's logins
    // are kept in auth.log (its only trace of a stranger's five attempts went with the
    // enrolment; journey s32 #11). Offered only where there is one: never tried, `--wipe` then
    // said "not enrolled" (review s38 M4, as journey s38 #2 for the desk).
    let removed = format!(
        "{user} no longer unlocks with their face; their images and cached embeddings are removed"
    );
    Ok(match store.audit_lines_about(user) {
        0 => removed,
        n => format!(
            "{removed}; {} of their attempts and the frames saved of those refused (face \
             pictures) stay ({} removes those too)",
            crate::shown::counted(n, "audit-log line", "audit-log lines"),
            commands.unlock(&["remove", user, "--wipe"])
        ),
    })
}

/// What root is to do when images of a batch that was not kept could not all be deleted: they
/// would unlock the account.
fn remove_before_login(commands: &Commands, user: &str) -> String {
    format!(
        "{} before {user} next logs in",
        commands.unlock(&["remove", user])
    )
}

fn require_root() -> anyhow::Result<()> {
    anyhow::ensure!(
        rustix::process::geteuid().is_root(),
        "system face unlock is managed as root (run with sudo): its store and config are root-owned"
    );
    Ok(())
}

/// The verification images of `person` in `user`'s own store, copied into a private temporary
/// folder to be imported (and so checked again) like any photo. The store is opened as `user`'s
/// (owned by them, no link followed) and only read.
fn copy_user_store(
    user: &str,
    uid: u32,
    dir: Option<&std::path::Path>,
    person: Option<&str>,
    commands: &Commands,
    users_mounts: &crate::unlock::userfs::UsersMounts,
) -> anyhow::Result<tempfile::TempDir> {
    let dir = match dir {
        Some(dir) => dir.to_owned(),
        None => {
            let home = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))?
                .map(|u| u.dir)
                .ok_or_else(|| anyhow::anyhow!("{user} has no home folder"))?;
            home.join(".local/share/facegate")
        }
    };
    let shown = crate::shown::Shown(&dir);
    if let Some(why) = users_mounts.refusal([dir.as_path()]) {
        anyhow::bail!("{why}; nothing was enrolled");
    }
    let store = Store::open_to_read(&dir, Owner::Uid(uid)).with_context(|| {
        format!(
            "{user}'s FaceGate data cannot be read at {shown}; enrol {user} from photos instead"
        )
    })?;
    let person = person.unwrap_or(user);
    let faces = store.faces(&Gallery::Person {
        name: person.to_owned(),
        kind: ImageKind::Verification,
    });
    // The desk's "see `facegate user list`" named root's own store, not the one read here
    // (journey s35 #4).
    let faces = match faces {
        Err(crate::store::StoreError::UnknownPerson(_)) => {
            let people = store.people().unwrap_or_default();
            anyhow::bail!(
                "{shown} has no person called {}; {}",
                Escaped(person),
                match people.is_empty() {
                    true => "nobody is enrolled there".to_owned(),
                    false => format!(
                        "choose one of {} with --person NAME",
                        people
                            .iter()
                            .map(|p| Escaped(p).to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            );
        }
        faces => faces?,
    };
    anyhow::ensure!(
        !faces.is_empty(),
        "{person} has no verification images in {shown}"
    );
    // Each copy is written to root's temporary folder before any check: unbounded, one large
    // PNG hard-linked under many ids in the user's store became a full copy each, and filled
    // the disk (red team s38 F1). A desk store's own crops are small, and a handful enrols.
    let distinct: std::collections::HashSet<&str> =
        faces.iter().map(|f| f.meta.sha256.as_str()).collect();
    anyhow::ensure!(
        distinct.len() <= MAX_ENROL_BATCH,
        "{person} has {} verification images in {shown}; at most {MAX_ENROL_BATCH} are \
         enrolled from a store: enrol chosen photos instead ({})",
        distinct.len(),
        commands.unlock(&["enrol", user, "PHOTOS..."])
    );
    // Named for what they are, each by its id in the user's store (`facegate user forget`
    // takes it): the lines below name these copies, and a bare temporary path said nothing.
    let out = tempfile::Builder::new()
        .prefix("facegate-copies-from-user-store-")
        .tempdir()?;
    let mut copied = std::collections::HashSet::new();
    for face in &faces {
        // The same crop under two ids (its sidecar's hash, which load_crop holds it to) is
        // copied once.
        if !copied.insert(face.meta.sha256.as_str()) {
            println!(
                "skipped {}: the same image as another of {person}'s, copied once",
                face.meta.id
            );
            continue;
        }
        let img = store.load_crop(face)?;
        anyhow::ensure!(
            img.width().max(img.height()) <= CROP_MAX_SIDE,
            "{} in {shown} is {}×{}, larger than any face FaceGate saves ({CROP_MAX_SIDE} px a \
             side), so FaceGate did not save it; nothing was added",
            face.meta.id,
            img.width(),
            img.height()
        );
        let copy = out.path().join(format!("{}.png", face.meta.id));
        img.save(&copy)?;
        // Its owner's alone whatever the umask (pkexec keeps the caller's, 002 with user
        // private groups): the import refuses a photo others can write.
        std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    println!(
        "copying {} of {person} from {shown} into {}, each named by its id there (deleted when \
         this ends)",
        crate::shown::counted(copied.len(), "verification image", "verification images"),
        crate::shown::Shown(out.path())
    );
    Ok(out)
}

/// `unlock enrol`: the account's photos into the system store, checked as one person's and no
/// other account's, or taken back whole.
fn enrol(cli: &Cli, args: &EnrolArgs) -> anyhow::Result<u8> {
    let EnrolArgs {
        user,
        inputs,
        from_user_store,
        person,
        same_person_as,
        config,
    } = args;
    require_root()?;
    // Before anything of a user's is looked at, and before any other thread starts: no file
    // system a user serves is reachable from here on (the race session 38 left open, and one
    // moved in by a rename; review s39 M1). Refused where that cannot be made sure (M2).
    let users_mounts = match crate::unlock::userfs::keep_users_mounts_out() {
        Ok(set_aside) => set_aside,
        Err(why) => anyhow::bail!("{why}; nothing was enrolled"),
    };
    let config = SystemConfig::load(&config.config)?;
    let commands = config.commands();
    let Some(account) = Holder::of(user) else {
        anyhow::bail!("{} is not an account on this system", Escaped(user));
    };
    let uid = account.uid();
    // A photo on a file system set aside is refused by name, not read from the folder beneath
    // it (it was "not found", or what lay hidden beneath; final read s39 F2); one inside a
    // folder given is said to be left out.
    if let Some(why) = users_mounts.refusal(inputs.iter().map(PathBuf::as_path)) {
        anyhow::bail!("{why}; nothing was enrolled");
    }
    for note in users_mounts.notes(inputs.iter().map(PathBuf::as_path)) {
        eprintln!("note: {note}");
    }
    let copied = match from_user_store {
        Some(dir) => Some(copy_user_store(
            user,
            uid,
            dir.as_deref(),
            person.as_deref(),
            &commands,
            &users_mounts,
        )?),
        None => None,
    };
    let inputs: Vec<PathBuf> = match &copied {
        Some(folder) => vec![folder.path().to_owned()],
        None => inputs.clone(),
    };
    // The models load before anything is added: one that is missing leaves no entry.
    let mut engine = crate::engine::Engine::for_unlock(
        &cli.models()?,
        config.open_store()?,
        config.verify.clone(),
    )?;
    let store = engine.store();
    // An account named as the same person must be another one enrolled, for an account it
    // records: a name mistyped there would be ignored without a word, and an enrolment that
    // does not say whose it is cannot be linked (it was said only once the batch was kept).
    let records = Records::load(store);
    for other in same_person_as {
        anyhow::ensure!(
            other != user,
            "--same-person-as names another enrolled account of the same person, not {}",
            Escaped(user)
        );
        store
            .require_person(other)
            .map_err(|e| not_enrolled(e, other, &commands))
            .context("--same-person-as names an enrolled account")?;
        anyhow::ensure!(
            records.for_an_account(other),
            "--same-person-as names an enrolment that records its account: {}'s does not (see {})",
            Escaped(other),
            commands.unlock(&["list"])
        );
    }
    // One enrolment at a time: what another one is in the middle of would read as damaged.
    let Some(_enrolling) = store.hold_for_enrolment()? else {
        anyhow::bail!(
            "another `unlock enrol` is running on the store {}; wait for it to end, then run \
             this again (nothing was enrolled)",
            crate::shown::Shown(store.root())
        );
    };
    let first = store.require_person(user).is_err();
    if first {
        store.add_person(user)?;
    } else if let Err(why) = crate::unlock::account::may_add(store, user, &account, &commands) {
        // Added to, the old account's faces would unlock the new one.
        anyhow::bail!(why);
    }
    let gallery = Gallery::Person {
        name: user.clone(),
        kind: ImageKind::Verification,
    };
    // What was there before this run: what an import stopped part-way takes back is
    // the rest. Not listed, nothing is imported (the import would fail the same way).
    let before = match engine.store().face_names(&gallery) {
        Ok(names) => names,
        Err(e) => {
            if first {
                undo_new(engine.store(), user, &gallery)?;
            }
            return Err(e.into());
        }
    };
    // Root reads these for the account: a photo somebody else planted in the folder (or
    // a link to one) is not theirs to give.
    let imported = super::people::import_into(&mut engine, &gallery, &inputs, Some(&[0, uid]));
    let imported = match imported {
        Ok(imported) => imported,
        Err(e) => {
            // A store failure part-way (a full disk): what this run saved goes again,
            // since none of it was checked (it would have unlocked the account).
            return Err(
                match undo_partial(&mut engine, user, &gallery, &before, first) {
                    Ok(()) => e.context("nothing of this enrolment was kept"),
                    Err(undo) => e.context(format!(
                        "what this enrolment saved may be left ({undo:#}): {}",
                        remove_before_login(&commands, user)
                    )),
                },
            );
        }
    };
    if first {
        undo_new(engine.store(), user, &gallery)?;
    }
    // In their paths' order: the reasons below followed the map's, a random one (journey s36
    // #14).
    let mut ids: Vec<Uuid> = imported.saved.keys().copied().collect();
    ids.sort_by(|a, b| imported.saved[a].cmp(&imported.saved[b]));
    let warnings = engine.after_saving(&gallery, &ids);
    // Named now, or for either account before.
    let linked = records.one_person_with(user);
    let mut same_person = same_person_as.clone();
    same_person.extend(linked.iter().cloned());
    let new_links: Vec<&String> = same_person_as
        .iter()
        .filter(|named| !linked.contains(named))
        .collect();
    let links = Links {
        all: &same_person,
        new: &new_links,
    };
    if let Some(why) = refusal(&warnings, user, links, &imported.saved, &commands) {
        return take_back(&mut engine, user, first, &imported, &why, &commands);
    }
    // Kept, and said: an image unlike the account's others that did not make them two
    // people's (a very different photo of them, or someone else's among many of theirs).
    // The exit status answers "is face unlock on with these photos": photos the quality
    // gate turned down beside others saved (or already stored) are named above, and
    // still exit 0 (exit 1 read as "not enabled" in the window, and in scripts, for an
    // account enrolled; design review s32 D3). A file that could not be read or
    // trusted stays an error.
    let code = match imported.code {
        exit::DIFFERENT if !imported.saved.is_empty() || imported.already_stored > 0 => exit::OK,
        code => code,
    };
    // A near copy too: it counts twice where the account's images vote.
    for warning in &warnings {
        if matches!(warning, SavedWarning::Unlike(_) | SavedWarning::NearCopy(_)) {
            let what = |id: Uuid| {
                imported
                    .saved
                    .get(&id)
                    .map_or_else(|| id.to_string(), |p| Shown(p).to_string())
            };
            eprintln!(
                "warning: {} ({} without it)",
                warning.text(&gallery, what),
                commands.re_enrol(user)
            );
        }
    }
    println!("{}", imported.tally("saved"));
    let enrolled = engine.store().faces(&gallery).map_or(0, |f| f.len());
    if enrolled > 0 {
        let recorded =
            crate::unlock::account::record(engine.store(), user, &account, same_person_as)?;
        for named in &recorded.unlinked {
            eprintln!(
                "warning: {user} is not recorded as one person's with {named}: {named}'s \
                 enrolment is not used (see {})",
                commands.unlock(&["list"])
            );
        }
        if let Some(note) = recorded.unguarded {
            eprintln!("warning: {user}: {note}");
        }
    }
    if enrolled == 0 {
        // "Stays off" read oddly for an account never enrolled (journey s35 #3).
        let was = if first { "nothing was enrolled: " } else { "" };
        println!("{was}{user} has no verification image, so face unlock stays off for them");
    } else {
        // "Can now" read as news when nothing was added (journey s34).
        let news = if imported.saved.is_empty() {
            "unlocks with their face, nothing new added:"
        } else {
            "can now unlock with their face,"
        };
        println!(
            "{user} {news} from {} (try {})",
            crate::shown::counted(enrolled, "image", "images"),
            commands.unlock(&["test", user])
        );
        // One or two images: on, but matched less often than the measured figures, which
        // are for 3 or more, say (journey s36 #14).
        if enrolled < 3 {
            println!(
                "note: from fewer than 3 images, {user} is matched less often than the README's \
                 figures (for 3 or more) say: add photos from other days and angles with {}",
                commands.unlock(&["enrol", user, "PHOTOS..."])
            );
        }
    }
    Ok(code)
}

/// `unlock list`: each enrolled account and what a login would get now.
/// One account as `unlock list --json` gives it: what the listing's line says, in fields.
#[derive(serde::Serialize)]
struct ListedAccount {
    user: String,
    images: usize,
    /// ready, not_enrolled, not_used, unavailable or locked.
    state: &'static str,
    /// Why it is not ready.
    reason: Option<String>,
    /// The command that makes it ready, where one does.
    remedy: Option<String>,
    /// Where `state` is locked: which lock and for how long, as `user list --json` gives it.
    lock: Option<crate::auth::lockout::LockShown>,
    /// Accounts named as the same person as this one.
    same_person_as: Vec<String>,
    note: Option<&'static str>,
}

fn list(cli: &Cli, config: &ConfigArg, json: bool) -> anyhow::Result<u8> {
    require_root()?;
    let config = SystemConfig::load(&config.config)?;
    let commands = config.commands();
    let store = config.open_store()?;
    // The daemon's models and settings, to say what a login would get; without them,
    // what the store alone says (an account listed, locked or not, is still worth
    // knowing when the models are what is broken).
    let models = cli.models().and_then(|m| {
        Ok(crate::engine::Engine::for_unlock(
            &m,
            config.open_store()?,
            config.verify.clone(),
        )?)
    });
    let mut engine = models
        .inspect_err(|e| {
            eprintln!(
                "warning: the models cannot be loaded ({e:#}): whether each account's \
                 images load and show one person is not checked here"
            )
        })
        .ok();
    let people = store.people()?;
    let records = Records::load(&store);
    if people.is_empty() && !json {
        println!(
            "no account is enrolled for face unlock ({} enrols one)",
            commands.unlock(&["enrol", "USER", "PHOTOS..."])
        );
    }
    // Every answer first: a link is shown with whether the enrolment it names is used.
    let answers: Vec<(String, Answer)> = people
        .into_iter()
        .map(|user| {
            let account = Holder::of(&user);
            let answer = match engine.as_mut() {
                Some(engine) => gate::status_deep(engine, &user, account.as_ref(), &commands),
                None => gate::status(&store, &user, account.as_ref(), &commands),
            };
            (user, answer)
        })
        .collect();
    let unused = |name: &str| {
        answers.iter().any(|(user, answer)| {
            user == name
                && matches!(
                    answer,
                    Answer::NotEnrolled | Answer::Unreadable(_) | Answer::NotUsed(_)
                )
        })
    };
    let mut listed = Vec::new();
    for (user, answer) in &answers {
        let user = user.as_str();
        // Counted as the gate counts them: the sidecars listed.
        let n = store
            .face_names(&Gallery::Person {
                name: user.to_owned(),
                kind: ImageKind::Verification,
            })
            .map_or(0, |f| f.len());
        // Whose face may unlock this account besides its own: named by root, and shown, with
        // a link to an enrolment not used said so (it showed as any other; journey s34).
        let linked: Vec<String> = records
            .one_person_with(user)
            .into_iter()
            .map(|l| match unused(&l) {
                true => format!("{l} (its enrolment is not used)"),
                false => l,
            })
            .collect();
        if json {
            let (state, reason, remedy) = match answer {
                Answer::Ready => ("ready", None, None),
                Answer::NotEnrolled => (
                    "not_enrolled",
                    Some("no verification image".to_owned()),
                    Some(commands.unlock(&["enrol", user, "PHOTOS"])),
                ),
                Answer::Unreadable(why) => (
                    "not_used",
                    Some(format!("their images cannot be listed ({why})")),
                    None,
                ),
                Answer::NotUsed(why) => ("not_used", Some(why.clone()), None),
                Answer::Unavailable(why) => ("unavailable", Some(why.clone()), None),
                Answer::Locked(lock) => (
                    "locked",
                    Some(lock.brief()),
                    Some(commands.unlock(&["reset", user])),
                ),
            };
            // Without the backquotes a message puts round a command.
            let remedy = remedy.map(|r| r.trim_matches('`').to_owned());
            let lock = match (answer, &remedy) {
                (Answer::Locked(lock), Some(remedy)) => Some(lock.shown(remedy.clone())),
                _ => None,
            };
            listed.push(ListedAccount {
                user: user.to_owned(),
                images: n,
                state,
                reason,
                lock,
                remedy,
                same_person_as: linked,
                note: records.unguarded(user),
            });
            continue;
        }
        let images = crate::shown::counted(n, "image", "images");
        // What a login would answer now, and what lifts it.
        match answer {
            Answer::Ready => println!("{user:<24} {images}"),
            Answer::NotEnrolled => println!(
                "{user:<24} not enrolled: no verification image ({})",
                commands.unlock(&["enrol", user, "PHOTOS"])
            ),
            Answer::Unreadable(why) => {
                println!("{user:<24} not used: their images cannot be listed ({why})")
            }
            Answer::NotUsed(why) => println!("{user:<24} {images}, not used: {why}"),
            Answer::Unavailable(why) => {
                println!("{user:<24} {images}, unavailable: {why}")
            }
            Answer::Locked(lock) => {
                // Why a record cannot be read, which the gate's answer leaves out (it is
                // logged under the daemon's limit; review s35 #6).
                let why = match lock {
                    crate::auth::lockout::Lock::Unreadable => {
                        crate::engine::attempts::read_lock(&store, user)
                            .err()
                            .map_or(String::new(), |e| format!(": {}", crate::shown::Reason(&e)))
                    }
                    _ => String::new(),
                };
                println!(
                    "{user:<24} {images}; {}{why} ({} lifts it)",
                    lock.brief(),
                    commands.unlock(&["reset", user])
                )
            }
        }
        if !linked.is_empty() {
            println!(
                "{:<24} one person's accounts with {}",
                "",
                linked.join(", ")
            );
        }
        if let Some(note) = records.unguarded(user) {
            println!("{:<24} {note}", "");
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
    }
    Ok(exit::OK)
}

pub fn run(cli: &Cli, cmd: &UnlockCommand) -> anyhow::Result<u8> {
    match cmd {
        UnlockCommand::Enrol(args) => enrol(cli, args),
        UnlockCommand::List { config, json } => list(cli, config, *json),
        UnlockCommand::Remove { user, wipe, config } => {
            require_root()?;
            let config = SystemConfig::load(&config.config)?;
            let store = config.open_store()?;
            let commands = config.commands();
            let removed = remove(&store, user, *wipe, &commands);
            // Dropped only once the account is not enrolled (removed now, or before this was
            // done): a removal that failed part-way left it unlocking, its links with it
            // (review s35 #1).
            let removed_before = matches!(
                store.require_person(user),
                Err(crate::store::StoreError::UnknownPerson(_))
            );
            if !(removed.is_ok() || removed_before) {
                return removed.map(|_| exit::OK);
            }
            let unlinked = crate::unlock::account::unlink(&store, user);
            if let Ok(removed) = &removed {
                println!("{removed}");
            }
            if let Ok(by) = &unlinked
                && !by.is_empty()
            {
                println!(
                    "{user} is no longer named as the same person by {} (a new enrolment of \
                     {user} is linked to theirs only by --same-person-as again)",
                    by.join(", ")
                );
            }
            let unlinked = unlinked
                .map_err(|e| anyhow::anyhow!("links to {user} could not all be dropped: {e}"));
            match (removed, unlinked) {
                // An account removed before, whose links went now: that was the work to do.
                (Err(e), Ok(by)) if removed_before && !by.is_empty() => {
                    eprintln!("note: {e}");
                    Ok(exit::OK)
                }
                // The removal's own error first, then the links'.
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                (Ok(_), Ok(_)) => Ok(exit::OK),
            }
        }
        UnlockCommand::Reset { user, config } => {
            require_root()?;
            let config = SystemConfig::load(&config.config)?;
            let store = config.open_store()?;
            store
                .require_person(user)
                .map_err(|e| not_enrolled(e, user, &config.commands()))?;
            let held = crate::engine::attempts::reset_lock(&store, user)?;
            println!("{user}: {}", super::people::reset_said(held, "unlock"));
            Ok(exit::OK)
        }
        UnlockCommand::Test { user, config } => {
            let user = match user {
                Some(user) => user.clone(),
                None => crate::unlock::current_account().ok_or_else(|| {
                    anyhow::anyhow!("cannot tell which account this runs as: name USER")
                })?,
            };
            let user = &user;
            let config = SystemConfig::load(&config.config)?;
            let request = Request::Authenticate { user: user.clone() };
            // As long as the PAM module would wait, so a slow verdict fails here as it would there.
            let deadline = Instant::now() + facegate_proto::client_deadline(config.timeout);
            // The PAM module's own client: a socket reached through a link, or a daemon that is
            // not root, is not believed here either.
            let (outcome, reason) = socket::ask_daemon(&config.socket, &request, deadline, |p| {
                eprintln!("{p}");
                Ok(())
            })
            .map_err(|e| {
                anyhow::anyhow!(
                    "no answer from the daemon at {} (is it running? `systemctl status \
                     facegate.socket`, or started by hand: {}): {e}",
                    config.socket.display(),
                    config.commands().daemon()
                )
            })?;
            let said = match outcome {
                Outcome::Success => "Accepted",
                Outcome::Refused => "Refused",
                // "Ignore:" read oddly (journey s32 #12): what PAM does with it.
                Outcome::Ignore => "Ignored (PAM goes on to the password)",
            };
            println!("{said}: {reason}");
            // Root, who can lift a lock-out, is told how, as `unlock list` tells it (the
            // refusal alone did not say; journey s33).
            let root = rustix::process::geteuid().is_root();
            let locked = (outcome == Outcome::Refused && root)
                .then(|| config.open_store().ok())
                .flatten()
                .and_then(|store| crate::engine::attempts::lock_of(&store, user));
            let reset = config.commands().unlock(&["reset", user]);
            // Refused by the lock itself: the verdict named it already (journey s35).
            let by_the_lock = reason.starts_with(&crate::error::locked_out_prefix(user));
            // The one public reason a stranger, a wrong turn and a photo share.
            let shared = reason == crate::auth::attempt::Refusal::NotRecognised.public_text();
            // A hold by attempts under way too: root lifts it as any lock (review s36 #5).
            match locked {
                Some(_) if by_the_lock => println!("({reset} lifts the lock)"),
                // The lock by name: "(… lifts it)" after a refusal that had just started one
                // read as lifting the refusal (journey s34).
                Some(lock) => println!("{user} is {} ({reset} lifts it)", lock.brief()),
                // The login screen is not told which check refused a face; root is told where
                // that is said (journey s34: a wrong turn and a stranger read the same), where
                // the reason given is that shared one ("no face in view" says itself).
                None if outcome == Outcome::Refused && root && shared => println!(
                    "(which check refused it is on the daemon's log: `journalctl -u \
                     facegate.service`, or its stderr when started by hand)"
                ),
                _ => {}
            }
            Ok(match outcome {
                Outcome::Success => exit::OK,
                Outcome::Refused => exit::DIFFERENT,
                Outcome::Ignore => exit::ERROR,
            })
        }
    }
}

pub fn daemon(cli: &Cli, args: &DaemonArgs) -> anyhow::Result<u8> {
    daemon::run(&args.config.config, args.socket.as_deref(), &cli.models()?)?;
    Ok(exit::OK)
}

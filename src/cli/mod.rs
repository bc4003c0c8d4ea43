//! The `facegate` command line. Each subcommand lives in its own file; this one parses arguments,
//! sets up logging and maps outcomes to exit codes.
//!
//! The lab commands (`bench`, and `eval pairs|attributes|liveness|attempts|pad` with the plot
//! `eval pairs` draws) measure the product rather than being part of it: they are built only with
//! the `lab` feature.

mod analyze;
#[cfg(feature = "lab")]
mod bench;
mod calibrate;
mod capture;
/// Public for tests: a camera capture driven by any live source.
pub mod capture_live;
mod checked;
mod compare;
mod detect;
#[cfg(feature = "lab")]
mod eval_attempts;
#[cfg(feature = "lab")]
mod eval_attributes;
#[cfg(feature = "lab")]
mod eval_liveness;
#[cfg(feature = "lab")]
mod eval_pad;
#[cfg(feature = "lab")]
mod eval_pairs;
mod models;
mod people;
mod progress;
mod represent;
mod train;
mod unlock;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::hint::FACEGATE;
use crate::runtime::Models;
use anyhow::Context as _;

/// The parser of a folder option that an environment variable may set ([`checked::folder`]).
fn folder(env: &'static str) -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    clap::builder::TypedValueParser::try_map(clap::builder::OsStringValueParser::new(), move |s| {
        checked::folder(s, env)
    })
}

/// `--data`: the shared evaluation data the `eval` commands read (never shipped; see its README).
#[cfg(feature = "lab")]
#[derive(Debug, clap::Args)]
pub struct SharedData {
    /// Folder of the shared evaluation data
    #[arg(
        long = "data",
        env = "FACEGATE_SHARED_DATA",
        default_value = "../shared/data",
        value_name = "DIR",
        value_parser = folder("FACEGATE_SHARED_DATA")
    )]
    pub dir: PathBuf,
}

#[cfg(feature = "lab")]
impl SharedData {
    /// The folder, once it looks like the shared data (it has the README that describes it).
    pub fn checked(&self) -> anyhow::Result<&std::path::Path> {
        // The default is relative: run from elsewhere than the checkout, the bare "../shared/
        // data is not the shared data folder" did not say where it looked (journey s40 #10).
        let looked = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        anyhow::ensure!(
            self.dir.join("README.md").exists(),
            "{} is not the shared data folder (no README.md); pass --data DIR or set \
             FACEGATE_SHARED_DATA",
            crate::shown::Shown(&looked)
        );
        Ok(&self.dir)
    }
}

/// Exit statuses shared by the commands (documented in the README).
pub mod exit {
    pub const OK: u8 = 0;
    /// `compare`: different people.
    pub const DIFFERENT: u8 = 1;
    pub const ERROR: u8 = 2;
    pub const NO_FACE: u8 = 3;
    /// `verify`: locked out or paused; nothing was compared (a live attempt refuses before its
    /// camera opens). (`unlock test` exits 1 for a lock-out: the daemon's verdict is a
    /// refusal, and its text says which.)
    pub const LOCKED_OUT: u8 = 4;
}

#[derive(Debug, Parser)]
#[command(name = "facegate", version, about = "Face verification at your desk")]
pub struct Cli {
    /// Where the desk's enrolled people and settings live (not `unlock` and `daemon`'s: their config's `store`) [default: the OS data dir]
    #[arg(long, global = true, env = "FACEGATE_DATA_DIR", value_name = "DIR", value_parser = folder("FACEGATE_DATA_DIR"))]
    pub data_dir: Option<PathBuf>,
    /// Folder holding the ONNX models and runtime [default: models/ beside the binary, then PREFIX/lib/facegate/models, /usr/lib/facegate/models]
    #[arg(long, global = true, env = crate::runtime::MODELS_ENV, value_name = "DIR", value_parser = folder(crate::runtime::MODELS_ENV))]
    pub models: Option<PathBuf>,
    /// Threads per inference session (1 to 256)
    #[arg(long, global = true, value_name = "N", value_parser = checked::count::<1, 256>)]
    pub threads: Option<usize>,
    /// More logs (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Open the app on a video file or image folder instead of the camera
    #[arg(long, value_name = "VIDEO_OR_DIR")]
    pub replay: Option<PathBuf>,
    /// Camera index for the app [default: from settings, 0]
    #[arg(long, value_name = "N")]
    pub camera: Option<u32>,
    /// With --replay: the side the Unlock view asks the head to turn, the one the recorded
    /// person turns (a recording cannot follow a random side). A camera is always asked a
    /// random side
    #[arg(long, value_enum, requires = "replay")]
    pub turn: Option<crate::liveness::challenge::Direction>,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The empty store a command that reads only settings works on where the named data
    /// folder does not exist: removed when the command ends ([`Cli::store`]).
    #[arg(skip)]
    defaults_only: std::sync::OnceLock<tempfile::TempDir>,
}

/// What a command does with the store, which decides what a named data folder that does not
/// exist becomes ([`Cli::store`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreUse {
    /// Puts the first thing in it (a person, a negative; the window): the folder is made, and
    /// said so.
    Saves,
    /// Needs someone or something stored: an absent folder is an error, and nothing is made.
    /// A mistyped folder made a new, empty store, and root's stray one landed in the shared
    /// data (journey s40 #14).
    Reads,
    /// Needs only the settings (and a cache): the defaults, and nothing is made.
    Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find faces: boxes, five landmarks and scores
    Detect(detect::DetectArgs),
    /// Are two photos the same person? Exit 0 same, 1 different, 3 no face, 2 error
    Compare(compare::CompareArgs),
    /// List the models, their licences, and whether their sha256 checks out
    Models(models::ModelsArgs),
    /// Enrol, list, show and remove people
    #[command(subcommand)]
    User(people::UserCommand),
    /// A person's images (anchor, positive or verification), each quality-checked: from files, or
    /// K sharp frames of varied poses from a camera or a recording
    Capture(capture::CaptureArgs),
    /// Each face's box, landmarks and embedding; exit 2 when an image cannot be read, 3 when one has no face
    Represent(represent::RepresentArgs),
    /// Manage the negatives: other people's faces, for calibration and training
    #[command(subcommand)]
    Negatives(people::NegativesCommand),
    /// Is this photo (or replayed clip) NAME? Exit 0 accepted, 1 rejected, 3 no face, 4 locked out, 2 error
    Verify(verify::VerifyArgs),
    /// Who is this? Ranks enrolled people; exit 0 identified, 1 unknown, 3 no face, 2 two faces or an error
    Identify(verify::IdentifyArgs),
    /// Which identity of a photo gallery (one folder each) does this face resemble most (for fun, not identity); exit 0, 3 no face in the photo or the gallery, 2 two faces or an error
    Lookalike(verify::LookalikeArgs),
    /// Apparent age, gender and emotion of every face; exit 3 when no image has a face, 2 when one cannot be read
    Analyze(analyze::AnalyzeArgs),
    /// Set the detection threshold for a target false-accept rate on the negatives
    Calibrate(calibrate::CalibrateArgs),
    /// Measure recognition and attributes on labelled data
    #[cfg(feature = "lab")]
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Time each pipeline stage on real images (median, p95); use a release build
    #[cfg(feature = "lab")]
    Bench(bench::BenchArgs),
    /// Train NAME's siamese head on their anchor/positive images and the negatives; used only if it beats cosine
    Train(train::TrainArgs),
    /// System face unlock (login, sudo): enrol accounts in the root-owned store, test an attempt
    #[command(subcommand)]
    Unlock(unlock::UnlockCommand),
    /// The root service that decides system face unlock, over a Unix socket (run by systemd)
    Daemon(unlock::DaemonArgs),
}

#[cfg(feature = "lab")]
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Accuracy (k-fold when the CSV has folds), ROC AUC, EER, TAR at FAR on path_a,path_b,same[,fold]
    Pairs(eval_pairs::PairsArgs),
    /// Age, gender and emotion accuracy on UTKFace, LFW-a and FER2013 (../shared/data)
    Attributes(eval_attributes::EvalAttributesArgs),
    /// Passive liveness on the shared clips and photo replays: APCER per attack type, BPCER
    Liveness(eval_liveness::EvalLivenessArgs),
    /// FAR and FRR per unlock attempt (one frame, live K of N) with 95 % bounds, on labelled photos
    Attempts(eval_attempts::AttemptsArgs),
    /// The presentation-attack model on path,label photos: live scores, BPCER and APCER per attack type
    Pad(eval_pad::EvalPadArgs),
}

impl Cli {
    fn models(&self) -> anyhow::Result<Models> {
        let mut models = Models::locate(self.models.as_deref())?;
        if let Some(n) = self.threads {
            models.intra_threads = n;
        }
        Ok(models)
    }

    pub fn store(&self) -> anyhow::Result<crate::store::Store> {
        let dir = self.data_dir()?;
        // A folder named (not the OS default) that is not there yet: a mistyped one made a new,
        // empty store in silence, and `identify` then answered "nobody is enrolled yet"
        // (journey s39 #13).
        let absent = self.data_dir.is_some()
            && std::fs::symlink_metadata(&dir)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        if !absent {
            return Ok(crate::store::Store::open(&dir)?);
        }
        let shown = crate::shown::Shown(&dir);
        match self.store_use() {
            StoreUse::Saves => {
                let store = crate::store::Store::open(&dir)?;
                eprintln!("note: {shown} did not exist, so a new, empty store was made there");
                Ok(store)
            }
            StoreUse::Reads => anyhow::bail!(
                "{shown} does not exist, so no store is there (nobody is enrolled in it), and nothing \
                 was made (is that the data folder you meant? a command that saves, such as \
                 `{FACEGATE} user add NAME`, makes it)"
            ),
            StoreUse::Settings => {
                let empty = match self.defaults_only.get() {
                    Some(empty) => empty,
                    None => {
                        // Once, however often the command opens the store.
                        eprintln!(
                            "note: {shown} does not exist: the default settings are used, and \
                             nothing is made there"
                        );
                        let made = tempfile::Builder::new()
                            .prefix("facegate-defaults-")
                            .tempdir()
                            .context("cannot make a folder for the default settings")?;
                        self.defaults_only.get_or_init(|| made)
                    }
                };
                Ok(crate::store::Store::open(empty.path())?)
            }
        }
    }

    /// [`StoreUse`] of the command given: each named, so a new command is classed by whoever
    /// adds it (a catch-all "saves" made stray stores for verify, capture and train, which
    /// need someone stored and cannot find them in a folder that is not there; final read s42).
    fn store_use(&self) -> StoreUse {
        use people::{NegativesCommand, UserCommand};
        match &self.command {
            // The window, and the two commands that put the first thing in a store.
            None
            | Some(
                Command::User(UserCommand::Add { .. })
                | Command::Negatives(NegativesCommand::Add { .. }),
            ) => StoreUse::Saves,
            Some(
                Command::User(
                    UserCommand::List { .. }
                    | UserCommand::Show { .. }
                    | UserCommand::Reset { .. }
                    | UserCommand::Forget { .. }
                    | UserCommand::Remove { .. },
                )
                | Command::Negatives(
                    NegativesCommand::List { .. }
                    | NegativesCommand::Count
                    | NegativesCommand::Remove { .. },
                )
                | Command::Identify(_)
                | Command::Verify(_)
                | Command::Capture(_)
                | Command::Calibrate(_)
                | Command::Train(_)
                // Root's store is the config's; none of theirs opens this one.
                | Command::Unlock(_)
                | Command::Daemon(_),
            ) => StoreUse::Reads,
            // The person's rule is looked up in the store.
            Some(Command::Compare(args)) if args.person.is_some() => StoreUse::Reads,
            Some(
                Command::Detect(_)
                | Command::Compare(_)
                | Command::Models(_)
                | Command::Represent(_)
                | Command::Lookalike(_)
                | Command::Analyze(_),
            ) => StoreUse::Settings,
            #[cfg(feature = "lab")]
            Some(Command::Eval(_) | Command::Bench(_)) => StoreUse::Settings,
        }
    }

    pub fn engine(&self) -> anyhow::Result<crate::engine::Engine> {
        let engine = crate::engine::Engine::new(&self.models()?, self.store()?)?;
        if let Some(notice) = engine.settings().model.licence_notice() {
            eprintln!("{notice}");
        }
        Ok(engine)
    }

    /// Whether this runs system unlock (`unlock`, `daemon`): root's store and config, whose
    /// names and paths are not for the desk's hints (they reach other users' screens).
    fn is_system_unlock(&self) -> bool {
        matches!(self.command, Some(Command::Unlock(_) | Command::Daemon(_)))
    }

    /// Resolves the data folder: `--data-dir`, `$FACEGATE_DATA_DIR`, then the OS data dir.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        directories::ProjectDirs::from("org", "FaceGate", "facegate")
            .map(|d| d.data_dir().to_owned())
            .ok_or_else(|| {
                anyhow::anyhow!("no home folder to put the data dir in; pass --data-dir")
            })
    }
}

/// `--replay`, `--camera` or `--turn` given before a command: they are the window's, and with a
/// command they were ignored in silence, or `facegate --replay CLIP verify me` asked for an
/// image (journey s36 #9). Looked for before the command's own arguments are checked, so read
/// leniently.
fn window_option_before_a_command() -> Option<String> {
    let cli = <Cli as clap::CommandFactory>::command();
    let matches = cli.clone().ignore_errors(true).try_get_matches().ok()?;
    // The command as typed (`unlock test`), and what it takes.
    let (mut words, mut command, mut at) = (Vec::new(), &cli, &matches);
    while let Some((name, sub)) = at.subcommand() {
        words.push(name);
        command = command.find_subcommand(name)?;
        at = sub;
    }
    let typed = words.join(" ");
    // Each named, and each said where it goes, or that the command has no use for it: "put it
    // after `user` if that takes it" sent the user looking, and a second one went unnamed
    // (journey s37 #15, final read s36 #12).
    let misplaced: Vec<String> = ["replay", "camera", "turn"]
        .into_iter()
        .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .map(
            |id| match command.get_arguments().any(|a| a.get_id() == id) {
                true => format!("put --{id} after `{typed}`"),
                false => format!("`{typed}` takes no --{id}"),
            },
        )
        .collect();
    if misplaced.is_empty() || words.is_empty() {
        return None;
    }
    Some(format!(
        "--replay, --camera and --turn before a command are the window's: {}; or leave the \
         command out to open the window",
        misplaced.join("; ")
    ))
}

/// The `--data-dir` and `--models` typed on the command line, for the commands messages
/// suggest ([`crate::hint`]); a value from the environment reaches a pasted command anyway.
/// Not for system unlock: its hints name its config, and a verdict's text reaches the login
/// screen, which has no business with root's models path (final read s36 #8).
fn remember_typed(matches: &clap::ArgMatches, cli: &Cli) {
    if cli.is_system_unlock() {
        return;
    }
    let typed = |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let options: Vec<(&str, &std::path::Path)> = [
        ("--data-dir", "data_dir", cli.data_dir.as_deref()),
        ("--models", "models", cli.models.as_deref()),
    ]
    .into_iter()
    .filter_map(|(option, id, value)| value.filter(|_| typed(id)).map(|v| (option, v)))
    .collect();
    crate::hint::remember_typed(&options);
}

/// A path in `--json` output, as text even when it is not UTF-8 (then with its other bytes
/// written `\xff`, [`crate::shown::path_text`]): serde refuses such a path outright, which lost
/// every other image's results, and U+FFFD in their place made two names alike.
fn lossy_path<P: AsRef<std::path::Path>, S: serde::Serializer>(
    path: &P,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::shown::path_text(path.as_ref()))
}

/// A file whose name begins with one `-` (`-lead.jpg`), read as options: clap's tip names only
/// the first letter ("use '-- -l'"), which then fails too (journey s37/s38 #10).
fn a_file_read_as_options(e: &clap::Error) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let dashed = |a: &std::ffi::OsString| a.as_encoded_bytes().starts_with(b"-");
    // Given after `--`, the file was read as one: what clap refused is an option after it
    // (`verify Alice -- -lead.jpg --json`), and "give it after `--`" told the user to do what
    // they had done (journey s39 #7).
    if let Some(end) = args.iter().position(|a| a == "--") {
        // The word clap refused, where it is a dashed one after `--`: another (a file one too
        // many) keeps clap's own words (final read s39 F9).
        let refused = match e.get(clap::error::ContextKind::InvalidArg) {
            Some(clap::error::ContextValue::String(word)) => word.clone(),
            _ => return None,
        };
        let option = args[end + 1..]
            .iter()
            .find(|a| dashed(a) && a.to_str() == Some(refused.as_str()))?;
        let shown = crate::shown::Shown(std::path::Path::new(option));
        return Some(format!(
            "{shown} comes after `--`, where every word is read as a file: give the options \
             before `--` (`... {shown} -- FILES`)"
        ));
    }
    let name = args.into_iter().find(|a| {
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str());
        bytes.starts_with(b"-") && !bytes.starts_with(b"--") && std::path::Path::new(a).exists()
    })?;
    let shown = crate::shown::Shown(std::path::Path::new(&name));
    Some(format!(
        "{shown} begins with '-', so it was read as options: give it after `--` (`-- {shown}`, \
         with the other files after it too) or as `./{shown}`"
    ))
}

pub fn main() -> ExitCode {
    if let Some(misplaced) = window_option_before_a_command() {
        eprintln!("error: {misplaced}");
        return ExitCode::from(exit::ERROR);
    }
    let matches = match <Cli as clap::CommandFactory>::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => {
            if let Some(said) = a_file_read_as_options(&e) {
                eprintln!("error: {said}");
                return ExitCode::from(exit::ERROR);
            }
            e.exit()
        }
    };
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    remember_typed(&matches, &cli);
    init_logging(cli.verbose, matches!(cli.command, Some(Command::Daemon(_))));
    let outcome = match &cli.command {
        Some(Command::Detect(args)) => detect::run(&cli, args),
        Some(Command::Compare(args)) => compare::run(&cli, args),
        Some(Command::Models(args)) => models::run(&cli, args),
        #[cfg(feature = "lab")]
        Some(Command::Bench(args)) => bench::run(&cli, args),
        #[cfg(feature = "lab")]
        Some(Command::Eval(EvalCommand::Pairs(args))) => eval_pairs::run(&cli, args),
        #[cfg(feature = "lab")]
        Some(Command::Eval(EvalCommand::Attributes(args))) => eval_attributes::run(&cli, args),
        #[cfg(feature = "lab")]
        Some(Command::Eval(EvalCommand::Liveness(args))) => eval_liveness::run(&cli, args),
        #[cfg(feature = "lab")]
        Some(Command::Eval(EvalCommand::Attempts(args))) => eval_attempts::run(&cli, args),
        #[cfg(feature = "lab")]
        Some(Command::Eval(EvalCommand::Pad(args))) => eval_pad::run(&cli, args),
        Some(Command::Analyze(args)) => analyze::run(&cli, args),
        Some(Command::Calibrate(args)) => calibrate::run(&cli, args),
        Some(Command::User(cmd)) => people::user(&cli, cmd),
        Some(Command::Capture(args)) => capture::run(&cli, args),
        Some(Command::Represent(args)) => represent::run(&cli, args),
        Some(Command::Negatives(cmd)) => people::negatives(&cli, cmd),
        Some(Command::Verify(args)) => verify::verify(&cli, args),
        Some(Command::Identify(args)) => verify::identify(&cli, args),
        Some(Command::Lookalike(args)) => verify::lookalike(&cli, args),
        Some(Command::Train(args)) => train::run(&cli, args),
        Some(Command::Unlock(cmd)) => unlock::run(&cli, cmd),
        Some(Command::Daemon(args)) => unlock::daemon(&cli, args),
        None => gui(&cli),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        // The daemon's through its log, timed as its other lines are.
        Err(err) if matches!(cli.command, Some(Command::Daemon(_))) => {
            tracing::error!("{}", crate::shown::Reason(err.as_ref()));
            ExitCode::from(exit::ERROR)
        }
        Err(err) => {
            eprintln!("error: {}", crate::shown::Reason(err.as_ref()));
            if let Some(note) = unknown_person_note(&cli, &err) {
                eprintln!("note: {note}");
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

/// For a desk command refused on a name nobody has: the enrolled name it may be a typo of, or
/// that the store it read has nobody (a mistyped `--data-dir` reads a new, empty one; journey
/// s36 #4, #5). Not for system unlock: its store's names are not the caller's to learn.
fn unknown_person_note(cli: &Cli, err: &anyhow::Error) -> Option<String> {
    use crate::store::StoreError;
    if cli.is_system_unlock() {
        return None;
    }
    // The store's error, where it is wrapped transparently (and so is not in the chain).
    fn unknown(e: &(dyn std::error::Error + 'static)) -> Option<String> {
        use crate::train::TrainError;
        match (
            e.downcast_ref::<StoreError>(),
            e.downcast_ref::<crate::Error>(),
        ) {
            (Some(StoreError::UnknownPerson(name)), _)
            | (_, Some(crate::Error::Store(StoreError::UnknownPerson(name)))) => Some(name.clone()),
            _ => match e.downcast_ref::<TrainError>() {
                Some(TrainError::Store(inner)) => unknown(inner),
                Some(TrainError::Pipeline(inner)) => unknown(inner),
                _ => None,
            },
        }
    }
    let name = err.chain().find_map(unknown)?;
    unknown_name_note(&cli.store().ok()?, &name)
}

/// What to say of `name`, which nobody in `store` has: the enrolled name it may be a typo of,
/// or that the store has nobody at all (perhaps not the folder meant). The edge's note and
/// capture's own message both say it so.
pub(super) fn unknown_name_note(store: &crate::store::Store, name: &str) -> Option<String> {
    let people = store.people().ok()?;
    match crate::store::names::nearest(name, &people) {
        Some(meant) => Some(format!(
            "did you mean `{}`{}?",
            crate::store::names::printable(meant),
            crate::store::names::letters_apart(name, meant)
                .map_or(String::new(), |(typed, theirs)| {
                    format!(", spelt with {theirs} where you typed {typed}")
                })
        )),
        None if people.is_empty() => Some(format!(
            "nobody is enrolled in {} (is that the data folder you meant?)",
            crate::shown::Shown(store.root())
        )),
        None => None,
    }
}

/// Refuses a folder given where a command takes one photo, saying what it takes (`instead`):
/// the image reader's "give the photos in it (`DIR/*`)" suits detect and analyze, and one
/// photo's commands then refused the photos (journey s38 #7).
pub(super) fn one_photo(path: &std::path::Path, instead: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !path.is_dir(),
        "{} is a folder; {instead}",
        crate::shown::Shown(path)
    );
    Ok(())
}

/// `value` as pretty JSON, with `extra` fields beside its own. Not through
/// `serde_json::Value`, which widens every f32 to f64: `identify` and `calibrate` printed 0.363
/// as 0.3630000054836273 where `verify` printed 0.363 (journey s37 #12).
pub(super) fn json_with<T: serde::Serialize>(
    value: &T,
    extra: &[(&str, serde_json::Value)],
) -> serde_json::Result<String> {
    #[derive(serde::Serialize)]
    struct With<'a, T> {
        #[serde(flatten)]
        value: &'a T,
        #[serde(flatten)]
        extra: serde_json::Map<String, serde_json::Value>,
    }
    let extra = (extra.iter())
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    serde_json::to_string_pretty(&With { value, extra })
}

/// `facegate` with no command opens the desktop app.
fn gui(cli: &Cli) -> anyhow::Result<u8> {
    crate::gui::run(crate::gui::LaunchOptions {
        replay: cli.replay.clone(),
        camera: cli.camera,
        turn: cli.turn,
        models: cli.models.clone(),
        data_dir: cli.data_dir()?,
        threads: cli.threads,
    })?;
    Ok(exit::OK)
}

/// `daemon`: the daemon's log, whose own lines (where it listens, each attempt) are shown
/// too, each line after its time (UTC) unless the journal adds one: started by hand, its log
/// said nothing of when (journey s33).
fn init_logging(verbose: u8, daemon: bool) {
    let stamped = daemon && !stderr_is_journal();
    let default = match verbose {
        0 if daemon => "warn,facegate::unlock::daemon=info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // The window's system font lookup warns that a `C` locale is no language, at every start
    // under a service manager or a bare shell: nothing a person can act on (with -v it is said).
    let default = if verbose == 0 {
        format!("{default},egui_system_font_provider=error")
    } else {
        default.to_owned()
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: piped into a log or a test, escape codes are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A warning reads as a line for a person, as the CLI's own say it ("warning: settings.toml
    // is not valid TOML …"), not a log record with a timestamp and a module path; journald adds
    // its own time to the daemon's. With -v, the target says where it came from.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match (verbose > 0, stamped) {
        (true, true) => builder.with_target(true).init(),
        (true, false) => builder.with_target(true).without_time().init(),
        (false, _) => builder.event_format(PlainLine { stamped }).init(),
    }
}

/// Whether stderr is the journal's stream: systemd names it in JOURNAL_STREAM ("device:inode")
/// for the services it logs, and a shell started from such a service (a terminal under a user
/// unit) inherits the variable with another stderr, so the name alone is not enough
/// (systemd.exec(5)).
fn stderr_is_journal() -> bool {
    let named = std::env::var("JOURNAL_STREAM").ok();
    let Some((dev, ino)) = named.as_deref().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let Ok(stat) = rustix::fs::fstat(std::io::stderr()) else {
        return false;
    };
    // `st_dev` and `st_ino` are u64 here and narrower on other targets.
    #[allow(clippy::useless_conversion)]
    let (st_dev, st_ino) = (u64::from(stat.st_dev), u64::from(stat.st_ino));
    dev.parse() == Ok(st_dev) && ino.parse() == Ok(st_ino)
}

/// "warning: …": a log event as one line in the CLI's own words, after its time where
/// `stamped`.
struct PlainLine {
    stamped: bool,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for PlainLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        if self.stamped {
            use tracing_subscriber::fmt::time::FormatTime;
            tracing_subscriber::fmt::time::SystemTime.format_time(&mut writer)?;
            write!(writer, " ")?;
        }
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

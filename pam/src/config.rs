//! What the module needs from outside: its arguments (from the root-owned PAM service file) and
//! two keys of the root-owned system config. Everything else in that config (faces, thresholds,
//! camera) is the daemon's business; the module never needs it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use facegate_proto::MAX_CONFIG_BYTES;
use serde::Deserialize;

/// The PAM services face unlock answers unless the module's `services=` says otherwise: programs
/// a person runs at this desk, for an account they are about to use here (log in, unlock the
/// screen, `su`, `sudo`, a polkit prompt). `pam-auth-update` puts the module in `common-auth`,
/// which every service includes; a root daemon that checks passwords for its own clients (cupsd
/// with PAM_RHOST "localhost", a mail server) would otherwise turn the camera on for whichever
/// account a local client names, with no prompt on any screen, and count each failure toward
/// that person's lock-out.
pub const DEFAULT_SERVICES: &[&str] = &[
    "login",
    "su",
    "su-l",
    "sudo",
    "sudo-i",
    "doas",
    "polkit-1",
    "gdm-password",
    "lightdm",
    "sddm",
    "greetd",
    "lxdm",
    "xdm",
    "ly",
    "kde",
    "xscreensaver",
    "gnome-screensaver",
    "cinnamon-screensaver",
    "mate-screensaver",
    "xfce4-screensaver",
    "i3lock",
    "swaylock",
    "hyprlock",
    "gtklock",
    "waylock",
    "physlock",
    "vlock",
];

/// The module's arguments, e.g. `config=/etc/facegate/other.toml services=sudo,login`.
#[derive(Debug, PartialEq)]
pub struct Args {
    pub config: PathBuf,
    /// `services=a,b`: the PAM services face unlock answers, in place of [`DEFAULT_SERVICES`].
    pub services: Option<Vec<String>>,
    /// Arguments the module does not know: any one turns face unlock off for the PAM line (a
    /// typo must not widen it to the default services).
    pub unknown: Vec<String>,
}

impl Args {
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Args {
        let mut parsed = Args {
            config: PathBuf::from(facegate_proto::DEFAULT_CONFIG),
            services: None,
            unknown: Vec::new(),
        };
        let mut config = None;
        for arg in args {
            // A second `config=` or `services=` is refused as an unknown one is: whichever
            // came last silently won, so one appended to narrow a line could widen it.
            if let Some(path) = arg.strip_prefix("config=")
                && config.is_none()
            {
                config = Some(PathBuf::from(path));
            } else if let Some(list) = arg.strip_prefix("services=")
                && parsed.services.is_none()
            {
                parsed.services = Some(
                    list.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            } else if arg != "debug" {
                // `debug` is what many PAM lines carry: known, and nothing to do.
                parsed.unknown.push(arg.to_owned());
            }
        }
        if let Some(config) = config {
            parsed.config = config;
        }
        parsed
    }

    /// Whether face unlock answers for `service` (PAM_SERVICE, set by the program that started
    /// PAM). No name is no service of ours: fail closed.
    pub fn answers(&self, service: Option<&str>) -> bool {
        let Some(service) = service else {
            return false;
        };
        match &self.services {
            Some(list) => list.iter().any(|s| s == service),
            None => DEFAULT_SERVICES.contains(&service),
        }
    }
}

/// The two keys the module reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub socket: PathBuf,
    /// The attempt's limit (`timeout_s`); the module waits [`Config::deadline`].
    pub timeout: Duration,
}

impl Config {
    /// Reads `path` only if root owns it and every folder above it and nobody else can write
    /// them ([`facegate_proto::trust`]): the socket named here is the one whose answer unlocks.
    pub fn load(path: &Path) -> Result<Config, String> {
        if !path.is_absolute() {
            return Err(format!("config={}: not an absolute path", path.display()));
        }
        let text = facegate_proto::trust::read_root_owned(path, MAX_CONFIG_BYTES)
            .map_err(|e| e.to_string())?;
        Config::parse(&text).map_err(|why| format!("{}: {why}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        // Other keys are the daemon's, which checks them all (and refuses unknown ones).
        #[derive(Deserialize)]
        struct Raw {
            socket: Option<PathBuf>,
            timeout_s: Option<f64>,
        }
        // The line number and the parser's message, not its quote of the line (to syslog).
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let at = facegate_proto::at_line(text, e.span().map(|s| s.start));
            format!("not a valid config{at} ({})", e.message())
        })?;
        let timeout = facegate_proto::system_timeout(raw.timeout_s)?;
        let socket = facegate_proto::system_socket(raw.socket)?;
        Ok(Config { socket, timeout })
    }

    /// The one overall limit on a PAM call ([`facegate_proto::client_deadline`]).
    pub fn deadline(&self) -> Duration {
        facegate_proto::client_deadline(self.timeout)
    }
}

/// Whether PAM_RHOST names another machine: the person typing is not the one at the camera, so
/// face unlock must not run (whoever sits at the camera would unlock their session). Empty or
/// `localhost` (some local programs set it) is local.
pub fn is_remote(rhost: Option<&str>) -> bool {
    rhost.is_some_and(|h| {
        let h = h.trim();
        !h.is_empty() && !h.eq_ignore_ascii_case("localhost")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let a = Args::parse(["config=/tmp/x.toml", "debug"]);
        assert_eq!(a.config, Path::new("/tmp/x.toml"));
        assert!(a.unknown.is_empty(), "debug is known: {:?}", a.unknown);
        // Misspelt, or given twice (the last one won): refused, so face unlock is off.
        let a = Args::parse([
            "service=sudo",
            "services=sudo",
            "services=login",
            "config=/a",
        ]);
        assert_eq!(a.unknown, ["service=sudo", "services=login"]);
        assert_eq!(a.services.as_deref(), Some(&["sudo".to_owned()][..]));
        let a = Args::parse(["config=/a", "config=/b"]);
        assert_eq!(a.unknown, ["config=/b"]);
        assert_eq!(a.config, Path::new("/a"));
        assert_eq!(
            Args::parse([]).config,
            Path::new(facegate_proto::DEFAULT_CONFIG)
        );
    }

    #[test]
    fn services_answered() {
        let default = Args::parse([]);
        for yes in ["sudo", "su", "login", "gdm-password", "polkit-1"] {
            assert!(default.answers(Some(yes)), "{yes}");
        }
        for no in ["cups", "dovecot", "sshd", "other", "Sudo", "sudo ", ""] {
            assert!(!default.answers(Some(no)), "{no:?}");
        }
        assert!(!default.answers(None));
        let mine = Args::parse(["services=myapp,,sudo"]);
        assert!(mine.answers(Some("myapp")) && mine.answers(Some("sudo")));
        assert!(
            !mine.answers(Some("login")),
            "the list replaces the default"
        );
        assert!(!mine.answers(Some("")));
        let none = Args::parse(["services="]);
        assert!(!none.answers(Some("sudo")), "an empty list answers nobody");
    }

    #[test]
    fn only_socket_and_timeout_are_read_and_checked() {
        let c = Config::parse(
            "socket = \"/run/x.sock\"\ntimeout_s = 5\ncamera = 2\n[verify]\nlive_k = 0\n",
        );
        assert_eq!(
            c,
            Ok(Config {
                socket: "/run/x.sock".into(),
                timeout: Duration::from_secs(5)
            })
        );
        let d = Config::parse("").unwrap();
        assert_eq!(d.socket, Path::new(facegate_proto::DEFAULT_SOCKET));
        assert_eq!(d.deadline(), Duration::from_secs(10));
        for bad in [
            "timeout_s = 0",
            "timeout_s = 0.5",
            "timeout_s = -1",
            "timeout_s = 11",
            "timeout_s = nan",
            "timeout_s = inf",
            "timeout_s = \"5\"",
            "socket = \"relative.sock\"",
            "socket = 3",
            "not toml",
        ] {
            assert!(Config::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Config::parse("timeout_s = 10").unwrap().deadline(),
            Duration::from_secs(12)
        );
    }

    #[test]
    fn a_broken_config_names_its_line_not_its_text() {
        let why = Config::parse("socket = \"/run/x.sock\"\nsecret = \"hunter2\n").unwrap_err();
        println!("{why}");
        assert!(why.starts_with("not a valid config at line 2 ("), "{why}");
        assert!(!why.contains("hunter2") && !why.contains('\n'), "{why}");
    }

    #[test]
    fn remote_hosts() {
        assert!(!is_remote(None));
        assert!(!is_remote(Some("")));
        assert!(!is_remote(Some("localhost")));
        assert!(is_remote(Some("host.example")));
        assert!(is_remote(Some("192.0.2.7")));
    }

    #[test]
    fn a_relative_config_path_is_refused() {
        assert!(Config::load(Path::new("config.toml")).is_err());
    }
}

use clap::Args;

use super::{Cli, exit};
use crate::runtime::ROLE_WIDTH;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &ModelsArgs) -> anyhow::Result<u8> {
    let models = match cli.models() {
        Ok(models) => models,
        // A folder given without the runtime in it: after why, its table, every file it lacks
        // (it printed the error alone, where a folder with some files gave the table; journey
        // s37 #14).
        Err(e) => match cli.models.as_deref().filter(|dir| dir.is_dir()) {
            Some(dir) => {
                eprintln!("error: {e:#}");
                crate::runtime::Models::at(dir)
            }
            None => return Err(e),
        },
    };
    let status = models.status();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!("models folder: {}", models.dir().display());
        for s in &status {
            let verdict = match (s.ok, &s.problem) {
                (true, None) => "ok",
                (true, Some(_)) => "absent",
                (false, _) => "PROBLEM",
            };
            println!(
                "{:<15} {:<8} {:<ROLE_WIDTH$} {}",
                s.id, verdict, s.role, s.licence
            );
            if let Some(problem) = &s.problem {
                println!("{:<15} {problem}", "");
            }
        }
    }
    Ok(if status.iter().all(|s| s.ok) {
        exit::OK
    } else {
        exit::ERROR
    })
}

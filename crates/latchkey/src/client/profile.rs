//! Where the CLI keeps its login: `latchkey/login.json` in the user's
//! config directory (XDG on Linux), readable by the user alone.

use super::error::CliError;
use crate::private_file::write_private;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Serialize, Deserialize)]
pub struct Profile {
    pub server: String,
    pub token: String,
}

pub fn path() -> Result<PathBuf, CliError> {
    directories::ProjectDirs::from("", "", "latchkey")
        .map(|dirs| dirs.config_dir().join("login.json"))
        .ok_or_else(|| CliError::Usage("no home directory to keep the login in".to_owned()))
}

pub fn load() -> Result<Option<Profile>, CliError> {
    let path = path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|_| {
            CliError::Usage(format!(
                "{} is not a saved login; delete it and run `latchkey login`",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::Usage(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Written to a new 0600 file beside the old one, then renamed over it, so
/// the token is never readable by others, not even for an instant, and a
/// crash leaves the old login or the new one, never half of either.
pub fn save(profile: &Profile) -> Result<PathBuf, CliError> {
    let path = path()?;
    let failed = |e: std::io::Error| {
        CliError::Usage(format!("cannot save the login in {}: {e}", path.display()))
    };
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).map_err(failed)?;
    let temporary = dir.join(format!(".login.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    write_private(
        &temporary,
        &serde_json::to_string_pretty(profile).expect("plain struct"),
    )
    .map_err(failed)?;
    std::fs::rename(&temporary, &path).map_err(failed)?;
    Ok(path)
}

pub fn forget() -> Result<(), CliError> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CliError::Usage(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
        _ => Ok(()),
    }
}

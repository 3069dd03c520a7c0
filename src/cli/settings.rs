//! `kioku config check`: reads the settings exactly as `kioku serve` would
//! and says what it would serve, or why it would refuse to start. Reads
//! nothing else and changes nothing (the SD image's first boot uses it to
//! vet a kioku.toml from the boot partition before installing it).

use clap::Subcommand;

use crate::config::{Config, ServeArgs};
use crate::users::Users;

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check the settings (flags, environment, the settings file) as `serve`
    /// reads them; print the file read, the data folder, the listeners and
    /// the configured users, or the error (exit code 2).
    Check(ServeArgs),
}

pub fn run(action: ConfigAction) -> Result<(), String> {
    match action {
        ConfigAction::Check(args) => {
            let config = super::owner::load(&args)?;
            // The configured passwords, as the server checks them at start.
            Users::new(&config.users, config.passwords_hashed).map_err(|e| e.to_string())?;
            print!("{}", summary(&config));
            Ok(())
        }
    }
}

/// What the settings amount to, one fact per line.
fn summary(c: &Config) -> String {
    let file = match &c.file {
        Some(path) => path.display().to_string(),
        None => "none (defaults, environment and flags only)".into(),
    };
    let mut listeners = Vec::new();
    if c.http {
        listeners.push(format!("http {}:{}", c.host, c.port));
    }
    if c.tls {
        listeners.push(format!("https {}:{}", c.host, c.tls_port));
    }
    if c.ankiconnect.enabled {
        listeners.push(format!(
            "AnkiConnect {}:{}",
            c.ankiconnect.host, c.ankiconnect.port
        ));
    }
    let names: Vec<&str> = c.users.iter().map(|u| u.name.as_str()).collect();
    let users = match names.len() {
        0 => "none (stored accounts only)".to_owned(),
        n => format!("{n} ({})", names.join(", ")),
    };
    format!(
        "settings file:    {file}\ndata folder:      {}\nlisteners:        {}\n\
         configured users: {users}\nmDNS:             {}\nok\n",
        c.base.display(),
        listeners.join(", "),
        if c.mdns { "on" } else { "off" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_file_listeners_and_users() {
        let dir = std::env::temp_dir().join(format!("kioku-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kioku.toml");
        std::fs::write(&file, "port = 80\ntls_port = 443\nusers = [\"alice:pw\"]\n").unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let text = summary(&Config::load_with(&args, &|_| None).unwrap());
        assert!(
            text.contains(&format!("settings file:    {}", file.display())),
            "{text}"
        );
        assert!(
            text.contains("http 0.0.0.0:80, https 0.0.0.0:443, AnkiConnect 0.0.0.0:8765"),
            "{text}"
        );
        assert!(text.contains("configured users: 1 (alice)"), "{text}");
        assert!(text.ends_with("ok\n"), "{text}");
    }
}

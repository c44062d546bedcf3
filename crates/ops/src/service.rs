//! `install-service`: a systemd unit that runs `edgenet-relay` or `edgenet-node` at boot (or at
//! login, `--user`), restarts it when it fails, keeps its state in systemd's state directory
//! (`%S`: `/var/lib` for the system, `~/.local/state` for a user), and takes away what it does
//! not need (writing the file system outside that directory, new privileges, kernel tunables,
//! other users' homes).

use std::path::{Path, PathBuf};

/// Which manager runs the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The system's manager (`/etc/systemd/system`, needs root), as a dynamic user.
    System,
    /// The invoking user's manager (`~/.config/systemd/user`).
    User,
}

/// `install-service`'s own flags, the same on both binaries.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct InstallArgs {
    /// The user's manager (~/.config/systemd/user) instead of the system's (needs root).
    #[arg(long)]
    pub user: bool,
    /// Print the unit instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

impl InstallArgs {
    /// The manager these flags name.
    pub fn scope(&self) -> Scope {
        if self.user {
            Scope::User
        } else {
            Scope::System
        }
    }
}

/// What a unit runs.
#[derive(Debug, Clone)]
pub struct Service {
    /// The unit's name without `.service`, also its state directory's name.
    pub name: String,
    /// `Description=`.
    pub description: String,
    /// The binary, an absolute path.
    pub binary: PathBuf,
    /// Arguments, `%S/<name>` for the state directory.
    pub args: Vec<String>,
    /// The program JIT-compiles (the node's GPU drivers, lavapipe among them, write code they
    /// then run): no `MemoryDenyWriteExecute=`, and `/dev` stays visible for GPUs.
    pub needs_gpu: bool,
    /// It listens on a port below 1024: it keeps `CAP_NET_BIND_SERVICE`.
    pub low_port: bool,
}

/// Quotes an argument for `ExecStart=` (systemd splits on spaces and reads quotes and `\`).
fn quoted(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains(|c: char| c.is_whitespace() || "\"'\\;$".contains(c)) {
        return arg.to_owned();
    }
    let escaped = arg
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

impl Service {
    /// The unit file's text.
    pub fn render(&self, scope: Scope) -> String {
        let exec = std::iter::once(self.binary.display().to_string())
            .chain(self.args.iter().cloned())
            .map(|a| quoted(&a))
            .collect::<Vec<_>>()
            .join(" ");
        let mut lines = vec![
            "# Written by install-service; rerun it (with --dry-run to compare) after upgrading."
                .to_owned(),
            "[Unit]".into(),
            format!("Description={}", self.description),
            "After=network-online.target".into(),
            "Wants=network-online.target".into(),
            String::new(),
            "[Service]".into(),
            "Type=exec".into(),
            format!("ExecStart={exec}"),
            "Restart=on-failure".into(),
            "RestartSec=5".into(),
            format!("StateDirectory={}", self.name),
            "StateDirectoryMode=0700".into(),
            "Environment=EDGENET_LOG=info".into(),
            "LimitNOFILE=65536".into(),
            "NoNewPrivileges=yes".into(),
            "ProtectSystem=strict".into(),
            "PrivateTmp=yes".into(),
            "ProtectControlGroups=yes".into(),
            "ProtectKernelModules=yes".into(),
            "ProtectKernelTunables=yes".into(),
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK".into(),
            "RestrictNamespaces=yes".into(),
            "RestrictSUIDSGID=yes".into(),
            "LockPersonality=yes".into(),
            "SystemCallArchitectures=native".into(),
        ];
        if self.needs_gpu {
            // A model directory may sit in a home directory: readable, never writable.
            lines.push("ProtectHome=read-only".into());
        } else {
            lines.push("ProtectHome=yes".into());
            lines.push("PrivateDevices=yes".into());
            lines.push("MemoryDenyWriteExecute=yes".into());
        }
        if scope == Scope::System {
            lines.push("DynamicUser=yes".into());
            if self.low_port {
                lines.push("AmbientCapabilities=CAP_NET_BIND_SERVICE".into());
                lines.push("CapabilityBoundingSet=CAP_NET_BIND_SERVICE".into());
            } else {
                lines.push("CapabilityBoundingSet=".into());
            }
        }
        lines.push(String::new());
        lines.push("[Install]".into());
        lines.push(match scope {
            Scope::System => "WantedBy=multi-user.target".into(),
            Scope::User => "WantedBy=default.target".into(),
        });
        lines.join("\n") + "\n"
    }

    /// Where the unit file goes: `/etc/systemd/system`, or `$XDG_CONFIG_HOME/systemd/user`
    /// (`~/.config/systemd/user`).
    pub fn path(&self, scope: Scope) -> Result<PathBuf, String> {
        let file = format!("{}.service", self.name);
        Ok(match scope {
            Scope::System => Path::new("/etc/systemd/system").join(file),
            Scope::User => {
                let config = std::env::var_os("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
                    .ok_or("neither XDG_CONFIG_HOME nor HOME is set")?;
                config.join("systemd").join("user").join(file)
            }
        })
    }

    /// Writes the unit (or, `dry_run`, only prints it) and returns what to tell the operator.
    pub fn install(&self, scope: Scope, dry_run: bool) -> Result<String, String> {
        let unit = self.render(scope);
        let path = self.path(scope)?;
        if dry_run {
            return Ok(format!("# {}\n{unit}", path.display()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, unit).map_err(|e| format!("{}: {e}", path.display()))?;
        let ctl = match scope {
            Scope::System => "systemctl",
            Scope::User => "systemctl --user",
        };
        Ok(format!(
            "wrote {}\nstart it now and at every boot:\n  {ctl} daemon-reload\n  {ctl} enable --now {}\nits log:\n  journalctl {}-u {} -f\n",
            path.display(),
            self.name,
            if scope == Scope::User { "--user " } else { "" },
            self.name,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_with_spaces_and_dollars_are_quoted_for_systemd() {
        assert_eq!(quoted("--listen"), "--listen");
        assert_eq!(quoted("a b"), "\"a b\"");
        assert_eq!(quoted("$HOME"), "\"$$HOME\"");
        assert_eq!(quoted(""), "\"\"");
    }
}

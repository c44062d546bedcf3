//! `edgenet-keystore`: a node's identity on disk.
//!
//! The key file holds the key in core's documented export format (`docs/keyfile.md`), plain by
//! default so a service can start unattended. It is created with mode 0600 and, like OpenSSH does
//! for private keys, refused if group or others can read it. This is the only IO around identities;
//! it lives in its own small crate because both the node and the relay need it and `edgenet-core`
//! stays free of IO.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use edgenet_core::keyfile::{self, KeyFileError};
use edgenet_core::{ErrorCode, SecretKey};
use thiserror::Error;

/// Errors from the key store.
#[derive(Debug, Error)]
pub enum KeyStoreError {
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// The key file can be read by group or others.
    #[error("key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`")]
    Permissions { path: PathBuf, mode: u32 },
    /// The key file's contents are not a valid key.
    #[error("key file {path}: {source}")]
    KeyFile { path: PathBuf, source: KeyFileError },
}

impl ErrorCode for KeyStoreError {
    fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "EN-130",
            Self::Permissions { .. } => "EN-131",
            Self::KeyFile { source, .. } => source.code(),
        }
    }
}

/// What [`load_or_create`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An existing key file was read.
    Loaded,
    /// No key file existed; a new identity was generated and saved.
    Created,
}

/// Loads the identity at `path`, or generates one and saves it there (creating parent folders).
pub fn load_or_create(path: &Path) -> Result<(SecretKey, Origin), KeyStoreError> {
    match load(path, None) {
        Ok(key) => Ok((key, Origin::Loaded)),
        Err(KeyStoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            let key = SecretKey::generate(&mut edgenet_core::rng::os_rng());
            save(path, &keyfile::export_plain(&key))?;
            Ok((key, Origin::Created))
        }
        Err(e) => Err(e),
    }
}

/// Loads the identity at `path`; `passphrase` is needed only for an encrypted file.
pub fn load(path: &Path, passphrase: Option<&[u8]>) -> Result<SecretKey, KeyStoreError> {
    let io_err = |source| KeyStoreError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(io_err)?;
    check_permissions(path, &meta)?;
    let text = fs::read_to_string(path).map_err(io_err)?;
    keyfile::import(&text, passphrase).map_err(|source| KeyStoreError::KeyFile {
        path: path.to_owned(),
        source,
    })
}

/// Writes key-file `text` to `path` with mode 0600, never overwriting an existing file.
pub fn save(path: &Path, text: &str) -> Result<(), KeyStoreError> {
    let io_err = |source| KeyStoreError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io_err)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_err)
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &fs::Metadata) -> Result<(), KeyStoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyStoreError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _meta: &fs::Metadata) -> Result<(), KeyStoreError> {
    Ok(())
}

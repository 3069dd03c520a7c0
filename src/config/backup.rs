//! Settings of the snapshots of collections (see `crate::backup` and the
//! README's Backups section): their defaults, type and checks.

use super::layer::Layers;
use super::ConfigError;

pub const DEFAULT_BACKUP_KEEP_UPLOAD: u32 = 5;
pub const DEFAULT_BACKUP_KEEP_DAILY: u32 = 7;
pub const DEFAULT_BACKUP_HOUR: u32 = 4;
pub const DEFAULT_BACKUP_CHECK_SECS: u64 = 600;
/// The most snapshots of one kind a user may keep.
pub const MAX_BACKUP_KEEP: u32 = 1000;

/// When snapshots are taken and how many are kept (see `crate::backup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSettings {
    /// Off: kioku takes no snapshots on its own (a restore still keeps the
    /// collection it replaces).
    pub enabled: bool,
    /// How many snapshots of kind `upload` (and of kind `restore`) to keep.
    pub keep_upload: u32,
    /// How many daily snapshots to keep; 0 takes none.
    pub keep_daily: u32,
    /// Local hour at which a backup day starts.
    pub daily_hour: u32,
    /// Seconds between checks for due daily snapshots.
    pub check_secs: u64,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            enabled: true,
            keep_upload: DEFAULT_BACKUP_KEEP_UPLOAD,
            keep_daily: DEFAULT_BACKUP_KEEP_DAILY,
            daily_hour: DEFAULT_BACKUP_HOUR,
            check_secs: DEFAULT_BACKUP_CHECK_SECS,
        }
    }
}

/// The backup settings of the layers, checked.
pub(super) fn backup_settings(layers: &Layers) -> Result<BackupSettings, ConfigError> {
    let bad = |source_name: &str, message: String| ConfigError::BadValue {
        source_name: source_name.into(),
        message,
    };
    let keep = |value: Option<u32>, default: u32, source_name: &str| match value {
        Some(n) if n > MAX_BACKUP_KEEP => Err(bad(
            source_name,
            format!("{n} is more than {MAX_BACKUP_KEEP} snapshots"),
        )),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let daily_hour = layers
        .get(|l| &l.backup_hour)
        .unwrap_or(DEFAULT_BACKUP_HOUR);
    if daily_hour > 23 {
        return Err(bad(
            "--backup-hour (KIOKU_BACKUP_HOUR, backup_hour)",
            format!("{daily_hour} is not an hour from 0 to 23"),
        ));
    }
    Ok(BackupSettings {
        enabled: layers.get(|l| &l.backups).unwrap_or(true),
        keep_upload: keep(
            layers.get(|l| &l.backup_keep_upload),
            DEFAULT_BACKUP_KEEP_UPLOAD,
            "--backup-keep-upload (KIOKU_BACKUP_KEEP_UPLOAD, backup_keep_upload)",
        )?,
        keep_daily: keep(
            layers.get(|l| &l.backup_keep_daily),
            DEFAULT_BACKUP_KEEP_DAILY,
            "--backup-keep-daily (KIOKU_BACKUP_KEEP_DAILY, backup_keep_daily)",
        )?,
        daily_hour,
        check_secs: layers
            .get(|l| &l.backup_check_secs)
            .unwrap_or(DEFAULT_BACKUP_CHECK_SECS)
            .max(1),
    })
}

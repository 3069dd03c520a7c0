//! Snapshot file names: `<kind>-<UTC time>.anki2.zst`, e.g.
//! `upload-2025-06-01T04-10-00.123Z.anki2.zst`. The name carries everything a
//! listing shows besides the size, so no index is needed; names sort by time
//! within a kind. A name given by a user is accepted only if it is exactly
//! one kioku makes (it is parsed and formatted again), so it can never name
//! anything outside the backups folder.

use chrono::{DateTime, NaiveDateTime, Utc};

/// The file name suffix: a zstd-compressed SQLite collection.
pub const SUFFIX: &str = ".anki2.zst";
/// The time part, in UTC, with milliseconds; no `:` (not allowed in file
/// names on every system a backup may be copied to).
const TIME_FORMAT: &str = "%Y-%m-%dT%H-%M-%S%.3fZ";

/// Why a snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The collection as it was before a full upload replaced it.
    Upload,
    /// The once-a-day snapshot of a user whose collection changed.
    Daily,
    /// The collection as it was before a restore replaced it.
    Restore,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Upload, Kind::Daily, Kind::Restore];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Upload => "upload",
            Kind::Daily => "daily",
            Kind::Restore => "restore",
        }
    }

    /// What the kind means, for listings.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Upload => "before a full upload",
            Kind::Daily => "daily",
            Kind::Restore => "before a restore",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A snapshot's identity: its kind and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotName {
    pub kind: Kind,
    /// Milliseconds since the Unix epoch (UTC).
    pub taken_ms: i64,
}

/// A name that is not one of kioku's snapshot names.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0:?} is not a snapshot name (expected <kind>-<YYYY-MM-DDTHH-MM-SS.mmmZ>{SUFFIX} with kind \
     upload, daily or restore, as `kioku backup list` shows)"
)]
pub struct BadName(pub String);

impl SnapshotName {
    pub fn taken(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.taken_ms).unwrap_or_default()
    }

    pub fn file_name(&self) -> String {
        format!(
            "{}-{}{SUFFIX}",
            self.kind.name(),
            self.taken().format(TIME_FORMAT)
        )
    }

    /// Parses a file name; only the exact form [`SnapshotName::file_name`]
    /// produces is accepted.
    pub fn parse(name: &str) -> Result<SnapshotName, BadName> {
        let bad = || BadName(name.to_owned());
        let stem = name.strip_suffix(SUFFIX).ok_or_else(bad)?;
        let (kind, time) = stem.split_once('-').ok_or_else(bad)?;
        let kind = Kind::parse(kind).ok_or_else(bad)?;
        let taken = NaiveDateTime::parse_from_str(time, TIME_FORMAT).map_err(|_| bad())?;
        let parsed = SnapshotName {
            kind,
            taken_ms: taken.and_utc().timestamp_millis(),
        };
        if parsed.file_name() != name {
            return Err(bad());
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_carry_kind_and_utc_time() {
        let name = SnapshotName {
            kind: Kind::Upload,
            taken_ms: 1_748_751_000_123,
        };
        assert_eq!(
            name.file_name(),
            "upload-2025-06-01T04-10-00.123Z.anki2.zst"
        );
        for kind in Kind::ALL {
            let n = SnapshotName {
                kind,
                taken_ms: 1_748_751_000_007,
            };
            assert_eq!(SnapshotName::parse(&n.file_name()).unwrap(), n);
        }
    }

    #[test]
    fn anything_but_an_exact_snapshot_name_is_refused() {
        for name in [
            "",
            ".",
            "..",
            "../collection.anki2",
            "../../etc/passwd",
            "/etc/passwd",
            "daily-2025-06-01T04-10-00.123Z.anki2.zst/../../x",
            "../daily-2025-06-01T04-10-00.123Z.anki2.zst",
            "sub/daily-2025-06-01T04-10-00.123Z.anki2.zst",
            "daily-2025-06-01T04-10-00.123Z.anki2",
            "weekly-2025-06-01T04-10-00.123Z.anki2.zst",
            "Daily-2025-06-01T04-10-00.123Z.anki2.zst",
            "daily-2025-06-01T04:10:00.123Z.anki2.zst",
            "daily-2025-06-01T04-10-00Z.anki2.zst",
            "daily-2025-13-01T04-10-00.123Z.anki2.zst",
            "daily-2025-6-1T4-10-00.123Z.anki2.zst",
            "daily-+2025-06-01T04-10-00.123Z.anki2.zst",
            "daily-2025-06-01T04-10-00.123Z.anki2.zst\0",
            " daily-2025-06-01T04-10-00.123Z.anki2.zst",
            ".kioku-snapshot-00ff.tmp",
        ] {
            assert!(SnapshotName::parse(name).is_err(), "{name:?} was accepted");
        }
        let err = SnapshotName::parse("../x").unwrap_err().to_string();
        assert!(err.contains("kioku backup list"), "{err}");
    }
}

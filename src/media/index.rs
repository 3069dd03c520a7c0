//! The server media index, `<user>/media.db`: one row per file name ever
//! synced, with a per-change usn, and a single-row `meta` table with the
//! media usn and totals. The schema and `user_version` (4) are the official
//! server's, so either server can open the other's index; an index of the
//! older version 3 is upgraded the same way the official server upgrades it.
//!
//! Usn rules: `last_usn` starts at 0 and every add, replace and delete takes
//! the next one (so one batch moves it by the number of files it changed); a
//! delete keeps the row as a tombstone with `size = 0`.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::MediaError;
use crate::clock::now_secs;

/// File name of the index inside the user's folder.
pub const INDEX_FILE: &str = "media.db";
/// The official server's media schema version.
const SCHEMA_VERSION: i64 = 4;
/// Largest `mediaChanges` page, as the official server.
pub const CHANGES_PAGE: i64 = 1000;

const CREATE_V4: &str = "
    create table media (
        fname text not null primary key,
        csum blob not null,
        size int not null,
        usn int not null,
        mtime int not null
    );
    create index ix_usn on media (usn);
    create table meta (
        last_usn int not null,
        total_bytes int not null,
        total_nonempty_files int not null
    );
    insert into meta values (0, 0, 0);
";

/// Version 3 had `sz`/`deleted` columns, nulled the checksum of deleted
/// files and kept only `usn`/`sz` in `meta`. Its tombstones carry no
/// checksum and are dropped, and the totals are recounted.
const UPGRADE_V3: &str = "
    alter table media rename to media_v3;
    drop index if exists ix_usn;
    create table media (
        fname text not null primary key,
        csum blob not null,
        size int not null,
        usn int not null,
        mtime int not null
    );
    insert into media (fname, csum, size, usn, mtime)
        select fname, csum, sz, usn, deleted from media_v3 where csum is not null;
    drop table media_v3;
    create index ix_usn on media (usn);
    drop table meta;
    create table meta (
        last_usn int not null,
        total_bytes int not null,
        total_nonempty_files int not null
    );
    insert into meta
        select coalesce(max(usn), 0), coalesce(sum(size), 0),
               coalesce(sum(size > 0), 0)
        from media;
";

/// One row of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub sha1: Vec<u8>,
    /// 0 for a deleted file.
    pub size: u64,
    pub usn: i32,
    pub mtime: i64,
}

impl Entry {
    pub fn is_live(&self) -> bool {
        self.size > 0
    }
}

/// The `meta` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    pub last_usn: i32,
    pub total_bytes: u64,
    pub total_nonempty_files: u32,
}

/// An open index. Opened per operation (inside the user's slot, so one user's
/// media operations never overlap).
pub struct Index {
    conn: Connection,
}

impl Index {
    /// Opens the index of the user folder `user_dir`, creating it (and the
    /// user folder) if needed, upgrading an older schema.
    pub fn open(user_dir: &Path) -> Result<Index, MediaError> {
        std::fs::create_dir_all(user_dir)?;
        let conn = Connection::open(user_dir.join(INDEX_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        let mut index = Index { conn };
        index.migrate()?;
        Ok(index)
    }

    /// Opens the index only if the user has one (reads must not create it).
    pub fn open_existing(user_dir: &Path) -> Result<Option<Index>, MediaError> {
        if user_dir.join(INDEX_FILE).exists() {
            Index::open(user_dir).map(Some)
        } else {
            Ok(None)
        }
    }

    fn migrate(&mut self) -> Result<(), MediaError> {
        let version: i64 = self
            .conn
            .query_row("pragma user_version", [], |r| r.get(0))?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        if version > SCHEMA_VERSION {
            return Err(MediaError::Index(format!(
                "media.db has schema version {version}; kioku knows up to {SCHEMA_VERSION}"
            )));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)?;
        let has_media: bool = tx.query_row(
            "select count(*) > 0 from sqlite_master where type = 'table' and name = 'media'",
            [],
            |r| r.get(0),
        )?;
        match (version, has_media) {
            (0, false) => tx.execute_batch(CREATE_V4)?,
            (3, true) => {
                tx.execute_batch(UPGRADE_V3)?;
                tracing::info!("upgraded a media index from schema 3 to 4");
            }
            _ => {
                return Err(MediaError::Index(format!(
                    "media.db has unknown schema version {version}"
                )))
            }
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    pub fn meta(&self) -> Result<Meta, MediaError> {
        read_meta(&self.conn)
    }

    /// The row for `name`, live or tombstone.
    pub fn entry(&self, name: &str) -> Result<Option<Entry>, MediaError> {
        read_entry(&self.conn, name)
    }

    /// The live row for `name` (none for unknown or deleted files).
    pub fn live_entry(&self, name: &str) -> Result<Option<Entry>, MediaError> {
        Ok(self.entry(name)?.filter(Entry::is_live))
    }

    /// Names of the live files, sorted.
    pub fn live_names(&self) -> Result<Vec<String>, MediaError> {
        let mut stmt = self
            .conn
            .prepare_cached("select fname from media where size > 0 order by fname")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to [`CHANGES_PAGE`] rows with a usn above `after`, in ascending usn
    /// order: `(name, usn, sha1 hex or "" for a deletion)`.
    pub fn changes_after(&self, after: i32) -> Result<Vec<(String, i32, String)>, MediaError> {
        let mut stmt = self.conn.prepare_cached(
            "select fname, usn, case when size > 0 then lower(hex(csum)) else '' end
             from media where usn > ?1 order by usn limit ?2",
        )?;
        let rows = stmt.query_map(params![after, CHANGES_PAGE], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Runs `f` in one immediate transaction; the (changed) meta row is
    /// written back and everything committed only if `f` succeeds. Whatever
    /// `f` does to files therefore happens before the rows are committed.
    pub fn transaction<R>(
        &mut self,
        f: impl FnOnce(&mut Changes<'_>) -> Result<R, MediaError>,
    ) -> Result<R, MediaError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let meta = read_meta(&tx)?;
        let mut changes = Changes { conn: &tx, meta };
        let out = f(&mut changes)?;
        let meta = changes.meta;
        write_meta(&tx, &meta)?;
        tx.commit()?;
        Ok(out)
    }
}

fn read_meta(conn: &Connection) -> Result<Meta, MediaError> {
    Ok(conn.query_row(
        "select last_usn, total_bytes, total_nonempty_files from meta",
        [],
        |r| {
            Ok(Meta {
                last_usn: r.get(0)?,
                total_bytes: r.get::<_, i64>(1)?.max(0) as u64,
                total_nonempty_files: r.get::<_, i64>(2)?.max(0) as u32,
            })
        },
    )?)
}

fn write_meta(conn: &Connection, meta: &Meta) -> Result<(), MediaError> {
    conn.execute(
        "update meta set last_usn = ?1, total_bytes = ?2, total_nonempty_files = ?3",
        params![
            meta.last_usn,
            meta.total_bytes as i64,
            meta.total_nonempty_files as i64
        ],
    )?;
    Ok(())
}

fn read_entry(conn: &Connection, name: &str) -> Result<Option<Entry>, MediaError> {
    Ok(conn
        .prepare_cached("select fname, csum, size, usn, mtime from media where fname = ?1")?
        .query_row([name], |r| {
            Ok(Entry {
                name: r.get(0)?,
                sha1: r.get(1)?,
                size: r.get::<_, i64>(2)?.max(0) as u64,
                usn: r.get(3)?,
                mtime: r.get(4)?,
            })
        })
        .optional()?)
}

/// Changes made inside [`Index::transaction`]. Each change takes the next usn.
pub struct Changes<'a> {
    conn: &'a Connection,
    pub meta: Meta,
}

impl Changes<'_> {
    pub fn entry(&self, name: &str) -> Result<Option<Entry>, MediaError> {
        read_entry(self.conn, name)
    }

    pub fn live_entry(&self, name: &str) -> Result<Option<Entry>, MediaError> {
        Ok(self.entry(name)?.filter(Entry::is_live))
    }

    fn next_usn(&mut self) -> i32 {
        self.meta.last_usn += 1;
        self.meta.last_usn
    }

    /// Records a new or replaced live file.
    pub fn put(&mut self, name: &str, sha1: &[u8], size: u64) -> Result<i32, MediaError> {
        assert!(size > 0, "a live file has a size");
        if let Some(old) = self.live_entry(name)? {
            self.meta.total_bytes = self.meta.total_bytes.saturating_sub(old.size);
        } else {
            self.meta.total_nonempty_files += 1;
        }
        self.meta.total_bytes += size;
        let usn = self.next_usn();
        self.write(name, sha1, size, usn)?;
        Ok(usn)
    }

    /// Turns a live row into a tombstone (keeping its checksum).
    pub fn delete(&mut self, old: &Entry) -> Result<i32, MediaError> {
        self.meta.total_bytes = self.meta.total_bytes.saturating_sub(old.size);
        self.meta.total_nonempty_files = self.meta.total_nonempty_files.saturating_sub(1);
        let usn = self.next_usn();
        self.write(&old.name, &old.sha1, 0, usn)?;
        Ok(usn)
    }

    /// Removes a live row without a tombstone (its file was found missing),
    /// as the official server does; the usn does not move.
    pub fn forget(&mut self, old: &Entry) -> Result<(), MediaError> {
        self.meta.total_bytes = self.meta.total_bytes.saturating_sub(old.size);
        self.meta.total_nonempty_files = self.meta.total_nonempty_files.saturating_sub(1);
        self.conn
            .execute("delete from media where fname = ?1", [&old.name])?;
        Ok(())
    }

    /// Recounts the totals from the rows and makes `last_usn` at least the
    /// highest row usn (repairs drift left by an interrupted writer). Returns
    /// whether anything changed.
    pub fn recount(&mut self) -> Result<bool, MediaError> {
        let (bytes, files, max_usn): (i64, i64, i32) = self.conn.query_row(
            "select coalesce(sum(size), 0), coalesce(sum(size > 0), 0), coalesce(max(usn), 0)
             from media",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let fixed = Meta {
            last_usn: self.meta.last_usn.max(max_usn),
            total_bytes: bytes.max(0) as u64,
            total_nonempty_files: files.max(0) as u32,
        };
        let changed = fixed != self.meta;
        self.meta = fixed;
        Ok(changed)
    }

    fn write(&self, name: &str, sha1: &[u8], size: u64, usn: i32) -> Result<(), MediaError> {
        self.conn
            .prepare_cached(
                "insert or replace into media (fname, csum, size, usn, mtime)
                 values (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![name, sha1, size as i64, usn, now_secs()])?;
        Ok(())
    }
}

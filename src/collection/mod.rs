//! The Anki collection file: the SQLite schema-18 layout, the `unicase` collation,
//! the protobuf blobs stored in it, creating a new user's collection the way the
//! official server does, and checking an uploaded file before it is stored.
//!
//! It also converts notetypes, decks and deck configs between their stored
//! rows and the legacy (schema 11) JSON objects the sync protocol carries
//! ([`legacy`]), and computes the derived note columns ([`notes`]).
//!
//! This module knows SQL and file formats; it must not know HTTP, users or
//! sync sessions.

pub mod create;
pub mod edit;
pub mod legacy;
pub mod notes;
pub mod proto;
pub mod rows;
pub mod sched;
pub mod schema;
pub mod search;
pub mod stock;
mod verify;

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

pub use create::create_collection;
pub use verify::verify_collection_file;

/// The schema version kioku stores and serves (the current Anki format).
pub const SCHEMA_VERSION: i64 = 18;

/// Errors of the collection layer.
#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a usable Anki collection (the reason says why).
    #[error("not a valid collection: {0}")]
    Invalid(String),
    /// A collection whose schema version kioku cannot store.
    #[error(
        "collection schema version {0} is not supported (kioku stores schema {SCHEMA_VERSION})"
    )]
    UnsupportedSchema(i64),
}

pub type Result<T, E = CollectionError> = std::result::Result<T, E>;

/// Registers the `unicase` collation Anki's schema uses: case-insensitive
/// comparison with Unicode case folding. Must be done on every connection
/// before any statement touches a table or index declared with it.
pub fn register_unicase(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_collation("unicase", |a, b| {
        unicase::UniCase::new(a).cmp(&unicase::UniCase::new(b))
    })
}

/// Opens an existing collection file read-write with kioku's pragmas:
/// WAL journal, no automatic checkpoints (kioku checkpoints explicitly), the
/// `unicase` collation registered.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    register_unicase(&conn)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "wal")?;
    Ok(conn)
}

/// The collection-level numbers `meta` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColMeta {
    /// Last modification, ms.
    pub modified: i64,
    /// Last schema change, ms.
    pub schema: i64,
    /// Update sequence number.
    pub usn: i32,
    /// True when the collection has no cards.
    pub empty: bool,
}

/// Reads `mod`, `scm`, `usn` and whether any card exists.
pub fn read_meta(conn: &Connection) -> Result<ColMeta> {
    let (modified, schema, usn) = conn.query_row("select mod, scm, usn from col", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    let empty = !conn.query_row("select exists(select 1 from cards)", [], |r| {
        r.get::<_, bool>(0)
    })?;
    Ok(ColMeta {
        modified,
        schema,
        usn,
        empty,
    })
}

/// Marks a full download: the server's usn goes up by one and `mod` becomes
/// `now_ms`, as the official server does before sending the file.
pub fn bump_for_download(conn: &Connection, now_ms: i64) -> Result<()> {
    conn.execute("update col set usn = usn + 1, mod = ?1", [now_ms])?;
    Ok(())
}

/// True when the collection records a `creationOffset` (the "new timezone
/// handling" that protocol versions below 10 do not understand).
pub fn uses_new_timezone(conn: &Connection) -> Result<bool> {
    let val: Option<Vec<u8>> = conn
        .query_row(
            "select val from config where key = 'creationOffset'",
            [],
            |r| r.get(0),
        )
        .ok();
    Ok(matches!(val, Some(v) if v.as_slice() != b"null"))
}

/// Opens a collection read-only (to read the last committed state while
/// another connection holds a write transaction).
pub fn open_read_only(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    register_unicase(&conn)?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    Ok(conn)
}

/// What storing a note needs to know about its notetype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotetypeShape {
    pub field_count: usize,
    pub sort_field: usize,
}

/// The field count and sort field of notetype `id`, if it exists.
pub fn notetype_shape(conn: &Connection, id: i64) -> Result<Option<NotetypeShape>> {
    use prost::Message;
    use rusqlite::OptionalExtension;
    let config: Option<Vec<u8>> = conn
        .prepare_cached("select config from notetypes where id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(config) = config else {
        return Ok(None);
    };
    let config = proto::NotetypeConfig::decode(config.as_slice())
        .map_err(|e| CollectionError::Invalid(format!("notetype {id} config: {e}")))?;
    let field_count: i64 = conn
        .prepare_cached("select count(*) from fields where ntid = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(Some(NotetypeShape {
        field_count: field_count as usize,
        sort_field: config.sort_field_idx as usize,
    }))
}

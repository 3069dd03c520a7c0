//! Checks a file a client uploaded before it may replace a collection: it is
//! SQLite, passes SQLite's integrity check, has the schema version kioku stores
//! and the tables the sync needs.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{register_unicase, CollectionError, Result, SCHEMA_VERSION};

/// Tables every schema-18 collection has and sync relies on.
const REQUIRED_TABLES: &[&str] = &[
    "col",
    "notes",
    "cards",
    "revlog",
    "graves",
    "notetypes",
    "fields",
    "templates",
    "decks",
    "deck_config",
    "config",
    "tags",
];

/// Verifies the collection file at `path` (a private temp file). The file is
/// opened read-write because a WAL-mode file cannot be checked read-only
/// without its shared-memory file; nothing is written to it.
pub fn verify_collection_file(path: &Path) -> Result<()> {
    let mut header = [0u8; 16];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path)?;
        if f.read_exact(&mut header).is_err() || &header != b"SQLite format 3\0" {
            return Err(CollectionError::Invalid(
                "not an SQLite database file".into(),
            ));
        }
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    register_unicase(&conn)?;
    let result = check(&conn);
    drop(conn);
    result
}

fn check(conn: &Connection) -> Result<()> {
    let invalid = |e: rusqlite::Error| CollectionError::Invalid(e.to_string());
    let status: String = conn
        .query_row("pragma integrity_check(1)", [], |r| r.get(0))
        .map_err(invalid)?;
    if status != "ok" {
        return Err(CollectionError::Invalid(format!(
            "integrity check: {status}"
        )));
    }
    let mut stmt = conn
        .prepare("select name from sqlite_master where type = 'table'")
        .map_err(invalid)?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(invalid)?
        .collect::<rusqlite::Result<_>>()
        .map_err(invalid)?;
    if !tables.iter().any(|t| t == "col") {
        return Err(CollectionError::Invalid("no col table".into()));
    }
    let (rows, ver): (i64, i64) = conn
        .query_row("select count(*), max(ver) from col", [], |r| {
            Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))
        })
        .map_err(invalid)?;
    if rows != 1 {
        return Err(CollectionError::Invalid(format!(
            "col has {rows} rows, expected 1"
        )));
    }
    if ver != SCHEMA_VERSION {
        return Err(CollectionError::UnsupportedSchema(ver));
    }
    if let Some(missing) = REQUIRED_TABLES
        .iter()
        .find(|t| !tables.iter().any(|have| have == *t))
    {
        return Err(CollectionError::Invalid(format!("missing table {missing}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_file(name: &str) -> PathBuf {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        std::env::temp_dir().join(format!("kioku-verify-{}-{name}", hex::encode(bytes)))
    }

    #[test]
    fn a_fresh_collection_passes() {
        let path = temp_file("fresh.anki2");
        crate::collection::create_collection(&path, 1_795_807_604_520).unwrap();
        verify_collection_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn garbage_is_not_sqlite() {
        let path = temp_file("garbage");
        std::fs::write(&path, b"this is not a sqlite file at all").unwrap();
        let err = verify_collection_file(&path).unwrap_err();
        assert!(matches!(err, CollectionError::Invalid(_)), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_truncated_collection_is_refused() {
        let path = temp_file("trunc.anki2");
        crate::collection::create_collection(&path, 1_795_807_604_520).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(verify_collection_file(&path).is_err());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn an_sqlite_file_that_is_not_a_collection_is_refused() {
        let path = temp_file("other.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("create table t(x); insert into t values (1);")
            .unwrap();
        drop(conn);
        let err = verify_collection_file(&path).unwrap_err();
        assert!(err.to_string().contains("no col table"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn another_schema_version_is_refused_as_unsupported() {
        let path = temp_file("v11.anki2");
        crate::collection::create_collection(&path, 1_795_807_604_520).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute("update col set ver = 11", []).unwrap();
        drop(conn);
        let err = verify_collection_file(&path).unwrap_err();
        assert!(
            matches!(err, CollectionError::UnsupportedSchema(11)),
            "{err}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

//! The schema-18 layout of an Anki collection, as the official code creates it.
//!
//! The statements are the exact text the official server leaves in
//! `sqlite_master` (SQLite stores `CREATE` statements verbatim), in the same
//! order. `col` holds one row; in schema 18 its `conf`, `models`, `decks`,
//! `dconf` and `tags` columns are empty strings. Tables and indexes declared
//! `COLLATE unicase` need [`super::register_unicase`] on the connection.
//!
//! The official file lists `sqlite_stat1` and `sqlite_stat4` (created by
//! `ANALYZE`) between `idx_cards_odid` and `tags`, because its creation path
//! runs `ANALYZE` before it (re)creates `tags` and `graves`. To reproduce that
//! order, the schema is also available as two halves,
//! [`SCHEMA_18_MAIN_SQL`] and [`SCHEMA_18_TAIL_SQL`], with `ANALYZE` in
//! between; [`SCHEMA_18_SQL`] is both halves together.

macro_rules! schema_main {
    () => {
        "CREATE TABLE col (
  id integer PRIMARY KEY,
  crt integer NOT NULL,
  mod integer NOT NULL,
  scm integer NOT NULL,
  ver integer NOT NULL,
  dty integer NOT NULL,
  usn integer NOT NULL,
  ls integer NOT NULL,
  conf text NOT NULL,
  models text NOT NULL,
  decks text NOT NULL,
  dconf text NOT NULL,
  tags text NOT NULL
);
CREATE TABLE notes (
  id integer PRIMARY KEY,
  guid text NOT NULL,
  mid integer NOT NULL,
  mod integer NOT NULL,
  usn integer NOT NULL,
  tags text NOT NULL,
  flds text NOT NULL,
  -- The use of type integer for sfld is deliberate, because it means that integer values in this
  -- field will sort numerically.
  sfld integer NOT NULL,
  csum integer NOT NULL,
  flags integer NOT NULL,
  data text NOT NULL
);
CREATE TABLE cards (
  id integer PRIMARY KEY,
  nid integer NOT NULL,
  did integer NOT NULL,
  ord integer NOT NULL,
  mod integer NOT NULL,
  usn integer NOT NULL,
  type integer NOT NULL,
  queue integer NOT NULL,
  due integer NOT NULL,
  ivl integer NOT NULL,
  factor integer NOT NULL,
  reps integer NOT NULL,
  lapses integer NOT NULL,
  left integer NOT NULL,
  odue integer NOT NULL,
  odid integer NOT NULL,
  flags integer NOT NULL,
  data text NOT NULL
);
CREATE TABLE revlog (
  id integer PRIMARY KEY,
  cid integer NOT NULL,
  usn integer NOT NULL,
  ease integer NOT NULL,
  ivl integer NOT NULL,
  lastIvl integer NOT NULL,
  factor integer NOT NULL,
  time integer NOT NULL,
  type integer NOT NULL
);
CREATE INDEX ix_notes_usn ON notes (usn);
CREATE INDEX ix_cards_usn ON cards (usn);
CREATE INDEX ix_revlog_usn ON revlog (usn);
CREATE INDEX ix_cards_nid ON cards (nid);
CREATE INDEX ix_cards_sched ON cards (did, queue, due);
CREATE INDEX ix_revlog_cid ON revlog (cid);
CREATE INDEX ix_notes_csum ON notes (csum);
CREATE TABLE deck_config (
  id integer PRIMARY KEY NOT NULL,
  name text NOT NULL COLLATE unicase,
  mtime_secs integer NOT NULL,
  usn integer NOT NULL,
  config blob NOT NULL
);
CREATE TABLE config (
  KEY text NOT NULL PRIMARY KEY,
  usn integer NOT NULL,
  mtime_secs integer NOT NULL,
  val blob NOT NULL
) without rowid;
CREATE TABLE fields (
  ntid integer NOT NULL,
  ord integer NOT NULL,
  name text NOT NULL COLLATE unicase,
  config blob NOT NULL,
  PRIMARY KEY (ntid, ord)
) without rowid;
CREATE UNIQUE INDEX idx_fields_name_ntid ON fields (name, ntid);
CREATE TABLE templates (
  ntid integer NOT NULL,
  ord integer NOT NULL,
  name text NOT NULL COLLATE unicase,
  mtime_secs integer NOT NULL,
  usn integer NOT NULL,
  config blob NOT NULL,
  PRIMARY KEY (ntid, ord)
) without rowid;
CREATE UNIQUE INDEX idx_templates_name_ntid ON templates (name, ntid);
CREATE INDEX idx_templates_usn ON templates (usn);
CREATE TABLE notetypes (
  id integer NOT NULL PRIMARY KEY,
  name text NOT NULL COLLATE unicase,
  mtime_secs integer NOT NULL,
  usn integer NOT NULL,
  config blob NOT NULL
);
CREATE UNIQUE INDEX idx_notetypes_name ON notetypes (name);
CREATE INDEX idx_notetypes_usn ON notetypes (usn);
CREATE TABLE decks (
  id integer PRIMARY KEY NOT NULL,
  name text NOT NULL COLLATE unicase,
  mtime_secs integer NOT NULL,
  usn integer NOT NULL,
  common blob NOT NULL,
  kind blob NOT NULL
);
CREATE UNIQUE INDEX idx_decks_name ON decks (name);
CREATE INDEX idx_notes_mid ON notes (mid);
CREATE INDEX idx_cards_odid ON cards (odid)
WHERE odid != 0;
"
    };
}

macro_rules! schema_tail {
    () => {
        "CREATE TABLE tags (
  tag text NOT NULL PRIMARY KEY COLLATE unicase,
  usn integer NOT NULL,
  collapsed boolean NOT NULL,
  config blob NULL
) without rowid;
CREATE TABLE graves (
  oid integer NOT NULL,
  type integer NOT NULL,
  usn integer NOT NULL,
  PRIMARY KEY (oid, type)
) WITHOUT ROWID;
CREATE INDEX idx_graves_pending ON graves (usn);
"
    };
}

/// Everything up to and including `idx_cards_odid` (the part the official
/// creation path has before it runs `ANALYZE`).
pub const SCHEMA_18_MAIN_SQL: &str = schema_main!();

/// `tags`, `graves` and `idx_graves_pending`.
pub const SCHEMA_18_TAIL_SQL: &str = schema_tail!();

/// The complete schema-18 DDL: all tables and indexes of an empty collection.
pub const SCHEMA_18_SQL: &str = concat!(schema_main!(), schema_tail!());

/// The tables of a schema-18 collection, in `sqlite_master` order (without the
/// `sqlite_stat*` tables `ANALYZE` adds).
pub const SCHEMA_18_TABLES: &[&str] = &[
    "col",
    "notes",
    "cards",
    "revlog",
    "deck_config",
    "config",
    "fields",
    "templates",
    "notetypes",
    "decks",
    "tags",
    "graves",
];

/// The explicitly created indexes of a schema-18 collection, in
/// `sqlite_master` order.
pub const SCHEMA_18_INDEXES: &[&str] = &[
    "ix_notes_usn",
    "ix_cards_usn",
    "ix_revlog_usn",
    "ix_cards_nid",
    "ix_cards_sched",
    "ix_revlog_cid",
    "ix_notes_csum",
    "idx_fields_name_ntid",
    "idx_templates_name_ntid",
    "idx_templates_usn",
    "idx_notetypes_name",
    "idx_notetypes_usn",
    "idx_decks_name",
    "idx_notes_mid",
    "idx_cards_odid",
    "idx_graves_pending",
];

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn halves_make_the_whole() {
        assert_eq!(
            SCHEMA_18_SQL,
            format!("{SCHEMA_18_MAIN_SQL}{SCHEMA_18_TAIL_SQL}")
        );
    }

    #[test]
    fn schema_creates_exactly_the_listed_objects() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::register_unicase(&conn).unwrap();
        conn.execute_batch(SCHEMA_18_SQL).unwrap();
        let mut stmt = conn
            .prepare("select type, name from sqlite_master order by rowid")
            .unwrap();
        let objects: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let tables: Vec<&str> = objects
            .iter()
            .filter(|(t, _)| t == "table")
            .map(|(_, n)| n.as_str())
            .collect();
        let indexes: Vec<&str> = objects
            .iter()
            .filter(|(t, n)| t == "index" && !n.starts_with("sqlite_autoindex"))
            .map(|(_, n)| n.as_str())
            .collect();
        assert_eq!(tables, SCHEMA_18_TABLES);
        assert_eq!(indexes, SCHEMA_18_INDEXES);
        assert_eq!(SCHEMA_18_TABLES.len(), 12);
        assert_eq!(SCHEMA_18_INDEXES.len(), 16);
    }

    #[test]
    fn stored_sql_is_the_statement_text() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::register_unicase(&conn).unwrap();
        conn.execute_batch(SCHEMA_18_SQL).unwrap();
        let mut stmt = conn
            .prepare("select sql from sqlite_master where sql is not null order by rowid")
            .unwrap();
        let stored: String = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|s| s.unwrap() + ";\n")
            .collect();
        assert_eq!(stored, SCHEMA_18_SQL);
    }
}

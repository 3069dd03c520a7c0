//! Oracle test of the search engine against the real Anki client.
//!
//! `tests/interop/search_oracle.py` (run live, through the interop venv's
//! Python, named by `KIOKU_INTEROP_PYTHON`; `scripts/test` sets it) builds
//! varied collections with the real `anki` package and records what
//! `col.find_notes` / `col.find_cards` return for every query of
//! `tests/interop/search_queries.py`, or that they raise. kioku's
//! `find_notes` / `find_cards` on the same files, at the same time, must
//! return exactly the same sets, and fail where the client fails; the
//! queries listed as unsupported must fail with `SearchError::Unsupported`.
//!
//! The client has no injectable clock: the collections' time-dependent data
//! is built around the moment of the run, and kioku is asked at the time the
//! client's queries ran (see search_oracle.py).

use std::path::Path;
use std::process::Command;

use kioku::collection::search::{find_cards, find_notes, SearchError};
use serde_json::Value;

mod common;

fn interop_python() -> String {
    let python = std::env::var("KIOKU_INTEROP_PYTHON").unwrap_or_default();
    assert!(
        !python.is_empty(),
        "KIOKU_INTEROP_PYTHON is not set: it must name the Python of the interop venv \
         (made by tests/interop/setup-venv; scripts/test sets it) so that the real Anki \
         client can be run"
    );
    assert!(
        Path::new(&python).is_file(),
        "KIOKU_INTEROP_PYTHON={python} does not exist; run tests/interop/setup-venv"
    );
    python
}

fn run_oracle(dir: &Path) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/search_oracle.py"
    );
    let out = Command::new(interop_python())
        .arg(script)
        .arg(dir)
        // A zone with a half-hour offset, so that day boundaries come from
        // the collection's `localOffset`, which the client records.
        .env("TZ", "IST-5:30")
        .output()
        .expect("run the search oracle");
    assert!(
        out.status.success(),
        "search_oracle.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("oracle.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value) -> Option<Vec<i64>> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_i64().unwrap()).collect())
}

/// Compares one side (notes or cards); `None` when it agrees.
fn compare(
    kind: &str,
    client: Option<Vec<i64>>,
    client_error: &Value,
    ours: Result<Vec<i64>, SearchError>,
    unsupported: bool,
) -> Option<String> {
    match (unsupported, client, ours) {
        (true, _, Err(SearchError::Unsupported(_))) => None,
        (true, _, other) => Some(format!("{kind}: expected Unsupported, got {other:?}")),
        (false, Some(want), Ok(got)) if want == got => None,
        (false, Some(want), Ok(got)) => Some(format!("{kind}: client {want:?}, kioku {got:?}")),
        (false, Some(want), Err(e)) => Some(format!("{kind}: client {want:?}, kioku error {e}")),
        (false, None, Err(SearchError::Parse(_))) => None,
        (false, None, other) => Some(format!(
            "{kind}: client error {client_error}, kioku {other:?} (expected a Parse error)"
        )),
    }
}

#[test]
fn search_returns_what_the_real_client_returns() {
    let dir = common::temp_dir("search-oracle");
    let oracle = run_oracle(&dir);
    let variants = oracle["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2, "both collection variants were built");
    let mut total = 0;
    let mut mismatches = Vec::new();
    for variant in variants {
        let name = variant["name"].as_str().unwrap();
        let path = Path::new(variant["path"].as_str().unwrap());
        let now_ms = variant["now_ms"].as_i64().unwrap();
        let conn = kioku::collection::open(path).unwrap();
        let queries = variant["queries"].as_array().unwrap();
        assert!(queries.len() >= 80, "at least 80 queries");
        for q in queries {
            total += 1;
            let query = q["query"].as_str().unwrap();
            let unsupported = q["unsupported"].as_bool().unwrap();
            let notes = compare(
                "notes",
                ids(&q["notes"]),
                &q["notes_error"],
                find_notes(&conn, query, now_ms),
                unsupported,
            );
            let cards = compare(
                "cards",
                ids(&q["cards"]),
                &q["cards_error"],
                find_cards(&conn, query, now_ms),
                unsupported,
            );
            for m in [notes, cards].into_iter().flatten() {
                mismatches.push(format!("[{name}] {query:?}: {m}"));
            }
        }
    }
    let failed: std::collections::BTreeSet<&str> = mismatches
        .iter()
        .map(|m| m.split(": ").next().unwrap())
        .collect();
    println!(
        "search oracle: {} of {total} queries (2 collections) agree with the real client",
        total - failed.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {total} queries differ from the real client:\n{}",
        failed.len(),
        mismatches.join("\n")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

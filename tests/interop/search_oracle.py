"""Search oracle: what the real Anki client finds for each test query.

    python search_oracle.py OUT_DIR

For each variant of search_collection.py, builds the collection
OUT_DIR/<variant>.anki2 with the real client, runs every query of
search_queries.py through `col.find_notes` and `col.find_cards` (unordered,
as AnkiConnect does), and writes OUT_DIR/oracle.json:

    {"variants": [{"name", "path", "now_ms", "today", "cutoff",
                   "queries": [{"query", "unsupported",
                                "notes": [ids] | null, "notes_error": str | null,
                                "cards": [ids] | null, "cards_error": str | null}]}]}

`now_ms` is the time the queries ran at: kioku must be asked with the same
time. The client always uses the real clock, so the collection's
time-dependent data is built around the moment of the run (see
search_collection.py); if the scheduler's day changes while the queries run,
they are run again (once).

Run by tests/search_oracle.rs (kioku's side) through the interop venv.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from anki.collection import Collection  # noqa: E402

import search_collection  # noqa: E402
import search_queries  # noqa: E402


def run(col, queries):
    out = []
    for query, unsupported in queries:
        row = {"query": query, "unsupported": unsupported}
        for kind, find in (("notes", col.find_notes), ("cards", col.find_cards)):
            try:
                row[kind] = sorted(find(query))
                row[kind + "_error"] = None
            except Exception as e:  # the client's refusal is the expected result
                row[kind] = None
                row[kind + "_error"] = f"{type(e).__name__}: {e}"
        out.append(row)
    return out


def main(out_dir):
    variants = []
    for name in search_collection.VARIANTS:
        path = os.path.join(out_dir, f"{name}.anki2")
        facts = search_collection.build(path, name)
        queries = [(search_queries.resolve(q, facts), False) for q in search_queries.QUERIES]
        queries += [(q, True) for q in search_queries.UNSUPPORTED]
        col = Collection(path)
        try:
            for _attempt in range(2):
                cutoff = col.sched.day_cutoff
                now_ms = int(time.time() * 1000)
                results = run(col, queries)
                if col.sched.day_cutoff == cutoff:
                    break
            else:
                raise SystemExit("the scheduler's day changed twice during the run")
            if abs(now_ms - facts["now_ms"]) > 600_000:
                raise SystemExit("the collection was built too long before the queries ran")
            variants.append(
                {
                    "name": name,
                    "path": path,
                    "now_ms": now_ms,
                    "today": col.sched.today,
                    "cutoff": cutoff,
                    "queries": results,
                }
            )
        finally:
            col.close()
    with open(os.path.join(out_dir, "oracle.json"), "w", encoding="utf-8") as f:
        json.dump({"variants": variants}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])

use super::super::proto::{FieldConfig, NotetypeConfig, TemplateConfig};
use super::*;
use chrono::NaiveDate;
use sha1::{Digest, Sha1};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Creation time (ms) of the official file the constants come from.
const OFFICIAL_SCM: i64 = 1_795_809_854_225;
/// Its `crt` (the server ran in UTC).
const OFFICIAL_CRT: i64 = 1_795_752_000;
const OFFICIAL_DECK_COMMON: &str = "08011001";
const OFFICIAL_DECK_KIND: &str = "0A020801";
const OFFICIAL_DECK_CONFIG: &str = "0A080000803F00002041120400002041221C0000803F0000803F0000803F0000803F0000803F0000803F0000803F481450C8015D00002040656666A63F6D9A99993F7D0000803F8001949D02880101900101980104A80101B00108C0013CAD026666663FC5026666663FE00201";
/// SHA-1 of `type\x1fname\x1ftbl_name\x1fsql\n` over the official `sqlite_master`, in order.
const OFFICIAL_MASTER_SHA1: &str = "3f4666ecfc58a1ed4e401c7913d341933aaf8228";
/// `(type, name)` of the official `sqlite_master`, in order.
const OFFICIAL_MASTER: &[(&str, &str)] = &[
    ("table", "col"),
    ("table", "notes"),
    ("table", "cards"),
    ("table", "revlog"),
    ("index", "ix_notes_usn"),
    ("index", "ix_cards_usn"),
    ("index", "ix_revlog_usn"),
    ("index", "ix_cards_nid"),
    ("index", "ix_cards_sched"),
    ("index", "ix_revlog_cid"),
    ("index", "ix_notes_csum"),
    ("table", "deck_config"),
    ("table", "config"),
    ("table", "fields"),
    ("index", "idx_fields_name_ntid"),
    ("table", "templates"),
    ("index", "idx_templates_name_ntid"),
    ("index", "idx_templates_usn"),
    ("table", "notetypes"),
    ("index", "idx_notetypes_name"),
    ("index", "idx_notetypes_usn"),
    ("table", "decks"),
    ("index", "idx_decks_name"),
    ("index", "idx_notes_mid"),
    ("index", "idx_cards_odid"),
    ("table", "sqlite_stat1"),
    ("table", "sqlite_stat4"),
    ("table", "tags"),
    ("table", "graves"),
    ("index", "idx_graves_pending"),
];
const OFFICIAL_STAT1: &[(&str, Option<&str>, &str)] = &[
    ("col", None, "1"),
    ("cards", Some("idx_cards_odid"), "0 0"),
    ("config", Some("config"), "16 1"),
];
/// `(tbl, idx, neq, nlt, ndlt, hex(sample))`.
const OFFICIAL_STAT4: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("config", "config", "1", "1", "1", "021D616464546F437572"),
    (
        "config",
        "config",
        "1",
        "3",
        "3",
        "02296372656174696F6E4F6666736574",
    ),
    ("config", "config", "1", "5", "5", "021D6375724D6F64656C"),
    ("config", "config", "1", "7", "7", "021F647565436F756E7473"),
    ("config", "config", "1", "9", "9", "021F6E6577537072656164"),
    (
        "config",
        "config",
        "1",
        "11",
        "11",
        "021F736368656432303231",
    ),
    (
        "config",
        "config",
        "1",
        "13",
        "13",
        "0227736F72744261636B7761726473",
    ),
    ("config", "config", "1", "15", "15", "021B74696D654C696D"),
];
/// `(key, usn, mtime_secs, val)`; `curModel` is checked separately.
const OFFICIAL_CONFIG: &[(&str, i32, i64, &str)] = &[
    ("activeDecks", 0, 0, "[1]"),
    ("addToCur", 0, 0, "true"),
    ("collapseTime", 0, 0, "1200"),
    ("creationOffset", 0, 0, "null"),
    ("curDeck", 0, 0, "1"),
    ("dayLearnFirst", 0, 0, "false"),
    ("dueCounts", 0, 0, "true"),
    ("estTimes", 0, 0, "true"),
    ("newSpread", 0, 0, "0"),
    ("nextPos", 0, 0, "1"),
    ("sched2021", 0, 0, "true"),
    ("schedVer", 0, 0, "2"),
    ("sortBackwards", 0, 0, "false"),
    ("sortType", 0, 0, r#""noteFld""#),
    ("timeLim", 0, 0, "0"),
];
/// `(id - scm, name, hex(config))` of the official notetypes.
const OFFICIAL_NOTETYPES: &[(i64, &str, &str)] = &[
    (2, "Basic", "1A94012E63617264207B0A20202020666F6E742D66616D696C793A20617269616C3B0A20202020666F6E742D73697A653A20323070783B0A202020206C696E652D6865696768743A20312E353B0A20202020746578742D616C69676E3A2063656E7465723B0A20202020636F6C6F723A20626C61636B3B0A202020206261636B67726F756E642D636F6C6F723A2077686974653B0A7D0A2AB2015C646F63756D656E74636C6173735B313270745D7B61727469636C657D0A5C7370656369616C7B706170657273697A653D33696E2C35696E7D0A5C7573657061636B6167655B757466385D7B696E707574656E637D0A5C7573657061636B6167657B616D7373796D622C616D736D6174687D0A5C706167657374796C657B656D7074797D0A5C7365746C656E6774687B5C706172696E64656E747D7B30696E7D0A5C626567696E7B646F63756D656E747D0A320E5C656E647B646F63756D656E747D420510011A01004801"),
    (3, "Basic (and reversed card)", "1A94012E63617264207B0A20202020666F6E742D66616D696C793A20617269616C3B0A20202020666F6E742D73697A653A20323070783B0A202020206C696E652D6865696768743A20312E353B0A20202020746578742D616C69676E3A2063656E7465723B0A20202020636F6C6F723A20626C61636B3B0A202020206261636B67726F756E642D636F6C6F723A2077686974653B0A7D0A2AB2015C646F63756D656E74636C6173735B313270745D7B61727469636C657D0A5C7370656369616C7B706170657273697A653D33696E2C35696E7D0A5C7573657061636B6167655B757466385D7B696E707574656E637D0A5C7573657061636B6167657B616D7373796D622C616D736D6174687D0A5C706167657374796C657B656D7074797D0A5C7365746C656E6774687B5C706172696E64656E747D7B30696E7D0A5C626567696E7B646F63756D656E747D0A320E5C656E647B646F63756D656E747D420510011A01004207080110011A01014802"),
    (4, "Basic (optional reversed card)", "1A94012E63617264207B0A20202020666F6E742D66616D696C793A20617269616C3B0A20202020666F6E742D73697A653A20323070783B0A202020206C696E652D6865696768743A20312E353B0A20202020746578742D616C69676E3A2063656E7465723B0A20202020636F6C6F723A20626C61636B3B0A202020206261636B67726F756E642D636F6C6F723A2077686974653B0A7D0A2AB2015C646F63756D656E74636C6173735B313270745D7B61727469636C657D0A5C7370656369616C7B706170657273697A653D33696E2C35696E7D0A5C7573657061636B6167655B757466385D7B696E707574656E637D0A5C7573657061636B6167657B616D7373796D622C616D736D6174687D0A5C706167657374796C657B656D7074797D0A5C7365746C656E6774687B5C706172696E64656E747D7B30696E7D0A5C626567696E7B646F63756D656E747D0A320E5C656E647B646F63756D656E747D420510011A01004208080110021A0201024803"),
    (5, "Basic (type in the answer)", "1A94012E63617264207B0A20202020666F6E742D66616D696C793A20617269616C3B0A20202020666F6E742D73697A653A20323070783B0A202020206C696E652D6865696768743A20312E353B0A20202020746578742D616C69676E3A2063656E7465723B0A20202020636F6C6F723A20626C61636B3B0A202020206261636B67726F756E642D636F6C6F723A2077686974653B0A7D0A2AB2015C646F63756D656E74636C6173735B313270745D7B61727469636C657D0A5C7370656369616C7B706170657273697A653D33696E2C35696E7D0A5C7573657061636B6167655B757466385D7B696E707574656E637D0A5C7573657061636B6167657B616D7373796D622C616D736D6174687D0A5C706167657374796C657B656D7074797D0A5C7365746C656E6774687B5C706172696E64656E747D7B30696E7D0A5C626567696E7B646F63756D656E747D0A320E5C656E647B646F63756D656E747D420610011A0200014804"),
    (6, "Cloze", "08011AF3012E63617264207B0A20202020666F6E742D66616D696C793A20617269616C3B0A20202020666F6E742D73697A653A20323070783B0A202020206C696E652D6865696768743A20312E353B0A20202020746578742D616C69676E3A2063656E7465723B0A20202020636F6C6F723A20626C61636B3B0A202020206261636B67726F756E642D636F6C6F723A2077686974653B0A7D0A2E636C6F7A65207B0A20202020666F6E742D7765696768743A20626F6C643B0A20202020636F6C6F723A20626C75653B0A7D0A2E6E696768744D6F6465202E636C6F7A65207B0A20202020636F6C6F723A206C69676874626C75653B0A7D0A2AB2015C646F63756D656E74636C6173735B313270745D7B61727469636C657D0A5C7370656369616C7B706170657273697A653D33696E2C35696E7D0A5C7573657061636B6167655B757466385D7B696E707574656E637D0A5C7573657061636B6167657B616D7373796D622C616D736D6174687D0A5C706167657374796C657B656D7074797D0A5C7365746C656E6774687B5C706172696E64656E747D7B30696E7D0A5C626567696E7B646F63756D656E747D0A320E5C656E647B646F63756D656E747D420510011A01004805"),
    (7, "Image Occlusion", "08011A880323696D6167652D6F63636C7573696F6E2D63616E766173207B0A202020202D2D696E6163746976652D73686170652D636F6C6F723A20236666656261323B0A202020202D2D6163746976652D73686170652D636F6C6F723A20236666386538653B0A202020202D2D696E6163746976652D73686170652D626F726465723A2031707820233231323132313B0A202020202D2D6163746976652D73686170652D626F726465723A2031707820233231323132313B0A202020202D2D686967686C696768742D73686170652D636F6C6F723A202366663865386530303B0A202020202D2D686967686C696768742D73686170652D626F726465723A2031707820236666386538653B0A7D0A0A2E63617264207B0A20202020666F6E742D66616D696C793A20617269616C3B0A20202020666F6E742D73697A653A20323070783B0A20202020746578742D616C69676E3A2063656E7465723B0A20202020636F6C6F723A20626C61636B3B0A202020206261636B67726F756E642D636F6C6F723A2077686974653B0A7D0A2AB2015C646F63756D656E74636C6173735B313270745D7B61727469636C657D0A5C7370656369616C7B706170657273697A653D33696E2C35696E7D0A5C7573657061636B6167655B757466385D7B696E707574656E637D0A5C7573657061636B6167657B616D7373796D622C616D736D6174687D0A5C706167657374796C657B656D7074797D0A5C7365746C656E6774687B5C706172696E64656E747D7B30696E7D0A5C626567696E7B646F63756D656E747D0A320E5C656E647B646F63756D656E747D420710011A030001024806"),
];
/// `(ntid - scm, ord, name, hex(config))` of the official fields (random ids included).
const OFFICIAL_FIELDS: &[(i64, u32, &str, &str)] = &[
    (2, 0, "Front", "1A05417269616C201448D48BB5ACE6B3C880B301"),
    (2, 1, "Back", "1A05417269616C201448E3A185BEE2D08B885D"),
    (3, 0, "Front", "1A05417269616C201448AE9287F9FDF3F5CA03"),
    (3, 1, "Back", "1A05417269616C201448B3B8DFE9E182C9CF0A"),
    (4, 0, "Front", "1A05417269616C201448E282F188FCB1CDC9F801"),
    (4, 1, "Back", "1A05417269616C201448B1E0AAEB989D93A6C601"),
    (
        4,
        2,
        "Add Reverse",
        "1A05417269616C20144880F996A0BCD4B7898A01",
    ),
    (5, 0, "Front", "1A05417269616C2014488DD9C4DAA38385C150"),
    (5, 1, "Back", "1A05417269616C2014489CE3A6C2CCA98D7C"),
    (
        6,
        0,
        "Text",
        "1A05417269616C201448D5B7D5C9C9D9A6A2F90150005801",
    ),
    (
        6,
        1,
        "Back Extra",
        "1A05417269616C201448AED5948AB3F8ECDFA8015001",
    ),
    (
        7,
        0,
        "Occlusion",
        "1A05417269616C20144883F5D495F3B3F7BD2250005801",
    ),
    (
        7,
        1,
        "Image",
        "1A05417269616C201448AFD3E4E49FB2CBB94950015801",
    ),
    (
        7,
        2,
        "Header",
        "1A05417269616C201448D5A5D6F6C897B498A20150025801",
    ),
    (
        7,
        3,
        "Back Extra",
        "1A05417269616C201448F9C2C2CE96F8BFB47250035801",
    ),
    (
        7,
        4,
        "Comments",
        "1A05417269616C201448E4BCA39E9BFC89FC1B5004",
    ),
];
/// `(ntid - scm, ord, name, hex(config))` of the official templates (random ids included).
const OFFICIAL_TEMPLATES: &[(i64, u32, &str, &str)] = &[
    (2, 0, "Card 1", "0A097B7B46726F6E747D7D12277B7B46726F6E74536964657D7D0A0A3C68722069643D616E737765723E0A0A7B7B4261636B7D7D40CED396C2FD9297B2BF01"),
    (3, 0, "Card 1", "0A097B7B46726F6E747D7D12277B7B46726F6E74536964657D7D0A0A3C68722069643D616E737765723E0A0A7B7B4261636B7D7D408BB283D9FDC090DE17"),
    (3, 1, "Card 2", "0A087B7B4261636B7D7D12287B7B46726F6E74536964657D7D0A0A3C68722069643D616E737765723E0A0A7B7B46726F6E747D7D40BCB0CEAAA4E9EDD39C01"),
    (4, 0, "Card 1", "0A097B7B46726F6E747D7D12277B7B46726F6E74536964657D7D0A0A3C68722069643D616E737765723E0A0A7B7B4261636B7D7D40B5BCAA85F28BCF9178"),
    (4, 1, "Card 2", "0A287B7B2341646420526576657273657D7D7B7B4261636B7D7D7B7B2F41646420526576657273657D7D12287B7B46726F6E74536964657D7D0A0A3C68722069643D616E737765723E0A0A7B7B46726F6E747D7D40F795C0D295B997AF6B"),
    (5, 0, "Card 1", "0A187B7B46726F6E747D7D0A0A7B7B747970653A4261636B7D7D12287B7B46726F6E747D7D0A0A3C68722069643D616E737765723E0A0A7B7B747970653A4261636B7D7D40E5E4DFB6D7C6D6E054"),
    (6, 0, "Cloze", "0A0E7B7B636C6F7A653A546578747D7D12217B7B636C6F7A653A546578747D7D3C62723E0A7B7B4261636B2045787472617D7D40C4F5A0EDA0D3B7AF37"),
    (7, 0, "Image Occlusion", "0AAE037B7B234865616465727D7D3C6469763E7B7B4865616465727D7D3C2F6469763E7B7B2F4865616465727D7D0A3C646976207374796C653D22646973706C61793A206E6F6E65223E7B7B636C6F7A653A4F63636C7573696F6E7D7D3C2F6469763E0A3C6469762069643D22657272223E3C2F6469763E0A3C6469762069643D22696D6167652D6F63636C7573696F6E2D636F6E7461696E6572223E0A202020207B7B496D6167657D7D0A202020203C63616E7661732069643D22696D6167652D6F63636C7573696F6E2D63616E766173223E3C2F63616E7661733E0A3C2F6469763E0A3C7363726970743E0A747279207B0A20202020616E6B692E696D6167654F63636C7573696F6E2E736574757028293B0A7D206361746368202865786329207B0A20202020646F63756D656E742E676574456C656D656E7442794964282265727222292E696E6E657248544D4C203D20604572726F72206C6F6164696E6720696D616765206F63636C7573696F6E2E20497320796F757220416E6B692076657273696F6E20757020746F20646174653F3C62723E3C62723E247B6578637D603B0A7D0A3C2F7363726970743E0A129C047B7B234865616465727D7D3C6469763E7B7B4865616465727D7D3C2F6469763E7B7B2F4865616465727D7D0A3C646976207374796C653D22646973706C61793A206E6F6E65223E7B7B636C6F7A653A4F63636C7573696F6E7D7D3C2F6469763E0A3C6469762069643D22657272223E3C2F6469763E0A3C6469762069643D22696D6167652D6F63636C7573696F6E2D636F6E7461696E6572223E0A202020207B7B496D6167657D7D0A202020203C63616E7661732069643D22696D6167652D6F63636C7573696F6E2D63616E766173223E3C2F63616E7661733E0A3C2F6469763E0A3C7363726970743E0A747279207B0A20202020616E6B692E696D6167654F63636C7573696F6E2E736574757028293B0A7D206361746368202865786329207B0A20202020646F63756D656E742E676574456C656D656E7442794964282265727222292E696E6E657248544D4C203D20604572726F72206C6F6164696E6720696D616765206F63636C7573696F6E2E20497320796F757220416E6B692076657273696F6E20757020746F20646174653F3C62723E3C62723E247B6578637D603B0A7D0A3C2F7363726970743E0A0A3C6469763E3C627574746F6E2069643D22746F67676C65223E546F67676C65204D61736B733C2F627574746F6E3E3C2F6469763E0A7B7B234261636B2045787472617D7D3C6469763E7B7B4261636B2045787472617D7D3C2F6469763E7B7B2F4261636B2045787472617D7D0A4082FBB5E1A0ED85FCA401"),
];

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kioku-create-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixed(
    offset_secs: i32,
    y: i32,
    m: u32,
    d: u32,
    h: u32,
    min: u32,
    s: u32,
) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset_secs)
        .unwrap()
        .from_local_datetime(
            &NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, s)
                .unwrap(),
        )
        .unwrap()
}

fn open_created(now_ms: i64) -> (TempDir, Connection) {
    let dir = TempDir::new();
    let path = dir.0.join("collection.anki2");
    create_collection(&path, now_ms).unwrap();
    let conn = Connection::open(&path).unwrap();
    register_unicase(&conn).unwrap();
    (dir, conn)
}

fn blob_hex(b: Vec<u8>) -> String {
    hex::encode_upper(b)
}

fn field_without_id(hex_str: &str) -> FieldConfig {
    let mut c = FieldConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
    assert!(c.id.is_some());
    c.id = None;
    c
}

fn template_without_id(hex_str: &str) -> TemplateConfig {
    let mut c = TemplateConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
    assert!(c.id.is_some());
    c.id = None;
    c
}

#[test]
fn crt_official_example() {
    // The official file: created 2026-11-27 20:04:14.225 UTC.
    let now = FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(OFFICIAL_SCM)
        .unwrap();
    assert_eq!(crt_for_fixed(now), OFFICIAL_CRT);
}

#[test]
fn crt_around_4am_boundaries() {
    let four = fixed(0, 2026, 3, 10, 4, 0, 0).timestamp();
    // exactly 4:00:00 → that same instant
    assert_eq!(crt_for_fixed(fixed(0, 2026, 3, 10, 4, 0, 0)), four);
    // one second before → the previous day's 4 a.m.
    assert_eq!(
        crt_for_fixed(fixed(0, 2026, 3, 10, 3, 59, 59)),
        four - 86_400
    );
    // midnight → previous day
    assert_eq!(crt_for_fixed(fixed(0, 2026, 3, 10, 0, 0, 0)), four - 86_400);
    // late evening → the same day's 4 a.m.
    assert_eq!(crt_for_fixed(fixed(0, 2026, 3, 10, 23, 59, 59)), four);
    // first of the month / year before 4 a.m. → last day of previous month / year
    assert_eq!(
        crt_for_fixed(fixed(0, 2026, 1, 1, 2, 0, 0)),
        fixed(0, 2025, 12, 31, 4, 0, 0).timestamp()
    );
}

#[test]
fn crt_uses_local_offset() {
    for offset in [
        -12 * 3600,
        -5 * 3600,
        0,
        5 * 3600 + 1800,
        10 * 3600,
        14 * 3600,
    ] {
        let four = fixed(offset, 2026, 7, 15, 4, 0, 0);
        // the UTC timestamp of local 4 a.m.
        assert_eq!(
            four.timestamp(),
            four.naive_local().and_utc().timestamp() - offset as i64
        );
        assert_eq!(crt_for_fixed(four), four.timestamp(), "offset {offset}");
        assert_eq!(
            crt_for_fixed(fixed(offset, 2026, 7, 15, 3, 59, 59)),
            four.timestamp() - 86_400,
            "offset {offset}"
        );
        assert_eq!(
            crt_for_fixed(fixed(offset, 2026, 7, 16, 3, 0, 0)),
            four.timestamp(),
            "offset {offset}"
        );
    }
    // the same instant gives different crt in different zones:
    // 2026-07-15 02:00 UTC is 12:00 in UTC+10 but still "yesterday" in UTC.
    let utc = fixed(0, 2026, 7, 15, 2, 0, 0);
    let east = utc.with_timezone(&FixedOffset::east_opt(10 * 3600).unwrap());
    assert_eq!(
        crt_for_fixed(utc),
        fixed(0, 2026, 7, 14, 4, 0, 0).timestamp()
    );
    assert_eq!(
        crt_for_fixed(east),
        fixed(10 * 3600, 2026, 7, 15, 4, 0, 0).timestamp()
    );
}

#[test]
fn crt_for_local_is_at_or_before_now() {
    let now = Local.timestamp_millis_opt(OFFICIAL_SCM).unwrap();
    let crt = crt_for(now);
    assert_eq!(crt, crt_for_fixed(now.fixed_offset()));
    assert!(crt <= now.timestamp() && now.timestamp() - crt < 86_400);
    let now = Local::now();
    let crt = crt_for(now);
    assert!(crt <= now.timestamp() && now.timestamp() - crt < 86_400);
}

#[test]
fn refuses_existing_file() {
    let dir = TempDir::new();
    let path = dir.0.join("collection.anki2");
    std::fs::write(&path, b"keep me").unwrap();
    match create_collection(&path, OFFICIAL_SCM) {
        Err(CollectionError::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists)
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
}

#[test]
fn new_collection_file_properties() {
    let (dir, conn) = open_created(OFFICIAL_SCM);
    let check: String = conn
        .query_row("pragma integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let page_size: i64 = conn
        .query_row("pragma page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 4096);
    let mode: String = conn
        .query_row("pragma journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let free: i64 = conn
        .query_row("pragma freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0);
    let col: (i64, i64, i64, i64, i64, i64, i64, i64) = conn
        .query_row(
            "select id, crt, mod, scm, ver, dty, usn, ls from col",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .unwrap();
    let crt = crt_for(Local.timestamp_millis_opt(OFFICIAL_SCM).unwrap());
    assert_eq!(col, (1, crt, 0, OFFICIAL_SCM, 18, 0, 0, 0));
    let texts: (String, String, String, String, String) = conn
        .query_row(
            "select conf, models, decks, dconf, tags from col",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(texts, Default::default());
    for table in ["notes", "cards", "revlog", "graves", "tags"] {
        let n: i64 = conn
            .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    let meta = super::super::read_meta(&conn).unwrap();
    assert!(meta.empty);
    drop(conn);
    // Closing the only connection checkpointed the WAL away.
    assert!(!sidecar(&dir.0.join("collection.anki2"), "-wal").exists());
}

#[test]
fn schema_and_statistics_match_official() {
    let (_dir, conn) = open_created(OFFICIAL_SCM);
    let mut stmt = conn
        .prepare("select type, name, tbl_name, sql from sqlite_master")
        .unwrap();
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|(t, n, _, _)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(names, OFFICIAL_MASTER);
    let mut sha = Sha1::new();
    for (t, n, tbl, sql) in &rows {
        sha.update(format!("{t}\x1f{n}\x1f{tbl}\x1f{sql}\n").as_bytes());
    }
    assert_eq!(hex::encode(sha.finalize()), OFFICIAL_MASTER_SHA1);

    let mut stmt = conn
        .prepare("select tbl, idx, stat from sqlite_stat1")
        .unwrap();
    let stat1: Vec<(String, Option<String>, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let mut stat1: Vec<(&str, Option<&str>, &str)> = stat1
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_deref(), c.as_str()))
        .collect();
    // Row order follows SQLite's internal table hash order, which is
    // history dependent (and meaningless); compare as sets.
    stat1.sort();
    let mut expected = OFFICIAL_STAT1.to_vec();
    expected.sort();
    assert_eq!(stat1, expected);
    let mut stmt = conn
        .prepare("select tbl, idx, neq, nlt, ndlt, hex(sample) from sqlite_stat4")
        .unwrap();
    let stat4: Vec<[String; 6]> = stmt
        .query_map([], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        })
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let expected: Vec<[String; 6]> = OFFICIAL_STAT4
        .iter()
        .map(|&(a, b, c, d, e, f)| [a, b, c, d, e, f].map(String::from))
        .collect();
    assert_eq!(stat4, expected);
}

#[test]
fn config_rows_match_official() {
    let now_ms = OFFICIAL_SCM;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare("select KEY, usn, mtime_secs, val from config order by KEY")
        .unwrap();
    let rows: Vec<(String, i32, i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let mut expected: Vec<(String, i32, i64, Vec<u8>)> = OFFICIAL_CONFIG
        .iter()
        .map(|&(k, u, m, v)| (k.to_string(), u, m, v.as_bytes().to_vec()))
        .collect();
    // In the official file: ('curModel', -1, <now secs>, b'<Basic id>').
    expected.push((
        "curModel".into(),
        -1,
        now_ms / 1000,
        (now_ms + 2).to_string().into_bytes(),
    ));
    expected.sort();
    assert_eq!(rows, expected);
    // every value is valid JSON
    for (k, _, _, v) in &rows {
        serde_json::from_slice::<serde_json::Value>(v).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    let basic: String = conn
        .query_row(
            "select name from notetypes where id = ?1",
            [now_ms + 2],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(basic, "Basic");
}

#[test]
fn deck_and_deck_config_match_official() {
    let (_dir, conn) = open_created(OFFICIAL_SCM);
    let deck: (i64, String, i64, i32, Vec<u8>, Vec<u8>) = conn
        .query_row("select * from decks", [], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap();
    assert_eq!(
        (deck.0, deck.1.as_str(), deck.2, deck.3),
        (1, "Default", 0, 0)
    );
    assert_eq!(blob_hex(deck.4.clone()), OFFICIAL_DECK_COMMON);
    assert_eq!(blob_hex(deck.5.clone()), OFFICIAL_DECK_KIND);
    assert_eq!(
        DeckCommon::decode(&deck.4[..]).unwrap(),
        default_deck_common()
    );
    assert_eq!(
        DeckKindContainer::decode(&deck.5[..]).unwrap(),
        default_deck_kind()
    );

    let dconf: (i64, String, i64, i32, Vec<u8>) = conn
        .query_row("select * from deck_config", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    assert_eq!(
        (dconf.0, dconf.1.as_str(), dconf.2, dconf.3),
        (1, "Default", 0, 0)
    );
    assert_eq!(blob_hex(dconf.4.clone()), OFFICIAL_DECK_CONFIG);
    let decoded = DeckConfigConfig::decode(&dconf.4[..]).unwrap();
    assert_eq!(decoded, default_deck_config());
    assert!(decoded.wait_for_audio);
    // the official blob round-trips through our struct unchanged
    let official =
        DeckConfigConfig::decode(&hex::decode(OFFICIAL_DECK_CONFIG).unwrap()[..]).unwrap();
    assert_eq!(blob_hex(official.encode_to_vec()), OFFICIAL_DECK_CONFIG);
}

#[test]
fn notetypes_match_official() {
    let now_ms = OFFICIAL_SCM + 1_000_003;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare("select id, name, mtime_secs, usn, config from notetypes order by id")
        .unwrap();
    let rows: Vec<(i64, String, i64, i32, Vec<u8>)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), OFFICIAL_NOTETYPES.len());
    for (row, &(offset, name, hex_str)) in rows.iter().zip(OFFICIAL_NOTETYPES) {
        assert_eq!(row.0, now_ms + offset);
        assert_eq!(row.1, name);
        assert_eq!((row.2, row.3), (0, 0), "{name}");
        assert_eq!(blob_hex(row.4.clone()), hex_str, "{name}");
        let official = NotetypeConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
        assert_eq!(blob_hex(official.encode_to_vec()), hex_str, "{name}");
    }
}

#[test]
fn fields_match_official_apart_from_random_ids() {
    let now_ms = OFFICIAL_SCM;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare("select ntid, ord, name, config from fields order by ntid, ord")
        .unwrap();
    let rows: Vec<(i64, u32, String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), OFFICIAL_FIELDS.len());
    let mut ids = std::collections::HashSet::new();
    for (row, &(offset, ord, name, hex_str)) in rows.iter().zip(OFFICIAL_FIELDS) {
        assert_eq!((row.0, row.1, row.2.as_str()), (now_ms + offset, ord, name));
        // the official blob round-trips through our struct unchanged
        let official = FieldConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
        assert_eq!(blob_hex(official.encode_to_vec()), hex_str);
        // ours equals it once the random ids are cleared, also byte for byte
        let mut ours = FieldConfig::decode(&row.3[..]).unwrap();
        assert!(ids.insert(ours.id.expect("field id set")));
        ours.id = None;
        let theirs = field_without_id(hex_str);
        assert_eq!(ours, theirs, "{name}");
        assert_eq!(ours.encode_to_vec(), theirs.encode_to_vec());
    }
}

#[test]
fn templates_match_official_apart_from_random_ids() {
    let now_ms = OFFICIAL_SCM;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare(
            "select ntid, ord, name, mtime_secs, usn, config from templates order by ntid, ord",
        )
        .unwrap();
    let rows: Vec<(i64, u32, String, i64, i32, Vec<u8>)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), OFFICIAL_TEMPLATES.len());
    let mut ids = std::collections::HashSet::new();
    for (row, &(offset, ord, name, hex_str)) in rows.iter().zip(OFFICIAL_TEMPLATES) {
        assert_eq!((row.0, row.1, row.2.as_str()), (now_ms + offset, ord, name));
        assert_eq!((row.3, row.4), (0, 0));
        let official = TemplateConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
        assert_eq!(blob_hex(official.encode_to_vec()), hex_str);
        let mut ours = TemplateConfig::decode(&row.5[..]).unwrap();
        assert!(ids.insert(ours.id.expect("template id set")));
        ours.id = None;
        let theirs = template_without_id(hex_str);
        assert_eq!(ours, theirs, "{name}");
        assert_eq!(ours.encode_to_vec(), theirs.encode_to_vec());
    }
}

#[test]
fn random_ids_differ_between_collections() {
    let (_d1, a) = open_created(OFFICIAL_SCM);
    let (_d2, b) = open_created(OFFICIAL_SCM);
    let ids = |c: &Connection| -> Vec<Vec<u8>> {
        let mut s = c
            .prepare("select config from fields order by ntid, ord")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap()
    };
    assert_ne!(ids(&a), ids(&b));
}

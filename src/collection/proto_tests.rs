use super::*;
use prost::Message;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn optional_fields_are_encoded_when_present_even_if_zero() {
    let f = FieldConfig {
        tag: Some(0),
        ..Default::default()
    };
    assert_eq!(f.encode_to_vec(), vec![0x50, 0x00]);
    assert!(FieldConfig::default().encode_to_vec().is_empty());
    let f = FieldConfig::decode(&[0x50u8, 0x00][..]).unwrap();
    assert_eq!(f.tag, Some(0));
    assert_eq!(f.id, None);
}

#[test]
fn deck_blobs_roundtrip() {
    // Default deck of a fresh official collection.
    let common = DeckCommon::decode(&unhex("08011001")[..]).unwrap();
    assert!(common.study_collapsed && common.browser_collapsed);
    assert_eq!(common.encode_to_vec(), unhex("08011001"));
    let kind = DeckKindContainer::decode(&unhex("0A020801")[..]).unwrap();
    match &kind.kind {
        Some(DeckKind::Normal(n)) => assert_eq!(n.config_id, 1),
        other => panic!("unexpected kind {other:?}"),
    }
    assert_eq!(kind.encode_to_vec(), unhex("0A020801"));
}

#[test]
fn filtered_deck_roundtrip() {
    let kind = DeckKindContainer {
        kind: Some(DeckKind::Filtered(DeckFiltered {
            reschedule: true,
            search_terms: vec![SearchTerm {
                search: "deck:x".into(),
                limit: 100,
                order: SearchTermOrder::Due as i32,
            }],
            delays: vec![1.0, 10.0],
            preview_delay: 10,
            preview_again_secs: 60,
            preview_hard_secs: 600,
            preview_good_secs: 0,
        })),
    };
    let bytes = kind.encode_to_vec();
    // oneof field 2, length-delimited
    assert_eq!(bytes[0], 0x12);
    assert_eq!(DeckKindContainer::decode(&bytes[..]).unwrap(), kind);
}

#[test]
fn deck_config_field_44_is_wait_for_audio() {
    let c = DeckConfigConfig {
        wait_for_audio: true,
        ..Default::default()
    };
    // tag 44, varint: (44 << 3) | 0 = 352 = 0xE0 0x02
    assert_eq!(c.encode_to_vec(), vec![0xE0, 0x02, 0x01]);
}

#[test]
fn unknown_fields_are_skipped() {
    // field 99 varint 5, then font_size 20
    let c = FieldConfig::decode(&[0x98u8, 0x06, 0x05, 0x20, 0x14][..]).unwrap();
    assert_eq!(c.font_size, 20);
}

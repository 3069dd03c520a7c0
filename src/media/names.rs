//! Media file names: what an upload may name, and what may be joined to the
//! media folder's path at all.
//!
//! A name becomes a file name directly inside `<user>/media/`, so it must be
//! one ordinary path component. Uploaded names are normalised to NFC (the form
//! the clients use and the official server stores) and then checked against
//! the rules below; a name the real client would never send is refused rather
//! than repaired, so what is stored is always what the client asked for.

use unicode_normalization::UnicodeNormalization;

/// Longest name in bytes (after NFC), as the official server; also the
/// filesystem's limit for one path component.
pub const MAX_NAME_BYTES: usize = 255;

/// Prefix of kioku's temporary files in the media folder; refused as a media
/// name so a client's file can never be mistaken for a leftover and removed.
pub const RESERVED_PREFIX: &str = ".kioku-";

/// Characters the client removes from every media name (sync-protocol.md
/// §11.9), so they only arrive from something that is not a real client.
const CLIENT_FORBIDDEN: &[char] = &[
    '[', ']', '<', '>', ':', '"', '/', '?', '*', '^', '\\', '|', '\u{a0}',
];

/// Why a name was refused; shown to the user by the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("media file name {name:?} {reason}")]
pub struct BadName {
    pub name: String,
    pub reason: &'static str,
}

fn bad(name: &str, reason: &'static str) -> BadName {
    // Long or hostile names are shortened for messages and logs.
    let shown: String = name.chars().take(80).collect();
    BadName {
        name: shown,
        reason,
    }
}

/// The checks every name must pass before it is joined to the media folder:
/// not empty, not `.` or `..`, no `/`, `\` or NUL, at most 255 bytes.
pub fn check_component(name: &str) -> Result<(), BadName> {
    if name.is_empty() {
        Err(bad(name, "is empty"))
    } else if name == "." || name == ".." {
        Err(bad(name, "is . or .. (it would leave the media folder)"))
    } else if name.contains(['/', '\\']) {
        Err(bad(name, "contains a path separator (/ or \\)"))
    } else if name.contains('\0') {
        Err(bad(name, "contains a NUL character"))
    } else if name.len() > MAX_NAME_BYTES {
        Err(bad(name, "is longer than 255 bytes"))
    } else {
        Ok(())
    }
}

/// Normalises an uploaded name to NFC and checks it: the component rules,
/// then no control characters, none of the characters the client removes
/// (`[ ] < > : " / ? * ^ \ |`, no-break space), and not kioku's reserved
/// temp-file prefix. Returns the NFC name to store.
pub fn for_upload(raw: &str) -> Result<String, BadName> {
    let name: String = raw.nfc().collect();
    check_component(&name)?;
    if name.chars().any(char::is_control) {
        return Err(bad(&name, "contains a control character"));
    }
    if name.contains(CLIENT_FORBIDDEN) {
        return Err(bad(
            &name,
            "contains a character Anki does not allow in media names ([ ] < > : \" ? * ^ | or a no-break space)",
        ));
    }
    if name.starts_with(RESERVED_PREFIX) {
        return Err(bad(
            &name,
            "starts with .kioku-, which kioku reserves for its temporary files",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_and_unicode_names_pass_unchanged() {
        for ok in [
            "a.jpg",
            "café 日本.jpg",
            "sound_hola.mp3",
            "a..b.png",
            ".hidden",
            "x y",
        ] {
            assert_eq!(for_upload(ok).unwrap(), ok.nfc().collect::<String>());
        }
    }

    #[test]
    fn nfd_names_are_stored_as_nfc() {
        let nfd = "cafe\u{301} 日本.jpg";
        let nfc = "caf\u{e9} 日本.jpg";
        assert_ne!(nfd, nfc);
        assert_eq!(for_upload(nfd).unwrap(), nfc);
        assert_eq!(for_upload(nfc).unwrap(), nfc);
    }

    #[test]
    fn traversal_and_absolute_names_are_refused() {
        for bad in [
            "..",
            ".",
            "../x",
            "../../etc/passwd",
            "/etc/passwd",
            "a/b",
            "a\\b",
            "..\\x",
            "C:\\x",
        ] {
            assert!(for_upload(bad).is_err(), "{bad:?}");
            if bad != "C:\\x" {
                assert!(check_component(bad).is_err(), "{bad:?}");
            }
        }
    }

    #[test]
    fn empty_nul_control_and_too_long_names_are_refused() {
        assert!(for_upload("").is_err());
        assert!(for_upload("a\0b").is_err());
        assert!(check_component("a\0b").is_err());
        assert!(for_upload("a\nb").is_err());
        assert!(for_upload("a\u{7f}b").is_err());
        let max = "é".repeat(127) + "x"; // 255 bytes
        assert_eq!(max.len(), 255);
        assert!(for_upload(&max).is_ok());
        let long = "é".repeat(128); // 256 bytes
        assert!(for_upload(&long).unwrap_err().reason.contains("255"));
    }

    #[test]
    fn length_is_measured_after_nfc() {
        // 100 × "e + combining acute" is 300 bytes in NFD, 200 in NFC.
        let nfd = "e\u{301}".repeat(100);
        assert!(nfd.len() > 255);
        assert_eq!(for_upload(&nfd).unwrap().len(), 200);
    }

    #[test]
    fn characters_the_client_removes_and_the_reserved_prefix_are_refused() {
        for bad in [
            "a[1].jpg",
            "a]",
            "a<b",
            "a>b",
            "a:b",
            "a\"b",
            "a?b",
            "a*b",
            "a^b",
            "a|b",
            "a\u{a0}b",
            ".kioku-x.tmp",
        ] {
            assert!(for_upload(bad).is_err(), "{bad:?}");
        }
    }
}

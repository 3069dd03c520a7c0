//! A look at an uploaded zip's end record before the zip reader parses it,
//! so that an archive claiming more entries than allowed (or a huge central
//! directory) is refused before anything is read into memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use super::MediaError;

fn bad(message: impl Into<String>) -> MediaError {
    MediaError::BadRequest(message.into())
}

/// Reads the end-of-central-directory record before the zip reader does, so
/// that an archive claiming more entries than allowed (or a huge directory)
/// is refused before anything is parsed into memory. Zip64 is refused: no
/// media zip comes near 4 GiB.
pub fn check_end_record(
    file: &mut File,
    max_entries: usize,
    max_directory_bytes: u64,
) -> Result<(), MediaError> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const EOCD_LEN: u64 = 22;
    let len = file.metadata()?.len();
    if len < EOCD_LEN {
        return Err(bad("not a zip file (too short)"));
    }
    let tail_len = len.min(EOCD_LEN + u64::from(u16::MAX));
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)?;
    // The last record whose comment runs exactly to the end of the file.
    let found = (0..=tail.len() - EOCD_LEN as usize).rev().find(|&at| {
        tail[at..at + 4] == EOCD
            && at + EOCD_LEN as usize + usize::from(u16_at(&tail, at + 20)) == tail.len()
    });
    let Some(at) = found else {
        return Err(bad("not a zip file (no end of central directory record)"));
    };
    let disk = u16_at(&tail, at + 4);
    let cd_disk = u16_at(&tail, at + 6);
    let on_disk = u16_at(&tail, at + 8);
    let entries = u16_at(&tail, at + 10);
    let cd_size = u32_at(&tail, at + 12);
    let cd_offset = u32_at(&tail, at + 16);
    if entries == u16::MAX || cd_size == u32::MAX || cd_offset == u32::MAX {
        return Err(bad("zip64 archives are not accepted for media"));
    }
    if disk != 0 || cd_disk != 0 || on_disk != entries {
        return Err(bad("multi-part zip archives are not accepted"));
    }
    if usize::from(entries) > max_entries {
        return Err(bad(format!(
            "the zip claims {entries} entries; at most {} are allowed",
            max_entries
        )));
    }
    if u64::from(cd_size) > max_directory_bytes {
        return Err(bad(format!(
            "the zip's central directory is {cd_size} bytes"
        )));
    }
    let eocd_offset = len - tail_len + at as u64;
    if u64::from(cd_offset) + u64::from(cd_size) != eocd_offset {
        return Err(bad(
            "the zip's central directory is not where its end record says",
        ));
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

//! The setup page in a real browser: headless Chromium renders it at phone
//! and desktop widths (screenshots kept as test artifacts under
//! target/tmp/setup-page/), with JavaScript on (copy buttons shown) and the
//! visitor's language.
//!
//! Needs `chromium` (Debian package); fails, never skips, without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{temp_dir, Server};

fn browser(profile: &Path, lang: &str) -> Command {
    let mut cmd = common::chromium(profile);
    cmd.arg(format!("--accept-lang={lang}"))
        .arg(format!("--lang={lang}"));
    cmd
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("setup-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_setup_page_renders_in_headless_chromium_at_phone_and_desktop_width() {
    let server = Server::start(&[]);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let out_dir = artifacts();
    for (name, lang, width, height) in [
        ("phone-en", "en-US", 390, 2200),
        ("desktop-en", "en-US", 1280, 1500),
        ("phone-ja", "ja", 390, 2200),
    ] {
        let profile = temp_dir("chromium");
        let shot = out_dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&shot);
        let out = browser(&profile, lang)
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            shot.is_file(),
            "no screenshot {}: {}",
            shot.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(png_size(&shot), (width, height), "{name}");
        println!("screenshot: {}", shot.display());
        let _ = std::fs::remove_dir_all(&profile);
    }
    // With JavaScript on, the copy buttons are shown; the language follows
    // the browser's.
    let profile = temp_dir("chromium");
    let dom = browser(&profile, "de-DE")
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<html lang=\"de\">"), "{dom}");
    assert!(dom.contains("class=\"copy\""), "{dom}");
    assert!(
        !dom.contains("class=\"copy\" data-copy-from=\"pem\" hidden"),
        "copy buttons stay hidden with JavaScript on"
    );
    assert!(
        dom.contains("kioku.mobileconfig") && dom.contains("<svg"),
        "{dom}"
    );
}

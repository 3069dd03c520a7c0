//! The pieces every kioku page shares: the frame (in the setup page's
//! style: plain, readable on a phone, no JavaScript needed), escaping, and
//! how sizes and times are shown.

use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A user name as one path segment of a URL.
pub fn url_segment(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string()
}

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:46rem;margin:0 auto;padding:1rem;line-height:1.45;color:#1d2530;background:#fbfbf8}
h1{font-size:1.5rem;margin:.2rem 0 .6rem} h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ddd}
a{color:#2a5db0} code{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
header.bar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between;border-bottom:1px solid #ddd;padding-bottom:.5rem}
header.bar form{margin:0}
.card{background:#fff;border:1px solid #dde;border-radius:.5rem;padding:.6rem .8rem;margin:.6rem 0}
.card h3{margin:0 0 .3rem;font-size:1.05rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:0}
dl.facts dt{color:#555} dl.facts dd{margin:0}
form.stack{display:grid;gap:.6rem;max-width:24rem}
form.stack label{display:grid;gap:.2rem;font-weight:600}
form.stack label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}
input[type=text],input[type=password]{font:inherit;padding:.45rem .5rem;border:1px solid #99a;border-radius:.35rem;background:#fff}
button{font:inherit;padding:.45rem .9rem;border:1px solid #2a5db0;border-radius:.4rem;background:#2a5db0;color:#fff;cursor:pointer}
button.plain{background:#fff;color:#2a5db0} button.danger{background:#b02a2a;border-color:#b02a2a}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
.msg{padding:.5rem .7rem;border-radius:.4rem;margin:.6rem 0}
.msg.ok{background:#e6f4ea;border:1px solid #9bc9a5} .msg.err{background:#fbe9e9;border:1px solid #d99}
.note{color:#555;font-size:.9rem} .badge{font-size:.8rem;padding:.05rem .4rem;border-radius:.3rem;background:#eef;border:1px solid #ccd;margin-left:.3rem;font-weight:400}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #e3e3e3;vertical-align:top}
.scroll{overflow-x:auto}
.nowrap{white-space:nowrap} th.num,td.num{white-space:nowrap;text-align:right} h3{font-size:1rem;margin:1.1rem 0 .4rem}
td .acts{display:flex;flex-wrap:wrap;gap:.35rem .7rem;align-items:center;justify-content:flex-end}
td .acts form{margin:0} td .acts button{padding:.2rem .6rem}
code.key{display:inline-block;font-size:1.15rem;padding:.3rem .5rem;background:#fff;border:1px dashed #9bc9a5;user-select:all;word-break:break-all}
.buttons{display:flex;flex-wrap:wrap;gap:.6rem 1.2rem;align-items:center}
@media (max-width:30rem){th,td{padding:.3rem .2rem} td .acts button{padding:.2rem .45rem}}
"#;

/// A whole page: `title` in `<title>` and `<h1>` unless `body` brings its own header.
pub fn page(lang: &str, title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title}</title>\n<style>{CSS}</style></head><body>\n{body}\n</body></html>\n",
        lang = esc(lang),
        title = esc(title),
    );
    out
}

/// A message box: `ok` (green) or an error (red), announced to screen readers.
pub fn message(ok: bool, text: &str) -> String {
    format!(
        "<p class=\"msg {}\" role=\"{}\">{}</p>",
        if ok { "ok" } else { "err" },
        if ok { "status" } else { "alert" },
        esc(text)
    )
}

/// Bytes as `12.3 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A duration as `250 ms`, `5 s`, `15 min` or `2 h`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    match ms {
        ms if ms < 1000 => format!("{ms} ms"),
        ms if ms < 60_000 || ms % 60_000 != 0 => format!("{} s", ms / 1000),
        ms if ms < 3_600_000 || ms % 3_600_000 != 0 => format!("{} min", ms / 60_000),
        ms => format!("{} h", ms / 3_600_000),
    }
}

/// Unix seconds as `2025-11-30 10:04 UTC (3 h ago)`; `never` for `None`.
pub fn time(secs: Option<i64>, now: i64) -> String {
    let Some(secs) = secs else {
        return "never".into();
    };
    format!("{} ({})", utc_minute(secs), ago(now - secs))
}

/// Unix seconds as `2025-11-30 10:04 UTC` (empty when out of range).
pub fn utc_minute(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Unix seconds for a table cell: the date and the time (with seconds if
/// `seconds`) each kept on one line, and how long ago below.
pub fn time_cell(secs: i64, now: i64, seconds: bool) -> String {
    let format = if seconds { "%H:%M:%S UTC" } else { "%H:%M UTC" };
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => format!(
            "<span class=\"nowrap\">{}</span> <span class=\"nowrap\">{}</span><br>\
             <span class=\"note\">{}</span>",
            t.format("%Y-%m-%d"),
            t.format(format),
            ago(now - secs)
        ),
        None => "?".into(),
    }
}

fn ago(secs: i64) -> String {
    match secs {
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn names_become_single_url_segments() {
        assert_eq!(url_segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert_eq!(url_segment("ユ"), "%E3%83%A6");
    }

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(time(None, 0), "never");
        let d = std::time::Duration::from_millis;
        assert_eq!(duration(d(20)), "20 ms");
        assert_eq!(duration(d(1000)), "1 s");
        assert_eq!(duration(d(90_000)), "90 s");
        assert_eq!(duration(d(900_000)), "15 min");
        assert_eq!(duration(d(3_600_000)), "1 h");
        assert_eq!(time(Some(0), 7200), "1970-01-01 00:00 UTC (2 h ago)");
        assert_eq!(time(Some(100), 130), "1970-01-01 00:01 UTC (just now)");
        let cell = time_cell(3661, 7200 + 3661, true);
        assert!(
            cell.contains(">01:01:01 UTC<") && cell.contains(">2 h ago<"),
            "{cell}"
        );
    }
}

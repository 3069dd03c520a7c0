//! The Backups section of a user's admin page: the user's snapshots (kind,
//! time, size), each with a download link and a Restore button; the
//! download itself (`GET /admin/user/<name>/backups/<snapshot>`, streamed
//! from the file, never read into memory), and the restore (`POST
//! /admin/user/<name>/restore`: without `confirm=yes` it answers a
//! confirmation page, with it the restore runs in-process through
//! [`crate::backup::restore`]).
//!
//! Snapshot names come from the request, so they go through
//! [`crate::backup`]'s checks (a snapshot name, in that user's backups
//! folder) before anything is opened. Errors become statuses in
//! [`crate::http::error`]. This module renders and calls; it must not touch
//! a collection itself.

use std::fmt::Write;

use hyper::StatusCode;

use super::admin::{bar, csrf_field, current_session, Authorized};
use super::admin_user::{existing, user_page};
use super::html::{self, esc, size, url_segment};
use super::session::Session;
use super::{blocking, Ctx, Reply};
use crate::backup::{self, BackupError, Kind, SnapshotInfo, SnapshotName};
use crate::http::error::HttpError;

/// When a snapshot was taken, to the second (several can fall in a minute).
fn taken(s: &SnapshotInfo, now: i64) -> String {
    let ago = html::time(Some(s.taken.timestamp()), now);
    let ago = ago.split_once(" (").map_or("", |(_, rest)| rest);
    format!("{} ({ago}", s.taken.format("%Y-%m-%d %H:%M:%S UTC"))
}

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Upload => "upload: the collection a full upload replaced",
        Kind::Daily => "daily",
        Kind::Restore => "restore: the collection a restore replaced",
    }
}

/// The user's snapshots (newest first), read off the async threads.
async fn snapshots(ctx: &Ctx<'_>, name: &str) -> Result<Vec<SnapshotInfo>, HttpError> {
    let (base, user) = (ctx.app.config.base.clone(), name.to_owned());
    Ok(blocking(move || backup::list(&base, &user)).await??)
}

/// The Backups section of `name`'s page.
pub(super) async fn section(ctx: &Ctx<'_>, s: &Session, name: &str) -> String {
    let listed = snapshots(ctx, name).await;
    let now = crate::clock::now_secs();
    let link = url_segment(name);
    let mut out = format!(
        "<h2 id=\"backups\">Backups</h2><p class=\"note\">Snapshots of {n}'s collection (not of \
         their media): <em>upload</em>, the collection a full upload replaced; <em>daily</em>, \
         once a day after a day with changes; <em>restore</em>, the collection a restore \
         replaced. Download one to keep it (<code>zstd -d</code> turns it into a \
         <code>collection.anki2</code>), or restore it: every device of {n} must then do a full \
         sync.</p>",
        n = esc(name)
    );
    let list = match listed {
        Ok(list) => list,
        Err(e) => {
            // The rest of the page stays usable.
            tracing::error!(user = name, error = %e, "cannot list the snapshots");
            out.push_str(&html::message(
                false,
                &format!("Cannot list the snapshots: {e}"),
            ));
            return out;
        }
    };
    if list.is_empty() {
        out.push_str("<p>No snapshots yet.</p>");
        return out;
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Kind</th>\
         <th scope=\"col\">Taken</th><th scope=\"col\" class=\"num\">Size</th>\
         <th scope=\"col\"></th></tr></thead><tbody>",
    );
    for snap in &list {
        let _ = write!(
            out,
            "<tr><td title=\"{title}\">{kind}</td><td>{taken}</td><td class=\"num\">{size}</td>\
             <td><div class=\"acts\"><a href=\"/admin/user/{link}/backups/{file}\" download>Download</a>\
             <form method=\"post\" action=\"/admin/user/{link}/restore\">{csrf}\
             <input type=\"hidden\" name=\"snapshot\" value=\"{file}\">\
             <button class=\"plain\" type=\"submit\">Restore…</button></form></div></td></tr>",
            title = esc(kind_text(snap.kind)),
            kind = snap.kind.name(),
            taken = html::time_cell(snap.taken.timestamp(), now, true),
            size = esc(&size(snap.size)),
            file = esc(&snap.name),
            csrf = csrf_field(s),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The file name a download is saved as: `kioku-<user>-<snapshot>`, with
/// anything but ASCII letters, digits, `.`, `-` and `_` in the user name
/// replaced (the header carries the exact name too, percent-encoded).
fn download_name(user: &str, snapshot: &str) -> (String, String) {
    let safe: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_');
    let exact = format!("kioku-{user}-{snapshot}");
    let encoded = percent_encoding::utf8_percent_encode(&exact, ATTR).to_string();
    (format!("kioku-{safe}-{snapshot}"), encoded)
}

/// `GET /admin/user/<name>/backups/<snapshot>`: the compressed snapshot as
/// stored, streamed.
pub(super) async fn download(
    ctx: &mut Ctx<'_>,
    name: &str,
    snapshot: &str,
) -> Result<Reply, HttpError> {
    let Some(s) = current_session(ctx) else {
        return Ok(Reply::redirect(StatusCode::SEE_OTHER, "/admin"));
    };
    let (base, user, file) = (
        ctx.app.config.base.clone(),
        name.to_owned(),
        snapshot.to_owned(),
    );
    let opened = blocking(move || backup::open(&base, &user, &file)).await??;
    tracing::info!(admin = %s.user, user = name, snapshot, bytes = opened.len, "snapshot downloaded from the admin page");
    let (ascii, exact) = download_name(name, &opened.name);
    Ok(Reply::download(
        "application/zstd",
        &ascii,
        &exact,
        opened.file,
        opened.len,
    ))
}

/// `POST /admin/user/<name>/restore`: the confirmation page, or (with
/// `confirm=yes`) the restore, then back to the user's page saying what
/// happened.
pub(super) async fn restore(
    ctx: &mut Ctx<'_>,
    auth: Authorized,
    name: &str,
) -> Result<Reply, HttpError> {
    existing(ctx, name)?;
    let snapshot = auth.field("snapshot").to_owned();
    let refused = |e: BackupError| {
        let text = e.to_string();
        (HttpError::from(e).status(), text)
    };
    let found = match SnapshotName::parse(&snapshot) {
        Err(e) => Err(refused(e.into())),
        Ok(_) => match snapshots(ctx, name)
            .await?
            .into_iter()
            .find(|s| s.name == snapshot)
        {
            Some(info) => Ok(info),
            None => Err(refused(BackupError::NotFound {
                user: name.to_owned(),
                name: snapshot.clone(),
            })),
        },
    };
    let info = match found {
        Ok(info) => info,
        Err((status, text)) => {
            ctx.log.error = Some(text.clone());
            return user_page(ctx, &auth.session, name, Some((false, text)), status, None).await;
        }
    };
    if auth.field("confirm") != "yes" {
        return Ok(confirmation(&auth.session, name, &info));
    }
    let app = ctx.app;
    match backup::restore(&app.store, &app.config.backups, name, &snapshot).await {
        Ok(done) => {
            tracing::info!(admin = %auth.session.user, user = name, snapshot, "snapshot restored from the admin page");
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("done", "restored")
                .append_pair("snapshot", &done.from);
            if let Some(undo) = &done.undo {
                q.append_pair("undo", &undo.name);
            }
            let location = format!("/admin/user/{}?{}", url_segment(name), q.finish());
            Ok(Reply::redirect(StatusCode::SEE_OTHER, &location))
        }
        Err(e) => {
            let (status, text) = refused(e);
            tracing::warn!(user = name, snapshot, error = %text, "restore from the admin page failed");
            ctx.log.error = Some(text.clone());
            let msg = Some((false, format!("Not restored: {text}")));
            user_page(ctx, &auth.session, name, msg, status, None).await
        }
    }
}

fn confirmation(s: &Session, name: &str, info: &SnapshotInfo) -> Reply {
    let now = crate::clock::now_secs();
    let link = url_segment(name);
    let mut body = bar(s);
    let _ = write!(
        body,
        "<p><a href=\"/admin/user/{link}\">← {n}</a></p><h1>Restore {n}'s collection?</h1>\
         <dl class=\"facts\"><dt>Snapshot</dt><dd><code>{file}</code></dd><dt>Kind</dt><dd>{kind}</dd>\
         <dt>Taken</dt><dd>{taken}</dd><dt>Size</dt><dd>{size} (compressed)</dd></dl>\
         <ul><li>The collection on this server is replaced by this snapshot. The current one is \
         kept first, as a <code>restore</code> snapshot, so this can be undone.</li>\
         <li>Every device of {n} is then asked to do a full sync. A device without cards \
         downloads the restored collection; on the others choose <strong>Download</strong> \
         (Upload would replace the restored collection again). What a device has not synced \
         yet is lost when it downloads.</li>\
         <li>Media files are not part of snapshots and stay as they are.</li></ul>\
         <form method=\"post\" action=\"/admin/user/{link}/restore\">{csrf}\
         <input type=\"hidden\" name=\"snapshot\" value=\"{file}\">\
         <input type=\"hidden\" name=\"confirm\" value=\"yes\">\
         <p class=\"buttons\"><button class=\"danger\" type=\"submit\">Restore this snapshot</button>\
         <a href=\"/admin/user/{link}#backups\">Cancel</a></p></form>",
        n = esc(name),
        file = esc(&info.name),
        kind = esc(kind_text(info.kind)),
        taken = esc(&taken(info, now)),
        size = esc(&size(info.size)),
        csrf = csrf_field(s),
    );
    Reply::html(
        StatusCode::OK,
        html::page("en", &format!("kioku admin — restore {name}"), &body),
    )
}

/// The message after `?done=restored&snapshot=…&undo=…`.
pub(super) fn restored_notice(name: &str, snapshot: &str, undo: Option<&str>) -> String {
    let kept = match undo {
        Some(undo) => format!(
            "The collection it replaced was kept as the restore snapshot {undo} (restore that \
             to undo this)."
        ),
        None => "The collection it replaced had no notes, so nothing was kept of it.".into(),
    };
    format!(
        "Restored {snapshot}. Every device of {name} will be asked to do a full sync at its \
         next sync: devices without cards download the restored collection; on the others \
         choose Download. {kept}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_ascii_and_keep_the_exact_name_encoded() {
        let snap = "upload-2025-06-01T04-10-00.123Z.anki2.zst";
        let (ascii, exact) = download_name("ユ a\"b", snap);
        assert_eq!(ascii, format!("kioku-__a_b-{snap}"));
        assert_eq!(exact, format!("kioku-%E3%83%A6%20a%22b-{snap}"));
        assert_eq!(
            download_name("alice", snap).0,
            format!("kioku-alice-{snap}")
        );
    }
}

//! The API keys section of a user's admin page: the user's AnkiConnect API
//! keys (id, label, created) with a Revoke button each, and a form that
//! makes a new key — shown once, on the page that answers the form, and
//! never again (only its hash is stored, by [`crate::users::apikeys`]).
//! Forms: `POST /admin/user/<name>/new-key` (`label`) and
//! `POST /admin/user/<name>/revoke-key` (`id`; only that user's keys).
//! This module renders and calls; the key file is apikeys' business.

use std::fmt::Write;

use hyper::StatusCode;

use super::admin::{csrf_field, Authorized};
use super::admin_user::{existing, user_page};
use super::html::{esc, time_cell, url_segment};
use super::session::Session;
use super::{blocking, Ctx, Reply};
use crate::http::error::HttpError;
use crate::users::apikeys::{self, KeyEntry, KeyError};

/// Longest label, in characters.
const MAX_LABEL: usize = 100;

/// A key just made: shown once.
pub(super) struct NewKey {
    pub key: String,
    pub entry: KeyEntry,
}

/// The section of `name`'s page; `fresh` is a key just made for them.
pub(super) async fn section(
    ctx: &Ctx<'_>,
    s: &Session,
    name: &str,
    fresh: Option<&NewKey>,
) -> Result<String, HttpError> {
    let (base, user) = (ctx.app.config.base.clone(), name.to_owned());
    let keys = blocking(move || apikeys::list_user(&base, &user)).await?;
    let link = url_segment(name);
    let mut out = format!(
        "<h2 id=\"keys\">AnkiConnect API keys</h2><p class=\"note\">A key lets a tool — Yomitan, \
         the KOReader plugin, a script — add and change notes in {n}'s collection through the \
         AnkiConnect API (port {port}, or <code>/ankiconnect</code>). Only a hash of each key is \
         kept: a key is shown once, when it is made.{off}</p>",
        n = esc(name),
        port = ctx.app.config.ankiconnect.port,
        off = if ctx.app.config.ankiconnect.enabled {
            ""
        } else {
            " The API is off on this server (<code>--no-ankiconnect</code>)."
        },
    );
    if let Some(new) = fresh {
        let _ = write!(
            out,
            "<div class=\"msg ok\" role=\"status\"><p>New key <code>{id}</code>{label}. Copy it \
             now: it is not shown again.</p><p><code class=\"key\">{key}</code></p>\
             <p class=\"note\">In Yomitan: Settings → Anki → API key. KOReader: <code>api_key</code>.</p></div>",
            id = esc(&new.entry.id),
            label = new
                .entry
                .label
                .as_deref()
                .map(|l| format!(" ({})", esc(l)))
                .unwrap_or_default(),
            key = esc(&new.key),
        );
    }
    match keys {
        Err(e) => {
            let _ = write!(out, "{}", super::html::message(false, &e.to_string()));
        }
        Ok(keys) if keys.is_empty() => out.push_str("<p>No API keys.</p>"),
        Ok(keys) => {
            let now = crate::clock::now_secs();
            out.push_str(
                "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Key id</th>\
                 <th scope=\"col\">Label</th><th scope=\"col\">Made</th><th scope=\"col\"></th>\
                 </tr></thead><tbody>",
            );
            for k in keys {
                let _ = write!(
                    out,
                    "<tr><td><code class=\"nowrap\">{id}</code></td><td>{label}</td><td>{made}</td>\
                     <td><div class=\"acts\"><form method=\"post\" action=\"/admin/user/{link}/revoke-key\">{csrf}\
                     <input type=\"hidden\" name=\"id\" value=\"{id}\">\
                     <button class=\"plain\" type=\"submit\">Revoke</button></form></div></td></tr>",
                    id = esc(&k.id),
                    label = esc(k.label.as_deref().unwrap_or("")),
                    made = time_cell(k.created, now, false),
                    csrf = csrf_field(s),
                );
            }
            out.push_str("</tbody></table></div>");
        }
    }
    let _ = write!(
        out,
        "<h3>Make a key</h3><form class=\"stack\" method=\"post\" action=\"/admin/user/{link}/new-key\">{csrf}\
         <label><span>Label <span class=\"note\">(what the key is for, e.g. “yomitan laptop”)</span></span>\
         <input type=\"text\" name=\"label\" maxlength=\"{MAX_LABEL}\" autocomplete=\"off\"></label>\
         <div><button type=\"submit\">Make the key</button></div></form>",
        csrf = csrf_field(s),
    );
    Ok(out)
}

/// A label as stored: trimmed, control characters made spaces, at most
/// [`MAX_LABEL`] characters; none when empty.
fn clean_label(raw: &str) -> Option<String> {
    let label: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_LABEL)
        .collect();
    let label = label.trim();
    (!label.is_empty()).then(|| label.to_owned())
}

/// `POST /admin/user/<name>/new-key`: makes a key and shows it, once.
pub(super) async fn create(
    ctx: &mut Ctx<'_>,
    auth: Authorized,
    name: &str,
) -> Result<Reply, HttpError> {
    existing(ctx, name)?;
    let label = clean_label(auth.field("label"));
    let (base, user) = (ctx.app.config.base.clone(), name.to_owned());
    match blocking(move || apikeys::create(&base, &user, label.as_deref())).await? {
        Ok((key, entry)) => {
            tracing::info!(admin = %auth.session.user, user = name, id = %entry.id, "API key made on the admin page");
            let new = NewKey { key, entry };
            user_page(ctx, &auth.session, name, None, StatusCode::OK, Some(&new)).await
        }
        Err(e) => failed(ctx, &auth, name, e).await,
    }
}

/// `POST /admin/user/<name>/revoke-key`: revokes one of the user's keys.
pub(super) async fn revoke(
    ctx: &mut Ctx<'_>,
    auth: Authorized,
    name: &str,
) -> Result<Reply, HttpError> {
    let id = auth.field("id").to_owned();
    let (base, user, key_id) = (ctx.app.config.base.clone(), name.to_owned(), id.clone());
    match blocking(move || apikeys::revoke_of(&base, &user, &key_id)).await? {
        Ok(entry) => {
            tracing::info!(admin = %auth.session.user, user = name, id = %entry.id, "API key revoked on the admin page");
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("done", "key-revoked")
                .append_pair("id", &entry.id)
                .finish();
            let location = format!("/admin/user/{}?{q}#keys", url_segment(name));
            Ok(Reply::redirect(StatusCode::SEE_OTHER, &location))
        }
        Err(e) => failed(ctx, &auth, name, e).await,
    }
}

async fn failed(
    ctx: &mut Ctx<'_>,
    auth: &Authorized,
    name: &str,
    e: KeyError,
) -> Result<Reply, HttpError> {
    let text = e.to_string();
    let status = HttpError::from(e).status();
    ctx.log.error = Some(text.clone());
    user_page(ctx, &auth.session, name, Some((false, text)), status, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(
            clean_label("  yomitan\nlaptop "),
            Some("yomitan laptop".into())
        );
        assert_eq!(clean_label(" \t "), None);
        assert_eq!(clean_label(&"x".repeat(500)).unwrap().len(), MAX_LABEL);
    }
}

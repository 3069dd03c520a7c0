//! One user's admin page, `/admin/user/<name>`: their facts, a new
//! password, the admin flag, their backups ([`super::admin_backups`]: list,
//! download, restore), their AnkiConnect API keys ([`super::admin_keys`]),
//! removal (optionally with their data; it revokes their keys).

use std::fmt::Write;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};

use super::admin::{authorize, bar, csrf_field, current_session, done, facts, overview, rows};
use super::admin_keys::NewKey;
use super::html::{self, esc, message, time, url_segment};
use super::session::Session;
use super::{blocking, Ctx, Reply};
use crate::http::error::HttpError;
use crate::users::file::MIN_PASSWORD_CHARS;

/// `GET /admin/user/<name>`.
pub async fn page(ctx: &mut Ctx<'_>, name: &str) -> Result<Reply, HttpError> {
    let Some(s) = current_session(ctx) else {
        return Ok(Reply::redirect(StatusCode::SEE_OTHER, "/admin"));
    };
    let msg = notice(ctx, name);
    user_page(ctx, &s, name, msg, StatusCode::OK, None).await
}

/// `NotFound` unless `name` is a current user (for the actions of a
/// user's page).
pub(super) fn existing(ctx: &Ctx<'_>, name: &str) -> Result<(), HttpError> {
    match ctx.app.users().get(name) {
        Some(_) => Ok(()),
        None => Err(HttpError::NotFound(format!("no user {name:?}"))),
    }
}

/// The message for `?done=…` after a change made on this page.
fn notice(ctx: &Ctx<'_>, name: &str) -> Option<(bool, String)> {
    let q = |k: &str| ctx.query.get(k).map(String::as_str);
    let text = match q("done")? {
        "restored" => super::admin_backups::restored_notice(name, q("snapshot")?, q("undo")),
        "key-revoked" => format!(
            "API key {} revoked: tools using it are refused from now on.",
            q("id")?
        ),
        _ => return None,
    };
    Some((true, text))
}

/// `name`'s page, with `msg` at the top; `new_key` is a key just made,
/// shown this once.
pub(super) async fn user_page(
    ctx: &mut Ctx<'_>,
    s: &Session,
    name: &str,
    msg: Option<(bool, String)>,
    status: StatusCode,
    new_key: Option<&NewKey>,
) -> Result<Reply, HttpError> {
    let (rows, _) = rows(ctx, Some(name)).await?;
    let Some(row) = rows.first() else {
        return Err(HttpError::NotFound(format!("no user {name:?}")));
    };
    let now = crate::clock::now_secs();
    let stored = crate::users::file::load(&ctx.app.config.base)
        .ok()
        .and_then(|all| all.into_iter().find(|u| u.name == name));
    let link = url_segment(name);
    let csrf = csrf_field(s);
    let mut body = bar(s);
    let _ = write!(
        body,
        "<p><a href=\"/admin\">← All users</a></p><h1>{n}{badge}</h1>",
        n = esc(name),
        badge = if row.admin {
            "<span class=\"badge\">admin</span>"
        } else {
            ""
        },
    );
    if let Some((ok, text)) = &msg {
        body.push_str(&message(*ok, text));
    }
    body.push_str(&facts(row, now));
    if let Some(u) = &stored {
        let _ = write!(
            body,
            "<p class=\"note\">Account made {}; password set {}.</p>",
            esc(&time((u.created > 0).then_some(u.created), now)),
            esc(&time((u.password_set > 0).then_some(u.password_set), now)),
        );
    }
    if row.stored {
        let _ = write!(
            body,
            "<h2>New password</h2><p class=\"note\">Every device of {n} must then log in again.</p>\
             <form class=\"stack\" method=\"post\" action=\"/admin/user/{link}/password\">{csrf}\
             <label><span>New password <span class=\"note\">(at least {MIN_PASSWORD_CHARS} characters)</span></span>\
             <input type=\"password\" name=\"password\" required minlength=\"{MIN_PASSWORD_CHARS}\" \
             autocomplete=\"new-password\"></label>\
             <label>Repeat it<input type=\"password\" name=\"password2\" required \
             minlength=\"{MIN_PASSWORD_CHARS}\" autocomplete=\"new-password\"></label>\
             <div><button type=\"submit\">Set password</button></div></form>\
             <h2>Admin</h2><form method=\"post\" action=\"/admin/user/{link}/admin\">{csrf}\
             <input type=\"hidden\" name=\"admin\" value=\"{flip}\">\
             <p>{state} <button class=\"plain\" type=\"submit\">{button}</button></p></form>",
            n = esc(name),
            flip = if row.admin { "off" } else { "on" },
            state = if row.admin {
                "This user may manage users."
            } else {
                "This user may not manage users."
            },
            button = if row.admin { "Revoke admin" } else { "Make admin" },
        );
    } else {
        body.push_str(
            "<p class=\"note\">This user is configured (environment, flag or config file): \
             change or remove it there.</p>",
        );
    }
    body.push_str(&super::admin_backups::section(ctx, s, name).await);
    body.push_str(&super::admin_keys::section(ctx, s, name, new_key).await?);
    if row.stored {
        let _ = write!(
            body,
            "<h2>Remove</h2><form class=\"stack\" method=\"post\" action=\"/admin/user/{link}/remove\">{csrf}\
             <label class=\"check\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> \
             Yes, remove {n}: their devices can no longer sync</label>\
             <label class=\"check\"><input type=\"checkbox\" name=\"delete_data\" value=\"on\"> \
             Also delete their collection and media (cannot be undone)</label>\
             <div><button class=\"danger\" type=\"submit\">Remove user</button></div></form>",
            n = esc(name),
        );
    }
    Ok(Reply::html(
        status,
        html::page("en", &format!("kioku admin — {name}"), &body),
    ))
}

/// `POST /admin/user/<name>/<action>`: `password`, `admin`, `remove`;
/// `restore` ([`super::admin_backups`]); `new-key`, `revoke-key`
/// ([`super::admin_keys`]).
pub async fn action(
    ctx: &mut Ctx<'_>,
    req: Request<Incoming>,
    name: &str,
    action: &str,
) -> Result<Reply, HttpError> {
    let auth = match authorize(ctx, req).await? {
        Ok(a) => a,
        Err(refusal) => return Ok(refusal),
    };
    match action {
        "restore" => return super::admin_backups::restore(ctx, auth, name).await,
        "new-key" => return super::admin_keys::create(ctx, auth, name).await,
        "revoke-key" => return super::admin_keys::revoke(ctx, auth, name).await,
        _ => {}
    }
    let accounts = ctx.app.accounts.clone();
    let owned = name.to_owned();
    let admin_name = auth.session.user.clone();
    let result = match action {
        "password" => {
            if auth.field("password") != auth.field("password2") {
                let msg = Some((false, "The two passwords differ.".to_owned()));
                return user_page(ctx, &auth.session, name, msg, StatusCode::BAD_REQUEST, None)
                    .await;
            }
            let pw = auth.field("password").to_owned();
            blocking(move || accounts.set_password(&owned, &pw))
                .await?
                .map(|()| "password")
        }
        "admin" => {
            let on = auth.field("admin") == "on";
            blocking(move || accounts.set_admin(&owned, on))
                .await?
                .map(|()| if on { "admin-on" } else { "admin-off" })
        }
        "remove" => {
            if auth.field("confirm") != "yes" {
                let msg = Some((false, "Tick the box to confirm the removal.".to_owned()));
                return user_page(ctx, &auth.session, name, msg, StatusCode::BAD_REQUEST, None)
                    .await;
            }
            let delete = auth.field("delete_data") == "on";
            match blocking(move || accounts.remove(&owned)).await? {
                Ok(_) if delete => {
                    let store = &ctx.app.store;
                    if let Err(e) = store.delete_user_data(name).await {
                        tracing::error!(user = name, error = %e, "deleting the user's data failed");
                        let msg =
                            Some((false, format!("Removed, but deleting the data failed: {e}")));
                        return overview(
                            ctx,
                            &auth.session,
                            msg,
                            StatusCode::INTERNAL_SERVER_ERROR,
                        )
                        .await;
                    }
                    Ok("removed-data")
                }
                Ok(_) => {
                    ctx.app.store.close_user(name).await;
                    Ok("removed")
                }
                Err(e) => Err(e),
            }
        }
        _ => return Err(HttpError::NotFound(format!("/admin/user/{name}/{action}"))),
    };
    match result {
        Ok(what) => {
            tracing::info!(admin = %admin_name, user = name, what, "account changed on the admin page");
            Ok(done(what, name))
        }
        Err(e) => {
            ctx.log.error = Some(e.to_string());
            let msg = Some((false, e.to_string()));
            let status = crate::http::error::account_status(&e);
            if ctx.app.users().get(name).is_some() {
                user_page(ctx, &auth.session, name, msg, status, None).await
            } else {
                overview(ctx, &auth.session, msg, status).await
            }
        }
    }
}

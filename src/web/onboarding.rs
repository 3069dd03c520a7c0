//! First run: while no user exists at all (none configured, none stored),
//! the setup page carries a form that creates the first account, an admin.
//! Once any user exists the form is gone and a POST to it gets 403, for
//! good; two racing forms cannot both win (the check is made under the users
//! file's lock). The form is in the setup page's language.

use std::fmt::Write;

use hyper::{Request, StatusCode};

use super::html::{esc, message, page};
use super::{read_form, Ctx, Reply};
use crate::http::error::HttpError;
use crate::users::file::MIN_PASSWORD_CHARS;

/// The token purpose of this form (see [`super::session`]).
const PURPOSE: &str = "first-account";
/// Where the form posts to.
pub const ACTION: &str = "/setup/first-account";

struct Text {
    lang: &'static str,
    heading: &'static str,
    intro: &'static str,
    name: &'static str,
    password: &'static str,
    min_chars: &'static str,
    repeat: &'static str,
    create: &'static str,
    plain_http: &'static str,
    created: &'static str,
    created_body: &'static str,
    setup_link: &'static str,
    admin_link: &'static str,
    mismatch: &'static str,
    exists: &'static str,
    expired: &'static str,
}

const EN: Text = Text {
    lang: "en",
    heading: "Create the first account",
    intro: "kioku has no accounts yet. The account you create here logs in from Anki and may add further accounts on the admin page.",
    name: "User name",
    password: "Password",
    min_chars: "at least 8 characters",
    repeat: "Repeat the password",
    create: "Create account",
    plain_http: "This page is not encrypted. If you can, open it over HTTPS (below) before you choose a password.",
    created: "Account created",
    created_body: "You can now log in from Anki with this user name and password. Next, set up your devices; further accounts are added on the admin page.",
    setup_link: "Set up your devices",
    admin_link: "Admin page",
    mismatch: "The two passwords differ.",
    exists: "An account exists already, so this form is closed. Log in on the admin page to add accounts.",
    expired: "This form has expired or did not come from this page. Reload the page and try again.",
};

const DE: Text = Text {
    lang: "de",
    heading: "Das erste Konto anlegen",
    intro: "kioku hat noch keine Konten. Mit dem Konto, das du hier anlegst, meldest du dich in Anki an und kannst auf der Verwaltungsseite weitere Konten anlegen.",
    name: "Benutzername",
    password: "Passwort",
    min_chars: "mindestens 8 Zeichen",
    repeat: "Passwort wiederholen",
    create: "Konto anlegen",
    plain_http: "Diese Seite ist unverschlüsselt. Öffne sie wenn möglich über HTTPS (unten), bevor du ein Passwort wählst.",
    created: "Konto angelegt",
    created_body: "Du kannst dich jetzt in Anki mit diesem Benutzernamen und Passwort anmelden. Richte als Nächstes deine Geräte ein; weitere Konten legst du auf der Verwaltungsseite an.",
    setup_link: "Geräte einrichten",
    admin_link: "Verwaltungsseite",
    mismatch: "Die beiden Passwörter sind verschieden.",
    exists: "Es gibt schon ein Konto, daher ist dieses Formular geschlossen. Melde dich auf der Verwaltungsseite an, um Konten anzulegen.",
    expired: "Dieses Formular ist abgelaufen oder stammt nicht von dieser Seite. Lade die Seite neu und versuche es noch einmal.",
};

const JA: Text = Text {
    lang: "ja",
    heading: "最初のアカウントを作成",
    intro: "kioku にはまだアカウントがありません。ここで作成するアカウントで Anki からログインでき、管理ページで別のアカウントを追加できます。",
    name: "ユーザー名",
    password: "パスワード",
    min_chars: "8 文字以上",
    repeat: "パスワード（確認）",
    create: "アカウントを作成",
    plain_http: "このページは暗号化されていません。できればパスワードを決める前に HTTPS（下記）で開いてください。",
    created: "アカウントを作成しました",
    created_body: "このユーザー名とパスワードで Anki からログインできます。次に端末を設定してください。ほかのアカウントは管理ページで追加します。",
    setup_link: "端末を設定する",
    admin_link: "管理ページ",
    mismatch: "2 つのパスワードが一致しません。",
    exists: "すでにアカウントがあるため、このフォームは使えません。アカウントの追加は管理ページにログインして行います。",
    expired: "このフォームは期限切れか、このページからのものではありません。ページを再読み込みしてやり直してください。",
};

const ES: Text = Text {
    lang: "es",
    heading: "Crear la primera cuenta",
    intro: "kioku aún no tiene cuentas. Con la cuenta que crees aquí inicias sesión en Anki y puedes añadir más cuentas en la página de administración.",
    name: "Nombre de usuario",
    password: "Contraseña",
    min_chars: "al menos 8 caracteres",
    repeat: "Repite la contraseña",
    create: "Crear cuenta",
    plain_http: "Esta página no está cifrada. Si puedes, ábrela por HTTPS (abajo) antes de elegir una contraseña.",
    created: "Cuenta creada",
    created_body: "Ya puedes iniciar sesión en Anki con este usuario y contraseña. Ahora configura tus dispositivos; las demás cuentas se añaden en la página de administración.",
    setup_link: "Configurar los dispositivos",
    admin_link: "Página de administración",
    mismatch: "Las dos contraseñas no coinciden.",
    exists: "Ya existe una cuenta, así que este formulario está cerrado. Inicia sesión en la página de administración para añadir cuentas.",
    expired: "Este formulario ha caducado o no viene de esta página. Recarga la página e inténtalo de nuevo.",
};

const FR: Text = Text {
    lang: "fr",
    heading: "Créer le premier compte",
    intro: "kioku n’a pas encore de compte. Le compte créé ici se connecte depuis Anki et peut ajouter d’autres comptes sur la page d’administration.",
    name: "Nom d’utilisateur",
    password: "Mot de passe",
    min_chars: "au moins 8 caractères",
    repeat: "Répétez le mot de passe",
    create: "Créer le compte",
    plain_http: "Cette page n’est pas chiffrée. Si possible, ouvrez-la en HTTPS (ci-dessous) avant de choisir un mot de passe.",
    created: "Compte créé",
    created_body: "Vous pouvez maintenant vous connecter dans Anki avec ce nom et ce mot de passe. Configurez ensuite vos appareils ; les autres comptes s’ajoutent sur la page d’administration.",
    setup_link: "Configurer les appareils",
    admin_link: "Page d’administration",
    mismatch: "Les deux mots de passe diffèrent.",
    exists: "Un compte existe déjà, ce formulaire est donc fermé. Connectez-vous à la page d’administration pour ajouter des comptes.",
    expired: "Ce formulaire a expiré ou ne vient pas de cette page. Rechargez la page et réessayez.",
};

fn text(accept_language: &str) -> &'static Text {
    match crate::http::setup::language(accept_language) {
        "de" => &DE,
        "ja" => &JA,
        "es" => &ES,
        "fr" => &FR,
        _ => &EN,
    }
}

/// The form's section; `error` is shown above it, `name` refilled.
fn section(ctx: &Ctx<'_>, t: &Text, cookie: &str, error: Option<&str>, name: &str) -> String {
    let token = ctx.app.web.sessions.form_token(PURPOSE, cookie);
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"card\" id=\"first-account\" aria-labelledby=\"first-account-h\">\
         <h2 id=\"first-account-h\">{heading}</h2><p>{intro}</p>",
        heading = esc(t.heading),
        intro = esc(t.intro),
    );
    if !ctx.https && ctx.app.tls.is_some() && ctx.app.config.tls {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(t.plain_http));
    }
    if let Some(e) = error {
        out.push_str(&message(false, e));
    }
    let _ = write!(
        out,
        "<form class=\"stack\" method=\"post\" action=\"{ACTION}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label>{name_l}<input type=\"text\" name=\"name\" value=\"{name}\" required maxlength=\"255\" \
         autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\"></label>\
         <label><span>{pw_l} <span class=\"note\">({min})</span></span><input type=\"password\" name=\"password\" \
         required minlength=\"{MIN_PASSWORD_CHARS}\" autocomplete=\"new-password\"></label>\
         <label>{repeat}<input type=\"password\" name=\"password2\" required \
         minlength=\"{MIN_PASSWORD_CHARS}\" autocomplete=\"new-password\"></label>\
         <div><button type=\"submit\">{create}</button></div></form></section>",
        name_l = esc(t.name),
        name = esc(name),
        pw_l = esc(t.password),
        min = esc(t.min_chars),
        repeat = esc(t.repeat),
        create = esc(t.create),
    );
    out
}

/// The CSS the section needs on the setup page (which has its own).
const SECTION_CSS: &str = "<style>\
.card{background:#fff;border:1px solid #dde;border-radius:.5rem;padding:.6rem .8rem;margin:.8rem 0}\
form.stack{display:grid;gap:.6rem;max-width:24rem}form.stack label{display:grid;gap:.2rem;font-weight:600}\
form.stack input{font:inherit;padding:.45rem .5rem;border:1px solid #99a;border-radius:.35rem}\
form.stack button{font:inherit;padding:.45rem .9rem;border:1px solid #2a5db0;border-radius:.4rem;background:#2a5db0;color:#fff;margin:0}\
.msg{padding:.5rem .7rem;border-radius:.4rem}.msg.err{background:#fbe9e9;border:1px solid #d99}\
</style>";

/// The setup page with the form right below its heading.
pub fn setup_page(ctx: &Ctx<'_>, html: String) -> Reply {
    let t = text(&ctx.accept_language);
    let (cookie, set_cookie) = ctx.form_cookie();
    let form = format!("{SECTION_CSS}{}", section(ctx, t, &cookie, None, ""));
    // The setup page's first heading is its title: the form goes below it.
    let body = match html.find("</h1>") {
        Some(i) => format!("{}{form}{}", &html[..i + 5], &html[i + 5..]),
        None => format!("{form}{html}"),
    };
    let mut reply = Reply::html(StatusCode::OK, body);
    // The setup page's copy buttons are an inline script: no CSP here.
    reply
        .headers
        .retain(|(k, _)| k != hyper::header::CONTENT_SECURITY_POLICY);
    reply.cookie(set_cookie)
}

fn form_page(ctx: &Ctx<'_>, t: &Text, status: StatusCode, error: &str, name: &str) -> Reply {
    let (cookie, set_cookie) = ctx.form_cookie();
    let body = format!(
        "<h1>kioku</h1>{}<p><a href=\"/\">{}</a></p>",
        section(ctx, t, &cookie, Some(error), name),
        esc(t.setup_link)
    );
    Reply::html(status, page(t.lang, t.heading, &body)).cookie(set_cookie)
}

/// `POST /setup/first-account`.
pub async fn post(
    ctx: &mut Ctx<'_>,
    req: Request<hyper::body::Incoming>,
) -> Result<Reply, HttpError> {
    let t = text(&ctx.accept_language);
    let form = read_form(req).await?;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let name = field("name").trim().to_owned();
    ctx.log.user = Some(name.clone());
    let closed = |ctx: &Ctx<'_>| {
        Reply::html(
            StatusCode::FORBIDDEN,
            page(
                t.lang,
                t.heading,
                &format!(
                    "<h1>kioku</h1>{}<p><a href=\"/admin\">{}</a></p>",
                    message(false, t.exists),
                    esc(t.admin_link)
                ),
            ),
        )
        .header(hyper::header::CONTENT_LANGUAGE, t.lang.into())
        .cookie(ctx.form_cookie().1)
    };
    if !ctx.app.users().is_empty() {
        ctx.log.error = Some("first-run form: an account exists already".into());
        return Ok(closed(ctx));
    }
    let sessions = &ctx.app.web.sessions;
    if !sessions.check_form_token(
        PURPOSE,
        ctx.cookie(super::session::FORM_COOKIE),
        field("token"),
    ) {
        ctx.log.error = Some("first-run form: missing or wrong form token".into());
        return Ok(form_page(ctx, t, StatusCode::FORBIDDEN, t.expired, &name));
    }
    if field("password") != field("password2") {
        return Ok(form_page(
            ctx,
            t,
            StatusCode::BAD_REQUEST,
            t.mismatch,
            &name,
        ));
    }
    let accounts = ctx.app.accounts.clone();
    let (n, p) = (name.clone(), field("password").to_owned());
    let created = super::blocking(move || accounts.create_first(&n, &p)).await?;
    if let Err(e) = created {
        if !ctx.app.users().is_empty() {
            return Ok(closed(ctx));
        }
        ctx.log.error = Some(e.to_string());
        let status = crate::http::error::account_status(&e);
        return Ok(form_page(ctx, t, status, &e.to_string(), &name));
    }
    tracing::info!(user = %name, client = %ctx.ip, "first account created (admin) with the first-run form");
    let body = format!(
        "<h1>{title}</h1>{msg}<p>{body}</p><p><a href=\"/\">{setup}</a> · <a href=\"/admin\">{admin}</a></p>",
        title = esc(t.created),
        msg = message(true, &format!("{}: {name}", t.created)),
        body = esc(t.created_body),
        setup = esc(t.setup_link),
        admin = esc(t.admin_link),
    );
    Ok(Reply::html(StatusCode::OK, page(t.lang, t.created, &body)))
}

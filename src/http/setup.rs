//! The setup page at `/`: which URL to enter in each Anki client, the CA to
//! install (as `ca.pem`, `ca.crt` and `kioku.mobileconfig`) and the trust
//! steps per client, in the visitor's language (English, German, Japanese,
//! Spanish, French; others get English). Plain HTML that works without
//! JavaScript; with it, copy buttons appear.

use std::fmt::Write;

use super::App;
use crate::tls::{addrs, certs, profile};

/// The page's texts in one language. `{}` marks are not used: pieces are
/// concatenated, so every translation stays a plain string.
struct Text {
    lang: &'static str,
    title: &'static str,
    intro: &'static str,
    urls: &'static str,
    https_urls: &'static str,
    http_urls: &'static str,
    ip_note: &'static str,
    copy: &'static str,
    ca: &'static str,
    fingerprint: &'static str,
    downloads: &'static str,
    ios: &'static str,
    ios_steps: [&'static str; 3],
    android: &'static str,
    android_steps: [&'static str; 2],
    desktop: &'static str,
    desktop_steps: [&'static str; 3],
    login: &'static str,
    no_tls: &'static str,
    user_cert: &'static str,
}

const EN: Text = Text {
    lang: "en",
    title: "kioku — Anki sync server",
    intro: "Enter one of these URLs as the custom sync server in Anki, AnkiDroid or AnkiMobile, then log in with your kioku user name and password.",
    urls: "Sync URLs",
    https_urls: "Encrypted (HTTPS) — install the certificate below first",
    http_urls: "Plain HTTP — works without a certificate, not encrypted",
    ip_note: "If a device cannot open .local names, use an address URL.",
    copy: "Copy",
    ca: "This server's certificate",
    fingerprint: "SHA-256 fingerprint",
    downloads: "Download",
    ios: "iPhone and iPad (AnkiMobile)",
    ios_steps: [
        "Open this page in Safari and download kioku.mobileconfig.",
        "Settings → General → VPN & Device Management: tap the kioku profile, Install.",
        "Settings → General → About → Certificate Trust Settings: turn on full trust for the kioku CA. Then use the HTTPS URL.",
    ],
    android: "Android (AnkiDroid)",
    android_steps: [
        "AnkiDroid 2.19 or later: Settings → Sync → Custom sync server → Custom root certificate: paste the PEM block below, then use the HTTPS URL.",
        "Older AnkiDroid ignores installed certificates: use the plain HTTP URL.",
    ],
    desktop: "Computer (Anki)",
    desktop_steps: [
        "Windows and macOS: add ca.crt to the system's trusted root certificates (Windows: open it, Install Certificate, Local Machine, Trusted Root Certification Authorities; macOS: open it in Keychain Access, set Always Trust).",
        "Linux: add ca.pem to the system bundle (copy to /usr/local/share/ca-certificates/kioku.crt and run update-ca-certificates), or start Anki with SSL_CERT_FILE pointing at a bundle that includes it.",
        "Flatpak Anki cannot see your certificates: use the plain HTTP URL.",
    ],
    login: "In Anki: Preferences → Syncing → Self-hosted sync server. Restart Anki after changing it.",
    no_tls: "HTTPS is turned off on this server; use the plain HTTP URL.",
    user_cert: "This server uses its own certificate from a certificate authority; nothing needs to be installed.",
};

const DE: Text = Text {
    lang: "de",
    title: "kioku — Anki-Sync-Server",
    intro: "Trage eine dieser URLs als eigenen Sync-Server in Anki, AnkiDroid oder AnkiMobile ein und melde dich mit deinem kioku-Benutzernamen und Passwort an.",
    urls: "Sync-URLs",
    https_urls: "Verschlüsselt (HTTPS) — zuerst das Zertifikat unten installieren",
    http_urls: "Einfaches HTTP — ohne Zertifikat, unverschlüsselt",
    ip_note: "Wenn ein Gerät .local-Namen nicht öffnen kann, nimm eine Adress-URL.",
    copy: "Kopieren",
    ca: "Das Zertifikat dieses Servers",
    fingerprint: "SHA-256-Fingerabdruck",
    downloads: "Herunterladen",
    ios: "iPhone und iPad (AnkiMobile)",
    ios_steps: [
        "Öffne diese Seite in Safari und lade kioku.mobileconfig herunter.",
        "Einstellungen → Allgemein → VPN und Geräteverwaltung: das kioku-Profil antippen, Installieren.",
        "Einstellungen → Allgemein → Info → Zertifikatsvertrauenseinstellungen: volles Vertrauen für die kioku-CA einschalten. Dann die HTTPS-URL verwenden.",
    ],
    android: "Android (AnkiDroid)",
    android_steps: [
        "AnkiDroid 2.19 oder neuer: Einstellungen → Synchronisierung → Eigener Sync-Server → Eigenes Stammzertifikat: den PEM-Block unten einfügen, dann die HTTPS-URL verwenden.",
        "Ältere AnkiDroid-Versionen ignorieren installierte Zertifikate: die HTTP-URL verwenden.",
    ],
    desktop: "Computer (Anki)",
    desktop_steps: [
        "Windows und macOS: ca.crt zu den vertrauenswürdigen Stammzertifikaten des Systems hinzufügen (Windows: öffnen, Zertifikat installieren, Lokaler Computer, Vertrauenswürdige Stammzertifizierungsstellen; macOS: in der Schlüsselbundverwaltung öffnen, Immer vertrauen).",
        "Linux: ca.pem ins System-Bündel aufnehmen (nach /usr/local/share/ca-certificates/kioku.crt kopieren, update-ca-certificates ausführen) oder Anki mit SSL_CERT_FILE auf ein Bündel mit ihr starten.",
        "Flatpak-Anki sieht deine Zertifikate nicht: die HTTP-URL verwenden.",
    ],
    login: "In Anki: Einstellungen → Synchronisierung → Eigener Sync-Server. Danach Anki neu starten.",
    no_tls: "HTTPS ist auf diesem Server ausgeschaltet; die HTTP-URL verwenden.",
    user_cert: "Dieser Server hat ein eigenes Zertifikat einer Zertifizierungsstelle; nichts muss installiert werden.",
};

const JA: Text = Text {
    lang: "ja",
    title: "kioku — Anki 同期サーバー",
    intro: "Anki・AnkiDroid・AnkiMobile のカスタム同期サーバーに次の URL のどれかを入力し、kioku のユーザー名とパスワードでログインしてください。",
    urls: "同期 URL",
    https_urls: "暗号化 (HTTPS) — 先に下の証明書をインストール",
    http_urls: "HTTP — 証明書不要・暗号化なし",
    ip_note: ".local の名前を開けない端末では IP アドレスの URL を使ってください。",
    copy: "コピー",
    ca: "このサーバーの証明書",
    fingerprint: "SHA-256 フィンガープリント",
    downloads: "ダウンロード",
    ios: "iPhone・iPad (AnkiMobile)",
    ios_steps: [
        "このページを Safari で開き、kioku.mobileconfig をダウンロードします。",
        "設定 → 一般 → VPN とデバイス管理：kioku のプロファイルをタップしてインストール。",
        "設定 → 一般 → 情報 → 証明書信頼設定：kioku CA の完全な信頼をオンにし、HTTPS の URL を使います。",
    ],
    android: "Android (AnkiDroid)",
    android_steps: [
        "AnkiDroid 2.19 以降：設定 → 同期 → カスタム同期サーバー → カスタムルート証明書 に下の PEM を貼り付け、HTTPS の URL を使います。",
        "古い AnkiDroid はインストールした証明書を使いません：HTTP の URL を使ってください。",
    ],
    desktop: "パソコン (Anki)",
    desktop_steps: [
        "Windows・macOS：ca.crt をシステムの信頼されたルート証明書に追加します（macOS はキーチェーンアクセスで「常に信頼」）。",
        "Linux：ca.pem をシステムの証明書バンドルに追加する（/usr/local/share/ca-certificates/kioku.crt にコピーして update-ca-certificates）か、SSL_CERT_FILE にそれを含むバンドルを指定して Anki を起動します。",
        "Flatpak 版 Anki は証明書を参照できません：HTTP の URL を使ってください。",
    ],
    login: "Anki：設定 → 同期 → セルフホスト同期サーバー。変更後は Anki を再起動します。",
    no_tls: "このサーバーでは HTTPS が無効です。HTTP の URL を使ってください。",
    user_cert: "このサーバーは認証局の証明書を使っているので、インストールは不要です。",
};

const ES: Text = Text {
    lang: "es",
    title: "kioku — servidor de sincronización de Anki",
    intro: "Escribe una de estas URL como servidor de sincronización propio en Anki, AnkiDroid o AnkiMobile e inicia sesión con tu usuario y contraseña de kioku.",
    urls: "URL de sincronización",
    https_urls: "Cifrada (HTTPS): instala antes el certificado de abajo",
    http_urls: "HTTP simple: sin certificado, sin cifrar",
    ip_note: "Si un dispositivo no abre nombres .local, usa una URL con la dirección.",
    copy: "Copiar",
    ca: "El certificado de este servidor",
    fingerprint: "Huella SHA-256",
    downloads: "Descargar",
    ios: "iPhone y iPad (AnkiMobile)",
    ios_steps: [
        "Abre esta página en Safari y descarga kioku.mobileconfig.",
        "Ajustes → General → VPN y gestión de dispositivos: toca el perfil de kioku e instálalo.",
        "Ajustes → General → Información → Ajustes de confianza de certificados: activa la confianza total para la CA de kioku. Después usa la URL HTTPS.",
    ],
    android: "Android (AnkiDroid)",
    android_steps: [
        "AnkiDroid 2.19 o posterior: Ajustes → Sincronización → Servidor de sincronización propio → Certificado raíz propio: pega el bloque PEM de abajo y usa la URL HTTPS.",
        "Las versiones anteriores ignoran los certificados instalados: usa la URL HTTP.",
    ],
    desktop: "Ordenador (Anki)",
    desktop_steps: [
        "Windows y macOS: añade ca.crt a los certificados raíz de confianza del sistema (macOS: ábrelo en Acceso a Llaveros y elige Confiar siempre).",
        "Linux: añade ca.pem al paquete del sistema (cópialo a /usr/local/share/ca-certificates/kioku.crt y ejecuta update-ca-certificates) o inicia Anki con SSL_CERT_FILE apuntando a un paquete que lo incluya.",
        "Anki en Flatpak no ve tus certificados: usa la URL HTTP.",
    ],
    login: "En Anki: Preferencias → Sincronización → Servidor propio. Reinicia Anki después.",
    no_tls: "HTTPS está desactivado en este servidor; usa la URL HTTP.",
    user_cert: "Este servidor usa un certificado de una autoridad de certificación; no hay que instalar nada.",
};

const FR: Text = Text {
    lang: "fr",
    title: "kioku — serveur de synchronisation Anki",
    intro: "Saisissez l’une de ces URL comme serveur de synchronisation personnalisé dans Anki, AnkiDroid ou AnkiMobile, puis connectez-vous avec votre nom d’utilisateur et mot de passe kioku.",
    urls: "URL de synchronisation",
    https_urls: "Chiffrée (HTTPS) : installez d’abord le certificat ci-dessous",
    http_urls: "HTTP simple : sans certificat, non chiffré",
    ip_note: "Si un appareil n’ouvre pas les noms .local, utilisez une URL avec l’adresse.",
    copy: "Copier",
    ca: "Le certificat de ce serveur",
    fingerprint: "Empreinte SHA-256",
    downloads: "Télécharger",
    ios: "iPhone et iPad (AnkiMobile)",
    ios_steps: [
        "Ouvrez cette page dans Safari et téléchargez kioku.mobileconfig.",
        "Réglages → Général → VPN et gestion de l’appareil : touchez le profil kioku, Installer.",
        "Réglages → Général → Informations → Réglages des certificats : activez la confiance totale pour l’AC kioku. Utilisez ensuite l’URL HTTPS.",
    ],
    android: "Android (AnkiDroid)",
    android_steps: [
        "AnkiDroid 2.19 ou plus récent : Paramètres → Synchronisation → Serveur personnalisé → Certificat racine personnalisé : collez le bloc PEM ci-dessous, puis utilisez l’URL HTTPS.",
        "Les versions plus anciennes ignorent les certificats installés : utilisez l’URL HTTP.",
    ],
    desktop: "Ordinateur (Anki)",
    desktop_steps: [
        "Windows et macOS : ajoutez ca.crt aux certificats racine de confiance du système (macOS : ouvrez-le dans Trousseaux d’accès, Toujours approuver).",
        "Linux : ajoutez ca.pem au magasin du système (copiez-le dans /usr/local/share/ca-certificates/kioku.crt puis lancez update-ca-certificates) ou lancez Anki avec SSL_CERT_FILE pointant vers un fichier qui le contient.",
        "Anki en Flatpak ne voit pas vos certificats : utilisez l’URL HTTP.",
    ],
    login: "Dans Anki : Préférences → Synchronisation → Serveur auto-hébergé. Redémarrez Anki ensuite.",
    no_tls: "HTTPS est désactivé sur ce serveur ; utilisez l’URL HTTP.",
    user_cert: "Ce serveur utilise un certificat d’une autorité de certification ; rien à installer.",
};

/// Picks the language from an `Accept-Language` header (by q-value, then
/// order); English when none of the five matches.
fn pick(accept: &str) -> &'static Text {
    let mut best: Option<(f32, usize, &'static Text)> = None;
    for (i, part) in accept.split(',').enumerate() {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|v| v.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let text = match primary {
            "en" => &EN,
            "de" => &DE,
            "ja" => &JA,
            "es" => &ES,
            "fr" => &FR,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
            best = Some((q, i, text));
        }
    }
    best.map(|(_, _, t)| t).unwrap_or(&EN)
}

/// The language tag the page would be in for this `Accept-Language`.
pub fn language(accept: &str) -> &'static str {
    pick(accept).lang
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The QR code of `text` as an inline SVG.
fn qr(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(160, 160)
                .quiet_zone(true)
                .build();
            match svg.find("<svg") {
                Some(i) => svg[i..].to_owned(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

/// The host names and addresses a client can reach this server at: the one
/// the visitor used first, then the `.local` names discovery advertises
/// (`<name>.local` when it advertises none), then every address.
fn hosts(app: &App, visited: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(h) = visited {
        out.push(h.to_owned());
    }
    let advertised = app.mdns.host_names();
    if advertised.is_empty() {
        let name = &app.config.tls_name;
        out.push(if name.contains('.') {
            name.clone()
        } else {
            format!("{name}.local")
        });
    }
    out.extend(advertised);
    let listen = app.config.host;
    for a in addrs::current() {
        if !listen.is_unspecified() && listen != a {
            continue;
        }
        out.push(match a {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        });
    }
    if !listen.is_unspecified() && !out.iter().any(|h| *h == listen.to_string()) {
        out.push(match listen {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|h| seen.insert(h.clone()));
    out
}

/// Strips the port from a `Host` header value.
pub fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        match rest.find(']') {
            Some(i) => &host[..i + 2],
            None => host,
        }
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    }
}

fn url_list(out: &mut String, t: &Text, urls: &[String]) {
    out.push_str("<ul class=urls>");
    for url in urls {
        let u = esc(url);
        let _ = write!(
            out,
            "<li><details><summary><code>{u}</code> <button type=button class=copy data-copy=\"{u}\" hidden>{}</button></summary><div class=qr>{}</div></details></li>",
            t.copy,
            qr(url)
        );
    }
    out.push_str("</ul>");
}

/// Renders the page for a visitor with this `Accept-Language` who reached
/// the server at `host` (the `Host` header).
pub fn page(app: &App, accept: &str, host: Option<&str>) -> String {
    let t = pick(accept);
    let visited = host.map(host_only).filter(|h| !h.is_empty());
    let hosts = hosts(app, visited);
    let status = app.tls.as_ref().map(|tls| (tls.generated(), tls.status()));
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:46rem;margin:0 auto;padding:1rem;line-height:1.45;color:#1d2530;background:#fbfbf8}}
h1{{font-size:1.5rem;margin:.2rem 0 .6rem}} h2{{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ddd}}
code,pre{{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}}
ul.urls{{list-style:none;padding:0}} ul.urls li{{margin:.35rem 0;padding:.45rem .6rem;background:#fff;border:1px solid #dde;border-radius:.4rem}}
summary{{cursor:pointer}} .qr svg{{width:10rem;height:10rem;margin-top:.4rem}}
button{{font:inherit;font-size:.85rem;padding:.1rem .6rem;margin-left:.4rem}}
pre{{white-space:pre-wrap;background:#fff;border:1px solid #dde;padding:.5rem;font-size:.75rem}}
.fp{{font-size:.8rem}} a.dl{{display:inline-block;margin:.2rem .6rem .2rem 0;padding:.3rem .7rem;border:1px solid #2a5db0;border-radius:.4rem;color:#2a5db0;text-decoration:none}}
.note{{color:#555;font-size:.9rem}}
</style></head><body>
<h1>{title}</h1>
<p>{intro}</p>
<h2>{urls}</h2>
"#,
        lang = t.lang,
        title = esc(t.title),
        intro = esc(t.intro),
        urls = esc(t.urls),
    );
    if let (Some(_), true) = (&status, app.config.tls) {
        let _ = write!(out, "<h3>{}</h3>", esc(t.https_urls));
        let urls: Vec<String> = hosts
            .iter()
            .map(|h| format!("https://{h}:{}/", app.config.tls_port))
            .collect();
        url_list(&mut out, t, &urls);
    } else {
        let _ = write!(out, "<p class=note>{}</p>", esc(t.no_tls));
    }
    if app.config.http {
        let _ = write!(out, "<h3>{}</h3>", esc(t.http_urls));
        let urls: Vec<String> = hosts
            .iter()
            .map(|h| format!("http://{h}:{}/", app.config.port))
            .collect();
        url_list(&mut out, t, &urls);
    }
    let _ = write!(out, "<p class=note>{}</p>", esc(t.ip_note));
    let _ = write!(out, "<p class=note>{}</p>", esc(t.login));
    match &status {
        Some((true, st)) => {
            if let Some(ca) = &st.ca_der {
                let pem = profile::pem(ca);
                let _ = write!(
                    out,
                    "<h2>{ca_t}</h2><p>{fp_t}:<br><code class=fp id=fp>{fp}</code></p>\
                     <p>{dl}: <a class=dl href=\"kioku.mobileconfig\" download>kioku.mobileconfig</a>\
                     <a class=dl href=\"ca.crt\" download>ca.crt</a><a class=dl href=\"ca.pem\" download>ca.pem</a></p>\
                     <h3>{ios}</h3><ol><li>{i1}</li><li>{i2}</li><li>{i3}</li></ol>\
                     <h3>{android}</h3><ol><li>{a1}</li><li>{a2}</li></ol>\
                     <pre id=pem>{pem}</pre><button type=button class=copy data-copy-from=pem hidden>{copy}</button>\
                     <h3>{desktop}</h3><ol><li>{d1}</li><li>{d2}</li><li>{d3}</li></ol>",
                    ca_t = esc(t.ca),
                    fp_t = esc(t.fingerprint),
                    fp = certs::fingerprint(ca),
                    dl = esc(t.downloads),
                    ios = esc(t.ios),
                    i1 = esc(t.ios_steps[0]),
                    i2 = esc(t.ios_steps[1]),
                    i3 = esc(t.ios_steps[2]),
                    android = esc(t.android),
                    a1 = esc(t.android_steps[0]),
                    a2 = esc(t.android_steps[1]),
                    pem = esc(&pem),
                    copy = esc(t.copy),
                    desktop = esc(t.desktop),
                    d1 = esc(t.desktop_steps[0]),
                    d2 = esc(t.desktop_steps[1]),
                    d3 = esc(t.desktop_steps[2]),
                );
            }
        }
        Some((false, _)) => {
            let _ = write!(out, "<h2>{}</h2><p>{}</p>", esc(t.ca), esc(t.user_cert));
        }
        None => {}
    }
    out.push_str(
        r#"<script>
for (const b of document.querySelectorAll("button.copy")) {
  b.hidden = false;
  b.addEventListener("click", (e) => {
    e.preventDefault();
    const text = b.dataset.copy || document.getElementById(b.dataset.copyFrom).textContent;
    navigator.clipboard.writeText(text).then(() => { b.textContent = "✓"; });
  });
}
</script>
</body></html>
"#,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_follow_accept_language_with_english_fallback() {
        assert_eq!(language(""), "en");
        assert_eq!(language("de-DE,de;q=0.9,en;q=0.8"), "de");
        assert_eq!(language("ja"), "ja");
        assert_eq!(language("es-419"), "es");
        assert_eq!(language("fr-CA;q=0.5, nl;q=0.9"), "fr");
        assert_eq!(language("nl, sv"), "en");
        assert_eq!(language("en;q=0.4, fr;q=0.8"), "fr");
        assert_eq!(language("fr;q=0, de;q=0.1"), "de");
    }

    #[test]
    fn host_header_loses_its_port() {
        assert_eq!(host_only("kioku.local:8443"), "kioku.local");
        assert_eq!(host_only("[fd00::1]:8080"), "[fd00::1]");
        assert_eq!(host_only("192.168.1.2"), "192.168.1.2");
    }
}

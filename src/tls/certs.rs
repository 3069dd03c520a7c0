//! Certificate material: the device's own root CA and the server certificate
//! it signs (made with rcgen, kept under `SYNC_BASE/tls`), or a certificate
//! and key the user supplies.
//!
//! Files in the folder (keys mode 0600):
//! `ca.pem`/`ca.key` (root CA, ECDSA P-256, 20 years), `server.pem` (the
//! server certificate followed by the CA), `server.key`, and `server.json`
//! (the server certificate's SANs and expiry, so no X.509 parser is needed).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration as Days, NaiveDate, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Days a server certificate is valid (Apple's and the browsers' cap for
/// new certificates is 398; 397 leaves a day of margin).
pub const LEAF_DAYS: i64 = 397;
/// Re-issue the server certificate when it has fewer days than this left.
pub const RENEW_BEFORE_DAYS: i64 = 30;
/// Days the root CA is valid. User-installed roots have no lifetime cap.
pub const CA_DAYS: i64 = 20 * 365;

/// What the server certificate covers and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafInfo {
    /// DNS names and IP addresses, as text.
    pub sans: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub not_after: i64,
}

/// A loaded certificate chain and key, ready for rustls.
pub struct Material {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// The folder of the generated material.
pub fn dir(base: &Path) -> PathBuf {
    base.join("tls")
}

/// SHA-256 of DER bytes as upper-case hex pairs joined by `:` (as browsers
/// and iOS show it).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SANs the server certificate should have for host name `name`.
pub fn wanted_sans(name: &str, addrs: &[IpAddr]) -> Vec<String> {
    let mut sans = vec![name.to_owned()];
    if !name.ends_with(".local") && !name.contains('.') {
        sans.push(format!("{name}.local"));
    }
    sans.push("localhost".into());
    sans.extend(addrs.iter().map(|a| a.to_string()));
    sans.push("127.0.0.1".into());
    sans.push("::1".into());
    let mut seen = std::collections::HashSet::new();
    sans.retain(|s| seen.insert(s.clone()));
    sans
}

/// `sans` plus `names` not in it yet, inserted before `localhost` (so the
/// list stays in a stable order).
pub fn with_names(mut sans: Vec<String>, names: &[String]) -> Vec<String> {
    let at = sans
        .iter()
        .position(|s| s == "localhost")
        .unwrap_or(sans.len());
    let new: Vec<String> =
        names
            .iter()
            .filter(|n| !sans.contains(n))
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(n) {
                    v.push(n.clone());
                }
                v
            });
    sans.splice(at..at, new);
    sans
}

/// Whether a certificate for `have` fits `want`: every wanted name and
/// address, and nothing else but `.local` names discovery added (e.g.
/// `kioku-2.local` after a conflict; `kioku cert` does not know those).
pub fn fits(have: &[String], want: &[String]) -> bool {
    want.iter().all(|w| have.contains(w))
        && have
            .iter()
            .all(|h| want.contains(h) || h.ends_with(".local"))
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Writes `bytes` to `path` atomically (`store::replace_file`), with mode
/// 0600 when `secret`.
pub fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), String> {
    let mode = if secret { 0o600 } else { 0o644 };
    crate::store::replace_file(path, "tls", bytes, mode)
        .map_err(|e| err(&format!("cannot write {}", path.display()), e))
}

fn day(offset: i64) -> NaiveDate {
    Utc::now().date_naive() + Days::days(offset)
}

fn set_validity(params: &mut CertificateParams, from: NaiveDate, until: NaiveDate) {
    let ymd = |d: NaiveDate| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    params.not_before = ymd(from);
    params.not_after = ymd(until);
}

fn unix(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// The CA's name: unique per device, derived from its public key so the
/// issuer can be rebuilt from the key alone.
fn ca_name(key: &KeyPair) -> DistinguishedName {
    let id = hex::encode(&Sha256::digest(key.public_key_raw())[..4]);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "kioku");
    dn.push(DnType::CommonName, format!("kioku local CA {id}"));
    dn
}

fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = ca_name(key);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// Makes the CA unless `dir` already has one; returns its key.
pub fn ensure_ca(dir: &Path) -> Result<KeyPair, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| err(&format!("cannot create {}", dir.display()), e))?;
    let key_path = dir.join("ca.key");
    if key_path.exists() {
        let pem = std::fs::read_to_string(&key_path)
            .map_err(|e| err(&format!("cannot read {}", key_path.display()), e))?;
        return KeyPair::from_pem(&pem).map_err(|e| err(&key_path.display().to_string(), e));
    }
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| err("CA key", e))?;
    let mut params = ca_params(&key);
    params.serial_number = Some(random_serial());
    set_validity(&mut params, day(-1), day(CA_DAYS));
    let cert = params
        .self_signed(&key)
        .map_err(|e| err("CA certificate", e))?;
    // The certificate first: a key without its certificate would be reused.
    write_file(&dir.join("ca.pem"), cert.pem().as_bytes(), false)?;
    write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
    tracing::info!(
        fingerprint = %fingerprint(cert.der()),
        "made this device's root CA ({})",
        dir.join("ca.pem").display()
    );
    Ok(key)
}

/// The CA certificate as DER, if `dir` has one.
pub fn ca_der(dir: &Path) -> Option<Vec<u8>> {
    let pem = std::fs::read(dir.join("ca.pem")).ok()?;
    CertificateDer::from_pem_slice(&pem)
        .ok()
        .map(|c| c.to_vec())
}

/// Issues a new server certificate for `sans`, signed by the CA in `dir`.
pub fn issue_leaf(dir: &Path, sans: &[String]) -> Result<LeafInfo, String> {
    let ca_key = ensure_ca(dir)?;
    let ca_der =
        ca_der(dir).ok_or_else(|| format!("{}: no certificate", dir.join("ca.pem").display()))?;
    let issuer = Issuer::new(ca_params(&ca_key), ca_key);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| err("server key", e))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, sans[0].clone());
    params.distinguished_name = dn;
    params.subject_alt_names = sans
        .iter()
        .map(|s| match s.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => s
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|e| err(&format!("host name {s:?}"), e)),
        })
        .collect::<Result<_, _>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    let (from, until) = (day(-1), day(-1 + LEAF_DAYS));
    set_validity(&mut params, from, until);
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| err("server certificate", e))?;
    let ca_pem =
        std::fs::read_to_string(dir.join("ca.pem")).map_err(|e| err("cannot read ca.pem", e))?;
    let _ = ca_der;
    let info = LeafInfo {
        sans: sans.to_vec(),
        not_after: unix(until),
    };
    write_file(
        &dir.join("server.key"),
        key.serialize_pem().as_bytes(),
        true,
    )?;
    write_file(
        &dir.join("server.pem"),
        format!("{}{}", cert.pem(), ca_pem).as_bytes(),
        false,
    )?;
    write_file(
        &dir.join("server.json"),
        serde_json::to_string_pretty(&info)
            .expect("serializes")
            .as_bytes(),
        false,
    )?;
    tracing::info!(sans = ?info.sans, days = LEAF_DAYS, "issued a new server certificate");
    Ok(info)
}

/// The generated server certificate's recorded SANs and expiry.
pub fn leaf_info(dir: &Path) -> Option<LeafInfo> {
    let text = std::fs::read_to_string(dir.join("server.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Reads a PEM certificate chain and a PEM private key.
pub fn load(cert: &Path, key: &Path) -> Result<Material, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err(&cert.display().to_string(), e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(&cert.display().to_string(), e))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| err(&key.display().to_string(), e))?;
    Ok(Material { chain, key })
}

/// Whether a certificate valid until `not_after` should be renewed now.
pub fn needs_renewal(not_after: i64) -> bool {
    not_after - Utc::now().timestamp() < RENEW_BEFORE_DAYS * 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_cover_names_and_addresses_once() {
        let sans = wanted_sans("kioku", &["192.168.1.5".parse().unwrap()]);
        assert_eq!(
            sans,
            [
                "kioku",
                "kioku.local",
                "localhost",
                "192.168.1.5",
                "127.0.0.1",
                "::1"
            ]
        );
        assert_eq!(
            wanted_sans("box.example.org", &[])[0..2],
            ["box.example.org", "localhost"]
        );
    }

    #[test]
    fn discovery_names_join_the_sans_once_before_localhost() {
        let base = wanted_sans("kioku", &["192.168.1.5".parse().unwrap()]);
        let sans = with_names(
            base.clone(),
            &[
                "kioku.local".into(),
                "kioku-2.local".into(),
                "kioku-2.local".into(),
            ],
        );
        assert_eq!(
            sans,
            [
                "kioku",
                "kioku.local",
                "kioku-2.local",
                "localhost",
                "192.168.1.5",
                "127.0.0.1",
                "::1"
            ]
        );
        assert_eq!(with_names(base.clone(), &[]), base);
        assert!(fits(&sans, &base), "a discovery name is no change");
        assert!(!fits(&base, &sans), "a missing name is");
        let moved = wanted_sans("kioku", &["192.168.1.6".parse().unwrap()]);
        assert!(!fits(&sans, &moved), "a changed address is");
    }

    #[test]
    fn fingerprint_is_colon_hex() {
        let f = fingerprint(b"");
        assert!(f.starts_with("E3:B0:C4:42"), "{f}");
        assert_eq!(f.len(), 32 * 3 - 1);
    }
}

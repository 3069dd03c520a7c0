//! The CA in the formats the setup page offers: PEM, and an iOS
//! configuration profile (`.mobileconfig`, an XML property list with one
//! `com.apple.security.root` payload).

use sha2::{Digest, Sha256};

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A certificate in PEM.
pub fn pem(der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// A UUID derived from the CA and a label, so the same CA always gives the
/// same profile (reinstalling replaces rather than duplicates it).
fn uuid(der: &[u8], label: &str) -> String {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update(der);
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode_upper(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// The iOS configuration profile installing `ca_der` as a root.
pub fn mobileconfig(ca_der: &[u8]) -> String {
    let data = base64(ca_der);
    let fp = super::certs::fingerprint(ca_der);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>kioku-root.cer</string>
			<key>PayloadContent</key>
			<data>{data}</data>
			<key>PayloadDescription</key>
			<string>The root certificate of your kioku Anki sync server</string>
			<key>PayloadDisplayName</key>
			<string>kioku local CA</string>
			<key>PayloadIdentifier</key>
			<string>local.kioku.rootca.cert</string>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>{cert_uuid}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Lets this device trust your kioku Anki sync server (SHA-256 {fp}). After installing, enable full trust in Settings, General, About, Certificate Trust Settings.</string>
	<key>PayloadDisplayName</key>
	<string>kioku sync server</string>
	<key>PayloadIdentifier</key>
	<string>local.kioku.rootca</string>
	<key>PayloadOrganization</key>
	<string>kioku</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>{uuid}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
"#,
        cert_uuid = uuid(ca_der, "cert"),
        uuid = uuid(ca_der, "profile"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }
}

//! Content digests: the fingerprint in published names, ETags and SRI integrity.

use base64::Engine;
use sha2::{Digest, Sha256, Sha384};

/// Hex characters of the SHA-256 kept in a published name (64 bits: collisions are negligible
/// for any realistic number of versions of one file).
pub const NAME_HASH_LEN: usize = 16;

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint placed in a published name: the first [`NAME_HASH_LEN`] hex digits.
pub fn name_hash(digest: &[u8; 32]) -> String {
    hex(&digest[..NAME_HASH_LEN / 2])
}

/// `<stem>-<hash>.<ext>` from a file name (`app.css` → `app-0123456789abcdef.css`; a name without
/// extension, or a dotfile, gets the hash appended).
pub fn fingerprinted_name(file_name: &str, hash: &str) -> String {
    let stem = crate::reference::stem_of(file_name);
    format!("{stem}-{hash}{}", &file_name[stem.len()..])
}

/// True for names already digested by AssetMapper: `<name>-<7..128 alphanumerics>.digested.<ext>`.
/// Such files keep their name (and are immutable).
pub fn is_predigested(file_name: &str) -> bool {
    let Some(pos) = file_name.find(".digested") else {
        return false;
    };
    let rest = &file_name[pos + ".digested".len()..];
    if !(rest.is_empty() || rest.starts_with('.')) {
        return false;
    }
    let before = &file_name[..pos];
    let Some(dash) = before.rfind('-') else {
        return false;
    };
    let digest = &before[dash + 1..];
    (7..=128).contains(&digest.len()) && digest.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// A strong ETag (`"…"`) for the bytes whose SHA-256 is `digest`.
pub fn etag(digest: &[u8; 32]) -> String {
    format!("\"{}\"", hex(&digest[..16]))
}

/// Subresource Integrity (`sha384-<base64>`) of `bytes`.
pub fn integrity(bytes: &[u8]) -> String {
    let d = Sha384::digest(bytes);
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(d)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(fingerprinted_name("app.css", "ab12"), "app-ab12.css");
        assert_eq!(
            fingerprinted_name("a.min.css.map", "ab12"),
            "a.min.css-ab12.map"
        );
        assert_eq!(fingerprinted_name("LICENSE", "ab12"), "LICENSE-ab12");
        assert_eq!(fingerprinted_name(".htaccess", "ab12"), ".htaccess-ab12");
    }

    #[test]
    fn predigested_names_are_recognised() {
        assert!(is_predigested("app-1a2b3c4.digested.js"));
        assert!(is_predigested("x-AbCdEf0123.digested.css"));
        assert!(!is_predigested("app-1a2b3.digested.js"), "too short");
        assert!(!is_predigested("app.digested.js"), "no digest");
        assert!(!is_predigested("app-1a2b3c4.digestedx.js"));
        assert!(!is_predigested("app-1a_2b3c4.digested.js"));
    }

    #[test]
    fn digests_match_known_vectors() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            integrity(b"alert('Hello, world.');"),
            "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"
        );
        assert_eq!(name_hash(&sha256(b"abc")), "ba7816bf8f01cfea");
    }
}

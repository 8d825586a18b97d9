//! RFC 9842 (Compression Dictionary Transport): the `Use-As-Dictionary` value of a published file,
//! and deltas of a file against an earlier version of the same logical path.
//!
//! - `dcz`: the magic `5e 2a 4d 18 20 00 00 00` (a zstd skippable frame of 32 bytes), the
//!   dictionary's SHA-256, then one zstd frame compressed with the dictionary as a raw prefix
//!   (what `zstd --patch-from` does). The window covers dictionary and file where the RFC allows
//!   it (at most the larger of 8 MiB and 1.25 × the dictionary, and 128 MiB), so the whole
//!   dictionary stays reachable. Level [`ZSTD_FAST_LEVEL`] first — a patch-like change gives a
//!   delta of a few hundred bytes in milliseconds — and level [`ZSTD_LEVEL`] when that delta is
//!   over 1/128 of the file (a real change, where the thorough search pays, and the fast levels'
//!   hash tables may miss matches far back in the dictionary).
//! - `dcb`: the magic `ff 44 43 42`, the SHA-256, then a brotli stream compressed with the
//!   dictionary as a custom (raw prefix) dictionary, in a standard window (at most 16 MiB), at
//!   quality [`BROTLI_QUALITY`] (quality 11's optimal parsing for a few percent more time; lower
//!   qualities' hashers lose matches far back in a large dictionary).
//!
//! Every delta is decoded again before it is kept ([`verify`]): with the reference zstd library
//! for `dcz`, with the port of the reference brotli decoder for `dcb`; one that does not give back
//! exactly the file is an error, never published. The brotli encoder has panicked on some inputs
//! with a custom dictionary (an index out of bounds in `StoreCommandExtra`, seen at quality 9):
//! a panic inside it is caught and reported as an error, so there is then no `dcb` body for that
//! file — "where the brotli library can produce one".

use brotli::enc::backward_references::BrotliEncoderMode;
use cdn_manifest::DeltaEncoding;

use crate::fingerprint::hex;

/// zstd level of `dcz` bodies tried first.
pub const ZSTD_FAST_LEVEL: i32 = 11;
/// zstd level of `dcz` bodies when the fast one is over 1/128 of the file (what
/// `zstd -19 --patch-from` uses).
pub const ZSTD_LEVEL: i32 = 19;
/// brotli quality of `dcb` bodies.
pub const BROTLI_QUALITY: i32 = 10;

/// The largest window a `dcb` body may use (RFC 9842 §4.2: 16 MiB).
const DCB_MAX_WINDOW_LOG: u32 = 24;

/// Why a delta could not be made or does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// The encoder failed.
    #[error("{coding} encoder failed: {why}")]
    Encode {
        /// `dcz` or `dcb`.
        coding: &'static str,
        /// The library's message.
        why: String,
    },
    /// A body that does not start with the coding's magic and the dictionary's SHA-256.
    #[error("{coding} body does not start with its header for this dictionary")]
    Header {
        /// `dcz` or `dcb`.
        coding: &'static str,
    },
    /// A body that does not decode.
    #[error("{coding} body does not decode: {why}")]
    Decode {
        /// `dcz` or `dcb`.
        coding: &'static str,
        /// The decoder's message.
        why: String,
    },
    /// A body that decodes to other bytes than the file's.
    #[error("{coding} body decodes to other bytes than the file")]
    Mismatch {
        /// `dcz` or `dcb`.
        coding: &'static str,
    },
}

/// How one delta is made: the coding and its settings. Part of the cache key, with the
/// dictionary's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeltaCodec {
    /// `dcz` or `dcb`.
    pub encoding: DeltaEncoding,
}

impl DeltaCodec {
    /// The tag naming the settings and the dictionary, used in cache keys; the library's
    /// version is part of it, so upgrading an encoder invalidates its outputs.
    pub fn tag(self, dictionary: &[u8; 32]) -> String {
        let settings = match self.encoding {
            DeltaEncoding::Zstd => format!(
                "dcz-zstd{}-l{ZSTD_FAST_LEVEL}+{ZSTD_LEVEL}",
                zstd::zstd_safe::version_number()
            ),
            DeltaEncoding::Brotli => format!("dcb-br8-q{BROTLI_QUALITY}"),
        };
        format!("{settings}-{}", hex(dictionary))
    }

    /// `input` compressed against `dictionary` (whose SHA-256 is `digest`), with the RFC's header.
    pub fn encode(
        self,
        dictionary: &[u8],
        digest: &[u8; 32],
        input: &[u8],
    ) -> Result<Vec<u8>, DeltaError> {
        let mut out = Vec::with_capacity(input.len() / 8 + 64);
        out.extend_from_slice(self.encoding.magic());
        out.extend_from_slice(digest);
        match self.encoding {
            DeltaEncoding::Zstd => {
                let fast = zstd_encode(dictionary, input, ZSTD_FAST_LEVEL)?;
                if fast.len() * 128 <= input.len() {
                    out.extend_from_slice(&fast);
                } else {
                    out.extend_from_slice(&zstd_encode(dictionary, input, ZSTD_LEVEL)?);
                }
            }
            DeltaEncoding::Brotli => {
                let body = guarded(|| brotli_encode(dictionary, input, &mut out)).and_then(|r| r);
                body.map_err(|why| DeltaError::Encode { coding: "dcb", why })?;
            }
        }
        Ok(out)
    }
}

/// The largest zstd window (log2) a client must accept for a `dcz` body with a dictionary of
/// `dict_len` bytes: the larger of 8 MiB and 1.25 × the dictionary, at most 128 MiB.
fn dcz_max_window_log(dict_len: usize) -> u32 {
    let limit = (8usize << 20).max(dict_len + dict_len / 4).min(128 << 20);
    usize::BITS - 1 - limit.leading_zeros()
}

/// The smallest window (log2, at least 10) that covers `len` bytes.
fn covering_log(len: usize) -> u32 {
    let mut log = 10;
    while log < 31 && (1usize << log) < len {
        log += 1;
    }
    log
}

thread_local! {
    /// Set while this thread runs the brotli encoder or decoder under [`guarded`].
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while the current thread runs brotli under a guard that turns a panic into an error:
/// a binary's panic hook can stay quiet then (the error says what happened).
pub fn in_guarded_brotli() -> bool {
    GUARDED.with(|g| g.get())
}

/// Runs `f`, turning a panic inside it into an error.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(false));
    result.map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("the brotli library failed on this input ({msg})")
    })
}

fn zstd_encode(dictionary: &[u8], input: &[u8], level: i32) -> Result<Vec<u8>, DeltaError> {
    use zstd::zstd_safe::{CCtx, CParameter};
    let err = |why: &str| DeltaError::Encode {
        coding: "dcz",
        why: why.to_string(),
    };
    let window =
        covering_log(dictionary.len() + input.len()).min(dcz_max_window_log(dictionary.len()));
    let mut cctx = CCtx::create();
    for p in [
        CParameter::CompressionLevel(level),
        CParameter::WindowLog(window),
        CParameter::ContentSizeFlag(true),
        CParameter::ChecksumFlag(false),
    ] {
        cctx.set_parameter(p)
            .map_err(|c| err(zstd::zstd_safe::get_error_name(c)))?;
    }
    cctx.ref_prefix(dictionary)
        .map_err(|c| err(zstd::zstd_safe::get_error_name(c)))?;
    // compress2 writes from the start of the buffer it is given.
    let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(input.len()));
    cctx.compress2(&mut frame, input)
        .map_err(|c| err(zstd::zstd_safe::get_error_name(c)))?;
    Ok(frame)
}

/// The brotli window (log2) for a `dcb` body: dictionary and file, within the RFC's 16 MiB.
fn dcb_window_log(dict_len: usize, input_len: usize) -> u32 {
    covering_log(dict_len + input_len + 16).clamp(10, DCB_MAX_WINDOW_LOG)
}

fn brotli_encode(dictionary: &[u8], input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: dcb_window_log(dictionary.len(), input.len()) as i32,
        mode: BrotliEncoderMode::BROTLI_MODE_GENERIC,
        size_hint: input.len(),
        ..Default::default()
    };
    let (mut ibuf, mut obuf) = ([0u8; 4096], [0u8; 4096]);
    let mut reader = brotli::IoReaderWrapper(&mut &input[..]);
    let mut writer = brotli::IoWriterWrapper(out);
    let mut nop =
        |_: &mut brotli::interface::PredictionModeContextMap<brotli::InputReferenceMut>,
         _: &mut [brotli::interface::StaticCommand],
         _: brotli::InputPair,
         _: &mut brotli::enc::StandardAlloc| ();
    brotli::BrotliCompressCustomIoCustomDict(
        &mut reader,
        &mut writer,
        &mut ibuf,
        &mut obuf,
        &params,
        brotli::enc::StandardAlloc::default(),
        &mut nop,
        dictionary,
        std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
    )
    .map(drop)
    .map_err(|e| e.to_string())
}

/// Decodes a `dcz`/`dcb` body made against `dictionary` (whose SHA-256 is `digest`).
pub fn decode(
    encoding: DeltaEncoding,
    dictionary: &[u8],
    digest: &[u8; 32],
    body: &[u8],
) -> Result<Vec<u8>, DeltaError> {
    let coding = encoding.token();
    let magic = encoding.magic();
    let header = magic.len() + 32;
    if body.len() < header || &body[..magic.len()] != magic || &body[magic.len()..header] != digest
    {
        return Err(DeltaError::Header { coding });
    }
    let payload = &body[header..];
    let fail = |why: String| DeltaError::Decode { coding, why };
    match encoding {
        DeltaEncoding::Zstd => {
            use zstd::zstd_safe::{DCtx, DParameter};
            let size = zstd::zstd_safe::get_frame_content_size(payload)
                .ok()
                .flatten()
                .ok_or_else(|| fail("the frame does not state its size".into()))?;
            if size > crate::scan::MAX_FILE_SIZE {
                return Err(fail(format!("the frame states {size} bytes")));
            }
            let mut dctx = DCtx::create();
            dctx.set_parameter(DParameter::WindowLogMax(dcz_max_window_log(
                dictionary.len(),
            )))
            .map_err(|c| fail(zstd::zstd_safe::get_error_name(c).into()))?;
            dctx.ref_prefix(dictionary)
                .map_err(|c| fail(zstd::zstd_safe::get_error_name(c).into()))?;
            let mut out = Vec::with_capacity(size as usize);
            let mut input = zstd::zstd_safe::InBuffer::around(payload);
            let mut output = zstd::zstd_safe::OutBuffer::around(&mut out);
            loop {
                let hint = dctx
                    .decompress_stream(&mut output, &mut input)
                    .map_err(|c| fail(zstd::zstd_safe::get_error_name(c).into()))?;
                if hint == 0 {
                    break;
                }
                if input.pos() == payload.len() && output.pos() < output.capacity() {
                    return Err(fail("truncated frame".into()));
                }
                if output.pos() == output.capacity() {
                    return Err(fail("more bytes than the frame states".into()));
                }
            }
            if input.pos() != payload.len() {
                return Err(fail("bytes after the frame".into()));
            }
            Ok(out)
        }
        DeltaEncoding::Brotli => {
            let mut out = Vec::new();
            let (mut ibuf, mut obuf) = ([0u8; 4096], [0u8; 4096]);
            guarded(|| {
                brotli_decompressor::BrotliDecompressCustomDict(
                    &mut &payload[..],
                    &mut out,
                    &mut ibuf,
                    &mut obuf,
                    dictionary.to_vec(),
                )
            })
            .map_err(fail)?
            .map_err(|e| fail(e.to_string()))?;
            Ok(out)
        }
    }
}

/// Decodes `body` and checks that it gives back exactly `input`.
pub fn verify(
    encoding: DeltaEncoding,
    dictionary: &[u8],
    digest: &[u8; 32],
    body: &[u8],
    input: &[u8],
) -> Result<(), DeltaError> {
    let back = decode(encoding, dictionary, digest, body)?;
    if back != input {
        return Err(DeltaError::Mismatch {
            coding: encoding.token(),
        });
    }
    Ok(())
}

/// Whether a delta of `delta` bytes is clearly smaller than the `br` (or identity) body of
/// `baseline` bytes: at least 64 bytes and 10 % smaller. Otherwise it would cost a stored file
/// and the browser's dictionary bookkeeping for little.
pub fn worth_keeping(baseline: u64, delta: u64) -> bool {
    delta + 64 <= baseline && delta * 10 <= baseline * 9
}

/// The `Use-As-Dictionary` value of the file published at `url_path` (a decoded URL path whose
/// last segment is `<stem>-<hash><rest>`, `stem_len` bytes of stem): a `match` pattern for every
/// version of the same logical path, `/assets/js/app-*.js`, percent-encoded as the page's URLs
/// are and escaped for URLPattern, and `match-dest` for stylesheets and scripts.
pub fn use_as_dictionary(
    url_path: &str,
    stem_end: usize,
    hash_len: usize,
    content_type: &str,
) -> Option<String> {
    let before = url_path.get(..stem_end)?;
    let after = url_path.get(stem_end + 1 + hash_len..)?;
    if !url_path[stem_end..].starts_with('-') {
        return None;
    }
    let pattern = format!(
        "{}-*{}",
        urlpattern_escape(&cdn_manifest::encode_path(before)),
        urlpattern_escape(&cdn_manifest::encode_path(after))
    );
    let mut value = format!("match=\"{}\"", sf_string_escape(&pattern));
    let media = content_type.split(';').next().unwrap_or("").trim();
    let dest = match media {
        "text/css" => Some("style"),
        "text/javascript" | "application/javascript" => Some("script"),
        _ => None,
    };
    if let Some(d) = dest {
        value.push_str(&format!(", match-dest=(\"{d}\")"));
    }
    Some(value)
}

/// Escapes the characters URLPattern gives a meaning in a pathname (`* : ( ) { } + ? \`) with a
/// backslash.
pub fn urlpattern_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "*:(){}+?\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes `"` and `\` for a structured-field string (RFC 8941 §3.3.3).
fn sf_string_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::sha256;

    fn versions() -> (Vec<u8>, Vec<u8>) {
        let mut old = String::new();
        for i in 0..2000 {
            old.push_str(&format!(
                "export function f{i}(x) {{ return x * {i} + {}; }}\n",
                i % 7
            ));
        }
        let new = old.replace("return x * 1000 ", "return x * 1001 ") + "export const added = 1;\n";
        (old.into_bytes(), new.into_bytes())
    }

    #[test]
    fn deltas_round_trip_and_are_far_smaller_than_brotli() {
        let (old, new) = versions();
        let digest = sha256(&old);
        let br = crate::compress::plan("a.js", "text/javascript; charset=utf-8", new.len())[0]
            .compress(&new)
            .len();
        for encoding in DeltaEncoding::ALL {
            let body = DeltaCodec { encoding }.encode(&old, &digest, &new).unwrap();
            assert!(body.starts_with(encoding.magic()));
            assert_eq!(
                &body[encoding.magic().len()..encoding.magic().len() + 32],
                &digest
            );
            verify(encoding, &old, &digest, &body, &new).unwrap();
            assert!(
                body.len() * 20 < br,
                "{encoding:?}: {} vs br {br}",
                body.len()
            );
            assert!(worth_keeping(br as u64, body.len() as u64));
            assert_eq!(
                DeltaCodec { encoding }.encode(&old, &digest, &new).unwrap(),
                body,
                "deterministic"
            );
        }
    }

    #[test]
    fn bad_bodies_are_errors_never_panics() {
        let (old, new) = versions();
        let digest = sha256(&old);
        for encoding in DeltaEncoding::ALL {
            let body = DeltaCodec { encoding }.encode(&old, &digest, &new).unwrap();
            let header = encoding.magic().len() + 32;
            // Another dictionary's hash, a truncated body, a flipped byte, the wrong dictionary.
            let other = sha256(b"other");
            assert!(matches!(
                decode(encoding, &old, &other, &body),
                Err(DeltaError::Header { .. })
            ));
            assert!(decode(encoding, &old, &digest, &body[..header - 1]).is_err());
            assert!(verify(encoding, &old, &digest, &body[..body.len() - 3], &new).is_err());
            let mut flipped = body.clone();
            let last = flipped.len() - 1;
            flipped[header + (last - header) / 2] ^= 0x55;
            assert!(verify(encoding, &old, &digest, &flipped, &new).is_err());
            let wrong = old.iter().map(|b| b.wrapping_add(1)).collect::<Vec<_>>();
            assert!(verify(encoding, &wrong, &digest, &body, &new).is_err());
            let mut trailing = body.clone();
            trailing.extend_from_slice(b"junk");
            if encoding == DeltaEncoding::Zstd {
                assert!(decode(encoding, &old, &digest, &trailing).is_err());
            }
        }
    }

    #[test]
    fn a_panic_in_the_encoder_is_an_error() {
        let r: Result<(), String> = guarded(|| panic!("index out of bounds"));
        let e = r.unwrap_err();
        assert!(
            e.contains("brotli library failed") && e.contains("index out of bounds"),
            "{e}"
        );
        assert!(!in_guarded_brotli(), "the guard is lifted");
        assert_eq!(guarded(|| 7), Ok(7));
    }

    #[test]
    fn dcz_tries_the_fast_level_first_and_the_thorough_one_when_it_pays() {
        // Pseudo-random text: the fast level's hash tables lose matches far back.
        let mut x: u64 = 42;
        let words = [
            "function", "return", "const", "this", "value", "(", ")", "{", "}", ";", "\n", "chart",
            "data", "=", "+",
        ];
        let mut text = String::new();
        while text.len() < 100_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(words[(x >> 33) as usize % words.len()]);
            text.push(' ');
        }
        let old = text.clone().into_bytes();
        let mid = text.len() / 2;
        let new = format!(
            "{}/* change */{}\n/* release 2 */\n",
            &text[..mid],
            &text[mid..]
        )
        .into_bytes();
        let digest = sha256(&old);
        let fast = zstd_encode(&old, &new, ZSTD_FAST_LEVEL).unwrap();
        assert!(
            fast.len() * 128 > new.len(),
            "the fast level misses: {}",
            fast.len()
        );
        let body = DeltaCodec {
            encoding: DeltaEncoding::Zstd,
        }
        .encode(&old, &digest, &new)
        .unwrap();
        assert!(
            body.len() < 1000,
            "the thorough level finds them: {}",
            body.len()
        );
        verify(DeltaEncoding::Zstd, &old, &digest, &body, &new).unwrap();
    }

    #[test]
    fn windows_follow_the_rfc() {
        assert_eq!(dcz_max_window_log(0), 23, "8 MiB");
        assert_eq!(
            dcz_max_window_log(16 << 20),
            24,
            "1.25 × 16 MiB = 20 MiB → 2^24"
        );
        assert_eq!(dcz_max_window_log(1 << 30), 27, "at most 128 MiB");
        assert_eq!(dcb_window_log(100, 100), 10);
        assert_eq!(dcb_window_log(300 << 10, 300 << 10), 20);
        assert_eq!(dcb_window_log(20 << 20, 20 << 20), 24);
    }

    #[test]
    fn use_as_dictionary_patterns() {
        let cases = [
            (
                "/assets/js/app-0123456789abcdef.js",
                "/assets/js/app",
                "text/javascript; charset=utf-8",
                r#"match="/assets/js/app-*.js", match-dest=("script")"#,
            ),
            (
                "/assets/css/app-0123456789abcdef.css",
                "/assets/css/app",
                "text/css; charset=utf-8",
                r#"match="/assets/css/app-*.css", match-dest=("style")"#,
            ),
            (
                "/assets/a.min.css-0123456789abcdef.map",
                "/assets/a.min.css",
                "application/json",
                r#"match="/assets/a.min.css-*.map""#,
            ),
            (
                "/assets/my logo(1)+é-0123456789abcdef.svg",
                "/assets/my logo(1)+é",
                "image/svg+xml",
                r#"match="/assets/my%20logo\\(1\\)\\+%C3%A9-*.svg""#,
            ),
            (
                "/assets/a:b-0123456789abcdef",
                "/assets/a:b",
                "application/octet-stream",
                r#"match="/assets/a\\:b-*""#,
            ),
        ];
        for (path, stem, ct, want) in cases {
            assert_eq!(
                use_as_dictionary(path, stem.len(), 16, ct).as_deref(),
                Some(want),
                "{path}"
            );
        }
        assert_eq!(
            use_as_dictionary("/assets/x.js", 9, 16, "text/javascript"),
            None
        );
        assert_eq!(urlpattern_escape("a*b?{c}\\"), "a\\*b\\?\\{c\\}\\\\");
    }
}

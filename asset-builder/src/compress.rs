//! Precompression: which files get which encoder settings, the encoders, and when a sibling is
//! worth keeping.
//!
//! Policy (documented in the README):
//! - Only compressible media types are tried (see [`crate::content_type::is_compressible`]).
//! - Shipped files get brotli at quality 11 with a window sized to the file (up to 16 MiB) and
//!   gzip at level 9: they are downloaded by every visitor, so every byte counts.
//! - Source maps (`.map`) are fetched only when a developer opens devtools; they get brotli 9 and
//!   gzip 6, which cost a fraction of the time for a few percent more bytes.
//! - A sibling is kept only when it is at least [`MIN_SAVING`] bytes and [`MIN_SAVING_PERCENT`]%
//!   smaller than the file; otherwise the edge would spend a file (of the 20,000 allowed) and the
//!   client a decode for nothing.

use std::io::Write;

use brotli::enc::backward_references::BrotliEncoderMode;
use cdn_manifest::Encoding;

/// Minimum bytes a sibling must save to be kept.
pub const MIN_SAVING: usize = 20;
/// Minimum share (percent) of the file a sibling must save to be kept.
pub const MIN_SAVING_PERCENT: usize = 2;

/// How one representation is produced. Part of the cache key, so changing a setting recompresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Brotli at `quality` with a `2^lgwin` window in `mode`.
    Brotli {
        /// 0–11.
        quality: u8,
        /// 10–24.
        lgwin: u8,
        /// Hint to the encoder about the content.
        mode: Mode,
    },
    /// gzip (deflate) at `level`.
    Gzip {
        /// 1–9.
        level: u8,
    },
}

/// Brotli's content hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// UTF-8 text.
    Text,
    /// WOFF-less fonts (TTF/OTF/EOT).
    Font,
    /// Anything else.
    Generic,
}

impl Codec {
    /// The encoding this codec produces.
    pub fn encoding(self) -> Encoding {
        match self {
            Codec::Brotli { .. } => Encoding::Brotli,
            Codec::Gzip { .. } => Encoding::Gzip,
        }
    }

    /// A short stable tag naming the settings, used in cache keys. The encoder's version is part
    /// of it, so upgrading an encoder invalidates its outputs.
    pub fn tag(self) -> String {
        match self {
            Codec::Brotli {
                quality,
                lgwin,
                mode,
            } => format!("br8-q{quality}-w{lgwin}-{mode:?}"),
            Codec::Gzip { level } => format!("gz1-l{level}"),
        }
    }

    /// Compresses `input`. Deterministic: the same input and settings give the same bytes.
    pub fn compress(self, input: &[u8]) -> Vec<u8> {
        match self {
            Codec::Brotli {
                quality,
                lgwin,
                mode,
            } => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: quality.into(),
                    lgwin: lgwin.into(),
                    mode: match mode {
                        Mode::Text => BrotliEncoderMode::BROTLI_MODE_TEXT,
                        Mode::Font => BrotliEncoderMode::BROTLI_MODE_FONT,
                        Mode::Generic => BrotliEncoderMode::BROTLI_MODE_GENERIC,
                    },
                    size_hint: input.len(),
                    ..Default::default()
                };
                let mut out = Vec::with_capacity(input.len() / 3 + 64);
                let mut reader = input;
                brotli::BrotliCompress(&mut reader, &mut out, &params)
                    .expect("brotli into a Vec cannot fail");
                out
            }
            Codec::Gzip { level } => {
                // No file name, mtime 0: deterministic and a few bytes smaller than gzip(1).
                let mut enc = flate2::GzBuilder::new().mtime(0).write(
                    Vec::with_capacity(input.len() / 3 + 64),
                    flate2::Compression::new(level.into()),
                );
                enc.write_all(input).expect("gzip into a Vec cannot fail");
                enc.finish().expect("gzip into a Vec cannot fail")
            }
        }
    }
}

/// The codecs to try for a file, or none when its type does not compress.
pub fn plan(logical_path: &str, content_type: &str, size: usize) -> Vec<Codec> {
    if size < MIN_SAVING * 2 || !crate::content_type::is_compressible(content_type) {
        return Vec::new();
    }
    let ext = crate::content_type::extension(logical_path);
    let media = content_type.split(';').next().unwrap_or("");
    let mode = if matches!(
        media,
        "font/ttf" | "font/otf" | "application/vnd.ms-fontobject"
    ) {
        Mode::Font
    } else if content_type.contains("charset=") {
        Mode::Text
    } else {
        Mode::Generic
    };
    let lgwin = window_bits(size);
    if ext == "map" {
        vec![
            Codec::Brotli {
                quality: 9,
                lgwin,
                mode,
            },
            Codec::Gzip { level: 6 },
        ]
    } else {
        vec![
            Codec::Brotli {
                quality: 11,
                lgwin,
                mode,
            },
            Codec::Gzip { level: 9 },
        ]
    }
}

/// The smallest brotli window that covers the whole file (10–24 bits): a larger one cannot help
/// and costs memory.
fn window_bits(size: usize) -> u8 {
    let mut bits = 10u8;
    while bits < 24 && (1usize << bits) - 16 < size {
        bits += 1;
    }
    bits
}

/// Whether a compressed sibling of `compressed` bytes is worth keeping beside `original` bytes.
pub fn worth_keeping(original: usize, compressed: usize) -> bool {
    compressed + MIN_SAVING <= original && compressed * 100 <= original * (100 - MIN_SAVING_PERCENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips() {
        let input: Vec<u8> = b"body { color: red; }\n".repeat(200);
        for codec in plan("a.css", "text/css; charset=utf-8", input.len()) {
            let packed = codec.compress(&input);
            assert!(packed.len() < input.len() / 10, "{codec:?}");
            let mut back = Vec::new();
            match codec.encoding() {
                Encoding::Brotli => {
                    brotli::Decompressor::new(&packed[..], 4096)
                        .read_to_end(&mut back)
                        .unwrap();
                }
                Encoding::Gzip => {
                    flate2::read::GzDecoder::new(&packed[..])
                        .read_to_end(&mut back)
                        .unwrap();
                }
            }
            assert_eq!(back, input);
            assert_eq!(codec.compress(&input), packed, "deterministic");
        }
    }

    #[test]
    fn policy() {
        assert!(plan("a.png", "image/png", 10_000).is_empty());
        assert!(plan("a.css", "text/css; charset=utf-8", 10).is_empty());
        let maps = plan("a.js.map", "application/json; charset=utf-8", 10_000);
        assert!(maps.contains(&Codec::Gzip { level: 6 }));
        assert!(matches!(
            plan("f.ttf", "font/ttf", 10_000)[0],
            Codec::Brotli {
                mode: Mode::Font,
                quality: 11,
                ..
            }
        ));
        assert_eq!(window_bits(100), 10);
        assert_eq!(window_bits(5000), 13);
        assert_eq!(window_bits(100 << 20), 24);
    }

    #[test]
    fn keeping_threshold() {
        assert!(worth_keeping(1000, 500));
        assert!(!worth_keeping(1000, 990), "under 2%");
        assert!(!worth_keeping(100, 85), "under 20 bytes");
    }
}

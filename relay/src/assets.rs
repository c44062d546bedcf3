//! The demo site (`www/`) and the browser package (`pkg/`), built into the relay, so that it
//! serves them from any working directory (`--www` / `--pkg` serve folders from disk instead).
//!
//! Text, scripts and wasm go out compressed when the client accepts it, brotli before gzip, each
//! variant made once and kept (the set of files is fixed at build time, so the cache is bounded).
//! Every response has a strong ETag of its content and variant and `Cache-Control: no-cache`:
//! a browser keeps the file and asks again with `If-None-Match`, which costs a 304 and no body.
//! (None of the files has a content hash in its name, so none may be cached as immutable.)

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::{EmbeddedFile, RustEmbed};

/// The demo site.
#[derive(RustEmbed)]
#[folder = "../www"]
#[allow_missing = true]
pub struct Www;

/// The browser package (what scripts/build.sh left in `pkg/` when the relay was built).
#[derive(RustEmbed)]
#[folder = "../pkg"]
#[allow_missing = true]
pub struct Pkg;

/// Files smaller than this go out as they are: compressing them saves less than its headers.
const COMPRESS_FROM: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    fn header(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Brotli => Some("br"),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Self::Identity => "",
            Self::Gzip => ".gz",
            Self::Brotli => ".br",
        }
    }

    /// The best the client accepts (a `q=0` refuses one).
    fn negotiate(headers: &HeaderMap) -> Self {
        let accepted = |name: &str| {
            headers
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|item| {
                    let mut parts = item.split(';').map(str::trim);
                    parts.next().is_some_and(|n| n.eq_ignore_ascii_case(name))
                        && !parts.any(|p| p.replace(' ', "") == "q=0")
                })
        };
        if accepted("br") {
            Self::Brotli
        } else if accepted("gzip") {
            Self::Gzip
        } else {
            Self::Identity
        }
    }
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/wasm" | "application/json" | "image/svg+xml"
        )
}

fn compress(data: &[u8], encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Identity => data.to_vec(),
        Encoding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            // Writing to a Vec cannot fail.
            let _ = e.write_all(data);
            e.finish().unwrap_or_default()
        }
        Encoding::Brotli => {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 9,
                ..Default::default()
            };
            let _ = brotli::BrotliCompress(&mut &data[..], &mut out, &params);
            out
        }
    }
}

// `Bytes`: a response shares the cached variant instead of copying it.
type Variants = Mutex<HashMap<(String, Encoding), Bytes>>;

fn variants() -> &'static Variants {
    static CACHE: OnceLock<Variants> = OnceLock::new();
    CACHE.get_or_init(Variants::default)
}

/// `path` (without its leading slash) from `E`, as `GET` answers it; `None` if there is no such
/// file (the caller's 404). A folder path serves its `index.html`.
pub fn respond<E: RustEmbed>(scope: &str, path: &str, request: &HeaderMap) -> Option<Response> {
    let path = path.trim_start_matches('/');
    let (name, file): (String, EmbeddedFile) = [path.to_owned(), format!("{path}/index.html")]
        .into_iter()
        .map(|p| p.trim_start_matches('/').to_owned())
        .map(|p| {
            if p.is_empty() {
                "index.html".to_owned()
            } else {
                p
            }
        })
        .find_map(|p| E::get(&p).map(|f| (p, f)))?;
    let mime = file.metadata.mimetype().to_owned();
    let encoding = if compressible(&mime) && file.data.len() >= COMPRESS_FROM {
        Encoding::negotiate(request)
    } else {
        Encoding::Identity
    };
    let hash: String = file.metadata.sha256_hash()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let etag = format!("\"{hash}{}\"", encoding.tag());
    let mut headers = HeaderMap::new();
    let mut put = |name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put(header::ETAG, &etag);
    put(header::CACHE_CONTROL, "no-cache");
    put(header::VARY, "Accept-Encoding");
    put(header::CONTENT_TYPE, &mime);
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*");
    if fresh {
        return Some((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let body = match encoding {
        Encoding::Identity => Body::from(file.data),
        other => {
            let key = (format!("{scope}/{name}"), other);
            let cached = variants().lock().ok().and_then(|c| c.get(&key).cloned());
            let bytes = cached.unwrap_or_else(|| {
                let made = Bytes::from(compress(&file.data, other));
                if let Ok(mut c) = variants().lock() {
                    c.insert(key, made.clone());
                }
                made
            });
            if let Some(value) = other.header() {
                put(header::CONTENT_ENCODING, value);
            }
            Body::from(bytes)
        }
    };
    Some((StatusCode::OK, headers, body).into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn accept(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn the_best_accepted_encoding_wins_and_q0_refuses() {
        assert_eq!(
            Encoding::negotiate(&accept("gzip, deflate, br")),
            Encoding::Brotli
        );
        assert_eq!(Encoding::negotiate(&accept("gzip")), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(&accept("br;q=0, gzip")), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn compressed_variants_decompress_to_the_file() {
        let data: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let gz = compress(&data, Encoding::Gzip);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back).unwrap();
        assert_eq!(back, data);
        let br = compress(&data, Encoding::Brotli);
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, data);
        assert!(br.len() < data.len() / 4 && gz.len() < data.len() / 4);
    }
}

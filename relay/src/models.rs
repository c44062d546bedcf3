//! `GET /models/minilm/{file}`: the embedding model's files for browser Workers, from the model
//! directory (`--model-dir`, the one `scripts/setup.sh` fills). The weights go out in f16
//! (`model.f16.safetensors`, 45 MB instead of 91): made from the f32 file on the first request,
//! deterministically, so the package can pin its SHA-256 (`pkg/src/models.js`) and a Worker checks
//! every byte it got. Nothing is loaded until a browser asks; then the files stay in memory.
//!
//! The names and contents never change for a given model, so they are served as immutable with
//! a strong ETag (their SHA-256), and with CORS like the rest of the public, read-only surface.
//! One byte range is answered 206 with that slice (`byte_range.rs`), so a client that resumes a
//! download, or asks for a header's worth of the weights, gets only what it asked for.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::byte_range::Answer;

/// The files a Worker fetches, as the relay serves them.
pub const FILES: [&str; 4] = [
    "config.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "model.f16.safetensors",
];

/// The model directory and, once asked for, its files.
#[derive(Clone, Default)]
pub struct Models {
    dir: Option<PathBuf>,
    loaded: Arc<OnceCell<Result<Vec<Served>, String>>>,
}

struct Served {
    name: &'static str,
    bytes: Bytes,
    etag: HeaderValue,
}

impl Models {
    /// Serves the model in `dir` (`None`: every model path answers 404).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            loaded: Arc::default(),
        }
    }

    async fn files(&self) -> Result<&[Served], String> {
        let dir = self
            .dir
            .clone()
            .ok_or("this relay serves no model (--model-dir)")?;
        let loaded = self
            .loaded
            .get_or_init(|| async move {
                tokio::task::spawn_blocking(move || load(&dir))
                    .await
                    .map_err(|e| e.to_string())?
            })
            .await;
        loaded.as_deref().map_err(Clone::clone)
    }
}

fn load(dir: &std::path::Path) -> Result<Vec<Served>, String> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let weights =
        edgenet_model_files::to_f16(&read("model.safetensors")?).map_err(|e| e.to_string())?;
    let contents = [read(FILES[0])?, read(FILES[1])?, read(FILES[2])?, weights];
    let served: Vec<Served> = FILES
        .iter()
        .zip(contents)
        .map(|(&name, bytes)| {
            let sha = edgenet_core::radix::hex(&Sha256::digest(&bytes));
            Served {
                name,
                etag: HeaderValue::from_str(&format!("\"{sha}\""))
                    .unwrap_or(HeaderValue::from_static("\"\"")),
                bytes: Bytes::from(bytes),
            }
        })
        .collect();
    tracing::info!(dir = %dir.display(), "model files ready for browsers");
    Ok(served)
}

/// The handler.
#[utoipa::path(
    get,
    path = "/models/{model}/{file}",
    tag = "nodes",
    params(
        ("model" = String, Path, description = "`minilm`"),
        ("file" = String, Path, description = "`config.json`, `sentence_bert_config.json`, `tokenizer.json` or `model.f16.safetensors`"),
    ),
    responses(
        (status = OK, description = "The file, immutable (ETag = its SHA-256)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = PARTIAL_CONTENT, description = "The one byte range asked for (`Range: bytes=…`)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = RANGE_NOT_SATISFIABLE, description = "The range starts past the file's end"),
        (status = NOT_FOUND, description = "No such model file, or no model on this relay (EN-410)"),
    )
)]
pub async fn serve(
    State(models): State<Models>,
    Path((model, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if model != edgenet_model_files::MINILM || !FILES.contains(&file.as_str()) {
        return (StatusCode::NOT_FOUND, "no such model file").into_response();
    }
    let files = match models.files().await {
        Ok(files) => files,
        Err(e) => {
            tracing::warn!(error = %e, "model files unavailable");
            return (StatusCode::NOT_FOUND, format!("EN-410: {e}")).into_response();
        }
    };
    let Some(f) = files.iter().find(|f| f.name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == f.etag.as_bytes());
    let len = f.bytes.len();
    let range = headers.get(header::RANGE).and_then(|r| r.to_str().ok());
    let mut response = match (fresh, crate::byte_range::answer(range, len)) {
        (true, _) => StatusCode::NOT_MODIFIED.into_response(),
        (false, Answer::Whole) => Body::from(f.bytes.clone()).into_response(),
        (false, Answer::Part(part)) => {
            let content_range = format!("bytes {}-{}/{len}", part.start, part.end - 1);
            let mut r =
                (StatusCode::PARTIAL_CONTENT, Body::from(f.bytes.slice(part))).into_response();
            if let Ok(v) = HeaderValue::from_str(&content_range) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        (false, Answer::Unsatisfiable) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
    };
    let h = response.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, f.etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    let kind = if file.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

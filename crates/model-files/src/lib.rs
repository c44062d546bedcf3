//! `edgenet-model-files`: the served models as files. The names tasks use, the directory a
//! machine keeps them in, and the f16 copy of a safetensors file that browsers fetch (half the
//! bytes). The relay serves model files with this crate alone; running a model is
//! `edgenet-embed`'s, on the kernels.

use edgenet_core::ErrorCode;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// The model name tasks use for all-MiniLM-L6-v2.
pub const MINILM: &str = "minilm";

/// A model file that does not read as safetensors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model weights: {0}")]
pub struct WeightsError(pub String);

impl ErrorCode for WeightsError {
    fn code(&self) -> &'static str {
        "EN-413"
    }
}

/// Where this machine keeps all-MiniLM-L6-v2: `$EDGENET_MODEL_DIR`, else
/// `~/.cache/edgenet/models/all-MiniLM-L6-v2` (`$XDG_CACHE_HOME` first), where
/// `scripts/setup.sh` unpacks it.
pub fn default_dir() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("EDGENET_MODEL_DIR") {
        return Some(dir.into());
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))?;
    Some(
        cache
            .join("edgenet")
            .join("models")
            .join("all-MiniLM-L6-v2"),
    )
}

/// The same file with every f32 tensor rounded to f16 (round to nearest even; other types kept):
/// half the bytes for a browser to fetch. Deterministic: the same input gives the same bytes
/// (safetensors orders tensors by alignment, then name), so the result's SHA-256 can be published.
pub fn to_f16(bytes: &[u8]) -> Result<Vec<u8>, WeightsError> {
    let bad = |e: safetensors::SafeTensorError| WeightsError(e.to_string());
    let tensors = SafeTensors::deserialize(bytes).map_err(bad)?;
    let mut converted: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in tensors.tensors() {
        let data = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .flat_map(|b| {
                    half::f16::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes()
                })
                .collect(),
            _ => view.data().to_vec(),
        };
        let dtype = if view.dtype() == Dtype::F32 {
            Dtype::F16
        } else {
            view.dtype()
        };
        converted.push((name, dtype, view.shape().to_vec(), data));
    }
    let views = converted
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    safetensors::serialize(views, None).map_err(bad)
}

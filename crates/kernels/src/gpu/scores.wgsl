// Scores of a group of queries against a chunk of database rows, written as top-k sort keys.
// One invocation per row, QB queries per invocation (the row is read once for all of them; the
// query values are the same for every invocation, so they broadcast). The database is stored in
// tiles of TILE rows, column-major inside a tile, so that neighbouring invocations read
// neighbouring 16-byte words: every memory transaction is fully used.
//
// metric: 0 = dot, 1 = cosine, 2 = negated squared L2 (from the dot product and the norms, like
// the CPU SIMD path, so the backends agree to within float noise).
//
// The Rust side (scores_shader) fills in the per-query lines, one accumulator per query.

struct Params {
    rows: u32,
    dim4: u32,
    queries: u32,
    metric: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> database: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> query_norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> keys: array<u32>;

const TILE: u32 = 64u;
const QB: u32 = QB_VALUEu;

// An order-preserving map from f32 to u32 (the order of Rust's `f32::total_cmp`): larger key,
// better score.
fn sort_key(s: f32) -> u32 {
    let b = bitcast<u32>(s);
    return select(b ^ 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn emit(q: u32, row: u32, dot: f32, norm: f32) {
    if (q >= params.queries) {
        return;
    }
    var score = dot;
    if (params.metric == 1u) {
        let norms = sqrt(query_norms[q] * norm);
        score = select(dot / norms, 0.0, norms == 0.0);
    } else if (params.metric == 2u) {
        score = -max(query_norms[q] + norm - 2.0 * dot, 0.0);
    }
    keys[q * params.rows + row] = sort_key(score);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if (row >= params.rows) {
        return;
    }
    let q0 = id.y * QB;
    let last = params.queries - 1u;
    let base = (row / TILE) * params.dim4 * TILE + row % TILE;
    var norm = 0.0;
ACC_DECL
    for (var i = 0u; i < params.dim4; i = i + 1u) {
        let r = database[base + i * TILE];
        norm = norm + dot(r, r);
ACC_BODY
    }
ACC_EMIT
}

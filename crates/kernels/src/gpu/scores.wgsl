// Scores of every query against a block of database rows: one invocation per (row, query).
// metric: 0 = dot, 1 = cosine, 2 = negated squared L2 (computed from the dot product and norms,
// like the CPU SIMD path, so both backends round the same way to within float noise).

struct Params {
    rows: u32,
    dim: u32,
    queries: u32,
    metric: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> database: array<f32>;
@group(0) @binding(3) var<storage, read> query_norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    let q = id.y;
    if (row >= params.rows || q >= params.queries) {
        return;
    }
    var dot = 0.0;
    var norm = 0.0;
    let r0 = row * params.dim;
    let q0 = q * params.dim;
    for (var i = 0u; i < params.dim; i = i + 1u) {
        let v = database[r0 + i];
        dot = dot + queries[q0 + i] * v;
        norm = norm + v * v;
    }
    var score = dot;
    if (params.metric == 1u) {
        let norms = sqrt(query_norms[q] * norm);
        score = select(dot / norms, 0.0, norms == 0.0);
    } else if (params.metric == 2u) {
        score = -max(query_norms[q] + norm - 2.0 * dot, 0.0);
    }
    scores[q * params.rows + row] = score;
}

// The transformer kernels on the GPU, one entry point each; crate::nn::reference is their oracle
// (tests/gpu_nn.rs). Every buffer is f32; `p` holds the shapes. Out-of-range reads are guarded,
// not left to the robust-access clamp, so that padding lanes contribute exact zeros.

struct Params {
    a: u32, // rows (linear, layer norm, pooling) or seq (attention)
    b: u32, // in_dim, dim, or heads
    c: u32, // out_dim, head_dim, or valid rows
    d: u32, // flags (linear: bit 0 = GELU after), eps bits (layer norm), or valid keys
    stride: u32,
    q_off: u32,
    k_off: u32,
    v_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// erf to about 1.2e-7 (the Chebyshev fit the CPU kernels use).
fn erf(v: f32) -> f32 {
    let z = abs(v);
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.2655122 + t * (1.0000237 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.135204 + t * (1.4885159
        + t * (-0.82215225 + t * 0.17087277))))))));
    let erfc = t * exp(poly);
    return select(erfc - 1.0, 1.0 - erfc, v >= 0.0);
}

fn gelu(v: f32) -> f32 {
    return 0.5 * v * (1.0 + erf(v * 0.70710678));
}

const TILE: u32 = 16u;
var<workgroup> xt: array<array<f32, 16>, 16>;
var<workgroup> wt: array<array<f32, 16>, 16>;

// y = x · wᵀ + bias (x: a × b, w: c × b), GELU after when p.d & 1. A 16 × 16 tile of outputs per
// workgroup; each step stages 16 inputs of 16 rows and of 16 weight rows in workgroup memory.
@compute @workgroup_size(16, 16)
fn linear(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) g: vec3<u32>) {
    let row = g.y * TILE + l.y;
    let col = g.x * TILE + l.x;
    let w_row = g.x * TILE + l.y;
    var acc = 0.0;
    for (var t = 0u; t < p.b; t += TILE) {
        let i = t + l.x;
        var xv = 0.0;
        if (row < p.a && i < p.b) { xv = x[row * p.b + i]; }
        xt[l.y][l.x] = xv;
        var wv = 0.0;
        if (w_row < p.c && i < p.b) { wv = w[w_row * p.b + i]; }
        wt[l.y][l.x] = wv;
        workgroupBarrier();
        for (var k = 0u; k < TILE; k++) {
            acc += xt[l.y][k] * wt[l.x][k];
        }
        workgroupBarrier();
    }
    if (row < p.a && col < p.c) {
        var v = acc + bias[col];
        if ((p.d & 1u) != 0u) { v = gelu(v); }
        y[row * p.c + col] = v;
    }
}

// y = LayerNorm(x + w) row by row (a rows of b; bias = [γ | β]; eps = bitcast(p.d)): one
// invocation per row, two passes (mean, then the variance about it).
@compute @workgroup_size(64)
fn add_layer_norm(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if (row >= p.a) { return; }
    let dim = p.b;
    let base = row * dim;
    var mean = 0.0;
    for (var i = 0u; i < dim; i++) { mean += x[base + i] + w[base + i]; }
    mean /= f32(dim);
    var variance = 0.0;
    for (var i = 0u; i < dim; i++) {
        let d = x[base + i] + w[base + i] - mean;
        variance += d * d;
    }
    let inv = 1.0 / sqrt(variance / f32(dim) + bitcast<f32>(p.d));
    for (var i = 0u; i < dim; i++) {
        y[base + i] = (x[base + i] + w[base + i] - mean) * inv * bias[i] + bias[dim + i];
    }
}

// Attention for one (token, head) per invocation, keys past p.d masked: x is the fused
// [q | k | v] rows (p.stride floats each, at p.q_off, p.k_off, p.v_off); an online softmax keeps
// one pass over the keys. head_dim (p.c) ≤ 64.
@compute @workgroup_size(64)
fn attention(@builtin(global_invocation_id) id: vec3<u32>) {
    // Every entry point binds the same five buffers (one layout, one bind-group helper).
    _ = w[0];
    _ = bias[0];
    let seq = p.a;
    let heads = p.b;
    let hd = p.c;
    if (id.x >= seq * heads) { return; }
    let t = id.x / heads;
    let h = id.x % heads;
    let col = h * hd;
    let scale = 1.0 / sqrt(f32(hd));
    var o: array<f32, 64>;
    for (var c = 0u; c < hd; c++) { o[c] = 0.0; }
    var m = -3.4e38;
    var s = 0.0;
    let q = t * p.stride + p.q_off + col;
    for (var j = 0u; j < p.d; j++) {
        let k = j * p.stride + p.k_off + col;
        var score = 0.0;
        for (var c = 0u; c < hd; c++) { score += x[q + c] * x[k + c]; }
        score *= scale;
        let m_new = max(m, score);
        let keep = exp(m - m_new);
        let e = exp(score - m_new);
        s = s * keep + e;
        let v = j * p.stride + p.v_off + col;
        for (var c = 0u; c < hd; c++) { o[c] = o[c] * keep + e * x[v + c]; }
        m = m_new;
    }
    let out = t * heads * hd + col;
    for (var c = 0u; c < hd; c++) { y[out + c] = o[c] / s; }
}

// Mean of the first p.c rows (of p.a, width p.b), then scaled to unit length: one workgroup;
// each invocation sums some columns, then one of them normalizes.
var<workgroup> partial: array<f32, 64>;
@compute @workgroup_size(64)
fn mean_pool_normalize(@builtin(local_invocation_id) l: vec3<u32>) {
    _ = w[0];
    _ = bias[0];
    let dim = p.b;
    let valid = max(p.c, 1u);
    var sq = 0.0;
    for (var c = l.x; c < dim; c += 64u) {
        var sum = 0.0;
        for (var r = 0u; r < valid; r++) { sum += x[r * dim + c]; }
        let mean = sum / f32(valid);
        y[c] = mean;
        sq += mean * mean;
    }
    partial[l.x] = sq;
    workgroupBarrier();
    if (l.x == 0u) {
        var total = 0.0;
        for (var i = 0u; i < 64u; i++) { total += partial[i]; }
        partial[0] = max(sqrt(total), 1e-12);
    }
    workgroupBarrier();
    let norm = partial[0];
    for (var c = l.x; c < dim; c += 64u) { y[c] = y[c] / norm; }
}

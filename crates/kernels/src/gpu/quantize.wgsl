// int8 and binary quantization, one invocation per row, the same rules as the CPU reference
// (crate::quantize): int8 maps max |x| to 127 with a per-row scale and rounds half away from zero;
// binary sets bit i when x_i > 0. Codes are packed into u32 words: 4 int8 codes, or 32 sign bits.

struct Params {
    rows: u32,
    dim: u32,
    // u32 words of codes per row.
    words: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;

// Rust's f32::round: halves away from zero (WGSL's round() goes to even). `v - trunc(v)` is exact.
fn round_half_away(v: f32) -> f32 {
    let t = trunc(v);
    return select(t, t + sign(v), abs(v - t) >= 0.5);
}

@compute @workgroup_size(64)
fn int8_codes(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if (row >= params.rows) {
        return;
    }
    let r0 = row * params.dim;
    var m = 0.0;
    for (var i = 0u; i < params.dim; i = i + 1u) {
        m = max(m, abs(data[r0 + i]));
    }
    let scale = select(m / 127.0, 1.0, m == 0.0);
    scales[row] = scale;
    for (var w = 0u; w < params.words; w = w + 1u) {
        var packed = 0u;
        for (var b = 0u; b < 4u; b = b + 1u) {
            let i = w * 4u + b;
            if (i < params.dim) {
                let c = clamp(round_half_away(data[r0 + i] / scale), -127.0, 127.0);
                packed = packed | ((bitcast<u32>(i32(c)) & 0xffu) << (8u * b));
            }
        }
        codes[row * params.words + w] = packed;
    }
}

@compute @workgroup_size(64)
fn binary_codes(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.x;
    if (row >= params.rows) {
        return;
    }
    let r0 = row * params.dim;
    for (var w = 0u; w < params.words; w = w + 1u) {
        var packed = 0u;
        for (var b = 0u; b < 32u; b = b + 1u) {
            let i = w * 32u + b;
            if (i < params.dim && data[r0 + i] > 0.0) {
                packed = packed | (1u << b);
            }
        }
        codes[row * params.words + w] = packed;
    }
}

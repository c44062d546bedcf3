// One round of top-k selection: each workgroup sorts a block of B (key, index) pairs of one query
// in workgroup memory (bitonic sort) and writes its best KK (= min(k, B/2)) in order. Rounds
// repeat, each at most halving the candidates, until one block per query is left: its first k
// are the answer. Exact, and deterministic: larger key first, equal keys by lower index (the
// CPU reference's rule).
//
// B = 2048 pairs fill exactly WebGPU's default 16 KiB of workgroup memory.

struct Params {
    // Candidates per query in the input.
    m: u32,
    // Best kept per block.
    kk: u32,
    // Output candidates per query: blocks * kk.
    out_per_query: u32,
    // 1 on the first round: the index of a candidate is its position (in_index is not read).
    first: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> in_keys: array<u32>;
@group(0) @binding(2) var<storage, read> in_index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_index: array<u32>;

const B: u32 = 2048u;
const T: u32 = 256u;
const NONE: u32 = 0xffffffffu;

var<workgroup> sk: array<u32, 2048>;
var<workgroup> si: array<u32, 2048>;

fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
    let base = wg.y * params.m;
    let start = wg.x * B;
    for (var j = lid.x; j < B; j = j + T) {
        let p = start + j;
        if (p < params.m) {
            sk[j] = in_keys[base + p];
            if (params.first == 1u) {
                si[j] = p;
            } else {
                si[j] = in_index[base + p];
            }
        } else {
            // Padding sorts after every real candidate and is dropped by the reader.
            sk[j] = 0u;
            si[j] = NONE;
        }
    }
    workgroupBarrier();
    for (var size = 2u; size <= B; size = size << 1u) {
        for (var stride = size >> 1u; stride > 0u; stride = stride >> 1u) {
            for (var t = lid.x; t < B / 2u; t = t + T) {
                let lo = 2u * stride * (t / stride) + t % stride;
                let hi = lo + stride;
                let forward = (lo & size) == 0u;
                var swap: bool;
                if (forward) {
                    swap = before(sk[hi], si[hi], sk[lo], si[lo]);
                } else {
                    swap = before(sk[lo], si[lo], sk[hi], si[hi]);
                }
                if (swap) {
                    let k = sk[lo];
                    sk[lo] = sk[hi];
                    sk[hi] = k;
                    let i = si[lo];
                    si[lo] = si[hi];
                    si[hi] = i;
                }
            }
            workgroupBarrier();
        }
    }
    let out = wg.y * params.out_per_query + wg.x * params.kk;
    for (var j = lid.x; j < params.kk; j = j + T) {
        out_keys[out + j] = sk[j];
        out_index[out + j] = si[j];
    }
}

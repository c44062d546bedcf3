// STREAM-style read: every invocation sums a grid-strided share of a buffer and writes one value
// (so the reads cannot be optimized away). The anchor for the scan's GB/s on the same device.

@group(0) @binding(0) var<storage, read> data: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * 256u;
    var acc = vec4<f32>(0.0);
    for (var i = id.x; i < arrayLength(&data); i = i + stride) {
        acc = acc + data[i];
    }
    sink[id.x] = acc.x + acc.y + acc.z + acc.w;
}

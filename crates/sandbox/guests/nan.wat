;; A custom_wasm guest whose answer is NaNs: 0/0 as f32 (x86 makes 0xffc00000 of it, the
;; canonical NaN is 0x7fc00000), and a NaN with a payload through a SIMD multiply, as 8 bytes.
;; Every runner must give the same bits: the preparation makes NaNs canonical.
(module
  (memory (export "memory") 1)
  (func (export "alloc") (param $len i32) (result i32) (i32.const 1024))
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (i32.store (i32.const 0)
      (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.convert_i32_u (i32.sub (local.get $len) (local.get $len))))))
    (i32.store (i32.const 4)
      (i32x4.extract_lane 2 (f32x4.mul (v128.const i32x4 0 0 0x7fa00001 0) (f32x4.splat (f32.const 2)))))
    (i64.const 8)))

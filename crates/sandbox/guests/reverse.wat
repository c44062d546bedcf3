;; A custom_wasm guest in WAT, the entry-point ABI by hand (docs/custom-wasm.md): `alloc` hands
;; out memory from a bump pointer, `run` writes its input reversed after it and returns where.
;; An input whose first byte is 0xff makes it loop for ever (what fuel is for); 0xfe recurses
;; without end (what the depth bound is for); 0xfd divides by zero (a trap).
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func $bump (param $len i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $len)))
    ;; grow when the bump passes the end of memory
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow
        (i32.add (i32.div_u (i32.sub (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
                            (i32.const 65536)) (i32.const 1))))))
    (local.get $at))
  (func (export "alloc") (param $len i32) (result i32) (call $bump (local.get $len)))
  (func $deep (param i32) (result i32) (i32.add (i32.const 1) (call $deep (local.get 0))))
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (local $out i32) (local $i i32)
    (if (i32.and (i32.gt_u (local.get $len) (i32.const 0))
                 (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 0xff)))
      (then (loop $ever (br $ever))))
    (if (i32.and (i32.gt_u (local.get $len) (i32.const 0))
                 (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 0xfe)))
      (then (drop (call $deep (i32.const 0)))))
    (if (i32.and (i32.gt_u (local.get $len) (i32.const 0))
                 (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 0xfd)))
      (then (drop (i32.div_u (i32.const 1) (i32.sub (local.get $len) (local.get $len))))))
    (local.set $out (call $bump (local.get $len)))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (i32.load8_u (i32.sub (i32.add (local.get $ptr) (local.get $len))
                              (i32.add (local.get $i) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (local.get $len)))))

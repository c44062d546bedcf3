;; A custom_wasm guest that grows its memory a page at a time until refused, then answers with
;; the pages it has (4 bytes, little-endian): the task's memory limit, on every runner.
(module
  (memory (export "memory") 1)
  (func (export "alloc") (param $len i32) (result i32) (i32.const 1024))
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (i32.store (i32.const 0) (memory.size))
    (i64.const 4)))

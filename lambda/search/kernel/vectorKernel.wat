;; The search kernel, in WebAssembly with 128-bit SIMD (Node 16.4 and later
;; have it): put BYTE_STREAM_SPLIT floats back together, and score vectors
;; against a query. `npm run build:kernel` turns this file into
;; vectorKernel.wasm.ts; a test checks that the two agree.
;;
;; Memory is the module's own; the caller (VectorKernel.ts) lays out its
;; buffers in it and grows it.
(module
  (memory (export "memory") 1)

  ;; BYTE_STREAM_SPLIT: byte b of value i is at src + b*count + i. Writes the
  ;; `count` 4-byte values to dst, 16 at a time (four 16-byte loads, one from
  ;; each byte plane, interleaved by shuffles), the rest one at a time.
  (func (export "unsplit") (param $src i32) (param $count i32) (param $dst i32)
    (local $j i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $end i32)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $lo01 v128) (local $hi01 v128) (local $lo23 v128) (local $hi23 v128)
    (local.set $p1 (i32.add (local.get $src) (local.get $count)))
    (local.set $p2 (i32.add (local.get $p1) (local.get $count)))
    (local.set $p3 (i32.add (local.get $p2) (local.get $count)))
    (local.set $end (i32.and (local.get $count) (i32.const -16)))
    (block $done
      (loop $wide
        (br_if $done (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $b0 (v128.load (i32.add (local.get $src) (local.get $j))))
        (local.set $b1 (v128.load (i32.add (local.get $p1) (local.get $j))))
        (local.set $b2 (v128.load (i32.add (local.get $p2) (local.get $j))))
        (local.set $b3 (v128.load (i32.add (local.get $p3) (local.get $j))))
        ;; byte pairs (b0[i], b1[i]) and (b2[i], b3[i]) for i in 0..8 and 8..16
        (local.set $lo01 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $b0) (local.get $b1)))
        (local.set $hi01 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $b0) (local.get $b1)))
        (local.set $lo23 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $b2) (local.get $b3)))
        (local.set $hi23 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $b2) (local.get $b3)))
        ;; then the pairs of pairs: four values per vector
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
          (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $lo01) (local.get $lo23)))
        (v128.store offset=16 (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
          (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $lo01) (local.get $lo23)))
        (v128.store offset=32 (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
          (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $hi01) (local.get $hi23)))
        (v128.store offset=48 (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
          (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $hi01) (local.get $hi23)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $wide)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $j) (local.get $count)))
        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
          (i32.or
            (i32.or
              (i32.load8_u (i32.add (local.get $src) (local.get $j)))
              (i32.shl (i32.load8_u (i32.add (local.get $p1) (local.get $j))) (i32.const 8)))
            (i32.or
              (i32.shl (i32.load8_u (i32.add (local.get $p2) (local.get $j))) (i32.const 16))
              (i32.shl (i32.load8_u (i32.add (local.get $p3) (local.get $j))) (i32.const 24)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $tail))))

  ;; Cosine similarity of the query at $q (unit length, $d floats) with each of
  ;; $rows vectors laid end to end from $v, written to $out as f64. A zero
  ;; vector scores 0. Sums run in f32 lanes, eight floats a step in two
  ;; independent pairs of sums, then four, then one at a time (f32 sums differ
  ;; from f64 ones by about 1e-7, far below what separates two real matches).
  (func (export "cosine") (param $q i32) (param $v i32) (param $rows i32) (param $d i32) (param $out i32)
    (local $r i32) (local $i i32) (local $row i32) (local $end8 i32) (local $end4 i32)
    (local $dot0 v128) (local $dot1 v128) (local $sq0 v128) (local $sq1 v128)
    (local $x v128) (local $y v128)
    (local $dot f32) (local $sq f32) (local $s f32)
    (local $dotd f64) (local $sqd f64) (local $e f64) (local $norm f64)
    (local.set $end8 (i32.and (local.get $d) (i32.const -8)))
    (local.set $end4 (i32.and (local.get $d) (i32.const -4)))
    (local.set $row (local.get $v))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $dot0 (v128.const i32x4 0 0 0 0))
        (local.set $dot1 (v128.const i32x4 0 0 0 0))
        (local.set $sq0 (v128.const i32x4 0 0 0 0))
        (local.set $sq1 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $d8Done
          (loop $d8
            (br_if $d8Done (i32.ge_u (local.get $i) (local.get $end8)))
            (local.set $x (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $y (v128.load offset=16 (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $dot0 (f32x4.add (local.get $dot0)
              (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $dot1 (f32x4.add (local.get $dot1)
              (f32x4.mul (local.get $y) (v128.load offset=16 (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $sq0 (f32x4.add (local.get $sq0) (f32x4.mul (local.get $x) (local.get $x))))
            (local.set $sq1 (f32x4.add (local.get $sq1) (f32x4.mul (local.get $y) (local.get $y))))
            (local.set $i (i32.add (local.get $i) (i32.const 8)))
            (br $d8)))
        (if (i32.lt_u (local.get $i) (local.get $end4))
          (then
            (local.set $x (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $dot0 (f32x4.add (local.get $dot0)
              (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $sq0 (f32x4.add (local.get $sq0) (f32x4.mul (local.get $x) (local.get $x))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))))
        (local.set $dot0 (f32x4.add (local.get $dot0) (local.get $dot1)))
        (local.set $sq0 (f32x4.add (local.get $sq0) (local.get $sq1)))
        (local.set $dot (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $dot0)) (f32x4.extract_lane 1 (local.get $dot0)))
          (f32.add (f32x4.extract_lane 2 (local.get $dot0)) (f32x4.extract_lane 3 (local.get $dot0)))))
        (local.set $sq (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $sq0)) (f32x4.extract_lane 1 (local.get $sq0)))
          (f32.add (f32x4.extract_lane 2 (local.get $sq0)) (f32x4.extract_lane 3 (local.get $sq0)))))
        (block $d1Done
          (loop $d1
            (br_if $d1Done (i32.ge_u (local.get $i) (local.get $d)))
            (local.set $s (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $dot (f32.add (local.get $dot)
              (f32.mul (local.get $s) (f32.load (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $sq (f32.add (local.get $sq) (f32.mul (local.get $s) (local.get $s))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $d1)))
        ;; Squares of tiny or huge floats leave f32's range (0 or infinity): such a
        ;; row, never seen from a real model, is summed again in f64, one at a time.
        (if (i32.and (f32.ge (local.get $sq) (f32.const 1e-30)) (f32.lt (local.get $sq) (f32.const 1e30)))
          (then
            (local.set $dotd (f64.promote_f32 (local.get $dot)))
            (local.set $sqd (f64.promote_f32 (local.get $sq))))
          (else
            (local.set $dotd (f64.const 0))
            (local.set $sqd (f64.const 0))
            (local.set $i (i32.const 0))
            (block $wideDone
              (loop $wide
                (br_if $wideDone (i32.ge_u (local.get $i) (local.get $d)))
                (local.set $e (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))))))
                (local.set $dotd (f64.add (local.get $dotd)
                  (f64.mul (local.get $e) (f64.promote_f32 (f32.load (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2))))))))
                (local.set $sqd (f64.add (local.get $sqd) (f64.mul (local.get $e) (local.get $e))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $wide)))))
        (local.set $norm (f64.sqrt (local.get $sqd)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3)))
          (select (f64.const 0)
            (f64.div (local.get $dotd) (local.get $norm))
            (f64.eq (local.get $norm) (f64.const 0))))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $d) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))
)

;; The keyword automaton's byte loop (src/scan/keywords.ts), in WebAssembly: the same two-chain
;; loop as the TypeScript one, without the bounds checks V8 puts on every typed-array read
;; (measured 1.66x its throughput). Assembled by `npm run build:wasm` (scripts/build-wasm.js,
;; with wabt) into src/scan/keywords-wasm.ts; src/scan/keywords-wasm.test.ts checks that the
;; two agree.
;;
;; Memory, laid out by KeywordMatcher: bytes 0-255 the class of each byte; 256-259 where the
;; second chain's hit count is left; from `tab` the transition table (u16: the next state's row
;; offset, state x classes); from `txt` the bytes to read; then four hit arrays of `cap` i32s.
(module
  (memory (export "memory") 1)
  ;; Reads txt[0, len) and returns the first chain's hit count (the second's is at address 256),
  ;; or -1 when a hit array is full. A hit is the index just past its last byte (from txt) and the
  ;; state reached. Chain 1 reads [0, steps), chain 2 [steps, len) after `warm` bytes before
  ;; steps; a range under 256 bytes is read by chain 2 alone.
  (func (export "find") (param $tab i32) (param $txt i32) (param $len i32) (param $first i32) (param $classes i32) (param $warm i32)
      (param $end1 i32) (param $state1 i32) (param $end2 i32) (param $state2 i32) (param $cap i32) (result i32)
    (local $mid i32) (local $k i32) (local $steps i32) (local $row i32) (local $row2 i32) (local $n i32) (local $n2 i32) (local $j i32) (local $stop i32)
    (local.set $steps (select (i32.const 0) (i32.shr_u (local.get $len) (i32.const 1)) (i32.lt_u (local.get $len) (i32.const 256))))
    (local.set $mid (i32.add (local.get $txt) (local.get $steps)))
    ;; Chain 2 starts from the root `warm` bytes before its half (so it sees every keyword ending there).
    (local.set $j (select (local.get $txt) (i32.sub (local.get $mid) (local.get $warm)) (i32.lt_u (local.get $steps) (local.get $warm))))
    (block $w (loop $wl
      (br_if $w (i32.ge_u (local.get $j) (local.get $mid)))
      (local.set $row2 (i32.load16_u (i32.add (local.get $tab) (i32.shl (i32.add (local.get $row2) (i32.load8_u (i32.load8_u (local.get $j)))) (i32.const 1)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $wl)))
    ;; Both chains, one step each per turn.
    (block $b (loop $l
      (br_if $b (i32.ge_u (local.get $k) (local.get $steps)))
      (local.set $row (i32.load16_u (i32.add (local.get $tab) (i32.shl (i32.add (local.get $row) (i32.load8_u (i32.load8_u (i32.add (local.get $txt) (local.get $k))))) (i32.const 1)))))
      (local.set $row2 (i32.load16_u (i32.add (local.get $tab) (i32.shl (i32.add (local.get $row2) (i32.load8_u (i32.load8_u (i32.add (local.get $mid) (local.get $k))))) (i32.const 1)))))
      (if (i32.ge_u (local.get $row) (local.get $first)) (then
        (if (i32.ge_u (local.get $n) (local.get $cap)) (then (return (i32.const -1))))
        (i32.store (i32.add (local.get $end1) (i32.shl (local.get $n) (i32.const 2))) (i32.add (local.get $k) (i32.const 1)))
        (i32.store (i32.add (local.get $state1) (i32.shl (local.get $n) (i32.const 2))) (i32.div_u (local.get $row) (local.get $classes)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))))
      (if (i32.ge_u (local.get $row2) (local.get $first)) (then
        (if (i32.ge_u (local.get $n2) (local.get $cap)) (then (return (i32.const -1))))
        (i32.store (i32.add (local.get $end2) (i32.shl (local.get $n2) (i32.const 2))) (i32.add (i32.add (local.get $steps) (local.get $k)) (i32.const 1)))
        (i32.store (i32.add (local.get $state2) (i32.shl (local.get $n2) (i32.const 2))) (i32.div_u (local.get $row2) (local.get $classes)))
        (local.set $n2 (i32.add (local.get $n2) (i32.const 1)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $l)))
    ;; The rest of chain 2 (the odd byte, or the whole of a short range).
    (local.set $j (i32.add (local.get $mid) (local.get $steps)))
    (local.set $stop (i32.add (local.get $txt) (local.get $len)))
    (block $t (loop $tl
      (br_if $t (i32.ge_u (local.get $j) (local.get $stop)))
      (local.set $row2 (i32.load16_u (i32.add (local.get $tab) (i32.shl (i32.add (local.get $row2) (i32.load8_u (i32.load8_u (local.get $j)))) (i32.const 1)))))
      (if (i32.ge_u (local.get $row2) (local.get $first)) (then
        (if (i32.ge_u (local.get $n2) (local.get $cap)) (then (return (i32.const -1))))
        (i32.store (i32.add (local.get $end2) (i32.shl (local.get $n2) (i32.const 2))) (i32.add (i32.sub (local.get $j) (local.get $txt)) (i32.const 1)))
        (i32.store (i32.add (local.get $state2) (i32.shl (local.get $n2) (i32.const 2))) (i32.div_u (local.get $row2) (local.get $classes)))
        (local.set $n2 (i32.add (local.get $n2) (i32.const 1)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $tl)))
    (i32.store (i32.const 256) (local.get $n2))
    (local.get $n))
)

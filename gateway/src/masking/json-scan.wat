;; JSON scan: the structure walk of the JSON masker (json-masker.ts), in WebAssembly.
;;
;; Walks a JSON text given in chunks of UTF-16 code units (2 bytes each, from byte 0) and writes,
;; for every string that ends in the chunk, its opening and closing quote offsets. Between strings
;; it checks what the masker's JavaScript walk checks: only whitespace, `,` `:`, brackets with
;; their depth never below zero, the literals true/false/null and number characters. Inside a
;; string it skips sixteen code units at a time up to the next quote or backslash (code units are
;; narrowed to bytes with saturation, so no non-ASCII unit can pass for `"` or `\`).
;;
;; The walk's state (in or out of a string, the depth, where the open string began, characters
;; of the next chunk already consumed by a literal) lives in globals between chunks: one walk at a
;; time per instance, started by `reset`.
(module
  ;; [0, 64 KiB): input, a chunk of at most 16384 code units plus 8 of lookahead;
  ;; [64 KiB, 128 KiB): output, two i32 per string (open quote; closing quote, bit 31 set when
  ;; the string holds a backslash): at most 8192 strings end in a chunk of 16384.
  (memory (export "memory") 2)
  (global $state (mut i32) (i32.const 0))   ;; 0 between strings, 1 in a string, 2 right after a backslash
  (global $depth (mut i32) (i32.const 0))
  (global $values (mut i32) (i32.const 0))
  (global $open (mut i32) (i32.const 0))    ;; absolute offset of the open string's quote
  (global $escaped (mut i32) (i32.const 0)) ;; the open string holds a backslash
  (global $carry (mut i32) (i32.const 0))   ;; code units of the next chunk a literal already consumed

  (func (export "reset")
    (global.set $state (i32.const 0))
    (global.set $depth (i32.const 0))
    (global.set $values (i32.const 0))
    (global.set $open (i32.const 0))
    (global.set $escaped (i32.const 0))
    (global.set $carry (i32.const 0)))

  ;; Whether the walk ended as a JSON text: outside any string, every bracket closed, a value seen.
  (func (export "finish") (result i32)
    (i32.and
      (i32.and (i32.eqz (global.get $state)) (i32.eqz (global.get $depth)))
      (i32.ne (global.get $values) (i32.const 0))))

  ;; Code unit at index i.
  (func $at (param $i i32) (result i32)
    (i32.load16_u (i32.shl (local.get $i) (i32.const 1))))

  ;; Whether the code units from index i are `word` (given as up to four ASCII bytes, little
  ;; endian, and its length), all before lookEnd.
  (func $literal (param $i i32) (param $lookEnd i32) (param $word i32) (param $len i32) (result i32)
    (local $k i32)
    (if (i32.gt_u (i32.add (local.get $i) (local.get $len)) (local.get $lookEnd)) (then (return (i32.const 0))))
    (block $no
      (loop $chars
        (br_if $no (i32.ge_u (local.get $k) (local.get $len)))
        (if (i32.ne (call $at (i32.add (local.get $i) (local.get $k)))
                    (i32.and (i32.shr_u (local.get $word) (i32.shl (local.get $k) (i32.const 3))) (i32.const 0xff)))
          (then (return (i32.const 0))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $chars)))
    (i32.const 1))

  ;; walk(end, lookEnd, base, out): walks code units [carry, end) of the chunk (those in
  ;; [end, lookEnd) are lookahead for a literal that crosses the chunk's end); offsets written are
  ;; base + index. Returns the number of strings written at `out`, or -1 when this is not JSON.
  (func (export "walk") (param $end i32) (param $lookEnd i32) (param $base i32) (param $out i32) (result i32)
    (local $i i32) (local $c i32) (local $o i32) (local $m i32) (local $v v128)
    (local $kQuote v128) (local $kBackslash v128)
    (local.set $kQuote (i8x16.splat (i32.const 34)))
    (local.set $kBackslash (i8x16.splat (i32.const 92)))
    (local.set $o (local.get $out))
    (local.set $i (global.get $carry))
    (block $done
      (loop $units
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eqz (global.get $state))
          (then
            (local.set $c (call $at (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (if (i32.eq (local.get $c) (i32.const 34))
              (then
                (global.set $values (i32.add (global.get $values) (i32.const 1)))
                (global.set $open (i32.add (local.get $base) (i32.sub (local.get $i) (i32.const 1))))
                (global.set $escaped (i32.const 0))
                (global.set $state (i32.const 1))
                (br $units)))
            ;; whitespace, `,` and `:`
            (br_if $units (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
                                  (i32.or (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 9)))
                                          (i32.or (i32.eq (local.get $c) (i32.const 44)) (i32.eq (local.get $c) (i32.const 58))))))
            (global.set $values (i32.add (global.get $values) (i32.const 1)))
            (if (i32.or (i32.eq (local.get $c) (i32.const 123)) (i32.eq (local.get $c) (i32.const 91)))
              (then (global.set $depth (i32.add (global.get $depth) (i32.const 1))) (br $units)))
            (if (i32.or (i32.eq (local.get $c) (i32.const 125)) (i32.eq (local.get $c) (i32.const 93)))
              (then
                (global.set $depth (i32.sub (global.get $depth) (i32.const 1)))
                (if (i32.lt_s (global.get $depth) (i32.const 0)) (then (return (i32.const -1))))
                (br $units)))
            ;; true, false, null (the first character is already consumed)
            (if (i32.eq (local.get $c) (i32.const 116))
              (then
                (if (i32.eqz (call $literal (local.get $i) (local.get $lookEnd) (i32.const 0x657572) (i32.const 3))) (then (return (i32.const -1))))
                (local.set $i (i32.add (local.get $i) (i32.const 3)))
                (br $units)))
            (if (i32.eq (local.get $c) (i32.const 102))
              (then
                (if (i32.eqz (call $literal (local.get $i) (local.get $lookEnd) (i32.const 0x65736c61) (i32.const 4))) (then (return (i32.const -1))))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $units)))
            (if (i32.eq (local.get $c) (i32.const 110))
              (then
                (if (i32.eqz (call $literal (local.get $i) (local.get $lookEnd) (i32.const 0x6c6c75) (i32.const 3))) (then (return (i32.const -1))))
                (local.set $i (i32.add (local.get $i) (i32.const 3)))
                (br $units)))
            ;; number characters: 0-9 + - . e E
            (br_if $units (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
            (br_if $units (i32.or (i32.or (i32.eq (local.get $c) (i32.const 43)) (i32.eq (local.get $c) (i32.const 45)))
                                  (i32.or (i32.eq (local.get $c) (i32.const 46))
                                          (i32.or (i32.eq (local.get $c) (i32.const 101)) (i32.eq (local.get $c) (i32.const 69))))))
            (return (i32.const -1))))
        (if (i32.eq (global.get $state) (i32.const 2))
          (then
            ;; the escaped character
            (global.set $state (i32.const 1))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $units)))
        ;; in a string: sixteen code units at a time to the next quote or backslash
        (block $found
          (loop $skip
            (br_if $found (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $end)))
            (local.set $v (i8x16.narrow_i16x8_u
              (v128.load (i32.shl (local.get $i) (i32.const 1)))
              (v128.load offset=16 (i32.shl (local.get $i) (i32.const 1)))))
            (local.set $m (i8x16.bitmask (v128.or (i8x16.eq (local.get $v) (local.get $kQuote)) (i8x16.eq (local.get $v) (local.get $kBackslash)))))
            (if (local.get $m)
              (then
                (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $m))))
                (br $found)))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $skip)))
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $c (call $at (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eq (local.get $c) (i32.const 34))
          (then
            (i32.store (local.get $o) (global.get $open))
            (i32.store offset=4 (local.get $o)
              (i32.or (i32.add (local.get $base) (i32.sub (local.get $i) (i32.const 1))) (i32.shl (global.get $escaped) (i32.const 31))))
            (local.set $o (i32.add (local.get $o) (i32.const 8)))
            (global.set $state (i32.const 0))
            (br $units)))
        (if (i32.eq (local.get $c) (i32.const 92))
          (then
            (global.set $escaped (i32.const 1))
            (global.set $state (i32.const 2))))
        (br $units)))
    (global.set $carry (select (i32.sub (local.get $i) (local.get $end)) (i32.const 0) (i32.gt_u (local.get $i) (local.get $end))))
    (i32.shr_u (i32.sub (local.get $o) (local.get $out)) (i32.const 3))))

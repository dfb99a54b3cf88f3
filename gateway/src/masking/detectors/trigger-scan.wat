;; Trigger scan: the SIMD pre-pass of the single-pass detector engine (single-pass.ts).
;;
;; Reads UTF-16 code units from memory (2 bytes each, from byte 0) and writes the offset of every
;; character that could start or anchor a built-in rule, in increasing order. JavaScript then
;; visits only those offsets (trigger-scan.ts explains the event set; single-pass.ts what each
;; event starts). Sixteen characters are classified at a time: each code unit is narrowed to a
;; byte (saturating: U+0100..U+7FFF become 0xFF, U+8000..U+FFFF become 0x00, and neither is in
;; any class, as every trigger is ASCII), then looked up in nibble tables (a byte's class bits
;; are LO[low nibble] & HI[high nibble], two swizzles; each class below is the exact product of
;; its low and high nibbles unless marked superset).
;;
;; An offset p is emitted when:
;;   pair:   C(text[p]) & P(text[p-1]) != 0, with bit by bit:
;;           0 g->h,l (gh_, glpat-)  1 _->p,k (_pat_, _key; superset: also ` and {)
;;           2 k,m,f->_ (sk_, rk_, npm_, hf_)
;;           3 B->E (BEGIN), k,i->- (sk-, pypi-; superset: B I K b i k -> % - E M)
;;           4 x->o (xox)    5 A->K,I (AKIA, AIza)    6 y->J (eyJ)    7 A->S (ASIA)
;;   single: text[p] is one of + ( : = @
;;   digit:  text[p] is a digit or '.', text[p-1] a digit, text[p-2] none of [a-z0-9_.]
;;           (p-1 starts a digit run some digit rule could start at)
;; S classes (bits): 0 digit, 1 '.', 2 + (, 3 : =, 4 @, 5 a-o, 6 p-z, 7 '_'.
(module
  ;; [0, 64 KiB): input, at most 16 + 16384 + 16 code units; [64 KiB, 128 KiB): output offsets.
  (memory (export "memory") 2)
  ;; scan(start, end, out, base): classifies code units [start, end) (the 16 before start are
  ;; context, or zeros); writes base + offset per event at byte `out`; returns the event count.
  (func (export "scan") (param $start i32) (param $end i32) (param $out i32) (param $base i32) (result i32)
    (local $p i32) (local $o i32) (local $m i32)
    (local $cur v128) (local $lo v128) (local $hi v128) (local $s v128) (local $c v128) (local $pp v128)
    (local $sPrev v128) (local $pPrev v128) (local $t v128) (local $digit v128)
    (local $sLo v128) (local $sHi v128) (local $cLo v128) (local $cHi v128) (local $pLo v128) (local $pHi v128)
    (local $k15 v128) (local $zero v128) (local $kDigitDot v128) (local $kDigit v128) (local $kBad v128) (local $kSingle v128)
    ;; S: digit = LO 0-9 & HI 3; '.' = E & 2; + ( = B,8 & 2; : = = A,D & 3; @ = 0 & 4;
    ;;    a-o = 1-F & 6; p-z = 0-A & 7; '_' = F & 5
    (local.set $sLo (v128.const i8x16 81 97 97 97 97 97 97 97 101 97 104 36 32 40 34 160))
    (local.set $sHi (v128.const i8x16 0 0 6 9 16 128 32 64 0 0 0 0 0 0 0 0))
    ;; C (second character of a pair): h l = 8,C & 6; p k = 0,B & 6,7; '_' = F & 5; E = 5 & 4;
    ;;    '-' = D & 2 (bit 3, with E: superset % M); o = F & 6; K I = B,9 & 4; J = A & 4; S = 3 & 5
    (local.set $cLo (v128.const i8x16 2 0 0 128 0 8 0 0 1 32 64 34 1 8 0 20))
    (local.set $cHi (v128.const i8x16 0 0 8 0 104 132 19 2 0 0 0 0 0 0 0 0))
    ;; P (first character of a pair): g = 7 & 6; '_' = F & 5; k m f = B,D,6 & 6 (bit 2);
    ;;    B k i = 2,B,9 & 4,6 (bit 3: superset I K b); x = 8 & 7; A = 1 & 4 (bits 5 and 7); y = 9 & 7
    (local.set $pLo (v128.const i8x16 0 160 8 0 0 0 4 1 16 72 0 12 0 4 0 2))
    (local.set $pHi (v128.const i8x16 0 0 0 0 168 2 13 80 0 0 0 0 0 0 0 0))
    (local.set $k15 (i8x16.splat (i32.const 15)))
    (local.set $zero (v128.const i64x2 0 0))
    (local.set $kDigitDot (i8x16.splat (i32.const 3)))   ;; S bits 0, 1
    (local.set $kDigit (i8x16.splat (i32.const 1)))      ;; S bit 0
    (local.set $kBad (i8x16.splat (i32.const 0xE3)))     ;; S bits 0, 1, 5, 6, 7: [0-9.a-z_]
    (local.set $kSingle (i8x16.splat (i32.const 0x1C)))  ;; S bits 2, 3, 4
    (local.set $o (local.get $out))
    (local.set $p (local.get $start))
    ;; classes of the 16 code units before start
    (local.set $cur (i8x16.narrow_i16x8_u
      (v128.load (i32.shl (i32.sub (local.get $p) (i32.const 16)) (i32.const 1)))
      (v128.load offset=16 (i32.shl (i32.sub (local.get $p) (i32.const 16)) (i32.const 1)))))
    (local.set $lo (v128.and (local.get $cur) (local.get $k15)))
    (local.set $hi (i8x16.shr_u (local.get $cur) (i32.const 4)))
    (local.set $sPrev (v128.and (i8x16.swizzle (local.get $sLo) (local.get $lo)) (i8x16.swizzle (local.get $sHi) (local.get $hi))))
    (local.set $pPrev (v128.and (i8x16.swizzle (local.get $pLo) (local.get $lo)) (i8x16.swizzle (local.get $pHi) (local.get $hi))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $cur (i8x16.narrow_i16x8_u
          (v128.load (i32.shl (local.get $p) (i32.const 1)))
          (v128.load offset=16 (i32.shl (local.get $p) (i32.const 1)))))
        (local.set $lo (v128.and (local.get $cur) (local.get $k15)))
        (local.set $hi (i8x16.shr_u (local.get $cur) (i32.const 4)))
        (local.set $s (v128.and (i8x16.swizzle (local.get $sLo) (local.get $lo)) (i8x16.swizzle (local.get $sHi) (local.get $hi))))
        (local.set $c (v128.and (i8x16.swizzle (local.get $cLo) (local.get $lo)) (i8x16.swizzle (local.get $cHi) (local.get $hi))))
        (local.set $pp (v128.and (i8x16.swizzle (local.get $pLo) (local.get $lo)) (i8x16.swizzle (local.get $pHi) (local.get $hi))))
        ;; pairs (P shifted by one character) and single triggers: any bit set
        (local.set $t (v128.or
          (v128.and (local.get $c) (i8x16.shuffle 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 (local.get $pPrev) (local.get $pp)))
          (v128.and (local.get $s) (local.get $kSingle))))
        ;; digit runs: p2 clean, and neither "p not digit/dot" nor "p-1 not digit"
        (local.set $digit (v128.andnot
          (i8x16.eq (v128.and (i8x16.shuffle 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 (local.get $sPrev) (local.get $s)) (local.get $kBad)) (local.get $zero))
          (v128.or
            (i8x16.eq (v128.and (local.get $s) (local.get $kDigitDot)) (local.get $zero))
            (i8x16.eq (v128.and (i8x16.shuffle 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 (local.get $sPrev) (local.get $s)) (local.get $kDigit)) (local.get $zero)))))
        (local.set $m (i32.or
          (i8x16.bitmask (local.get $digit))
          (i32.xor (i8x16.bitmask (i8x16.eq (local.get $t) (local.get $zero))) (i32.const 0xffff))))
        ;; the last block may reach past end: drop those lanes
        (if (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end))
          (then (local.set $m (i32.and (local.get $m)
            (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $end) (local.get $p))) (i32.const 1))))))
        (block $emitted
          (loop $emit
            (br_if $emitted (i32.eqz (local.get $m)))
            (i32.store (local.get $o) (i32.add (local.get $base) (i32.add (local.get $p) (i32.ctz (local.get $m)))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $m (i32.and (local.get $m) (i32.sub (local.get $m) (i32.const 1))))
            (br $emit)))
        (local.set $sPrev (local.get $s))
        (local.set $pPrev (local.get $pp))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $blocks)))
    (i32.shr_u (i32.sub (local.get $o) (local.get $out)) (i32.const 2))))

// fitloop's SIMD GEMM in WebAssembly text (assembled with the other SIMD kernels by
// `_simd.ts`): C[M, N] = A[M, K] · B[K, N] in register tiles of MR rows by NR = 4·NV
// columns, the classic way (a packed panel of B, read as vectors; elements of A broadcast
// to all lanes; MR·NV accumulators that stay in registers over the whole of K).
//
// Operands are described by byte addresses and byte steps, so that one kernel serves
// every transpose: the A tile's element (i, k) lies at a + k·as + 4i (a packed tile, or
// a transposed A read in place), B's panel element (k, j) at b + k·4·NR + 4j (always
// packed: panels of NR columns, zero-padded, k-major).

/** The tile shapes compiled: rows x vectors of 4 columns. The driver uses `GEMM_MR` x `GEMM_NV`. */
export const GEMM_MR = 6;
export const GEMM_NV = 2;
/** k steps per loop turn of the "step" tiles (a power of 2; 4 measured 8 % faster than 1). */
const STEP_UNROLL = 4;
/** Columns per packed panel of B. */
export const GEMM_NR = 4 * GEMM_NV;

/**
 * A micro-kernel: one MR x 4·NV tile of C over all of K, stored to the `rows` x `cols`
 * top-left part of the tile (rows <= MR, cols <= 4·NV; C's rows are `ldc` bytes apart).
 * B's panel is NR columns wide (`GEMM_NR`), whatever NV.
 *
 * - "step" tiles read A(i, k) at a + k·as + 4i: a packed tile (as = 4·MR) or a
 *   transposed A in place (as = 4·M).
 * - "rows" tiles read A(i, k) at a + i·as + 4k (A row-major in place, rows `as` bytes
 *   apart; rows past `rows` read row 0 again), four k at a time.
 */
function _tile(mr: number, nv: number, mode: "step" | "rows", madd: boolean, nr: number): string {
  const acc = (i: number, v: number) => `$c${i}_${v}`;
  const fma = (a: string, b: string, c: string) =>
    madd ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
  const locals: string[] = ["(local $x v128)"];
  for (let v = 0; v < nv; v++) locals.push(`(local $b${v} v128)`);
  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < nv; v++) locals.push(`(local ${acc(i, v)} v128)`);
  }
  if (mode === "rows") { for (let i = 0; i < mr; i++) locals.push(`(local $p${i} i32)`); }
  // one k: B's vectors at b + u·4·NR, A's elements splat from `aAt(i)`
  const step = (u: number, aAt: (i: number) => string): string[] => {
    const out: string[] = [];
    for (let v = 0; v < nv; v++) {
      out.push(`(local.set $b${v} (v128.load offset=${16 * v + 4 * nr * u} (local.get $b)))`);
    }
    for (let i = 0; i < mr; i++) {
      out.push(`(local.set $x ${aAt(i)})`);
      for (let v = 0; v < nv; v++) {
        out.push(
          `(local.set ${acc(i, v)} ${
            fma("(local.get $x)", `(local.get $b${v})`, `(local.get ${acc(i, v)})`)
          })`,
        );
      }
    }
    return out;
  };
  let loop: string;
  if (mode === "step") {
    // unrolled by STEP_UNROLL: pointer q_u reads k + u
    const un = STEP_UNROLL;
    for (let u = 0; u < un; u++) locals.push(`(local $q${u} i32)`);
    const setup = Array.from(
      { length: un },
      (_, u) =>
        `(local.set $q${u} (i32.add (local.get $a) (i32.mul (local.get $as) (i32.const ${u}))))`,
    ).join(" ");
    const unrolled: string[] = [];
    for (let u = 0; u < un; u++) {
      unrolled.push(...step(u, (i) => `(v128.load32_splat offset=${4 * i} (local.get $q${u}))`));
    }
    const bump = Array.from(
      { length: un },
      (_, u) => `(local.set $q${u} (i32.add (local.get $q${u}) (local.get $as4)))`,
    ).join(" ");
    locals.push("(local $as4 i32)");
    loop = `${setup}
  (local.set $as4 (i32.mul (local.get $as) (i32.const ${un})))
  (for $n (i32.const ${un - 1}) (local.get $k) ${un}
    ${unrolled.join("\n    ")}
    ${bump}
    (local.set $b (i32.add (local.get $b) (i32.const ${4 * nr * un}))))
  (for $n (i32.and (local.get $k) (i32.const ${-un})) (local.get $k) 1
    ${step(0, (i) => `(v128.load32_splat offset=${4 * i} (local.get $q0))`).join("\n    ")}
    (local.set $q0 (i32.add (local.get $q0) (local.get $as)))
    (local.set $b (i32.add (local.get $b) (i32.const ${4 * nr}))))`;
  } else {
    const setup: string[] = [];
    for (let i = 0; i < mr; i++) {
      setup.push(`(local.set $p${i} (select (i32.add (local.get $a) (i32.mul (local.get $as)
        (i32.const ${i}))) (local.get $a) (i32.gt_s (local.get $rows) (i32.const ${i}))))`);
    }
    const unrolled: string[] = [];
    for (let u = 0; u < 4; u++) {
      unrolled.push(...step(u, (i) => `(v128.load32_splat offset=${4 * u} (local.get $p${i}))`));
    }
    const bump = (bytes: number) =>
      Array.from(
        { length: mr },
        (_, i) => `(local.set $p${i} (i32.add (local.get $p${i}) (i32.const ${bytes})))`,
      ).join(" ");
    loop = `${setup.join("\n  ")}
  (for $n (i32.const 3) (local.get $k) 4
    ${unrolled.join("\n    ")}
    ${bump(16)}
    (local.set $b (i32.add (local.get $b) (i32.const ${16 * nr}))))
  (for $n (i32.and (local.get $k) (i32.const -4)) (local.get $k) 1
    ${step(0, (i) => `(v128.load32_splat (local.get $p${i}))`).join("\n    ")}
    ${bump(4)}
    (local.set $b (i32.add (local.get $b) (i32.const ${4 * nr}))))`;
  }
  const full: string[] = [];
  const partial: string[] = [];
  for (let i = 0; i < mr; i++) {
    const row = `(i32.add (local.get $c) (i32.mul (local.get $ldc) (i32.const ${i})))`;
    for (let v = 0; v < nv; v++) {
      full.push(`(v128.store offset=${16 * v} ${row} (local.get ${acc(i, v)}))`);
      const lanes: string[] = [];
      for (let l = 0; l < 4; l++) {
        lanes.push(`(if (i32.gt_s (local.get $cols) (i32.const ${4 * v + l})) (then
          (f32.store offset=${16 * v + 4 * l} ${row} (f32x4.extract_lane ${l} (local.get ${
          acc(i, v)
        })))))`);
      }
      partial.push(`(if (i32.gt_s (local.get $rows) (i32.const ${i})) (then
        (if (i32.ge_s (local.get $cols) (i32.const ${4 * v + 4}))
          (then (v128.store offset=${16 * v} ${row} (local.get ${acc(i, v)})))
          (else ${lanes.join(" ")}))))`);
    }
  }
  return `
(func $${mode}${mr}x${nv} (param $a i32) (param $as i32) (param $b i32) (param $c i32)
  (param $ldc i32) (param $k i32) (param $rows i32) (param $cols i32)
  (local $n i32) ${locals.join(" ")}
  ${loop}
  (if (i32.and (i32.eq (local.get $rows) (i32.const ${mr})) (i32.eq (local.get $cols) (i32.const ${
    4 * nv
  })))
    (then ${full.join("\n      ")})
    (else ${partial.join("\n      ")})))`;
}

/**
 * The loops around the tiles: every panel of B (outer) against every MR-row tile of A
 * (inner), so that a panel stays in the L1 cache while A streams past it; a last panel
 * of at most 4 columns gets the narrow tile. Tile t of A starts at a + t·at; C is
 * [m, n] with rows ldc bytes apart.
 */
function _loops(mode: "step" | "rows", mr: number, nv: number): string {
  const nr = 4 * nv;
  return `
(func $gemm${mode === "step" ? "" : "Rows"} (param $a i32) (param $as i32) (param $at i32)
  (param $m i32) (param $b i32) (param $k i32) (param $n i32) (param $c i32) (param $ldc i32)
  (local $j i32) (local $i i32) (local $ap i32) (local $bp i32) (local $cols i32) (local $rows i32)
  (local $cp i32)
  (local.set $bp (local.get $b))
  (for $j (i32.const 0) (local.get $n) ${nr}
    (local.set $cols (i32.sub (local.get $n) (local.get $j)))
    (if (i32.gt_s (local.get $cols) (i32.const ${nr})) (then (local.set $cols (i32.const ${nr}))))
    (local.set $ap (local.get $a))
    (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
    (for $i (i32.const 0) (local.get $m) ${mr}
      (local.set $rows (i32.sub (local.get $m) (local.get $i)))
      (if (i32.gt_s (local.get $rows) (i32.const ${mr})) (then (local.set $rows (i32.const ${mr}))))
      (if (i32.gt_s (local.get $cols) (i32.const 4))
        (then (call $${mode}${mr}x${nv} (local.get $ap) (local.get $as) (local.get $bp)
          (local.get $cp) (local.get $ldc) (local.get $k) (local.get $rows) (local.get $cols)))
        (else (call $${mode}${mr}x1 (local.get $ap) (local.get $as) (local.get $bp)
          (local.get $cp) (local.get $ldc) (local.get $k) (local.get $rows) (local.get $cols))))
      (local.set $ap (i32.add (local.get $ap) (local.get $at)))
      (local.set $cp (i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const ${mr})))))
    (local.set $bp (i32.add (local.get $bp) (i32.mul (local.get $k) (i32.const ${4 * nr}))))))`;
}

/**
 * Packing. packA: tiles of MR rows, k-major: dst[(t·K + k)·MR + i] = A(t·MR + i, k), zero
 * past row m; A(i, k) at src + i·rs + k·ks. packB: panels of NR columns, k-major:
 * dst[(p·K + k)·NR + j] = B(k, p·NR + j), zero past column n; B(k, j) at src + k·ks + j·cs
 * (full panels with cs = 4 copy vectors).
 */
function _pack(mr: number, nr: number): string {
  const copy: string[] = [];
  for (let v = 0; v < nr / 4; v++) {
    copy.push(
      `(v128.store offset=${16 * v} (local.get $d) (v128.load offset=${16 * v} (local.get $s)))`,
    );
  }
  return `
(func $packA (param $src i32) (param $dst i32) (param $m i32) (param $k i32) (param $rs i32)
  (param $ks i32)
  (local $t i32) (local $i i32) (local $kk i32) (local $d i32) (local $s i32) (local $row i32)
  (local.set $d (local.get $dst))
  (for $t (i32.const 0) (local.get $m) ${mr}
    (for $kk (i32.const 0) (local.get $k) 1
      (local.set $s (i32.add (local.get $src) (i32.add (i32.mul (local.get $t) (local.get $rs))
        (i32.mul (local.get $kk) (local.get $ks)))))
      (for $i (i32.const 0) (i32.const ${mr}) 1
        (local.set $row (i32.add (local.get $t) (local.get $i)))
        (if (i32.lt_s (local.get $row) (local.get $m))
          (then (f32.store (local.get $d) (f32.load (local.get $s))))
          (else (f32.store (local.get $d) (f32.const 0))))
        (local.set $s (i32.add (local.get $s) (local.get $rs)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))))))

(func $packB (param $src i32) (param $dst i32) (param $k i32) (param $n i32) (param $ks i32)
  (param $cs i32)
  (local $p i32) (local $j i32) (local $kk i32) (local $d i32) (local $s i32) (local $k4 i32)
  (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
  (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
  (local.set $d (local.get $dst))
  (local.set $k4 (i32.and (local.get $k) (i32.const -4)))
  (for $p (i32.const 0) (local.get $n) ${nr}
    (if (i32.and (i32.eq (local.get $cs) (i32.const 4))
                 (i32.le_s (i32.add (local.get $p) (i32.const ${nr})) (local.get $n)))
      (then
        ;; a full panel of a row-major B: copy vectors
        (local.set $s (i32.add (local.get $src) (i32.shl (local.get $p) (i32.const 2))))
        (for $kk (i32.const 0) (local.get $k) 1
          ${copy.join("\n          ")}
          (local.set $s (i32.add (local.get $s) (local.get $ks)))
          (local.set $d (i32.add (local.get $d) (i32.const ${4 * nr})))))
      (else (if (i32.and (i32.eq (local.get $ks) (i32.const 4))
                         (i32.le_s (i32.add (local.get $p) (i32.const ${nr})) (local.get $n)))
        (then
          ;; a full panel of a transposed B (columns k-contiguous, cs apart): 4x4 blocks
          ;; transposed in registers, then the last k one by one
          (for $j (i32.const 0) (i32.const ${nr}) 4
            (local.set $s (i32.add (local.get $src) (i32.mul (i32.add (local.get $p) (local.get $j))
              (local.get $cs))))
            (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (local.get $p) (i32.shl
              (local.get $k) (i32.const 2))) (i32.shl (local.get $j) (i32.const 2)))))
            (for $kk (i32.const 0) (local.get $k4) 4
              (local.set $r0 (v128.load (local.get $s)))
              (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $cs))))
              (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $cs) (i32.const 1)))))
              (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $cs) (i32.const 3)))))
              (local.set $t0 (i8x16.shuffle ${_lanes(0, 4, 1, 5)} (local.get $r0) (local.get $r1)))
              (local.set $t1 (i8x16.shuffle ${_lanes(2, 6, 3, 7)} (local.get $r0) (local.get $r1)))
              (local.set $t2 (i8x16.shuffle ${_lanes(0, 4, 1, 5)} (local.get $r2) (local.get $r3)))
              (local.set $t3 (i8x16.shuffle ${_lanes(2, 6, 3, 7)} (local.get $r2) (local.get $r3)))
              (v128.store (local.get $d) (i8x16.shuffle ${
    _lanes(0, 1, 4, 5)
  } (local.get $t0) (local.get $t2)))
              (v128.store offset=${4 * nr} (local.get $d)
                (i8x16.shuffle ${_lanes(2, 3, 6, 7)} (local.get $t0) (local.get $t2)))
              (v128.store offset=${8 * nr} (local.get $d)
                (i8x16.shuffle ${_lanes(0, 1, 4, 5)} (local.get $t1) (local.get $t3)))
              (v128.store offset=${12 * nr} (local.get $d)
                (i8x16.shuffle ${_lanes(2, 3, 6, 7)} (local.get $t1) (local.get $t3)))
              (local.set $s (i32.add (local.get $s) (i32.const 16)))
              (local.set $d (i32.add (local.get $d) (i32.const ${16 * nr}))))
            (for $kk (local.get $k4) (local.get $k) 1
              (f32.store (local.get $d) (f32.load (local.get $s)))
              (f32.store offset=4 (local.get $d) (f32.load (i32.add (local.get $s) (local.get $cs))))
              (f32.store offset=8 (local.get $d)
                (f32.load (i32.add (local.get $s) (i32.shl (local.get $cs) (i32.const 1)))))
              (f32.store offset=12 (local.get $d)
                (f32.load (i32.add (local.get $s) (i32.mul (local.get $cs) (i32.const 3)))))
              (local.set $s (i32.add (local.get $s) (i32.const 4)))
              (local.set $d (i32.add (local.get $d) (i32.const ${4 * nr})))))
          (local.set $d (i32.add (local.get $dst) (i32.mul (i32.add (local.get $p) (i32.const ${nr}))
            (i32.shl (local.get $k) (i32.const 2))))))
        (else
          ;; a last, partial panel: element by element, zero past column n
          (for $kk (i32.const 0) (local.get $k) 1
            (local.set $s (i32.add (local.get $src) (i32.add (i32.mul (local.get $kk) (local.get $ks))
              (i32.mul (local.get $p) (local.get $cs)))))
            (for $j (i32.const 0) (i32.const ${nr}) 1
              (if (i32.lt_s (i32.add (local.get $p) (local.get $j)) (local.get $n))
                (then (f32.store (local.get $d) (f32.load (local.get $s))))
                (else (f32.store (local.get $d) (f32.const 0))))
              (local.set $s (i32.add (local.get $s) (local.get $cs)))
              (local.set $d (i32.add (local.get $d) (i32.const 4)))))))))))`;
}

/**
 * The epilogue of a fused product, in place over C's `rows` rows of n floats: + bias (a
 * row of n floats, added to every row, when `hasBias`), then `act`: 0 none, 1 relu, 2
 * relu6 (max/min propagate NaN, as the cpu backend's comparisons do). Four columns at a
 * time, then the last n mod 4 one by one.
 */
function _epilogue(): string {
  return `
(func $epilogue (param $c i32) (param $bias i32) (param $hasBias i32) (param $rows i32)
  (param $n i32) (param $act i32)
  (local $r i32) (local $j i32) (local $n4 i32) (local $v v128) (local $x f32)
  (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
  (for $r (i32.const 0) (local.get $rows) 1
    (for $j (i32.const 0) (local.get $n4) 4
      (local.set $v (v128.load (local.get $c)))
      (if (local.get $hasBias) (then (local.set $v (f32x4.add (local.get $v)
        (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))))
      (if (i32.ge_s (local.get $act) (i32.const 1))
        (then (local.set $v (f32x4.max (local.get $v) (f32x4.splat (f32.const 0))))))
      (if (i32.eq (local.get $act) (i32.const 2))
        (then (local.set $v (f32x4.min (local.get $v) (f32x4.splat (f32.const 6))))))
      (v128.store (local.get $c) (local.get $v))
      (local.set $c (i32.add (local.get $c) (i32.const 16))))
    (for $j (local.get $n4) (local.get $n) 1
      (local.set $x (f32.load (local.get $c)))
      (if (local.get $hasBias) (then (local.set $x (f32.add (local.get $x)
        (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))))
      (if (i32.ge_s (local.get $act) (i32.const 1))
        (then (local.set $x (f32.max (local.get $x) (f32.const 0)))))
      (if (i32.eq (local.get $act) (i32.const 2))
        (then (local.set $x (f32.min (local.get $x) (f32.const 6)))))
      (f32.store (local.get $c) (local.get $x))
      (local.set $c (i32.add (local.get $c) (i32.const 4))))))`;
}

/** The bytes of i8x16.shuffle that pick float lanes l0..l3 of a ++ b (b's lanes are 4..7). */
function _lanes(...lanes: number[]): string {
  return lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(" ");
}

/**
 * The GEMM functions' text: `$gemm`, `$gemmRows`, their tiles, `$packA`, `$packB`,
 * `$epilogue`.
 */
export function _gemmText(madd: boolean, mr = GEMM_MR, nv = GEMM_NV): string {
  const nr = 4 * nv;
  const tiles = (["step", "rows"] as const).flatMap((mode) => [
    _tile(mr, nv, mode, madd, nr),
    _tile(mr, 1, mode, madd, nr),
    _loops(mode, mr, nv),
  ]);
  return tiles.join("") + _pack(mr, nr) + _epilogue();
}

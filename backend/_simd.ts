// fitloop's own WebAssembly SIMD kernels. They run in a small module that imports the
// memory of tfjs-backend-wasm's module, so they read and write tensors where they lie
// on the WASM heap (no copies). Written in WebAssembly text, assembled by `_wat.ts`
// once per backend. Where the module cannot start, the kernels fall back to JS loops.
import { _assemble } from "./_wat.ts";
import { _gemmText } from "./_gemm_wat.ts";
import type { Info, WasmBackend } from "./_wasm.ts";

const TEXT = `
;; dx of a max pool whose windows do not overlap, channels a multiple of 4. dx must be
;; zero on entry. Per window and 4 channels: the first pixel strictly above the best so
;; far (from -inf) wins, as on tfjs's cpu backend; NaN never wins, so a window of NaN
;; and -inf only sends no gradient. Addresses are byte offsets; sizes are elements.
(func $maxPoolGrad (param $x i32) (param $g i32) (param $dx i32)
  (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
  (param $sh i32) (param $sw i32) (param $fh i32) (param $fw i32) (param $pt i32) (param $pl i32)
  (local $b i32) (local $yr i32) (local $yc i32) (local $d i32) (local $r i32) (local $q i32)
  (local $r0 i32) (local $r1 i32) (local $c0 i32) (local $c1 i32) (local $idx i32)
  (local $gp i32) (local $p i32)
  (local $best v128) (local $at v128) (local $v v128) (local $m v128) (local $gv v128)
  (for $b (i32.const 0) (local.get $n) 1
    (for $yr (i32.const 0) (local.get $oh) 1
      (local.set $r0 (i32.sub (i32.mul (local.get $yr) (local.get $sh)) (local.get $pt)))
      (local.set $r1 (i32.add (local.get $r0) (local.get $fh)))
      (if (i32.gt_s (local.get $r1) (local.get $h)) (then (local.set $r1 (local.get $h))))
      (if (i32.lt_s (local.get $r0) (i32.const 0)) (then (local.set $r0 (i32.const 0))))
      (for $yc (i32.const 0) (local.get $ow) 1
        (local.set $c0 (i32.sub (i32.mul (local.get $yc) (local.get $sw)) (local.get $pl)))
        (local.set $c1 (i32.add (local.get $c0) (local.get $fw)))
        (if (i32.gt_s (local.get $c1) (local.get $w)) (then (local.set $c1 (local.get $w))))
        (if (i32.lt_s (local.get $c0) (i32.const 0)) (then (local.set $c0 (i32.const 0))))
        (for $d (i32.const 0) (local.get $c) 4
          (local.set $best (f32x4.splat (f32.const -Infinity)))
          (local.set $at (i32x4.splat (i32.const -1)))
          (for $r (local.get $r0) (local.get $r1) 1
            (for $q (local.get $c0) (local.get $c1) 1
              (local.set $idx (i32.add (i32.mul (i32.add (i32.mul (i32.add
                (i32.mul (local.get $b) (local.get $h)) (local.get $r)) (local.get $w))
                (local.get $q)) (local.get $c)) (local.get $d)))
              (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $idx) (i32.const 2)))))
              (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
              (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
              (local.set $at (v128.bitselect
                (i32x4.add (i32x4.splat (local.get $idx)) (v128.const i32x4 0 1 2 3))
                (local.get $at) (local.get $m)))))
          (local.set $gp (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (i32.add (i32.mul
            (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $yr)) (local.get $ow))
            (local.get $yc)) (local.get $c)) (local.get $d)) (i32.const 2))))
          (local.set $gv (v128.load (local.get $gp)))
          (local.set $p (i32x4.extract_lane 0 (local.get $at)))
          (if (i32.ge_s (local.get $p) (i32.const 0)) (then (f32.store
            (i32.add (local.get $dx) (i32.shl (local.get $p) (i32.const 2)))
            (f32x4.extract_lane 0 (local.get $gv)))))
          (local.set $p (i32x4.extract_lane 1 (local.get $at)))
          (if (i32.ge_s (local.get $p) (i32.const 0)) (then (f32.store
            (i32.add (local.get $dx) (i32.shl (local.get $p) (i32.const 2)))
            (f32x4.extract_lane 1 (local.get $gv)))))
          (local.set $p (i32x4.extract_lane 2 (local.get $at)))
          (if (i32.ge_s (local.get $p) (i32.const 0)) (then (f32.store
            (i32.add (local.get $dx) (i32.shl (local.get $p) (i32.const 2)))
            (f32x4.extract_lane 2 (local.get $gv)))))
          (local.set $p (i32x4.extract_lane 3 (local.get $at)))
          (if (i32.ge_s (local.get $p) (i32.const 0)) (then (f32.store
            (i32.add (local.get $dx) (i32.shl (local.get $p) (i32.const 2)))
            (f32x4.extract_lane 3 (local.get $gv))))))))))

;; col2im: dx[b, i*sh + kh*dh - pt, j*sw + kw*dw - pl, :] += cols[(b, i, j), (kh, kw), :] for
;; every in-bounds position, cols laid out [N * OH * OW, fh * fw * ci]. dx must be zero on
;; entry. The transposed-convolution half of a GEMM-based input gradient.
(func $col2im (param $cols i32) (param $dx i32) (param $n i32) (param $h i32) (param $w i32)
  (param $ci i32) (param $oh i32) (param $ow i32) (param $fh i32) (param $fw i32) (param $sh i32)
  (param $sw i32) (param $dh i32) (param $dw i32) (param $pt i32) (param $pl i32)
  (local $b i32) (local $i i32) (local $j i32) (local $kh i32) (local $kw i32) (local $r i32)
  (local $q i32) (local $src i32) (local $dst i32) (local $c i32) (local $c4 i32) (local $row i32)
  (local.set $c4 (i32.and (local.get $ci) (i32.const -4)))
  (local.set $row (i32.shl (local.get $ci) (i32.const 2)))
  (local.set $src (local.get $cols))
  (for $b (i32.const 0) (local.get $n) 1
    (for $i (i32.const 0) (local.get $oh) 1
      (for $j (i32.const 0) (local.get $ow) 1
        (for $kh (i32.const 0) (local.get $fh) 1
          (local.set $r (i32.sub (i32.add (i32.mul (local.get $i) (local.get $sh))
            (i32.mul (local.get $kh) (local.get $dh))) (local.get $pt)))
          (for $kw (i32.const 0) (local.get $fw) 1
            (local.set $q (i32.sub (i32.add (i32.mul (local.get $j) (local.get $sw))
              (i32.mul (local.get $kw) (local.get $dw))) (local.get $pl)))
            (if (i32.and (i32.and (i32.ge_s (local.get $r) (i32.const 0)) (i32.lt_s (local.get $r) (local.get $h)))
                         (i32.and (i32.ge_s (local.get $q) (i32.const 0)) (i32.lt_s (local.get $q) (local.get $w))))
              (then
                (local.set $dst (i32.add (local.get $dx) (i32.mul (i32.add (i32.mul (i32.add
                  (i32.mul (local.get $b) (local.get $h)) (local.get $r)) (local.get $w)) (local.get $q))
                  (local.get $row))))
                (for $c (i32.const 0) (local.get $c4) 4
                  (v128.store (i32.add (local.get $dst) (i32.shl (local.get $c) (i32.const 2)))
                    (f32x4.add (v128.load (i32.add (local.get $dst) (i32.shl (local.get $c) (i32.const 2))))
                      (v128.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2)))))))
                (for $c (local.get $c4) (local.get $ci) 1
                  (f32.store (i32.add (local.get $dst) (i32.shl (local.get $c) (i32.const 2)))
                    (f32.add (f32.load (i32.add (local.get $dst) (i32.shl (local.get $c) (i32.const 2))))
                      (f32.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2)))))))))
            (local.set $src (i32.add (local.get $src) (local.get $row)))))))))

;; out[j] = sum over rows of x[r, j], accumulated in float64 in acc (cols f64s).
(func $sumRows (param $x i32) (param $acc i32) (param $out i32) (param $rows i32) (param $cols i32)
  (local $r i32) (local $j i32) (local $p i32) (local $a i32) (local $c4 i32)
  (for $j (i32.const 0) (local.get $cols) 1
    (f64.store (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))) (f64.const 0)))
  (local.set $c4 (i32.and (local.get $cols) (i32.const -4)))
  (local.set $p (local.get $x))
  (for $r (i32.const 0) (local.get $rows) 1
    (for $j (i32.const 0) (local.get $c4) 4
      (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))
      (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a))
        (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))))
      (v128.store offset=16 (local.get $a) (f64x2.add (v128.load offset=16 (local.get $a))
        (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 16))))
    (for $j (local.get $c4) (local.get $cols) 1
      (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))
      (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64.promote_f32 (f32.load (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))))
  (for $j (i32.const 0) (local.get $cols) 1
    (f32.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
      (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))))))
`;

/** Whether this runtime has relaxed SIMD (fused multiply-add). */
function _hasRelaxedMadd(): boolean {
  try {
    // (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) …))
    return WebAssembly.validate(
      Uint8Array.from([
        0,
        97,
        115,
        109,
        1,
        0,
        0,
        0,
        1,
        8,
        1,
        0x60,
        3,
        0x7b,
        0x7b,
        0x7b,
        1,
        0x7b,
        3,
        2,
        1,
        0,
        10,
        13,
        1,
        11,
        0,
        0x20,
        0,
        0x20,
        1,
        0x20,
        2,
        0xfd,
        0x85,
        0x02,
        0x0b,
      ]),
    );
  } catch {
    return false;
  }
}

/**
 * Filter-gradient tiles: for one filter position (kh, kw) chosen by the caller through
 * offR/offC and the valid output ranges [iLo, iHi) x [jLo, jHi), the sums over the batch
 * and output pixels of x[b, i*sh + offR, j*sw + offC, c0 + t] * dy[b, i, j, o0 + 4v + l]
 * for t < KB input channels and v < VB vectors of 4 output channels, kept in registers
 * (KB x VB accumulators), stored to out[(c0 + t) * co + o0 + 4v + l].
 */
function _filterGradTile(kb: number, vb: number, madd: boolean): string {
  const acc = (t: number, v: number) => `$a${t}_${v}`;
  const fma = (a: string, b: string, c: string) =>
    madd ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
  const locals: string[] = [];
  for (let t = 0; t < kb; t++) {
    locals.push(`(local $s${t} v128)`);
    for (let v = 0; v < vb; v++) locals.push(`(local ${acc(t, v)} v128)`);
  }
  for (let v = 0; v < vb; v++) locals.push(`(local $d${v} v128)`);
  const zero: string[] = [];
  const body: string[] = [];
  const store: string[] = [];
  for (let v = 0; v < vb; v++) {
    body.push(`(local.set $d${v} (v128.load offset=${16 * v} (local.get $dp)))`);
  }
  for (let t = 0; t < kb; t++) {
    body.push(`(local.set $s${t} (v128.load32_splat offset=${4 * t} (local.get $xp)))`);
    for (let v = 0; v < vb; v++) {
      zero.push(`(local.set ${acc(t, v)} (v128.const i32x4 0 0 0 0))`);
      body.push(
        `(local.set ${acc(t, v)} ${
          fma(`(local.get $s${t})`, `(local.get $d${v})`, `(local.get ${acc(t, v)})`)
        })`,
      );
      store.push(`(v128.store offset=${16 * v} (i32.add (local.get $out) (i32.shl (i32.add (i32.mul
        (i32.add (local.get $c0) (i32.const ${t})) (local.get $co)) (local.get $o0)) (i32.const 2)))
        (local.get ${acc(t, v)}))`);
    }
  }
  return `
(func $filterGrad${kb}x${vb} (param $x i32) (param $dy i32) (param $out i32) (param $n i32)
  (param $h i32) (param $w i32) (param $ci i32) (param $oh i32) (param $ow i32) (param $co i32)
  (param $sh i32) (param $sw i32) (param $offR i32) (param $offC i32) (param $iLo i32)
  (param $iHi i32) (param $jLo i32) (param $jHi i32) (param $c0 i32) (param $o0 i32)
  (local $b i32) (local $i i32) (local $j i32) (local $xp i32) (local $dp i32)
  (local $xstep i32) (local $dstep i32)
  ${locals.join(" ")}
  ${zero.join("\n  ")}
  (local.set $xstep (i32.shl (i32.mul (local.get $sw) (local.get $ci)) (i32.const 2)))
  (local.set $dstep (i32.shl (local.get $co) (i32.const 2)))
  (for $b (i32.const 0) (local.get $n) 1
    (for $i (local.get $iLo) (local.get $iHi) 1
      ;; x[b, i*sh + offR, jLo*sw + offC, c0] and dy[b, i, jLo, o0]
      (local.set $xp (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (i32.add (i32.mul
        (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.add (i32.mul (local.get $i)
        (local.get $sh)) (local.get $offR))) (local.get $w)) (i32.add (i32.mul (local.get $jLo)
        (local.get $sw)) (local.get $offC))) (local.get $ci)) (local.get $c0)) (i32.const 2))))
      (local.set $dp (i32.add (local.get $dy) (i32.shl (i32.add (i32.mul (i32.add (i32.mul
        (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $i)) (local.get $ow))
        (local.get $jLo)) (local.get $co)) (local.get $o0)) (i32.const 2))))
      (for $j (local.get $jLo) (local.get $jHi) 1
        ${body.join("\n        ")}
        (local.set $xp (i32.add (local.get $xp) (local.get $xstep)))
        (local.set $dp (i32.add (local.get $dp) (local.get $dstep))))))
  ${store.join("\n  ")})`;
}

/** The tile shapes compiled: input channels per tile x vectors of 4 output channels. */
export const FILTER_TILES: readonly [number, number][] = [[1, 1], [1, 4], [2, 1], [2, 4]];

function _text(madd: boolean): string {
  return TEXT + FILTER_TILES.map(([kb, vb]) => _filterGradTile(kb, vb, madd)).join("\n") +
    _gemmText(madd);
}

/** fitloop's SIMD kernels, bound to one backend's memory. */
export interface Simd {
  maxPoolGrad(...args: number[]): void;
  sumRows(x: number, acc: number, out: number, rows: number, cols: number): void;
  col2im(...args: number[]): void;
  /**
   * C = A·B over packed panels of B, A(i, k) at a + k·as + 4i (see `_gemm_wat.ts`):
   * a, as, at, m, b, k, n, c, ldc.
   */
  gemm(...args: number[]): void;
  /** The same with A row-major in place: A(i, k) at a + i·as + 4k. */
  gemmRows(...args: number[]): void;
  /** A's tiles packed k-major: src, dst, m, k, row step, k step (bytes). */
  packA(...args: number[]): void;
  /** B's panels packed k-major: src, dst, k, n, k step, column step (bytes). */
  packB(...args: number[]): void;
  /**
   * A fused product's epilogue in place: c, bias, hasBias, rows, n, act (0 none, 1 relu,
   * 2 relu6); the bias is one row of n floats added to every row.
   */
  epilogue(...args: number[]): void;
  /** filterGrad1x1, filterGrad1x4, filterGrad2x1, filterGrad2x4 (see `_filterGradTile`). */
  [filterGrad: `filterGrad${number}x${number}`]: (...args: number[]) => void;
}

interface Heap {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
}

const _modules = new Map<boolean, WebAssembly.Module>();
const _instances = new WeakMap<WebAssembly.Memory, Simd>();
let _disabled = false;

/** Turns fitloop's SIMD kernels off (tests use it to check the JS fallbacks). */
export function _setSimdEnabled(on: boolean): void {
  _disabled = !on;
}

/** fitloop's SIMD kernels on this backend's memory, or undefined where they cannot start. */
export function _simd(backend: WasmBackend): Simd | undefined {
  if (_disabled) return undefined;
  const wasm = (backend as unknown as Heap).wasm;
  const memory = wasm?.wasmMemory ?? wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  const known = _instances.get(memory);
  if (known) return known;
  try {
    const shared = memory.buffer instanceof SharedArrayBuffer;
    let module = _modules.get(shared);
    if (!module) {
      module = new WebAssembly.Module(_assemble(_text(_hasRelaxedMadd()), shared) as BufferSource);
      _modules.set(shared, module);
    }
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const simd = instance.exports as unknown as Simd;
    _instances.set(memory, simd);
    return simd;
  } catch {
    _disabled = true;
    return undefined;
  }
}

/** The byte offset of a tensor's data on the WASM heap. */
export function _ptr(backend: WasmBackend, x: Info): number {
  const data = (backend as unknown as Heap).dataIdMap.get(x.dataId);
  if (!data) throw new Error("fitloop's WASM kernels got a tensor that is not on the WASM heap");
  return data.memoryOffset;
}

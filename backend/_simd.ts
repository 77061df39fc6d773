// fitloop's own WebAssembly SIMD kernels. They run in a small module that imports the
// memory of tfjs-backend-wasm's module, so they read and write tensors where they lie
// on the WASM heap (no copies). Written in WebAssembly text, assembled by `_wat.ts`
// once per backend. Where the module cannot start, the kernels fall back to JS loops.
import { _assemble } from "./_wat.ts";
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

/** fitloop's SIMD kernels, bound to one backend's memory. */
export interface Simd {
  maxPoolGrad(...args: number[]): void;
  sumRows(x: number, acc: number, out: number, rows: number, cols: number): void;
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
      module = new WebAssembly.Module(_assemble(TEXT, shared) as BufferSource);
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

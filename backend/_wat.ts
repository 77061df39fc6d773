// A small assembler for the folded WebAssembly text format, enough for fitloop's SIMD
// kernels: functions of i32 parameters (no results) over one imported memory, with
// i32/f32/f64/v128 locals, block/loop/if, a `for` loop form, calls between them, loads and
// stores with offsets, and the scalar and SIMD instructions in the table below. Kernels are written as text so
// that they can be read and reviewed; this turns them into a binary module.
//
//   (func $name (param $p i32) (local $x f32) (local.set $x (f32.load offset=4 (local.get $p))))

const SIMPLE: Record<string, number[]> = {
  "unreachable": [0x00],
  "nop": [0x01],
  "return": [0x0f],
  "drop": [0x1a],
  "select": [0x1b],
  "i32.eqz": [0x45],
  "i32.eq": [0x46],
  "i32.ne": [0x47],
  "i32.lt_s": [0x48],
  "i32.lt_u": [0x49],
  "i32.gt_s": [0x4a],
  "i32.gt_u": [0x4b],
  "i32.le_s": [0x4c],
  "i32.le_u": [0x4d],
  "i32.ge_s": [0x4e],
  "i32.ge_u": [0x4f],
  "f32.eq": [0x5b],
  "f32.ne": [0x5c],
  "f32.lt": [0x5d],
  "f32.gt": [0x5e],
  "f32.le": [0x5f],
  "f32.ge": [0x60],
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "i32.mul": [0x6c],
  "i32.div_s": [0x6d],
  "i32.rem_s": [0x6f],
  "i32.and": [0x71],
  "i32.or": [0x72],
  "i32.xor": [0x73],
  "i32.shl": [0x74],
  "i32.shr_s": [0x75],
  "i32.shr_u": [0x76],
  "f32.abs": [0x8b],
  "f32.neg": [0x8c],
  "f32.add": [0x92],
  "f32.sub": [0x93],
  "f32.mul": [0x94],
  "f32.div": [0x95],
  "f32.min": [0x96],
  "f32.max": [0x97],
  "f64.add": [0xa0],
  "f64.sub": [0xa1],
  "f64.mul": [0xa2],
  "f32.demote_f64": [0xb6],
  "f64.promote_f32": [0xbb],
  // SIMD (prefix 0xfd, then the opcode as unsigned LEB128)
  "i32x4.splat": [0xfd, 0x11],
  "f32x4.splat": [0xfd, 0x13],
  "f64x2.splat": [0xfd, 0x14],
  "i32x4.eq": [0xfd, 0x37],
  "i32x4.lt_s": [0xfd, 0x39],
  "i32x4.ge_s": [0xfd, 0x3f],
  "f32x4.eq": [0xfd, 0x41],
  "f32x4.ne": [0xfd, 0x42],
  "f32x4.lt": [0xfd, 0x43],
  "f32x4.gt": [0xfd, 0x44],
  "f32x4.le": [0xfd, 0x45],
  "f32x4.ge": [0xfd, 0x46],
  "v128.not": [0xfd, 0x4d],
  "v128.and": [0xfd, 0x4e],
  "v128.andnot": [0xfd, 0x4f],
  "v128.or": [0xfd, 0x50],
  "v128.xor": [0xfd, 0x51],
  "v128.bitselect": [0xfd, 0x52],
  "v128.any_true": [0xfd, 0x53],
  "f32x4.demote_f64x2_zero": [0xfd, 0x5e],
  "f64x2.promote_low_f32x4": [0xfd, 0x5f],
  "i32x4.add": [0xfd, 0xae, 0x01],
  "i32x4.sub": [0xfd, 0xb1, 0x01],
  "i32x4.mul": [0xfd, 0xb5, 0x01],
  "f32x4.abs": [0xfd, 0xe0, 0x01],
  "f32x4.neg": [0xfd, 0xe1, 0x01],
  "f32x4.add": [0xfd, 0xe4, 0x01],
  "f32x4.sub": [0xfd, 0xe5, 0x01],
  "f32x4.mul": [0xfd, 0xe6, 0x01],
  "f32x4.div": [0xfd, 0xe7, 0x01],
  "f32x4.min": [0xfd, 0xe8, 0x01],
  "f32x4.max": [0xfd, 0xe9, 0x01],
  "f64x2.add": [0xfd, 0xf0, 0x01],
  "f64x2.mul": [0xfd, 0xf2, 0x01],
  "f32x4.relaxed_madd": [0xfd, 0x85, 0x02],
};

/** Loads and stores: opcode bytes and natural alignment (log2 bytes). */
const MEMORY: Record<string, [number[], number]> = {
  "i32.load": [[0x28], 2],
  "f32.load": [[0x2a], 2],
  "f64.load": [[0x2b], 3],
  "i32.store": [[0x36], 2],
  "f32.store": [[0x38], 2],
  "f64.store": [[0x39], 3],
  "v128.load": [[0xfd, 0x00], 4],
  "v128.load32_splat": [[0xfd, 0x09], 2],
  "v128.load64_zero": [[0xfd, 0x5d], 3],
  "v128.store": [[0xfd, 0x0b], 4],
};

/** Lane instructions: opcode bytes; the lane index follows as one byte. */
const LANE: Record<string, number[]> = {
  "i32x4.extract_lane": [0xfd, 0x1b],
  "f32x4.extract_lane": [0xfd, 0x1f],
  "f32x4.replace_lane": [0xfd, 0x20],
  "f64x2.extract_lane": [0xfd, 0x21],
};

const TYPES: Record<string, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

type Node = string | Node[];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function parse(text: string): Node[] {
  const tokens = text.replace(/;;[^\n]*/g, "").match(/\(|\)|[^\s()]+/g) ?? [];
  const stack: Node[][] = [[]];
  for (const t of tokens) {
    if (t === "(") {
      const list: Node[] = [];
      stack.at(-1)!.push(list);
      stack.push(list);
    } else if (t === ")") {
      stack.pop();
      if (stack.length === 0) throw new SyntaxError("unbalanced ')' in WebAssembly text");
    } else {
      stack.at(-1)!.push(t);
    }
  }
  if (stack.length !== 1) throw new SyntaxError("unbalanced '(' in WebAssembly text");
  return stack[0]!;
}

interface Func {
  readonly name: string;
  readonly params: number;
  readonly locals: number[];
  readonly body: number[];
}

function compileFunc(node: Node[], funcs: ReadonlyMap<string, number>): Func {
  const name = (node[1] as string).slice(1);
  const index = new Map<string, number>();
  const locals: number[] = [];
  let params = 0;
  const rest: Node[] = [];
  for (const part of node.slice(2)) {
    if (Array.isArray(part) && (part[0] === "param" || part[0] === "local")) {
      const [kind, id, type] = part as string[];
      if (TYPES[type!] === undefined) throw new SyntaxError(`unknown type ${type} in ${name}`);
      if (kind === "param") {
        if (locals.length) throw new SyntaxError(`params must come before locals in ${name}`);
        if (type !== "i32") throw new SyntaxError(`params must be i32 in ${name}`);
        params++;
      } else {
        locals.push(TYPES[type!]!);
      }
      index.set(id!, index.size);
    } else {
      rest.push(part);
    }
  }
  const labels: string[] = [];
  const body: number[] = [];
  const local = (id: string): number => {
    const i = index.get(id);
    if (i === undefined) throw new SyntaxError(`unknown local ${id} in ${name}`);
    return i;
  };
  const depth = (id: string): number => {
    const i = labels.lastIndexOf(id);
    if (i < 0) throw new SyntaxError(`unknown label ${id} in ${name}`);
    return labels.length - 1 - i;
  };
  const emit = (n: Node): void => {
    if (!Array.isArray(n)) throw new SyntaxError(`expected a folded instruction in ${name}: ${n}`);
    const [op, ...args] = n as [string, ...Node[]];
    if (op === "block" || op === "loop") {
      const label = args[0] as string;
      labels.push(label);
      body.push(op === "block" ? 0x02 : 0x03, 0x40);
      for (const a of args.slice(1)) emit(a);
      body.push(0x0b);
      labels.pop();
      return;
    }
    if (op === "for") {
      // (for $i (start) (end) step body…): $i from start while $i < end, by step
      const [id, start, end, step, ...loopBody] = args as [string, Node, Node, string, ...Node[]];
      emit(start);
      body.push(0x21, ...uleb(local(id)));
      labels.push("", "");
      body.push(0x02, 0x40, 0x03, 0x40);
      body.push(0x20, ...uleb(local(id)));
      emit(end);
      body.push(0x4e, 0x0d, ...uleb(1)); // i32.ge_s, br_if to the block
      for (const a of loopBody) emit(a);
      body.push(0x20, ...uleb(local(id)), 0x41, ...sleb(Number(step)), 0x6a);
      body.push(0x21, ...uleb(local(id)), 0x0c, ...uleb(0), 0x0b, 0x0b);
      labels.pop();
      labels.pop();
      return;
    }
    if (op === "if") {
      const [cond, then, otherwise] = args as Node[][];
      emit(cond!);
      labels.push("");
      body.push(0x04, 0x40);
      for (const a of then!.slice(1)) emit(a);
      if (otherwise) {
        body.push(0x05);
        for (const a of otherwise.slice(1)) emit(a);
      }
      body.push(0x0b);
      labels.pop();
      return;
    }
    const imms = args.filter((a) => !Array.isArray(a)) as string[];
    for (const a of args) if (Array.isArray(a)) emit(a);
    if (op === "local.get" || op === "local.set" || op === "local.tee") {
      body.push(
        { "local.get": 0x20, "local.set": 0x21, "local.tee": 0x22 }[op],
        ...uleb(local(imms[0]!)),
      );
    } else if (op === "call") {
      const callee = funcs.get(imms[0]!);
      if (callee === undefined) throw new SyntaxError(`unknown function ${imms[0]} in ${name}`);
      body.push(0x10, ...uleb(callee));
    } else if (op === "br" || op === "br_if") {
      body.push(op === "br" ? 0x0c : 0x0d, ...uleb(depth(imms[0]!)));
    } else if (op === "i32.const") {
      body.push(0x41, ...sleb(Number(imms[0])));
    } else if (op === "f32.const") {
      body.push(0x43, ...new Uint8Array(Float32Array.of(Number(imms[0])).buffer));
    } else if (op === "f64.const") {
      body.push(0x44, ...new Uint8Array(Float64Array.of(Number(imms[0])).buffer));
    } else if (op === "v128.const") {
      const [shape, ...vals] = imms;
      const bytes = shape === "i32x4"
        ? new Uint8Array(Int32Array.from(vals.map(Number)).buffer)
        : shape === "f32x4"
        ? new Uint8Array(Float32Array.from(vals.map(Number)).buffer)
        : undefined;
      if (!bytes || bytes.length !== 16) throw new SyntaxError(`bad v128.const in ${name}`);
      body.push(0xfd, 0x0c, ...bytes);
    } else if (op === "i8x16.shuffle") {
      // (i8x16.shuffle l0 … l15 (a) (b)): byte l of the result is byte l_l of a ++ b
      if (imms.length !== 16) throw new SyntaxError(`i8x16.shuffle needs 16 lanes in ${name}`);
      body.push(0xfd, 0x0d, ...imms.map(Number));
    } else if (MEMORY[op]) {
      const [code, align] = MEMORY[op];
      const offset = Number(imms.find((s) => s.startsWith("offset="))?.slice(7) ?? 0);
      body.push(...code, ...uleb(align), ...uleb(offset));
    } else if (LANE[op]) {
      body.push(...LANE[op], Number(imms[0]));
    } else if (SIMPLE[op]) {
      body.push(...SIMPLE[op]);
    } else {
      throw new SyntaxError(`unknown instruction ${op} in ${name}`);
    }
  };
  for (const n of rest) emit(n);
  body.push(0x0b);
  return { name, params, locals, body };
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * Assembles the `(func …)` forms of `text` into a module that imports its memory as
 * `env.memory` (shared, up to 4 GiB, when `shared`) and exports every function by name.
 */
export function _assemble(text: string, shared: boolean): Uint8Array {
  const forms = parse(text).map((n) => {
    if (!Array.isArray(n) || n[0] !== "func") throw new SyntaxError("expected (func …) forms");
    return n;
  });
  // functions are numbered in order (the module imports none), so `call` can name any
  const index = new Map(forms.map((n, i) => [n[1] as string, i]));
  const funcs = forms.map((n) => compileFunc(n, index));
  const arities = [...new Set(funcs.map((f) => f.params))];
  const types = arities.map((p) => [0x60, ...uleb(p), ...Array(p).fill(0x7f), 0x00]);
  const limits = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const imports = vec([[...str("env"), ...str("memory"), 0x02, ...limits]]);
  const code = funcs.map((f) => {
    const groups: number[][] = [];
    for (const t of f.locals) {
      const last = groups.at(-1);
      if (last && last[1] === t) last[0]!++;
      else groups.push([1, t]);
    }
    const entry = [
      ...uleb(groups.length),
      ...groups.flatMap(([n, t]) => [...uleb(n!), t!]),
      ...f.body,
    ];
    return [...uleb(entry.length), ...entry];
  });
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(funcs.map((f) => uleb(arities.indexOf(f.params))))),
    ...section(7, vec(funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

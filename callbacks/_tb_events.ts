// TensorBoard event files, written by hand: the few protobuf messages involved (Event,
// Summary, Summary.Value, HistogramProto; field numbers from tensorflow/tensorboard's
// event.proto, summary.proto and histogram.proto) and TFRecord framing (length, masked
// CRC-32C of the length, data, masked CRC-32C of the data). No dependency: the encoder is
// five field types, smaller than loading a protobuf library for it.
import { _maskedCrc32c } from "./_checksums.ts";

/** A histogram as TensorBoard's HistogramProto holds it. */
export interface _Histogram {
  readonly min: number;
  readonly max: number;
  readonly num: number;
  readonly sum: number;
  readonly sumSquares: number;
  /** Upper edge of each bucket. */
  readonly bucketLimit: readonly number[];
  /** Count of each bucket. */
  readonly bucket: readonly number[];
}

/** One Summary.Value: a scalar (`simple_value`, float32) or a histogram. */
export type _Value =
  | { readonly tag: string; readonly simpleValue: number }
  | { readonly tag: string; readonly histo: _Histogram };

/** An Event: a file version, or a summary of values. */
export interface _Event {
  readonly wallTime: number;
  readonly step: number;
  readonly fileVersion?: string;
  readonly values?: readonly _Value[];
}

const encoder = new TextEncoder();

function _varint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function _key(out: number[], field: number, wire: number): void {
  _varint(out, field * 8 + wire);
}

function _double(out: number[], field: number, v: number): void {
  _key(out, field, 1);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  out.push(...b);
}

function _float(out: number[], field: number, v: number): void {
  _key(out, field, 5);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  out.push(...b);
}

function _bytes(out: number[], field: number, bytes: ArrayLike<number>): void {
  _key(out, field, 2);
  _varint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
}

function _packedDoubles(out: number[], field: number, values: readonly number[]): void {
  const b = new Uint8Array(8 * values.length);
  const view = new DataView(b.buffer);
  values.forEach((v, i) => view.setFloat64(8 * i, v, true));
  _bytes(out, field, b);
}

function _histogram(h: _Histogram): number[] {
  const out: number[] = [];
  _double(out, 1, h.min);
  _double(out, 2, h.max);
  _double(out, 3, h.num);
  _double(out, 4, h.sum);
  _double(out, 5, h.sumSquares);
  _packedDoubles(out, 6, h.bucketLimit);
  _packedDoubles(out, 7, h.bucket);
  return out;
}

function _value(v: _Value): number[] {
  const out: number[] = [];
  _bytes(out, 1, encoder.encode(v.tag));
  if ("simpleValue" in v) _float(out, 2, v.simpleValue);
  else _bytes(out, 5, _histogram(v.histo));
  return out;
}

/** The serialised Event message. */
export function _eventBytes(e: _Event): Uint8Array {
  const out: number[] = [];
  _double(out, 1, e.wallTime);
  if (e.step !== 0) {
    _key(out, 2, 0);
    _varint(out, e.step);
  }
  if (e.fileVersion !== undefined) _bytes(out, 3, encoder.encode(e.fileVersion));
  if (e.values) {
    const summary: number[] = [];
    for (const v of e.values) _bytes(summary, 1, _value(v));
    _bytes(out, 5, summary);
  }
  return Uint8Array.from(out);
}

/** One TFRecord: length (uint64 LE), its masked CRC-32C, the data, the data's masked CRC-32C. */
export function _tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length, true); // high 32 bits stay 0: records are small
  view.setUint32(8, _maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, _maskedCrc32c(data), true);
  return out;
}

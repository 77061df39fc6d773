// Table-driven CRC-32 (PNG, zlib: polynomial 0xEDB88320) and CRC-32C (Castagnoli,
// TFRecord: 0x82F63B78), both reflected, and Adler-32 (zlib).

function _table(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32 = _table(0xedb88320);
const CRC32C = _table(0x82f63b78);

function _crc(table: Uint32Array, bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 as PNG and zlib use it. */
export function _crc32(bytes: Uint8Array): number {
  return _crc(CRC32, bytes);
}

/** CRC-32C (Castagnoli). */
export function _crc32c(bytes: Uint8Array): number {
  return _crc(CRC32C, bytes);
}

/** TFRecord's masked CRC-32C: rotated right by 15 bits, plus 0xa282ead8. */
export function _maskedCrc32c(bytes: Uint8Array): number {
  const c = _crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** Adler-32 (zlib's trailer). */
export function _adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

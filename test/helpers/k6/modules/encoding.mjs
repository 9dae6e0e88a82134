// k6/encoding for the k6 shim (tests only): b64encode / b64decode with k6's four encodings.
// https://grafana.com/docs/k6/latest/javascript-api/k6-encoding/
import { Buffer } from 'node:buffer';

const ALPHABETS = {
  std: { chars: /^[A-Za-z0-9+/]*={0,2}$/, padded: true, node: 'base64' },
  rawstd: { chars: /^[A-Za-z0-9+/]*$/, padded: false, node: 'base64' },
  url: { chars: /^[A-Za-z0-9_-]*={0,2}$/, padded: true, node: 'base64url' },
  rawurl: { chars: /^[A-Za-z0-9_-]*$/, padded: false, node: 'base64url' },
};

const alphabet = (encoding) => {
  const a = ALPHABETS[encoding ?? 'std'];
  if (!a) throw new Error(`unknown base64 encoding ${JSON.stringify(encoding)}`);
  return a;
};

const bytesOf = (input) =>
  typeof input === 'string'
    ? Buffer.from(input, 'utf8')
    : input instanceof ArrayBuffer
      ? Buffer.from(input)
      : ArrayBuffer.isView(input)
        ? Buffer.from(input.buffer, input.byteOffset, input.byteLength)
        : (() => {
            throw new Error('b64encode: input must be a string or an ArrayBuffer');
          })();

/** b64encode(input, [encoding]): a string. */
export const b64encode = (input, encoding) => {
  const a = alphabet(encoding);
  const out = bytesOf(input).toString(a.node).replace(/=+$/, '');
  return a.padded ? out + '='.repeat((4 - (out.length % 4)) % 4) : out;
};

/** b64decode(input, [encoding], [format]): an ArrayBuffer, or a string with format "s". */
export const b64decode = (input, encoding, format) => {
  const a = alphabet(encoding);
  const text = String(input);
  // Go's decoders refuse characters outside the alphabet, and padding where there must be none.
  if (!a.chars.test(text) || (a.padded && text.length % 4 !== 0) || (!a.padded && text.length % 4 === 1)) {
    throw new Error(`illegal base64 data at input byte ${text.length}`);
  }
  const bytes = Buffer.from(text, a.node);
  if (format === 's') return bytes.toString('utf8');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
};

export default { b64encode, b64decode };

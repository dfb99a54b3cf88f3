/**
 * A JSON reader for bodies the gateway judges and then forwards unchanged (AWS JSON protocols): it
 * accepts only documents every JSON parser reads the same way, so what policy sees is what the
 * service executes. Refused: invalid UTF-8 (a decoder could substitute or skip bytes), a byte-order
 * mark, and an object with two members whose names are equal or differ only in letter case
 * (`JSON.parse` keeps the last, other parsers the first or either; a case-insensitive binder either).
 * Everything else is RFC 8259: no comments, no trailing commas, no leading zeros, nesting bounded.
 */

export type StrictJsonValue = null | boolean | number | string | readonly StrictJsonValue[] | StrictJsonObject;
/** Members without a prototype: a member named `__proto__` is an ordinary key. */
export type StrictJsonObject = { readonly [key: string]: StrictJsonValue };

/** Why a body was refused (the message says where). */
export class StrictJsonError extends Error {
  constructor(
    message: string,
    /** Byte-independent position in the decoded text. */
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
    this.name = 'StrictJsonError';
  }
}

/** Far beyond what AWS accepts (DynamoDB nests 32 levels, each two JSON levels deep), and bounded. */
export const MAX_JSON_DEPTH = 256;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses `bytes` as one JSON document, or throws StrictJsonError. */
export function parseStrictJson(bytes: Uint8Array): StrictJsonValue {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new StrictJsonError('the body is not valid UTF-8', 0);
  }
  let at = 0;

  const fail = (message: string): never => {
    throw new StrictJsonError(message, at);
  };
  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else return;
    }
  };

  const readString = (): string => {
    // at is on the opening quote.
    at++;
    let out = '';
    let start = at;
    for (;;) {
      if (at >= text.length) fail('unterminated string');
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        out += text.slice(start, at);
        at++;
        return out;
      }
      if (c < 0x20) fail('control character in a string');
      if (c !== 0x5c) {
        at++;
        continue;
      }
      out += text.slice(start, at);
      const e = text[at + 1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(at + 2, at + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          at += 4;
          break;
        }
        default:
          fail('bad escape');
      }
      at += 2;
      start = at;
    }
  };

  const readValue = (depth: number): StrictJsonValue => {
    skipSpace();
    const c = text[at];
    if (c === '{') {
      if (depth >= MAX_JSON_DEPTH) fail('nested too deep');
      at++;
      const obj = Object.create(null) as Record<string, StrictJsonValue>;
      const folded = new Set<string>();
      skipSpace();
      if (text[at] === '}') {
        at++;
        return obj;
      }
      for (;;) {
        skipSpace();
        if (text[at] !== '"') fail('expected a member name');
        const nameAt = at;
        const name = readString();
        const key = name.toLowerCase();
        if (folded.has(key)) {
          at = nameAt;
          fail(`member "${name.slice(0, 64)}" is given twice (names are compared ignoring case)`);
        }
        folded.add(key);
        skipSpace();
        if (text[at] !== ':') fail('expected ":"');
        at++;
        obj[name] = readValue(depth + 1);
        skipSpace();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          return obj;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      if (depth >= MAX_JSON_DEPTH) fail('nested too deep');
      at++;
      const list: StrictJsonValue[] = [];
      skipSpace();
      if (text[at] === ']') {
        at++;
        return list;
      }
      for (;;) {
        list.push(readValue(depth + 1));
        skipSpace();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return list;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return readString();
    if (text.startsWith('true', at)) {
      at += 4;
      return true;
    }
    if (text.startsWith('false', at)) {
      at += 5;
      return false;
    }
    if (text.startsWith('null', at)) {
      at += 4;
      return null;
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (m === null || m[0] === '' || m[0] === '-') fail('unexpected character');
    at += m![0].length;
    return Number(m![0]);
  };

  const value = readValue(0);
  skipSpace();
  if (at !== text.length) fail('content after the JSON value');
  return value;
}

export function isJsonObject(v: StrictJsonValue | undefined): v is StrictJsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// A tiny JSON scanner over linear memory: enough to read the fields a
// policy needs and to skip everything else, with no allocation (this module
// runs on AssemblyScript's stub runtime, which hardly ever frees).
//
// The scanner is a cursor in module globals: `pos` walks towards `end`, and
// `bad` records malformed input. Strings are read as their raw bytes
// between the quotes (`strStart`, `strLen`): escapes are not decoded, which
// is fine for comparing the plain ASCII names of the ABI, since the host
// never escapes letters or digits.

export let pos: usize = 0;
export let end: usize = 0;
export let bad = false;

/** Bytes of the last string read. */
export let strStart: usize = 0;
export let strLen: i32 = 0;

export function reset(ptr: usize, len: usize): void {
  pos = ptr;
  end = ptr + len;
  bad = false;
}

function ws(): void {
  while (pos < end) {
    const c = load<u8>(pos);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    pos++;
  }
}

/** The next byte after white space, not consumed; 0 at the end. */
export function peek(): u8 {
  ws();
  return pos < end ? load<u8>(pos) : 0;
}

/** Consumes c if it comes next. */
export function eat(c: u8): bool {
  if (peek() != c) return false;
  pos++;
  return true;
}

export function expect(c: u8): void {
  if (!eat(c)) bad = true;
}

/** Reads a string into strStart/strLen. A backslash always skips the byte
 *  after it, so \" does not end the string. */
export function str(): void {
  strLen = 0;
  if (!eat(0x22)) {
    bad = true;
    return;
  }
  const start = pos;
  while (pos < end) {
    const c = load<u8>(pos);
    if (c == 0x22) {
      strStart = start;
      strLen = <i32>(pos - start);
      pos++;
      return;
    }
    pos += c == 0x5c ? 2 : 1;
  }
  bad = true;
}

/** Whether the last string read equals the ASCII literal s. */
export function strIs(s: string): bool {
  if (strLen != s.length) return false;
  for (let i = 0; i < strLen; i++) {
    if (<i32>load<u8>(strStart + i) != s.charCodeAt(i)) return false;
  }
  return true;
}

/** Reads an integer of at most 18 digits, the shape of every integer the
 *  host writes; a fraction, an exponent or a longer number is refused. */
export function int(): i64 {
  const neg = eat(0x2d);
  const start = pos;
  let v: i64 = 0;
  while (pos < end && pos - start < 18) {
    const c = load<u8>(pos);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + <i64>(c - 0x30);
    pos++;
  }
  const next = pos < end ? load<u8>(pos) : 0;
  if (pos == start || next == 0x2e || next == 0x65 || next == 0x45 || (next >= 0x30 && next <= 0x39)) bad = true;
  return neg ? -v : v;
}

/** Consumes null if it comes next. */
export function isNull(): bool {
  if (peek() != 0x6e || pos + 4 > end) return false;
  if (load<u32>(pos) != 0x6c6c756e) return false; // "null", little-endian
  pos += 4;
  return true;
}

/** Skips one value of any type. No recursion: it counts brackets, and skips
 *  strings whole, since they may hold brackets. */
export function skip(): void {
  let depth = 0;
  do {
    const c = peek();
    if (c == 0 || bad) {
      bad = true;
      return;
    }
    if (c == 0x22) {
      str();
    } else if (c == 0x7b || c == 0x5b) {
      depth++;
      pos++;
    } else if (c == 0x7d || c == 0x5d) {
      if (depth == 0) {
        bad = true;
        return;
      }
      depth--;
      pos++;
    } else if ((c == 0x2c || c == 0x3a) && depth > 0) {
      pos++;
    } else {
      // A number, true, false or null: up to the next delimiter.
      const start = pos;
      while (pos < end) {
        const d = load<u8>(pos);
        if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x3a || d == 0x20 || d == 0x09 || d == 0x0a || d == 0x0d) break;
        pos++;
      }
      if (pos == start) bad = true;
    }
  } while (depth > 0 && !bad);
}

/** Reads the next member's key (into strStart/strLen) and its colon;
 *  false at the closing brace or on malformed input. */
export function member(first: bool): bool {
  if (bad || eat(0x7d)) return false;
  if (!first) expect(0x2c);
  str();
  expect(0x3a);
  return !bad;
}

/** Whether another array element follows, consuming its comma. */
export function element(first: bool): bool {
  if (bad || eat(0x5d)) return false;
  if (!first) expect(0x2c);
  return !bad;
}

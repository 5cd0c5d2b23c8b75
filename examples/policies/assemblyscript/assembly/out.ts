// The decision writer. wahost_decide returns a pointer into this static
// buffer, which stays valid until the next call, as the ABI asks.
// AssemblyScript strings are UTF-16: `put` writes the ASCII literals this
// policy uses one byte per character.

const SIZE: i32 = 1024;
export const OUT: usize = memory.data(SIZE);
export let n: i32 = 0;
export let isError = false;

export function start(): void {
  n = 0;
  isError = false;
}

export function put(s: string): void {
  for (let i = 0; i < s.length && n < SIZE; i++) {
    store<u8>(OUT + n++, <u8>s.charCodeAt(i));
  }
}

export function byte(c: u8): void {
  if (n < SIZE) store<u8>(OUT + n++, c);
}

export function putBytes(ptr: usize, len: i32): void {
  for (let i = 0; i < len && n < SIZE; i++) {
    store<u8>(OUT + n++, load<u8>(ptr + i));
  }
}

export function int(v: i64): void {
  if (v < 0) put("-");
  // Digits of |v|, last first, then copied in order.
  const tmp = memory.data(20);
  let u: u64 = v < 0 ? <u64>(-v) : <u64>v;
  let i = 20;
  do {
    store<u8>(tmp + --i, <u8>(0x30 + u % 10));
    u /= 10;
  } while (u != 0);
  putBytes(tmp + i, 20 - i);
}

/** Starts an error message instead of a decision. */
export function error(msg: string): void {
  n = 0;
  isError = true;
  put(msg);
}

/** Writes a reconnect decision up to the opening quote of its reason; the
 *  caller writes the reason and calls finish. */
export function reconnect(delayMs: i64, step: i64, rule: string): void {
  put('{"v":1,"action":"reconnect","delay_ms":');
  int(delayMs);
  put(',"step":');
  int(step);
  put(',"rule":"');
  put(rule);
  put('","reason":"');
}

/** Writes a logout decision up to the opening quote of its reason.
 *  cleanup is a JSON array of scopes; end is closed, qr_limit or conflict. */
export function logout(cleanup: string, end: string, rule: string): void {
  put('{"v":1,"action":"logout","cleanup":');
  put(cleanup);
  put(',"end":"');
  put(end);
  put('","rule":"');
  put(rule);
  put('","reason":"');
}

/** Ends the reason (ASCII without quotes or backslashes) and the document. */
/** Writes a keep decision (ABI 1.2, for a degraded event only) up to the
 *  opening quote of its reason. */
export function keep(rule: string): void {
  put('{"v":1,"action":"keep","rule":"');
  put(rule);
  put('","reason":"');
}

export function finish(reasonTail: string): void {
  put(reasonTail);
  put('"}');
}

// The "office hours" wahost disconnect policy in AssemblyScript, on the stub
// runtime with no dependencies: a JSON scanner (json.ts) and a decision
// writer (out.ts) over static buffers. It is the same policy, with the same
// arithmetic, as the Go, Rust and C versions beside it;
// examples/policies/README.md lists the rules and the settings.
import * as json from "./json";
import * as out from "./out";

// ---- the ABI exports (abi/SPEC.md section 2) ----

/** (major << 16) | minor: ABI 1.0. */
export function wahost_abi_version(): i32 {
  return (1 << 16) | 2; // ABI 1.2
}

let inBuf: usize = 0;
let inCap: usize = 0;

/** A buffer of at least size bytes for the host to write the input into.
 *  It comes from the runtime's heap and is kept across calls. */
export function wahost_alloc(size: i32): usize {
  if (size < 0) return 0;
  if (<usize>size > inCap) {
    if (inBuf != 0) heap.free(inBuf);
    inCap = max<usize>(<usize>size, 4096);
    inBuf = heap.alloc(inCap);
  }
  return inBuf;
}

/** Decides the input at ptr and returns (out_ptr << 32) | out_len, with bit
 *  31 of out_len set when the output is an error message. */
export function wahost_decide(ptr: usize, len: i32): i64 {
  out.start();
  if (ptr != inBuf || len < 0 || <usize>len > inCap) {
    out.error("office-hours policy: the input must be written at the buffer wahost_alloc returned");
  } else {
    run(ptr, <usize>len);
  }
  const n = <u64>out.n | (out.isError ? 0x80000000 : 0);
  return <i64>((<u64>out.OUT << 32) | n);
}

// ---- the input fields this policy reads; everything else is skipped ----

let v: i64 = 0;
let nowMs: i64 = 0;
let seed: u32 = 0;
let attempt: i64 = 1;
let qrPhase = false;
let qrCount: i64 = 0;
let qrLimit: i64 = 0;
let kindQRLimit = false;
let kindQRTimeout = false;
let kindDegraded = false;
let code: i64 = 0;
let settingsPtr: usize = 0;
let settingsLen: usize = 0;

function parseInstance(): void {
  json.expect(0x7b);
  for (let first = true; json.member(first); first = false) {
    if (json.strIs("phase")) {
      json.str();
      qrPhase = json.strIs("qr") || json.strIs("pairing");
    } else if (json.strIs("qr_count")) qrCount = json.int();
    else if (json.strIs("qr_limit")) qrLimit = json.int();
    else json.skip();
  }
}

function parseEvent(): void {
  json.expect(0x7b);
  for (let first = true; json.member(first); first = false) {
    if (json.strIs("kind")) {
      json.str();
      kindQRLimit = json.strIs("qr_limit");
      kindQRTimeout = json.strIs("qr_timeout");
      kindDegraded = json.strIs("degraded");
    } else if (json.strIs("code")) code = json.int();
    else json.skip();
  }
}

function parse(ptr: usize, len: usize): void {
  v = 0; nowMs = 0; seed = 0; attempt = 1; qrPhase = false; qrCount = 0; qrLimit = 0;
  kindQRLimit = false; kindQRTimeout = false; kindDegraded = false; code = 0; settingsPtr = 0; settingsLen = 0;
  json.reset(ptr, len);
  json.expect(0x7b);
  for (let first = true; json.member(first); first = false) {
    if (json.strIs("v")) v = json.int();
    else if (json.strIs("now_ms")) nowMs = json.int();
    else if (json.strIs("jitter_seed")) seed = <u32>json.int();
    else if (json.strIs("attempt")) attempt = json.int();
    else if (json.strIs("instance")) parseInstance();
    else if (json.strIs("event")) parseEvent();
    else if (json.strIs("settings")) {
      json.peek();
      settingsPtr = json.pos;
      json.skip();
      settingsLen = json.pos - settingsPtr;
    } else json.skip(); // step, history, and fields of later versions
  }
  if (json.peek() != 0) json.bad = true;
}

// ---- settings ----

const MAX_LIST = 16;
const MAX_DELAY_MS: i64 = 7 * 86_400_000;

// The settings, read by readConfig for every decision; the defaults are
// there.
let tzOffsetMin: i64 = 0;
let openHour: i64 = 0;
let closeHour: i64 = 0;
const workdays = memory.data(8 * MAX_LIST);
let workdaysN: i32 = 0; // every entry read, also those past MAX_LIST
let dayDelayMs: i64 = 0;
let dayMaxDelayMs: i64 = 0;
let nightDelayMs: i64 = 0;
let nightMaxDelayMs: i64 = 0;
let maxAttempts: i64 = 0;
const escalation = memory.data(8 * MAX_LIST);
let escalationN: i32 = 0;
let jitterPct: i64 = 0;

/** Stores a default list of up to five entries and returns n. */
function setList(list: usize, a: i64, b: i64, c: i64, d: i64, e: i64, n: i32): i32 {
  store<i64>(list, a);
  store<i64>(list + 8, b);
  store<i64>(list + 16, c);
  store<i64>(list + 24, d);
  store<i64>(list + 32, e);
  return n;
}

/** Positions the scanner on the value of key in the settings; false when
 *  it is absent or null. The first of repeated keys counts. */
function lookup(key: string): bool {
  if (settingsLen == 0) return false;
  json.reset(settingsPtr, settingsLen);
  json.expect(0x7b);
  for (let first = true; json.member(first); first = false) {
    if (json.strIs(key)) return !json.isNull();
    json.skip();
  }
  return false;
}

// The first setting that cannot be read fails the decision; later ones are
// not read, so the error names the first in the table's order.
let settingFailed = false;

function settingError(key: string, what: string): void {
  out.error('office-hours policy: setting "');
  out.put(key);
  out.put('": ');
  out.put(what);
  settingFailed = true;
}

/** The integer setting key, or def when it is absent or null. */
function readInt(key: string, def: i64): i64 {
  if (settingFailed || !lookup(key)) return def;
  const val = json.int();
  if (json.bad) settingError(key, "not an integer");
  return val;
}

/** Reads the list setting key into list and returns its number of entries,
 *  counting those past MAX_LIST; def when the key is absent or null. */
function readList(key: string, list: usize, def: i32): i32 {
  if (settingFailed || !lookup(key)) return def;
  json.expect(0x5b);
  let n: i32 = 0;
  for (let first = true; json.element(first); first = false) {
    const val = json.int();
    if (n < MAX_LIST) store<i64>(list + 8 * n, val);
    n++;
  }
  if (json.bad) settingError(key, "not a list of integers");
  return n;
}

/** Whether the list has 1 to MAX_LIST entries, each in [lo, hi]. */
function within(list: usize, n: i32, lo: i64, hi: i64): bool {
  if (n == 0 || n > MAX_LIST) return false;
  for (let i = 0; i < n; i++) {
    const x = load<i64>(list + 8 * i);
    if (x < lo || x > hi) return false;
  }
  return true;
}

/** Reads the settings over the defaults and checks them; on the first
 *  problem it writes the error message and returns false. */
function readConfig(): bool {
  settingFailed = false;
  tzOffsetMin = readInt("tz_offset_min", 0);
  openHour = readInt("open_hour", 9);
  closeHour = readInt("close_hour", 18);
  workdaysN = readList("workdays", workdays, setList(workdays, 1, 2, 3, 4, 5, 5));
  dayDelayMs = readInt("day_delay_ms", 2_000);
  dayMaxDelayMs = readInt("day_max_delay_ms", 300_000);
  nightDelayMs = readInt("night_delay_ms", 30_000);
  nightMaxDelayMs = readInt("night_max_delay_ms", 1_800_000);
  maxAttempts = readInt("max_attempts", 6);
  escalationN = readList("escalation", escalation, setList(escalation, 1, 1, 2, 3, 0, 4));
  jitterPct = readInt("jitter_pct", 20);
  if (settingFailed) return false;

  let problem = "";
  if (tzOffsetMin < -840 || tzOffsetMin > 840) problem = 'setting "tz_offset_min": must be between -840 and 840';
  else if (openHour < 0 || openHour >= closeHour || closeHour > 24)
    problem = 'settings "open_hour" and "close_hour": want 0 <= open_hour < close_hour <= 24';
  else if (!within(workdays, workdaysN, 0, 6))
    problem = 'setting "workdays": want 1 to 16 days, each 0 (Sunday) to 6 (Saturday)';
  else if (dayDelayMs < 0 || dayDelayMs > MAX_DELAY_MS)
    problem = 'setting "day_delay_ms": must be between 0 and 604800000';
  else if (dayMaxDelayMs < 0 || dayMaxDelayMs > MAX_DELAY_MS)
    problem = 'setting "day_max_delay_ms": must be between 0 and 604800000';
  else if (nightDelayMs < 0 || nightDelayMs > MAX_DELAY_MS)
    problem = 'setting "night_delay_ms": must be between 0 and 604800000';
  else if (nightMaxDelayMs < 0 || nightMaxDelayMs > MAX_DELAY_MS)
    problem = 'setting "night_max_delay_ms": must be between 0 and 604800000';
  else if (maxAttempts < 1) problem = 'setting "max_attempts": must be at least 1';
  else if (!within(escalation, escalationN, 1, 4)) problem = 'setting "escalation": want 1 to 16 steps, each 1 to 4';
  else if (jitterPct < 0 || jitterPct > 100) problem = 'setting "jitter_pct": must be between 0 and 100';
  if (problem.length == 0) return true;
  out.error("office-hours policy: ");
  out.put(problem);
  return false;
}

// ---- the office's clock: UTC shifted by a fixed offset ----

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

let localMs: i64 = 0; // milliseconds since 1970-01-01 00:00 local
let weekday: i64 = 0; // 0 Sunday … 6 Saturday
let ofDay: i64 = 0; // milliseconds since local midnight

function floorDiv(a: i64, b: i64): i64 {
  let q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) q--;
  return q;
}

function setLocalTime(now: i64, offsetMin: i64): void {
  localMs = now + offsetMin * MINUTE_MS;
  const day = floorDiv(localMs, DAY_MS);
  const wd = day + 4; // 1970-01-01 was a Thursday
  weekday = wd - floorDiv(wd, 7) * 7;
  ofDay = localMs - day * DAY_MS;
}

/** Writes the local time as "Mon 15:04 local", a byte at a time: nothing
 *  is allocated (the stub runtime would never free it). */
function putWhen(): void {
  const days = "SunMonTueWedThuFriSat";
  const d = <i32>(3 * weekday);
  for (let i = d; i < d + 3; i++) out.byte(<u8>days.charCodeAt(i));
  const h = ofDay / HOUR_MS;
  const m = (ofDay / MINUTE_MS) % 60;
  out.byte(0x20);
  out.byte(<u8>(0x30 + h / 10));
  out.byte(<u8>(0x30 + h % 10));
  out.byte(0x3a);
  out.byte(<u8>(0x30 + m / 10));
  out.byte(<u8>(0x30 + m % 10));
  out.put(" local");
}

function isWorkday(d: i64): bool {
  for (let i = 0; i < workdaysN; i++) if (load<i64>(workdays + 8 * i) == d) return true;
  return false;
}

function isOpen(): bool {
  const h = ofDay / HOUR_MS;
  return isWorkday(weekday) && h >= openHour && h < closeHour;
}

/** The milliseconds to the next opening, less than a week away. */
function untilOpen(): i64 {
  const midnight = localMs - ofDay;
  for (let d: i64 = 0; d <= 7; d++) {
    const open = midnight + d * DAY_MS + openHour * HOUR_MS;
    if (isWorkday((weekday + d) % 7) && open > localMs) return open - localMs;
  }
  return 0;
}

// ---- jitter: SplitMix64, as abi/SPEC.md section 8 defines it ----

function jitter(seed: u32, salt: u32, n: i64): i64 {
  if (n <= 0) return 0;
  let z: u64 = ((<u64>seed << 32) | <u64>salt) + 0x9e3779b97f4a7c15;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  z ^= z >> 31;
  return <i64>(z % <u64>n);
}

// ---- the rules: the first that applies decides ----

const ALL = '["session","cache","files"]';

function run(ptr: usize, len: usize): void {
  parse(ptr, len);
  if (json.bad) {
    out.error("office-hours policy: malformed input near byte ");
    out.int(<i64>(json.pos - ptr));
    return;
  }
  if (v != 1) {
    out.error("office-hours policy: unsupported input version ");
    out.int(v);
    return;
  }
  if (readConfig()) decide();
}

function decide(): void {
  setLocalTime(nowMs, tzOffsetMin);
  const office = isOpen();

  if (kindDegraded) {
    // An open session whose traffic degraded (ABI 1.2): leave it be;
    // whatsmeow's retry receipts repair most of it.
    out.keep("degraded_keep");
    return out.finish("the session is open: keeping it");
  }
  if (kindQRLimit || (qrPhase && qrLimit > 0 && qrCount >= qrLimit)) {
    out.logout("[]", "qr_limit", "qr_limit");
    return out.finish("QR code limit reached, please login again");
  }
  if (code == 401 || code == 403) {
    out.logout(ALL, "closed", "unlinked");
    return out.finish("the device was unlinked: removing the session");
  }
  if (code == 411) {
    out.logout("[]", "conflict", "conflict");
    return out.finish("multi-device mismatch");
  }
  if (code == 402 || code == 406 || code == 405) {
    out.logout("[]", "closed", "fatal_code");
    out.put("reconnecting cannot fix code ");
    out.int(code);
    return out.finish("");
  }
  if (code == 500) {
    if (office) {
      // Someone is there to scan a new QR code: start over cleanly.
      out.logout(ALL, "closed", "bad_session");
      out.put("bad session: pair again (");
      putWhen();
      return out.finish(")");
    }
    // Nobody is there to scan: keep the keys and retry with a fresh
    // client, slowly, until the office opens.
    out.reconnect(nightMaxDelayMs, 4, "bad_session_after_hours");
    out.put("bad session after hours (");
    putWhen();
    return out.finish("): keeping the session until the office opens");
  }
  if (qrPhase && kindQRTimeout) {
    if (office) {
      out.reconnect(0, 1, "qr_refresh");
      return out.finish("QR codes ran out: fetching new ones");
    }
    // New codes now would expire unscanned: show them when the office opens.
    out.reconnect(untilOpen(), 1, "qr_wait_office");
    out.put("QR codes ran out after hours (");
    putWhen();
    return out.finish("): new ones when the office opens");
  }
  const a = max<i64>(attempt, 1);
  if (office && a > maxAttempts) {
    out.logout("[]", "closed", "max_attempts");
    out.put("gave up after ");
    out.int(maxAttempts);
    out.put(" attempts in office hours (");
    putWhen();
    return out.finish(")");
  }

  // Backoff: base × 2^(attempt-1) up to the ceiling, plus up to
  // jitter_pct % drawn from the seed.
  let delay = office ? dayDelayMs : nightDelayMs;
  const ceiling = office ? dayMaxDelayMs : nightMaxDelayMs;
  for (let i: i64 = 1; i < a && delay > 0 && delay < ceiling; i++) delay *= 2;
  delay = min<i64>(delay, ceiling);
  delay += jitter(seed, 0, (delay * jitterPct) / 100 + 1);
  let step = load<i64>(escalation + 8 * <usize>(min<i64>(a, <i64>escalationN) - 1));
  if (!office && step == 3) step = 4; // a reset deletes the keys and needs a QR scan: never after hours
  out.reconnect(min<i64>(delay, MAX_DELAY_MS), step, office ? "office_hours" : "after_hours");
  out.put("code ");
  out.int(code);
  out.put(", attempt ");
  out.int(a);
  out.put(" (");
  putWhen();
  out.finish(")");
}

//! The "office hours" wahost disconnect policy in Rust, with no crates and
//! no standard library: `#![no_std]`, a hand-written JSON scanner
//! (json.rs) and static buffers (abi.rs). It is the same policy, with the
//! same arithmetic, as the Go, C and AssemblyScript versions beside it;
//! examples/policies/README.md lists the rules and the settings.
//!
//! Build (examples/policies/build.sh does this):
//!
//! ```text
//! rustc --edition 2021 --crate-type cdylib --target wasm32-unknown-unknown \
//!     -C opt-level=s -C panic=abort -C lto -C codegen-units=1 -C strip=symbols \
//!     -C target-feature=+bulk-memory -C link-arg=-zstack-size=65536 \
//!     -o office-hours.wasm src/lib.rs
//! ```
//!
//! or, with the same flags from Cargo.toml and .cargo/config.toml:
//!
//! ```text
//! cargo build --release   # target/wasm32-unknown-unknown/release/wahost_policy_office_hours.wasm
//! ```
#![no_std]

mod abi;
mod json;

use abi::{jitter, Out};
use json::{lookup, Malformed, Scanner};

/// The input fields this policy reads; the rest are skipped.
struct Input<'a> {
    v: i64,
    now_ms: i64,
    seed: u32,
    attempt: i64,
    qr_phase: bool,
    qr_count: i64,
    qr_limit: i64,
    kind: &'a [u8],
    code: i64,
    settings: &'a [u8],
}

const MAX_LIST: usize = 16;
const MAX_DELAY_MS: i64 = 7 * DAY_MS;

/// A list setting: up to MAX_LIST entries are kept, and `n` counts every
/// entry read, so that a longer list is reported by `check`.
#[derive(Clone, Copy)]
struct List {
    v: [i64; MAX_LIST],
    n: usize,
}

impl List {
    fn of(items: &[i64]) -> List {
        let mut l = List { v: [0; MAX_LIST], n: items.len() };
        l.v[..items.len()].copy_from_slice(items);
        l
    }

    /// Whether the list has 1 to MAX_LIST entries, each in [lo, hi].
    fn within(&self, lo: i64, hi: i64) -> bool {
        self.n > 0 && self.n <= MAX_LIST && self.v[..self.n].iter().all(|&v| v >= lo && v <= hi)
    }
}

/// The settings, each with its default.
struct Config {
    tz_offset_min: i64,
    open_hour: i64,
    close_hour: i64,
    workdays: List,
    day_delay_ms: i64,
    day_max_delay_ms: i64,
    night_delay_ms: i64,
    night_max_delay_ms: i64,
    max_attempts: i64,
    escalation: List,
    jitter_pct: i64,
}

/// Writes "office-hours policy: setting "KEY": WHAT" as the error.
fn setting_error(out: &mut Out, key: &[u8], what: &[u8]) {
    out.error(b"office-hours policy: setting \"");
    out.put(key);
    out.put(b"\": ");
    out.put(what);
}

/// Reads the integer setting `key` into `dst` when it is set.
fn read_int(settings: &[u8], key: &str, dst: &mut i64, out: &mut Out) -> bool {
    let parsed = match lookup(settings, key.as_bytes()) {
        Ok(None) => return true,
        Ok(Some(mut s)) => s.int(),
        Err(e) => Err(e),
    };
    match parsed {
        Ok(v) => {
            *dst = v;
            true
        }
        Err(_) => {
            setting_error(out, key.as_bytes(), b"not an integer");
            false
        }
    }
}

/// Reads the list setting `key` into `dst` when it is set.
fn read_list(settings: &[u8], key: &str, dst: &mut List, out: &mut Out) -> bool {
    fn read(s: &mut Scanner, dst: &mut List) -> Result<(), Malformed> {
        s.open_array()?;
        dst.n = 0;
        let mut first = true;
        while s.element(first)? {
            first = false;
            let v = s.int()?;
            if dst.n < MAX_LIST {
                dst.v[dst.n] = v;
            }
            dst.n += 1;
        }
        Ok(())
    }
    let parsed = match lookup(settings, key.as_bytes()) {
        Ok(None) => return true,
        Ok(Some(mut s)) => read(&mut s, dst),
        Err(e) => Err(e),
    };
    if parsed.is_err() {
        setting_error(out, key.as_bytes(), b"not a list of integers");
        return false;
    }
    true
}

/// Reads the settings over the defaults and checks them; on the first
/// problem it writes the error message and returns None.
fn config(settings: &[u8], out: &mut Out) -> Option<Config> {
    let mut c = Config {
        tz_offset_min: 0,
        open_hour: 9,
        close_hour: 18,
        workdays: List::of(&[1, 2, 3, 4, 5]),
        day_delay_ms: 2_000,
        day_max_delay_ms: 300_000,
        night_delay_ms: 30_000,
        night_max_delay_ms: 1_800_000,
        max_attempts: 6,
        escalation: List::of(&[1, 1, 2, 3]),
        jitter_pct: 20,
    };
    let s = settings;
    let read = read_int(s, "tz_offset_min", &mut c.tz_offset_min, out)
        && read_int(s, "open_hour", &mut c.open_hour, out)
        && read_int(s, "close_hour", &mut c.close_hour, out)
        && read_list(s, "workdays", &mut c.workdays, out)
        && read_int(s, "day_delay_ms", &mut c.day_delay_ms, out)
        && read_int(s, "day_max_delay_ms", &mut c.day_max_delay_ms, out)
        && read_int(s, "night_delay_ms", &mut c.night_delay_ms, out)
        && read_int(s, "night_max_delay_ms", &mut c.night_max_delay_ms, out)
        && read_int(s, "max_attempts", &mut c.max_attempts, out)
        && read_list(s, "escalation", &mut c.escalation, out)
        && read_int(s, "jitter_pct", &mut c.jitter_pct, out);
    if !read {
        return None;
    }
    let problem: &[u8] = if c.tz_offset_min < -840 || c.tz_offset_min > 840 {
        br#"setting "tz_offset_min": must be between -840 and 840"#
    } else if c.open_hour < 0 || c.open_hour >= c.close_hour || c.close_hour > 24 {
        br#"settings "open_hour" and "close_hour": want 0 <= open_hour < close_hour <= 24"#
    } else if !c.workdays.within(0, 6) {
        br#"setting "workdays": want 1 to 16 days, each 0 (Sunday) to 6 (Saturday)"#
    } else if !(0..=MAX_DELAY_MS).contains(&c.day_delay_ms) {
        br#"setting "day_delay_ms": must be between 0 and 604800000"#
    } else if !(0..=MAX_DELAY_MS).contains(&c.day_max_delay_ms) {
        br#"setting "day_max_delay_ms": must be between 0 and 604800000"#
    } else if !(0..=MAX_DELAY_MS).contains(&c.night_delay_ms) {
        br#"setting "night_delay_ms": must be between 0 and 604800000"#
    } else if !(0..=MAX_DELAY_MS).contains(&c.night_max_delay_ms) {
        br#"setting "night_max_delay_ms": must be between 0 and 604800000"#
    } else if c.max_attempts < 1 {
        br#"setting "max_attempts": must be at least 1"#
    } else if !c.escalation.within(1, 4) {
        br#"setting "escalation": want 1 to 16 steps, each 1 to 4"#
    } else if c.jitter_pct < 0 || c.jitter_pct > 100 {
        br#"setting "jitter_pct": must be between 0 and 100"#
    } else {
        return Some(c);
    };
    out.error(b"office-hours policy: ");
    out.put(problem);
    None
}

// ---- the office's clock: UTC shifted by a fixed offset ----

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A moment on the office's wall clock.
#[derive(Clone, Copy)]
struct LocalTime {
    ms: i64,      // milliseconds since 1970-01-01 00:00 local
    weekday: i64, // 0 Sunday … 6 Saturday
    of_day: i64,  // milliseconds since local midnight
}

fn local_at(now_ms: i64, offset_min: i64) -> LocalTime {
    let ms = now_ms.wrapping_add(offset_min * MINUTE_MS);
    let day = ms.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday.
    LocalTime { ms, weekday: (day + 4).rem_euclid(7), of_day: ms - day * DAY_MS }
}

/// Writes t as "Mon 15:04 local".
fn put_when(out: &mut Out, t: LocalTime) {
    const DAYS: &[u8] = b"SunMonTueWedThuFriSat";
    let (h, m) = (t.of_day / HOUR_MS, t.of_day / MINUTE_MS % 60);
    let d = (3 * t.weekday) as usize;
    out.put(&DAYS[d..d + 3]);
    let digit = |v: i64| b'0' + v as u8;
    out.put(&[b' ', digit(h / 10), digit(h % 10), b':', digit(m / 10), digit(m % 10)]);
    out.put(b" local");
}

impl Config {
    fn is_workday(&self, d: i64) -> bool {
        self.workdays.v[..self.workdays.n].contains(&d)
    }

    fn is_open(&self, t: LocalTime) -> bool {
        let h = t.of_day / HOUR_MS;
        self.is_workday(t.weekday) && h >= self.open_hour && h < self.close_hour
    }

    /// The milliseconds from t to the next opening, less than a week away.
    fn until_open(&self, t: LocalTime) -> i64 {
        let midnight = t.ms - t.of_day;
        for d in 0..=7 {
            let open = midnight + d * DAY_MS + self.open_hour * HOUR_MS;
            if self.is_workday((t.weekday + d) % 7) && open > t.ms {
                return open - t.ms;
            }
        }
        0
    }
}

// ---- the rules: the first that applies decides ----

const ALL: &[u8] = br#"["session","cache","files"]"#;

fn decide(input: &Input, c: &Config, out: &mut Out) {
    let now = local_at(input.now_ms, c.tz_offset_min);
    let office = c.is_open(now);
    let code = input.code;

    if input.kind == b"degraded" {
        // An open session whose traffic degraded (ABI 1.2): leave it be;
        // whatsmeow's retry receipts repair most of it.
        out.keep(b"degraded_keep");
        return out.finish(b"the session is open: keeping it");
    }
    if input.kind == b"qr_limit" || (input.qr_phase && input.qr_limit > 0 && input.qr_count >= input.qr_limit) {
        out.logout(b"[]", b"qr_limit", b"qr_limit");
        return out.finish(b"QR code limit reached, please login again");
    }
    match code {
        401 | 403 => {
            out.logout(ALL, b"closed", b"unlinked");
            return out.finish(b"the device was unlinked: removing the session");
        }
        411 => {
            out.logout(b"[]", b"conflict", b"conflict");
            return out.finish(b"multi-device mismatch");
        }
        402 | 406 | 405 => {
            out.logout(b"[]", b"closed", b"fatal_code");
            out.put(b"reconnecting cannot fix code ");
            out.int(code);
            return out.finish(b"");
        }
        500 if office => {
            // Someone is there to scan a new QR code: start over cleanly.
            out.logout(ALL, b"closed", b"bad_session");
            out.put(b"bad session: pair again (");
            put_when(out, now);
            return out.finish(b")");
        }
        500 => {
            // Nobody is there to scan: keep the keys and retry with a
            // fresh client, slowly, until the office opens.
            out.reconnect(c.night_max_delay_ms, 4, b"bad_session_after_hours");
            out.put(b"bad session after hours (");
            put_when(out, now);
            return out.finish(b"): keeping the session until the office opens");
        }
        _ => {}
    }
    if input.qr_phase && input.kind == b"qr_timeout" {
        if office {
            out.reconnect(0, 1, b"qr_refresh");
            return out.finish(b"QR codes ran out: fetching new ones");
        }
        // New codes now would expire unscanned: show them when the office opens.
        out.reconnect(c.until_open(now), 1, b"qr_wait_office");
        out.put(b"QR codes ran out after hours (");
        put_when(out, now);
        return out.finish(b"): new ones when the office opens");
    }
    let attempt = input.attempt.max(1);
    if office && attempt > c.max_attempts {
        out.logout(b"[]", b"closed", b"max_attempts");
        out.put(b"gave up after ");
        out.int(c.max_attempts);
        out.put(b" attempts in office hours (");
        put_when(out, now);
        return out.finish(b")");
    }

    // Backoff: base × 2^(attempt-1) up to the ceiling, plus up to
    // jitter_pct % drawn from the seed.
    let (mut delay, ceiling) = if office { (c.day_delay_ms, c.day_max_delay_ms) } else { (c.night_delay_ms, c.night_max_delay_ms) };
    let mut i = 1;
    while i < attempt && delay > 0 && delay < ceiling {
        delay *= 2;
        i += 1;
    }
    delay = delay.min(ceiling);
    delay += jitter(input.seed, 0, delay * c.jitter_pct / 100 + 1);
    let mut step = c.escalation.v[(attempt.min(c.escalation.n as i64) - 1) as usize];
    if !office && step == 3 {
        step = 4; // a reset deletes the keys and needs a QR scan: never after hours
    }
    out.reconnect(delay.min(MAX_DELAY_MS), step, if office { b"office_hours" } else { b"after_hours" });
    out.put(b"code ");
    out.int(code);
    out.put(b", attempt ");
    out.int(attempt);
    out.put(b" (");
    put_when(out, now);
    out.finish(b")");
}

// ---- reading the input ----

fn parse(b: &[u8]) -> Result<Input, Malformed> {
    let mut input = Input {
        v: 0,
        now_ms: 0,
        seed: 0,
        attempt: 1,
        qr_phase: false,
        qr_count: 0,
        qr_limit: 0,
        kind: b"",
        code: 0,
        settings: b"{}",
    };
    let mut s = Scanner::new(b);
    s.open_object()?;
    let mut first = true;
    while let Some(key) = s.member(first)? {
        first = false;
        match key {
            b"v" => input.v = s.int()?,
            b"now_ms" => input.now_ms = s.int()?,
            b"jitter_seed" => input.seed = s.int()? as u32,
            b"attempt" => input.attempt = s.int()?,
            b"instance" => parse_object(&mut s, |s, k| {
                match k {
                    b"phase" => {
                        let phase = s.string()?;
                        input.qr_phase = phase == b"qr" || phase == b"pairing";
                    }
                    b"qr_count" => input.qr_count = s.int()?,
                    b"qr_limit" => input.qr_limit = s.int()?,
                    _ => s.skip()?,
                }
                Ok(())
            })?,
            b"event" => parse_object(&mut s, |s, k| {
                match k {
                    b"kind" => input.kind = s.string()?,
                    b"code" => input.code = s.int()?,
                    _ => s.skip()?,
                }
                Ok(())
            })?,
            b"settings" => {
                let start = s.peek_offset();
                s.skip()?;
                input.settings = &b[start..s.offset()];
            }
            _ => s.skip()?, // step, history, and fields of later versions
        }
    }
    s.end()?;
    Ok(input)
}

/// Reads an object, calling `field` with each key; `field` reads or skips
/// the value.
fn parse_object<'a, F>(s: &mut Scanner<'a>, mut field: F) -> Result<(), Malformed>
where
    F: FnMut(&mut Scanner<'a>, &'a [u8]) -> Result<(), Malformed>,
{
    s.open_object()?;
    let mut first = true;
    while let Some(key) = s.member(first)? {
        first = false;
        field(s, key)?;
    }
    Ok(())
}

/// Decides the input document in `b` and leaves the decision, or an error
/// message, in `out`.
fn run(b: &[u8], out: &mut Out) {
    let input = match parse(b) {
        Ok(input) if input.v == 1 => input,
        Ok(input) => {
            out.error(b"office-hours policy: unsupported input version ");
            return out.int(input.v);
        }
        Err(Malformed(at)) => {
            out.error(b"office-hours policy: malformed input near byte ");
            return out.int(at as i64);
        }
    };
    if let Some(c) = config(input.settings, out) {
        decide(&input, &c, out);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // A trap: the host discards the instance and uses its fallback.
    core::arch::wasm32::unreachable()
}

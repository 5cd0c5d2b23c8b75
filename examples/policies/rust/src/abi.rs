//! The wahost policy ABI v1 (abi/SPEC.md): the exported functions, the
//! buffers they hand to the host, the decision writer and the jitter
//! function.

use core::arch::wasm32;
use core::ptr::addr_of_mut;

/// `wahost_abi_version() -> i32`: (major << 16) | minor, here 1.2.
#[no_mangle]
pub extern "C" fn wahost_abi_version() -> i32 {
    1 << 16 | 2
}

/// Where the input buffer starts (0 until the first call) and how many
/// bytes it holds. The instance is single-threaded and calls never
/// overlap, so plain statics are enough.
static mut IN_BASE: usize = 0;
static mut IN_CAP: usize = 0;

/// `wahost_alloc(size i32) -> i32`. With no allocator in a `no_std`
/// crate, the buffer is the memory past the module's initial pages:
/// nothing else uses it. It grows (in 64 KiB pages) when an input does not
/// fit; if the host's memory cap refuses, the answer is 0.
#[no_mangle]
pub unsafe extern "C" fn wahost_alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    if IN_BASE == 0 {
        IN_BASE = wasm32::memory_size(0) * 65536;
    }
    let size = size as usize;
    if size > IN_CAP {
        let pages = (size - IN_CAP + 65535) / 65536;
        if wasm32::memory_grow(0, pages) == usize::MAX {
            return 0;
        }
        IN_CAP += pages * 65536;
    }
    IN_BASE as i32
}

/// `wahost_decide(ptr i32, len i32) -> i64`: returns (out_ptr << 32) |
/// out_len, with bit 31 of out_len set when the output is an error
/// message rather than a decision.
#[no_mangle]
pub unsafe extern "C" fn wahost_decide(ptr: i32, len: i32) -> i64 {
    let mut out = Out { n: 0, err: false };
    if IN_BASE == 0 || ptr as usize != IN_BASE || len < 0 || len as usize > IN_CAP {
        out.error(b"office-hours policy: the input must be written at the buffer wahost_alloc returned");
    } else {
        let input = core::slice::from_raw_parts(ptr as usize as *const u8, len as usize);
        crate::run(input, &mut out);
    }
    let n = out.n as u64 | if out.err { 1 << 31 } else { 0 };
    ((addr_of_mut!(OUT) as u64) << 32 | n) as i64
}

/// The output buffer: it must stay valid after wahost_decide returns, so
/// it is static. Decisions here are far below its size; `put` drops what
/// does not fit rather than overflow.
const OUT_SIZE: usize = 1024;
static mut OUT: [u8; OUT_SIZE] = [0; OUT_SIZE];

/// Writes a decision or an error message into OUT.
pub struct Out {
    n: usize,
    err: bool,
}

impl Out {
    /// Appends b, dropping what does not fit.
    pub fn put(&mut self, b: &[u8]) {
        let k = b.len().min(OUT_SIZE - self.n);
        // SAFETY: the instance is single-threaded and OUT is only written
        // here, through a raw pointer (no reference to the static is made).
        unsafe {
            let dst = (addr_of_mut!(OUT) as *mut u8).add(self.n);
            core::ptr::copy_nonoverlapping(b.as_ptr(), dst, k);
        }
        self.n += k;
    }

    /// Appends v in decimal.
    pub fn int(&mut self, v: i64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        let mut u = v.unsigned_abs();
        loop {
            i -= 1;
            tmp[i] = b'0' + (u % 10) as u8;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if v < 0 {
            self.put(b"-");
        }
        self.put(&tmp[i..]);
    }

    /// Starts an error message instead of a decision.
    pub fn error(&mut self, msg: &[u8]) {
        self.n = 0;
        self.err = true;
        self.put(msg);
    }

    /// Writes a reconnect decision up to the opening quote of its reason;
    /// the caller writes the reason and calls `finish`.
    pub fn reconnect(&mut self, delay_ms: i64, step: i64, rule: &[u8]) {
        self.put(br#"{"v":1,"action":"reconnect","delay_ms":"#);
        self.int(delay_ms);
        self.put(br#","step":"#);
        self.int(step);
        self.rule(rule);
    }

    /// Writes a logout decision up to the opening quote of its reason.
    /// `cleanup` is a JSON array of scopes, `end` one of closed, qr_limit,
    /// conflict.
    pub fn logout(&mut self, cleanup: &[u8], end: &[u8], rule: &[u8]) {
        self.put(br#"{"v":1,"action":"logout","cleanup":"#);
        self.put(cleanup);
        self.put(br#","end":""#);
        self.put(end);
        self.put(b"\"");
        self.rule(rule);
    }

    /// Writes a keep decision (ABI 1.2, for a degraded event only) up to
    /// the opening quote of its reason.
    pub fn keep(&mut self, rule: &[u8]) {
        self.put(br#"{"v":1,"action":"keep""#);
        self.rule(rule);
    }

    fn rule(&mut self, rule: &[u8]) {
        self.put(br#","rule":""#);
        self.put(rule);
        self.put(br#"","reason":""#);
    }

    /// Ends the reason (plain ASCII without quotes or backslashes) and the
    /// document.
    pub fn finish(&mut self, reason_tail: &[u8]) {
        self.put(reason_tail);
        self.put(b"\"}");
    }
}

/// A number in [0, n) from the input's jitter seed: SplitMix64, exactly as
/// abi/SPEC.md section 8 defines it, so a replayed input gets the same
/// delay.
pub fn jitter(seed: u32, salt: u32, n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let mut z = ((seed as u64) << 32 | salt as u64).wrapping_add(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^= z >> 31;
    (z % n as u64) as i64
}

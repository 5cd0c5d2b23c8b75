//! A tiny JSON scanner: enough to read the fields a policy needs from the
//! input document and to skip everything else, without allocating.
//!
//! It walks the bytes once. Objects are read member by member with
//! [`Scanner::member`]; a value the policy does not want is passed over
//! with [`Scanner::skip`], which copes with any nesting and with escapes
//! in strings. Strings come back as their raw bytes between the quotes:
//! escapes are not decoded, which is fine for comparing the plain ASCII
//! names of the ABI (the host never escapes letters or digits).

/// A malformed document; the offset is where reading stopped.
pub struct Malformed(pub usize);

pub type Result<T> = core::result::Result<T, Malformed>;

pub struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Scanner { b, pos: 0 }
    }

    fn fail<T>(&self) -> Result<T> {
        Err(Malformed(self.pos))
    }

    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// The next byte after white space, not consumed.
    pub fn peek(&mut self) -> u8 {
        self.ws();
        if self.pos < self.b.len() {
            self.b[self.pos]
        } else {
            0
        }
    }

    /// The offset of the next byte after white space.
    pub fn peek_offset(&mut self) -> usize {
        self.ws();
        self.pos
    }

    /// The offset of the next byte.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == c {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.fail()
        }
    }

    /// Starts reading an object: call before the first `member`.
    pub fn open_object(&mut self) -> Result<()> {
        self.expect(b'{')
    }

    /// Reads the next member's key and colon, or returns None at the
    /// closing brace. `first` is true for the first member.
    pub fn member(&mut self, first: bool) -> Result<Option<&'a [u8]>> {
        if self.eat(b'}') {
            return Ok(None);
        }
        if !first {
            self.expect(b',')?;
        }
        let key = self.string()?;
        self.expect(b':')?;
        Ok(Some(key))
    }

    /// Starts reading an array: call before the first `element`.
    pub fn open_array(&mut self) -> Result<()> {
        self.expect(b'[')
    }

    /// Reports whether another element follows, consuming its comma.
    pub fn element(&mut self, first: bool) -> Result<bool> {
        if self.eat(b']') {
            return Ok(false);
        }
        if !first {
            self.expect(b',')?;
        }
        Ok(true)
    }

    /// Reads a string's raw bytes. A backslash always escapes the byte
    /// after it, so `\"` does not end the string.
    pub fn string(&mut self) -> Result<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        while self.pos < self.b.len() {
            match self.b[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(&self.b[start..self.pos - 1]);
                }
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        self.fail()
    }

    /// Reads an integer of at most 18 digits, the shape of every integer
    /// the host writes. A fraction, an exponent or a longer number is
    /// refused.
    pub fn int(&mut self) -> Result<i64> {
        let neg = self.eat(b'-');
        let start = self.pos;
        let mut v: i64 = 0;
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_digit() && self.pos - start < 18 {
            v = v * 10 + (self.b[self.pos] - b'0') as i64;
            self.pos += 1;
        }
        let next = if self.pos < self.b.len() { self.b[self.pos] } else { 0 };
        if self.pos == start || matches!(next, b'.' | b'e' | b'E' | b'0'..=b'9') {
            return self.fail();
        }
        Ok(if neg { -v } else { v })
    }

    /// Reads null, returning true, or leaves anything else alone.
    pub fn null(&mut self) -> bool {
        if self.peek() == b'n' && self.b[self.pos..].starts_with(b"null") {
            self.pos += 4;
            return true;
        }
        false
    }

    /// Skips one value of any type. It needs no recursion: it counts
    /// brackets, and skips strings whole, since they may hold brackets.
    pub fn skip(&mut self) -> Result<()> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                0 => return self.fail(),
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    if depth == 0 {
                        return self.fail();
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                b',' | b':' if depth > 0 => self.pos += 1,
                _ => {
                    // A number, true, false or null: up to the next delimiter.
                    let start = self.pos;
                    while self.pos < self.b.len() && !matches!(self.b[self.pos], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b':') {
                        self.pos += 1;
                    }
                    if self.pos == start {
                        return self.fail();
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// Fails unless only white space is left.
    pub fn end(&mut self) -> Result<()> {
        if self.peek() == 0 && self.pos >= self.b.len() {
            Ok(())
        } else {
            self.fail()
        }
    }
}

/// Positions a scanner on the value of `key` at the top level of the
/// settings object, or returns None when the key is absent or null. The
/// first of repeated keys counts.
pub fn lookup<'a>(settings: &'a [u8], key: &[u8]) -> Result<Option<Scanner<'a>>> {
    let mut s = Scanner::new(settings);
    s.open_object()?;
    let mut first = true;
    while let Some(k) = s.member(first)? {
        first = false;
        if k == key {
            return Ok(if s.null() { None } else { Some(s) });
        }
        s.skip()?;
    }
    Ok(None)
}

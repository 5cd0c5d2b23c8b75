/*
 * A JSON scanner that reads what a policy needs and skips the rest: no
 * allocation, no recursion, no libc.
 *
 * Strings come back as their raw bytes between the quotes: escapes are not
 * decoded, which is fine for comparing the plain ASCII names of the ABI (the
 * host never escapes letters, digits or '_'). On malformed input the scanner
 * sets `bad`, and every later read returns 0.
 */
#ifndef WAHOST_JSON_H
#define WAHOST_JSON_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;

typedef struct {
	const u8 *p, *end;
	int bad;
} scan;

static void ws(scan *s) {
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* peek returns the next byte after white space, or 0 at the end. */
static u8 peek(scan *s) {
	ws(s);
	return s->p < s->end ? *s->p : 0;
}

/* eat consumes c if it comes next and reports whether it did. */
static int eat(scan *s, u8 c) {
	if (s->bad || peek(s) != c)
		return 0;
	s->p++;
	return 1;
}

static void expect(scan *s, u8 c) {
	if (!eat(s, c))
		s->bad = 1;
}

/* str reads a string; a backslash always skips the byte after it. */
static const u8 *str(scan *s, u32 *len) {
	*len = 0;
	if (!eat(s, '"')) {
		s->bad = 1;
		return 0;
	}
	const u8 *start = s->p;
	while (s->p < s->end && *s->p != '"')
		s->p += (*s->p == '\\') ? 2 : 1;
	if (s->p >= s->end) {
		s->bad = 1;
		return 0;
	}
	*len = (u32)(s->p - start);
	s->p++;
	return start;
}

/*
 * num reads an integer of at most 18 digits: what the host writes. A
 * fraction, an exponent or a longer number sets bad.
 */
static i64 num(scan *s) {
	int neg = eat(s, '-');
	const u8 *start = s->p;
	i64 v = 0;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && s->p - start < 18)
		v = v * 10 + (*s->p++ - '0');
	u8 next = s->p < s->end ? *s->p : 0;
	if (s->p == start || next == '.' || next == 'e' || next == 'E' || (next >= '0' && next <= '9'))
		s->bad = 1;
	return s->bad ? 0 : neg ? -v : v;
}

/* null consumes a null if it comes next. */
static int null(scan *s) {
	if (peek(s) != 'n' || s->end - s->p < 4 || s->p[1] != 'u' || s->p[2] != 'l' || s->p[3] != 'l')
		return 0;
	s->p += 4;
	return 1;
}

/* skip passes over one value of any type, counting brackets. */
static void skip(scan *s) {
	int depth = 0;
	do {
		u8 c = peek(s);
		if (c == 0 || s->bad) {
			s->bad = 1;
			return;
		}
		if (c == '"') {
			u32 n;
			str(s, &n);
		} else if (c == '{' || c == '[') {
			depth++;
			s->p++;
		} else if (c == '}' || c == ']') {
			if (depth == 0) {
				s->bad = 1;
				return;
			}
			depth--;
			s->p++;
		} else if ((c == ',' || c == ':') && depth > 0) {
			s->p++;
		} else {
			/* a number, true, false or null: up to the next delimiter */
			const u8 *start = s->p;
			while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ':' &&
			       *s->p != ' ' && *s->p != '\t' && *s->p != '\n' && *s->p != '\r')
				s->p++;
			if (s->p == start)
				s->bad = 1;
		}
	} while (depth > 0 && !s->bad);
}

/*
 * member reads the next key of an object and its colon, returning the key,
 * or 0 at the closing brace (or on malformed input). first is 1 before the
 * first member.
 */
static const u8 *member(scan *s, int *first, u32 *len) {
	if (s->bad || eat(s, '}'))
		return 0;
	if (!*first)
		expect(s, ',');
	*first = 0;
	const u8 *k = str(s, len);
	expect(s, ':');
	return s->bad ? 0 : k;
}

/* element reports whether another array element follows, eating its comma. */
static int element(scan *s, int *first) {
	if (s->bad || eat(s, ']'))
		return 0;
	if (!*first)
		expect(s, ',');
	*first = 0;
	return !s->bad;
}

/* is compares n raw bytes with a NUL-terminated literal. */
static int is(const u8 *a, u32 n, const char *lit) {
	u32 i = 0;
	for (; i < n && lit[i]; i++)
		if (a[i] != (u8)lit[i])
			return 0;
	return i == n && lit[i] == 0;
}

#endif

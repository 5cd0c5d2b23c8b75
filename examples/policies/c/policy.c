/*
 * The "office hours" wahost disconnect policy in freestanding C: no libc,
 * no SDK, nothing but the raw ABI of abi/SPEC.md. It is the same policy,
 * with the same arithmetic, as the Go, Rust and AssemblyScript versions
 * beside it (examples/policies/README.md lists the rules and settings).
 *
 * Build (examples/policies/build.sh does this):
 *   clang --target=wasm32 -O2 -mbulk-memory -nostdlib -fwrapv -Wl,--no-entry -Wl,--strip-all \
 *       -o office-hours.wasm policy.c
 *
 * The module imports nothing and exports memory, wahost_abi_version,
 * wahost_alloc and wahost_decide.
 */
#include "abi.h"

/* ---- the input fields this policy reads; everything else is skipped ---- */

typedef struct {
	i64 v, now_ms, attempt, code, qr_count, qr_limit;
	u32 seed;
	int qr_phase, kind_qr_limit, kind_qr_timeout, kind_degraded;
	const u8 *settings, *settings_end;
} input;

static void parse_instance(scan *s, input *in) {
	int first = 1;
	u32 n, m;
	const u8 *k;
	expect(s, '{');
	while ((k = member(s, &first, &n))) {
		if (is(k, n, "phase")) {
			const u8 *phase = str(s, &m);
			in->qr_phase = phase && (is(phase, m, "qr") || is(phase, m, "pairing"));
		} else if (is(k, n, "qr_count"))
			in->qr_count = num(s);
		else if (is(k, n, "qr_limit"))
			in->qr_limit = num(s);
		else
			skip(s);
	}
}

static void parse_event(scan *s, input *in) {
	int first = 1;
	u32 n, m;
	const u8 *k;
	expect(s, '{');
	while ((k = member(s, &first, &n))) {
		if (is(k, n, "kind")) {
			const u8 *kind = str(s, &m);
			in->kind_qr_limit = kind && is(kind, m, "qr_limit");
			in->kind_qr_timeout = kind && is(kind, m, "qr_timeout");
			in->kind_degraded = kind && is(kind, m, "degraded");
		} else if (is(k, n, "code"))
			in->code = num(s);
		else
			skip(s);
	}
}

static void parse(scan *s, input *in) {
	int first = 1;
	u32 n;
	const u8 *k;
	expect(s, '{');
	while ((k = member(s, &first, &n))) {
		if (is(k, n, "v"))
			in->v = num(s);
		else if (is(k, n, "now_ms"))
			in->now_ms = num(s);
		else if (is(k, n, "jitter_seed"))
			in->seed = (u32)num(s);
		else if (is(k, n, "attempt"))
			in->attempt = num(s);
		else if (is(k, n, "instance"))
			parse_instance(s, in);
		else if (is(k, n, "event"))
			parse_event(s, in);
		else if (is(k, n, "settings")) {
			peek(s); /* past the white space, to the value */
			in->settings = s->p;
			skip(s);
			in->settings_end = s->p;
		} else
			skip(s); /* step, history, and fields of later versions */
	}
	if (peek(s) != 0)
		s->bad = 1;
}

/* ---- settings ---- */

#define MAX_LIST 16
#define MAX_DELAY_MS 604800000ll

typedef struct {
	i64 v[MAX_LIST];
	u32 n; /* every entry read, also those past MAX_LIST */
} list;

typedef struct {
	i64 tz_offset_min, open_hour, close_hour;
	list workdays;
	i64 day_delay_ms, day_max_delay_ms, night_delay_ms, night_max_delay_ms, max_attempts;
	list escalation;
	i64 jitter_pct;
} config;

/* lookup positions *at on the value of key; 0 when it is absent or null. */
static int lookup(const input *in, const char *key, scan *at) {
	scan s = {in->settings, in->settings_end, 0};
	int first = 1;
	u32 n;
	const u8 *k;
	if (!in->settings)
		return 0;
	expect(&s, '{');
	while ((k = member(&s, &first, &n))) {
		if (is(k, n, key)) {
			if (null(&s))
				return 0;
			*at = s;
			return 1;
		}
		skip(&s);
	}
	return 0;
}

/* setting_error reports a setting of the wrong type; it returns 0. */
static int setting_error(const char *key, const char *what) {
	fail("office-hours policy: setting \"");
	put(key);
	put("\": ");
	put(what);
	return 0;
}

static int read_int(const input *in, const char *key, i64 *dst) {
	scan s;
	if (!lookup(in, key, &s))
		return 1;
	i64 v = num(&s);
	if (s.bad)
		return setting_error(key, "not an integer");
	*dst = v;
	return 1;
}

static int read_list(const input *in, const char *key, list *dst) {
	scan s;
	int first = 1;
	if (!lookup(in, key, &s))
		return 1;
	expect(&s, '[');
	dst->n = 0;
	while (element(&s, &first)) {
		i64 v = num(&s);
		if (dst->n < MAX_LIST)
			dst->v[dst->n] = v;
		dst->n++;
	}
	if (s.bad)
		return setting_error(key, "not a list of integers");
	return 1;
}

/* within reports whether l has 1 to MAX_LIST entries, each in [lo, hi]. */
static int within(const list *l, i64 lo, i64 hi) {
	if (l->n == 0 || l->n > MAX_LIST)
		return 0;
	for (u32 i = 0; i < l->n; i++)
		if (l->v[i] < lo || l->v[i] > hi)
			return 0;
	return 1;
}

static int check_delay(const char *key, i64 v) {
	if (v >= 0 && v <= MAX_DELAY_MS)
		return 1;
	fail("office-hours policy: setting \"");
	put(key);
	put("\": must be between 0 and 604800000");
	return 0;
}

/*
 * read_config reads the settings over the defaults and checks them; on the
 * first problem it writes the error message and returns 0.
 */
static int read_config(const input *in, config *c) {
	*c = (config){
		.open_hour = 9, .close_hour = 18,
		.workdays = {{1, 2, 3, 4, 5}, 5},
		.day_delay_ms = 2000, .day_max_delay_ms = 300000,
		.night_delay_ms = 30000, .night_max_delay_ms = 1800000,
		.max_attempts = 6,
		.escalation = {{1, 1, 2, 3}, 4},
		.jitter_pct = 20,
	};
	if (!(read_int(in, "tz_offset_min", &c->tz_offset_min) && read_int(in, "open_hour", &c->open_hour) &&
	      read_int(in, "close_hour", &c->close_hour) && read_list(in, "workdays", &c->workdays) &&
	      read_int(in, "day_delay_ms", &c->day_delay_ms) && read_int(in, "day_max_delay_ms", &c->day_max_delay_ms) &&
	      read_int(in, "night_delay_ms", &c->night_delay_ms) &&
	      read_int(in, "night_max_delay_ms", &c->night_max_delay_ms) &&
	      read_int(in, "max_attempts", &c->max_attempts) && read_list(in, "escalation", &c->escalation) &&
	      read_int(in, "jitter_pct", &c->jitter_pct)))
		return 0;
	if (c->tz_offset_min < -840 || c->tz_offset_min > 840) {
		fail("office-hours policy: setting \"tz_offset_min\": must be between -840 and 840");
		return 0;
	}
	if (c->open_hour < 0 || c->open_hour >= c->close_hour || c->close_hour > 24) {
		fail("office-hours policy: settings \"open_hour\" and \"close_hour\": "
		     "want 0 <= open_hour < close_hour <= 24");
		return 0;
	}
	if (!within(&c->workdays, 0, 6)) {
		fail("office-hours policy: setting \"workdays\": want 1 to 16 days, each 0 (Sunday) to 6 (Saturday)");
		return 0;
	}
	if (!(check_delay("day_delay_ms", c->day_delay_ms) && check_delay("day_max_delay_ms", c->day_max_delay_ms) &&
	      check_delay("night_delay_ms", c->night_delay_ms) &&
	      check_delay("night_max_delay_ms", c->night_max_delay_ms)))
		return 0;
	if (c->max_attempts < 1) {
		fail("office-hours policy: setting \"max_attempts\": must be at least 1");
		return 0;
	}
	if (!within(&c->escalation, 1, 4)) {
		fail("office-hours policy: setting \"escalation\": want 1 to 16 steps, each 1 to 4");
		return 0;
	}
	if (c->jitter_pct < 0 || c->jitter_pct > 100) {
		fail("office-hours policy: setting \"jitter_pct\": must be between 0 and 100");
		return 0;
	}
	return 1;
}

/* ---- the office's clock: UTC shifted by a fixed offset ---- */

#define MINUTE_MS 60000ll
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)

typedef struct {
	i64 ms, weekday, of_day; /* local ms since the epoch; 0 Sunday; ms since local midnight */
} local_time;

static i64 floor_div(i64 a, i64 b) {
	i64 q = a / b;
	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static local_time local_at(i64 now_ms, i64 offset_min) {
	i64 ms = now_ms + offset_min * MINUTE_MS;
	i64 day = floor_div(ms, DAY_MS);
	i64 wd = day + 4; /* 1970-01-01 was a Thursday */
	return (local_time){ms, wd - floor_div(wd, 7) * 7, ms - day * DAY_MS};
}

/* when writes t as "Mon 15:04 local" into buf, which must hold 16 bytes. */
static const char *when(local_time t, char *buf) {
	static const char days[] = "SunMonTueWedThuFriSat";
	i64 h = t.of_day / HOUR_MS, m = t.of_day / MINUTE_MS % 60;
	for (int i = 0; i < 3; i++)
		buf[i] = days[3 * t.weekday + i];
	const char tail[] = {' ', (char)('0' + h / 10), (char)('0' + h % 10), ':', (char)('0' + m / 10),
			     (char)('0' + m % 10), ' ', 'l', 'o', 'c', 'a', 'l', 0};
	for (int i = 0; i < (int)sizeof tail; i++)
		buf[3 + i] = tail[i];
	return buf;
}

static int is_workday(const config *c, i64 d) {
	for (u32 i = 0; i < c->workdays.n; i++)
		if (c->workdays.v[i] == d)
			return 1;
	return 0;
}

static int is_open(const config *c, local_time t) {
	i64 h = t.of_day / HOUR_MS;
	return is_workday(c, t.weekday) && h >= c->open_hour && h < c->close_hour;
}

/* until_open returns the ms from t to the next opening, less than a week away. */
static i64 until_open(const config *c, local_time t) {
	i64 midnight = t.ms - t.of_day;
	for (i64 d = 0; d <= 7; d++) {
		i64 open = midnight + d * DAY_MS + c->open_hour * HOUR_MS;
		if (is_workday(c, (t.weekday + d) % 7) && open > t.ms)
			return open - t.ms;
	}
	return 0;
}

/* ---- the rules: the first that applies decides ---- */

static void decide(const input *in, const config *c) {
	char at[16];
	local_time now = local_at(in->now_ms, c->tz_offset_min);
	int office = is_open(c, now);
	i64 code = in->code;

	if (in->kind_degraded) {
		/* An open session whose traffic degraded (ABI 1.2): leave it be;
		 * whatsmeow's retry receipts repair most of it. */
		keep("degraded_keep");
		return finish("the session is open: keeping it");
	}
	if (in->kind_qr_limit || (in->qr_phase && in->qr_limit > 0 && in->qr_count >= in->qr_limit)) {
		logout("[]", "qr_limit", "qr_limit");
		return finish("QR code limit reached, please login again");
	}
	switch (code) {
	case 401:
	case 403:
		logout("[\"session\",\"cache\",\"files\"]", "closed", "unlinked");
		return finish("the device was unlinked: removing the session");
	case 411:
		logout("[]", "conflict", "conflict");
		return finish("multi-device mismatch");
	case 402:
	case 406:
	case 405:
		logout("[]", "closed", "fatal_code");
		put("reconnecting cannot fix code ");
		put_int(code);
		return finish("");
	case 500:
		if (office) {
			/* Someone is there to scan a new QR code: start over cleanly. */
			logout("[\"session\",\"cache\",\"files\"]", "closed", "bad_session");
			put("bad session: pair again (");
			put(when(now, at));
			return finish(")");
		}
		/* Nobody is there to scan: keep the keys, retry slowly with a fresh client. */
		reconnect(c->night_max_delay_ms, 4, "bad_session_after_hours");
		put("bad session after hours (");
		put(when(now, at));
		return finish("): keeping the session until the office opens");
	}
	if (in->qr_phase && in->kind_qr_timeout) {
		if (office) {
			reconnect(0, 1, "qr_refresh");
			return finish("QR codes ran out: fetching new ones");
		}
		/* New codes now would expire unscanned: show them when the office opens. */
		reconnect(until_open(c, now), 1, "qr_wait_office");
		put("QR codes ran out after hours (");
		put(when(now, at));
		return finish("): new ones when the office opens");
	}
	i64 attempt = in->attempt < 1 ? 1 : in->attempt;
	if (office && attempt > c->max_attempts) {
		logout("[]", "closed", "max_attempts");
		put("gave up after ");
		put_int(c->max_attempts);
		put(" attempts in office hours (");
		put(when(now, at));
		return finish(")");
	}

	/* Backoff: base x 2^(attempt-1) up to the ceiling, plus jitter from the seed. */
	i64 delay = office ? c->day_delay_ms : c->night_delay_ms;
	i64 ceiling = office ? c->day_max_delay_ms : c->night_max_delay_ms;
	for (i64 i = 1; i < attempt && delay > 0 && delay < ceiling; i++)
		delay *= 2;
	if (delay > ceiling)
		delay = ceiling;
	delay += jitter(in->seed, 0, delay * c->jitter_pct / 100 + 1);
	i64 step = c->escalation.v[(attempt < c->escalation.n ? attempt : c->escalation.n) - 1];
	if (!office && step == 3)
		step = 4; /* a reset deletes the keys and needs a QR scan: never after hours */
	reconnect(delay < MAX_DELAY_MS ? delay : MAX_DELAY_MS, step, office ? "office_hours" : "after_hours");
	put("code ");
	put_int(code);
	put(", attempt ");
	put_int(attempt);
	put(" (");
	put(when(now, at));
	finish(")");
}

/* wahost_decide returns (out_ptr << 32) | out_len; bit 31 of out_len flags an error. */
EXPORT("wahost_decide") i64 wahost_decide(const u8 *ptr, int len) {
	scan s = {ptr, ptr + (len > 0 ? len : 0), 0};
	input in = {.attempt = 1};
	config c;
	outn = 0;
	out_error = 0;
	if (ptr != &__heap_base) {
		fail("office-hours policy: the input must be written at the buffer wahost_alloc returned");
		return result();
	}
	parse(&s, &in);
	if (s.bad) {
		fail("office-hours policy: malformed input near byte ");
		put_int(s.p - ptr);
	} else if (in.v != 1) {
		fail("office-hours policy: unsupported input version ");
		put_int(in.v);
	} else if (read_config(&in, &c)) {
		decide(&in, &c);
	}
	return result();
}

/*
 * The wahost policy ABI v1 (abi/SPEC.md) for a freestanding C module: the
 * version and buffer exports, the output buffer and its writer, and the
 * jitter function. policy.c defines wahost_decide with `decide_exports`.
 */
#ifndef WAHOST_ABI_H
#define WAHOST_ABI_H

#include "json.h"

#define EXPORT(name) __attribute__((export_name(name)))

/* ABI version 1.0: (major << 16) | minor. */
EXPORT("wahost_abi_version") int wahost_abi_version(void) { return 1 << 16 | 2; } /* ABI 1.2 */

/*
 * wahost_alloc: the host asks for a buffer, writes the input document into
 * it, then calls wahost_decide with the same address.
 *
 * There is no malloc here. wasm-ld puts the stack and the static data first
 * and sets __heap_base to the first free byte after them; everything from
 * there to the end of memory is ours. The input always goes at __heap_base,
 * and memory grows (in 64 KiB pages) when an input does not fit. The host
 * caps the pages an instance may have: if growth is refused, return 0.
 */
extern u8 __heap_base;

EXPORT("wahost_alloc") u8 *wahost_alloc(int size) {
	if (size < 0)
		return 0;
	u32 need = (u32)&__heap_base + (u32)size;
	u32 have = (u32)__builtin_wasm_memory_size(0) * 65536u;
	if (need > have && __builtin_wasm_memory_grow(0, (need - have + 65535u) / 65536u) == (__SIZE_TYPE__)-1)
		return 0;
	return &__heap_base;
}

/* The output buffer: it must stay valid after wahost_decide returns. */
static u8 out[1024];
static u32 outn;
static int out_error;

/* put appends a literal, dropping what does not fit. */
static void put(const char *lit) {
	while (*lit && outn < sizeof out)
		out[outn++] = (u8)*lit++;
}

static void put_int(i64 v) {
	char tmp[24];
	int i = sizeof tmp - 1;
	u64 u = v < 0 ? -(u64)v : (u64)v;
	tmp[i] = 0;
	do
		tmp[--i] = (char)('0' + u % 10);
	while ((u /= 10) && i > 1);
	if (v < 0)
		tmp[--i] = '-';
	put(tmp + i);
}

/* fail starts an error message instead of a decision. */
static void fail(const char *msg) {
	outn = 0;
	out_error = 1;
	put(msg);
}

/* reconnect writes a reconnect decision up to its reason; end it with finish. */
static void reconnect(i64 delay_ms, i64 step, const char *rule) {
	put("{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":");
	put_int(delay_ms);
	put(",\"step\":");
	put_int(step);
	put(",\"rule\":\"");
	put(rule);
	put("\",\"reason\":\"");
}

/*
 * logout writes a logout decision up to its reason. cleanup is a JSON array
 * of scopes; end is closed, qr_limit or conflict.
 */
static void logout(const char *cleanup, const char *end, const char *rule) {
	put("{\"v\":1,\"action\":\"logout\",\"cleanup\":");
	put(cleanup);
	put(",\"end\":\"");
	put(end);
	put("\",\"rule\":\"");
	put(rule);
	put("\",\"reason\":\"");
}

/* keep writes a keep decision (ABI 1.2, for a degraded event only) up to its reason. */
static void keep(const char *rule) {
	put("{\"v\":1,\"action\":\"keep\",\"rule\":\"");
	put(rule);
	put("\",\"reason\":\"");
}

/* finish ends the reason (ASCII without quotes or backslashes) and the document. */
static void finish(const char *tail) {
	put(tail);
	put("\"}");
}

/* result packs the output for wahost_decide: (ptr << 32) | len, bit 31 = error. */
static i64 result(void) {
	u32 n = outn | (out_error ? 0x80000000u : 0);
	return (i64)((u64)(u32)out << 32 | n);
}

/* jitter is SplitMix64, as abi/SPEC.md section 8 defines it. */
static i64 jitter(u32 seed, u32 salt, i64 n) {
	if (n <= 0)
		return 0;
	u64 z = ((u64)seed << 32 | salt) + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (i64)(z % (u64)n);
}

#endif

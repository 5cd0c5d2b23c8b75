#!/usr/bin/env bash
# Builds the example policies into WebAssembly modules: build/<lang>.wasm.
#
#   examples/policies/build.sh [-o DIR] [-n] [LANG...]
#
# LANG is go, rust, c or assemblyscript; all four when none is given.
#   -o DIR  write the modules to DIR instead of examples/policies/build
#   -n      never install anything (no `npm ci`): report a missing
#           AssemblyScript compiler as a missing toolchain
#
# Toolchains (override with GO, RUSTC, CLANG, NPM):
#   go              Go 1.26+ (GOOS=wasip1)
#   rust            a rustc with the wasm32-unknown-unknown target:
#                   rustup target add wasm32-unknown-unknown, or on Debian
#                   apt-get install rustc libstd-rust-dev-wasm32
#   c               clang and wasm-ld: apt-get install clang lld
#   assemblyscript  Node.js 20+ and npm; `npm ci` installs the compiler
#
# Exit status: 0 when every module was built, 1 when a build failed, 2 on
# a usage error, 3 when a toolchain is missing (the other modules are
# still built). Each missing toolchain is one line on stderr:
#   build.sh: LANG: missing toolchain: WHAT (install: HOW)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/build"
install=1
# usage prints the comment block at the top of this file.
usage() { awk 'NR > 1 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
while getopts "o:nh" opt; do
	case $opt in
	o) out=$OPTARG ;;
	n) install=0 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(go rust c assemblyscript)

mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 2
missing=0
failed=0

# missing reports a toolchain that is not there.
missing() { # lang what how
	echo "build.sh: $1: missing toolchain: $2 (install: $3)" >&2
	missing=1
}

built() { # lang
	echo "built $out/$1.wasm ($(wc -c <"$out/$1.wasm") bytes)"
}

build_go() {
	local go=${GO:-go}
	command -v "$go" >/dev/null || { missing go "no '$go' on PATH" "https://go.dev/dl"; return; }
	(cd "$here/go" && GOOS=wasip1 GOARCH=wasm "$go" build -buildmode=c-shared -trimpath -buildvcs=false \
		-ldflags="-s -w -buildid=" -o "$out/go.wasm" .)
}

# find_rustc prints the first rustc that has the wasm32-unknown-unknown
# standard library: $RUSTC, the one on PATH (rustup's), then Debian's.
find_rustc() {
	local rc sysroot
	for rc in ${RUSTC:-} rustc /usr/bin/rustc; do
		command -v "$rc" >/dev/null || continue
		sysroot=$("$rc" --print sysroot 2>/dev/null) || continue
		if [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
			echo "$rc"
			return 0
		fi
	done
	return 1
}

build_rust() {
	local rc
	rc=$(find_rustc) || {
		missing rust "no rustc with the wasm32-unknown-unknown target" \
			"rustup target add wasm32-unknown-unknown, or apt-get install rustc libstd-rust-dev-wasm32"
		return
	}
	# The same flags as Cargo.toml's release profile and .cargo/config.toml.
	"$rc" --edition 2021 --crate-type cdylib --crate-name wahost_policy_office_hours --target wasm32-unknown-unknown \
		-C opt-level=s -C panic=abort -C lto -C codegen-units=1 -C strip=symbols \
		-C target-feature=+bulk-memory -C link-arg=-zstack-size=65536 \
		-o "$out/rust.wasm" "$here/rust/src/lib.rs"
}

build_c() {
	local cc=${CLANG:-clang}
	command -v "$cc" >/dev/null || { missing c "no '$cc' on PATH" "apt-get install clang lld"; return; }
	command -v wasm-ld >/dev/null || { missing c "no wasm-ld on PATH" "apt-get install lld"; return; }
	# -mbulk-memory turns struct copies into memory.copy/memory.fill instead
	# of calls to a memcpy that a module without libc does not have.
	"$cc" --target=wasm32 -O2 -mbulk-memory -nostdlib -fwrapv -Wall -Wextra -Werror \
		-Wl,--no-entry -Wl,--strip-all -o "$out/c.wasm" "$here/c/policy.c"
}

build_assemblyscript() {
	local dir=$here/assemblyscript npm=${NPM:-npm} major
	command -v node >/dev/null || { missing assemblyscript "no node on PATH" "apt-get install nodejs npm (Node.js 20+)"; return; }
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 20 ] || { missing assemblyscript "Node.js $major is older than 20" "Node.js 20+"; return; }
	if [ ! -x "$dir/node_modules/.bin/asc" ]; then
		if [ $install = 0 ] || ! command -v "$npm" >/dev/null; then
			missing assemblyscript "no AssemblyScript compiler in $dir/node_modules" "npm ci --prefix $dir"
			return
		fi
		(cd "$dir" && "$npm" ci --no-audit --no-fund) || {
			missing assemblyscript "npm ci failed in $dir" "npm ci --prefix $dir"
			return
		}
	fi
	(cd "$dir" && node_modules/.bin/asc assembly/index.ts --config asconfig.json --target release -o "$out/assemblyscript.wasm")
}

for lang in "${langs[@]}"; do
	case $lang in
	go | rust | c | assemblyscript) ;;
	*) echo "build.sh: unknown language '$lang' (want go, rust, c or assemblyscript)" >&2; exit 2 ;;
	esac
	rm -f "$out/$lang.wasm"
	before=$missing
	missing=0
	"build_$lang"
	status=$?
	if [ $missing = 1 ]; then
		:
	elif [ $status != 0 ] || [ ! -s "$out/$lang.wasm" ]; then
		echo "build.sh: $lang: build failed" >&2
		failed=1
	else
		built "$lang"
	fi
	missing=$((before | missing))
done

[ $failed = 0 ] || exit 1
[ $missing = 0 ] || exit 3
exit 0

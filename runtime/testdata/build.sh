#!/bin/sh
# Rebuilds the test modules from their WebAssembly text sources.
# Needs wat2wasm from WABT (Debian package wabt).
set -eu
cd "$(dirname "$0")"
for src in *.wat; do
	wat2wasm --output="${src%.wat}.wasm" "$src"
done

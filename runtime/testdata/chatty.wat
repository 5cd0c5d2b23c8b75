;; chatty: logs through wahost.log and writes to WASI stdout and stderr on
;; every decision, then returns the fixed decision.
(module
  (import "wahost" "log" (func $log (param i32 i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":1000,\"step\":1,\"reason\":\"fixed\"}")
  (data (i32.const 100) "deciding")
  (data (i32.const 120) "to stdout\nsecond line\npartial")
  (data (i32.const 160) "to stderr\n")
  (func (export "wahost_abi_version") (result i32) (i32.const 0x10000))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 32768))
      (then (i32.const 1024))
      (else (i32.const 0))))
  ;; iovec at 200: {ptr, len}; bytes written stored at 220.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 200) (local.get $ptr))
    (i32.store (i32.const 204) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 220))))
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (call $log (i32.const 1) (i32.const 100) (i32.const 8))
    (call $write (i32.const 1) (i32.const 120) (i32.const 29))
    (call $write (i32.const 2) (i32.const 160) (i32.const 10))
    (i64.const 70)))

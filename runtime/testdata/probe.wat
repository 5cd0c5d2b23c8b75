;; probe: checks the WASI sandbox from inside. It returns the fixed decision
;; when the guest sees no environment, no arguments, no preopened
;; directories and a fake wall clock (before 2023), and otherwise an error
;; naming the first check that failed. Input "X" calls proc_exit(3).
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":1000,\"step\":1,\"reason\":\"fixed\"}")
  (data (i32.const 100) "environ")
  (data (i32.const 110) "args   ")
  (data (i32.const 120) "preopen")
  (data (i32.const 130) "clock  ")
  (func (export "wahost_abi_version") (result i32) (i32.const 0x10000))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 32768))
      (then (i32.const 1024))
      (else (i32.const 0))))
  ;; error result for the 7-byte check name at $at
  (func $fail (param $at i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $at)) (i64.const 32))
      (i64.const 0x80000007)))
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.and (i32.eq (local.get $len) (i32.const 1))
                 (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 0x58)))
      (then (call $proc_exit (i32.const 3))))
    ;; counts at 512, sizes at 516
    (drop (call $environ_sizes_get (i32.const 512) (i32.const 516)))
    (if (i32.ne (i32.load (i32.const 512)) (i32.const 0))
      (then (return (call $fail (i32.const 100)))))
    (drop (call $args_sizes_get (i32.const 512) (i32.const 516)))
    (if (i32.ne (i32.load (i32.const 512)) (i32.const 0))
      (then (return (call $fail (i32.const 110)))))
    (if (i32.eqz (call $fd_prestat_get (i32.const 3) (i32.const 520)))
      (then (return (call $fail (i32.const 120)))))
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 528)))
    (if (i64.ge_u (i64.load (i32.const 528)) (i64.const 1672531200000000000))
      (then (return (call $fail (i32.const 130)))))
    (i64.const 70)))

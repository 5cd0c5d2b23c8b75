;; reactor: a well-behaved policy with an _initialize export, like a Go
;; -buildmode=c-shared module. Its decisions trap unless _initialize ran
;; first on the same instance.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":1000,\"step\":1,\"reason\":\"fixed\"}")
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 1)))
  (func (export "wahost_abi_version") (result i32)
    (if (i32.eqz (global.get $ready)) (then unreachable))
    (i32.const 0x10000))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (i32.eqz (global.get $ready)) (then unreachable))
    (if (result i32) (i32.le_u (local.get $size) (i32.const 32768))
      (then (i32.const 1024))
      (else (i32.const 0))))
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.eqz (global.get $ready)) (then unreachable))
    (i64.const 70)))

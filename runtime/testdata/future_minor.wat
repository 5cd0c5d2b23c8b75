;; future_minor: hostile module that reports ABI version 1.4, newer than the host.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":1000,\"step\":1,\"reason\":\"fixed\"}")
  (func (export "wahost_abi_version") (result i32) (i32.const 0x10004))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 32768))
      (then (i32.const 1024))
      (else (i32.const 0))))
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (i64.const 70)))

;; mirror11: a module of ABI 1.1 that returns its input as its decision.
(module
  (memory (export "memory") 2)
  (func (export "wahost_abi_version") (result i32) (i32.const 0x10001))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 65536))
      (then (i32.const 1024))
      (else (i32.const 0))))
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len)))))

;; slow_alloc: a policy whose wahost_alloc, for an input of exactly 2
;; bytes, recurses for about half a second without reaching a loop (fib
;; 38): the fuel checks at function entries stop it like a loop. Other
;; inputs get the fixed decision.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":1000,\"step\":1,\"reason\":\"fixed\"}")
  (func (export "wahost_abi_version") (result i32) (i32.const 0x10000))
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add
        (call $fib (i32.sub (local.get $n) (i32.const 1)))
        (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (i32.eq (local.get $size) (i32.const 2))
      (then (drop (call $fib (i32.const 38)))))
    (if (result i32) (i32.le_u (local.get $size) (i32.const 32768))
      (then (i32.const 1024))
      (else (i32.const 0))))
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (i64.const 70)))

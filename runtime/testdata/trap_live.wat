;; trap_live: passes the load-time self-test (whose input names the
;; instance "self-test") and traps on every other input: a module that
;; breaks only once it is live.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":1000,\"step\":1,\"reason\":\"fixed\"}")
  (data (i32.const 100) "\"self-test\"")
  (func (export "wahost_abi_version") (result i32) (i32.const 0x10000))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 32768))
      (then (i32.const 1024))
      (else (i32.const 0))))
  ;; $has reports whether the 11 bytes at 100 occur in [ptr, ptr+len).
  (func $has (param $ptr i32) (param $len i32) (result i32)
    (local $i i32) (local $j i32)
    (if (i32.lt_u (local.get $len) (i32.const 11)) (then (return (i32.const 0))))
    (block $done
      (loop $outer
        (br_if $done (i32.gt_u (local.get $i) (i32.sub (local.get $len) (i32.const 11))))
        (local.set $j (i32.const 0))
        (block $miss
          (loop $inner
            (br_if $miss (i32.ne
              (i32.load8_u (i32.add (i32.add (local.get $ptr) (local.get $i)) (local.get $j)))
              (i32.load8_u (i32.add (i32.const 100) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $inner (i32.lt_u (local.get $j) (i32.const 11)))
            (return (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const 0))
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.eqz (call $has (local.get $ptr) (local.get $len))) (then unreachable))
    (i64.const 70)))

;; echo: returns its input as the decision, unless the input starts with a
;; marker byte that selects a misbehaviour. It loads cleanly (the self-test
;; input is a JSON document) and lets tests trigger run-time faults:
;;   'L' loop forever          'M' grow memory until refused, then trap
;;   'T' trap (unreachable)    'R' unbounded recursion
;;   'G' invalid UTF-8 output  'O' output of 64 KiB + 1 bytes
;;   'B' output pointer outside memory
;;   'E' error flag with a message
;;   'W' grow memory by 8 pages, then return the fixed decision
;;   'D' return the fixed decision
;;   'F' exponential recursion (fib 38, no loops), then the fixed decision:
;;       the fuel checks at function entries stop it like a loop
;; wahost_alloc returns 0 (cannot) for inputs over 60 KiB.
(module
  (memory (export "memory") 2)
  (data (i32.const 0) "{\"v\":1,\"action\":\"reconnect\",\"delay_ms\":1000,\"step\":1,\"reason\":\"fixed\"}")
  (data (i32.const 200) "\ff\fenot json")
  (data (i32.const 300) "input rejected by marker E")
  (func (export "wahost_abi_version") (result i32) (i32.const 0x10000))
  (func (export "wahost_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 61440))
      (then (i32.const 4096))
      (else (i32.const 0))))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))
  (func $spin (loop $forever (br $forever)))
  (func $recurse (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i32.const 1))
      (else (i32.add
        (call $fib (i32.sub (local.get $n) (i32.const 1)))
        (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $bomb
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable)
  (func (export "wahost_decide") (param $ptr i32) (param $len i32) (result i64)
    (local $c i32)
    (if (i32.eqz (local.get $len))
      (then (return (call $pack (local.get $ptr) (i32.const 0)))))
    (local.set $c (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $c) (i32.const 0x4C)) (then (call $spin)))
    (if (i32.eq (local.get $c) (i32.const 0x4D)) (then (call $bomb)))
    (if (i32.eq (local.get $c) (i32.const 0x54)) (then unreachable))
    (if (i32.eq (local.get $c) (i32.const 0x52))
      (then (drop (call $recurse (i32.const 0)))))
    (if (i32.eq (local.get $c) (i32.const 0x47))
      (then (return (call $pack (i32.const 200) (i32.const 10)))))
    (if (i32.eq (local.get $c) (i32.const 0x4F))
      (then (return (call $pack (i32.const 0) (i32.const 65537)))))
    (if (i32.eq (local.get $c) (i32.const 0x42))
      (then (return (call $pack (i32.const 0xFFFFFF00) (i32.const 16)))))
    (if (i32.eq (local.get $c) (i32.const 0x45))
      (then (return (call $pack (i32.const 300) (i32.or (i32.const 26) (i32.const 0x80000000))))))
    (if (i32.eq (local.get $c) (i32.const 0x57))
      (then
        (drop (memory.grow (i32.const 8)))
        (return (call $pack (i32.const 0) (i32.const 70)))))
    (if (i32.eq (local.get $c) (i32.const 0x46))
      (then
        (drop (call $fib (i32.const 38)))
        (return (call $pack (i32.const 0) (i32.const 70)))))
    (if (i32.eq (local.get $c) (i32.const 0x44))
      (then (return (call $pack (i32.const 0) (i32.const 70)))))
    (call $pack (local.get $ptr) (local.get $len))))

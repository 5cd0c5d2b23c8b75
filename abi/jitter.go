package abi

// Jitter returns a number in [0, n) derived from seed alone, so a replayed
// input gets the same jitter. salt lets one decision draw several
// independent numbers. It is SplitMix64, which policies in other languages
// can reproduce in a few lines (see abi/SPEC.md); n <= 0 yields 0.
func Jitter(seed uint32, salt uint32, n int64) int64 {
	if n <= 0 {
		return 0
	}
	z := uint64(seed)<<32 | uint64(salt)
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z % uint64(n))
}

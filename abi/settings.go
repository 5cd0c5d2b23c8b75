package abi

import (
	"strconv"
)

// Settings is a policy's settings: the JSON object the host's config holds
// for the policy, passed verbatim in every input. The getters look a key up
// at the top level; a missing key or null yields the default, a value of the
// wrong type an error naming the key.
type Settings []byte

// MaxSettings is the largest settings object the host accepts.
const MaxSettings = 16 << 10

func decodeSettings(r *reader) (Settings, error) {
	if r.peek() != '{' {
		return nil, r.fail("settings must be an object")
	}
	raw, err := r.rawValue()
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxSettings {
		return nil, plainError("settings are " + itoa(int64(len(raw))) + " bytes, more than " + itoa(MaxSettings))
	}
	return Settings(raw), nil
}

// ParseSettings checks that b is one JSON object of at most MaxSettings
// bytes and returns it as Settings. Empty input yields {}.
func ParseSettings(b []byte) (Settings, error) {
	if len(b) == 0 {
		return Settings("{}"), nil
	}
	r := reader{b: b}
	s, err := decodeSettings(&r)
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, wrap("parsing policy settings: ", err, "")
	}
	return s, nil
}

// lookup positions a reader on the value of key, or reports it absent.
func (s Settings) lookup(key string) (*reader, bool, error) {
	if len(s) == 0 {
		return nil, false, nil
	}
	r := &reader{b: s}
	found := false
	var at int
	err := r.openObject()
	for first := true; err == nil; first = false {
		var k []byte
		var ok bool
		if k, ok, err = r.member(first); err != nil || !ok {
			break
		}
		if !found && string(k) == key {
			found = true
			r.ws()
			at = r.pos
		}
		err = r.skip(0)
	}
	if err != nil {
		return nil, false, wrap("settings: ", err, "")
	}
	if !found {
		return nil, false, nil
	}
	r.pos = at
	if r.null() {
		return nil, false, nil
	}
	return r, true, nil
}

func settingError(key string, err error) error {
	return wrap("setting "+strconv.Quote(key)+": ", err, "")
}

// Int returns the integer setting key, or def.
func (s Settings) Int(key string, def int64) (int64, error) {
	r, ok, err := s.lookup(key)
	if !ok || err != nil {
		return def, err
	}
	v, err := r.int()
	if err != nil {
		return def, settingError(key, err)
	}
	return v, nil
}

// Bool returns the boolean setting key, or def.
func (s Settings) Bool(key string, def bool) (bool, error) {
	r, ok, err := s.lookup(key)
	if !ok || err != nil {
		return def, err
	}
	v, err := r.bool()
	if err != nil {
		return def, settingError(key, err)
	}
	return v, nil
}

// String returns the string setting key, or def.
func (s Settings) String(key string, def string) (string, error) {
	r, ok, err := s.lookup(key)
	if !ok || err != nil {
		return def, err
	}
	v, err := r.str()
	if err != nil {
		return def, settingError(key, err)
	}
	return v, nil
}

// Ints returns the setting key as a list of integers, or def.
func (s Settings) Ints(key string, def []int64) ([]int64, error) {
	r, ok, err := s.lookup(key)
	if !ok || err != nil {
		return def, err
	}
	var out []int64
	err = r.openArray()
	for first := true; err == nil; first = false {
		var more bool
		if more, err = r.element(first); err != nil || !more {
			break
		}
		var v int64
		v, err = r.int()
		out = append(out, v)
	}
	if err != nil {
		return def, settingError(key, err)
	}
	return out, nil
}

// IntMap returns the setting key, an object whose keys are decimal integers
// (status codes, say) and whose values are integers, merged over def: keys
// the object sets replace def's, the rest keep def's values. def is not
// modified.
func (s Settings) IntMap(key string, def map[int]int64) (map[int]int64, error) {
	r, ok, err := s.lookup(key)
	if !ok || err != nil {
		return def, err
	}
	out := make(map[int]int64, len(def)+4)
	for k, v := range def {
		out[k] = v
	}
	err = r.openObject()
	for first := true; err == nil; first = false {
		var k []byte
		var ok bool
		if k, ok, err = r.member(first); err != nil || !ok {
			break
		}
		n, convErr := strconv.Atoi(string(k))
		if convErr != nil {
			err = plainError("key " + strconv.Quote(string(k)) + " is not an integer")
			break
		}
		var v int64
		v, err = r.int()
		out[n] = v
	}
	if err != nil {
		return def, settingError(key, err)
	}
	return out, nil
}

package storage

// MaxNameLen is the longest instance name accepted.
const MaxNameLen = 64

// ValidateName reports whether name may be used as an instance name:
// 1 to MaxNameLen characters of A-Z, a-z, 0-9, '_', '.' and '-', and
// neither "." nor "..". Such a name is safe as a path element and as a
// segment of a cache key, and contains no glob metacharacter. The error is
// a *NameError.
func ValidateName(name string) error {
	switch {
	case name == "":
		return &NameError{Name: name, Reason: "empty"}
	case len(name) > MaxNameLen:
		return &NameError{Name: name, Reason: "too long"}
	case name == "." || name == "..":
		return &NameError{Name: name, Reason: "reserved"}
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return &NameError{Name: name, Reason: "character " + quoteByte(name[i]) + " not allowed"}
		}
	}
	return nil
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-'
}

func quoteByte(c byte) string {
	const hex = "0123456789abcdef"
	if c >= 0x21 && c < 0x7f {
		return "'" + string(c) + "'"
	}
	return "0x" + string(hex[c>>4]) + string(hex[c&15])
}

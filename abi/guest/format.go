package guest

import "strconv"

// sprintf formats the verbs Logf documents; any other verb, or a missing
// argument, is written as fmt would show the mistake, %!v(MISSING) aside.
func sprintf(format string, args ...any) string {
	var b []byte
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b = append(b, c)
			continue
		}
		i++
		verb := format[i]
		if verb == '%' {
			b = append(b, '%')
			continue
		}
		if len(args) == 0 {
			b = append(b, "%!"...)
			b = append(b, verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		arg := args[0]
		args = args[1:]
		switch verb {
		case 'q':
			b = strconv.AppendQuote(b, sprint(arg))
		case 's', 'v', 'd':
			b = append(b, sprint(arg)...)
		default:
			b = append(b, "%!"...)
			b = append(b, verb)
			b = append(append(append(b, '('), sprint(arg)...), ')')
		}
	}
	return string(b)
}

// sprint renders one value the way %v does for the types it knows.
func sprint(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	case interface{ String() string }:
		return v.String()
	case int:
		return strconv.Itoa(v)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "<nil>"
	}
	return "(a value of a type Logf does not format)"
}

//go:build !wasip1

package guest

func hostLog(Level, string) {}

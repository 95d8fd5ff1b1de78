//go:build !linux

package main

// prepareStdin is Linux's (stdin_linux.go): elsewhere stdin is read as it is.
func prepareStdin() bool { return false }

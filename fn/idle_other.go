//go:build !linux

package main

// lowerThreadPriority is Linux's (idle_linux.go); elsewhere the work runs
// at the usual priority.
func lowerThreadPriority() {}

//go:build !linux

package main

// hugePageRegion, prefault and lowerThreadPriority are Linux's
// (heap_linux.go); elsewhere the heap keeps the system's pages.
func hugePageRegion(int) []byte { return nil }

func prefault([]byte) {}

func lowerThreadPriority() {}

//go:build !linux

package main

// hugePageRegion and prefault are Linux's (heap_linux.go); elsewhere the
// heap keeps the system's pages.
func hugePageRegion(int) []byte { return nil }

func prefault([]byte) {}

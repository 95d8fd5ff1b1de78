//go:build !linux

package main

// backWithHugePages is Linux's (heap_linux.go); elsewhere the heap keeps
// the system's pages.
func backWithHugePages(int, int) bool { return false }

//go:build !go1.23

package main

const hasPull = false

// pulls: iter.Pull needs Go 1.23.
func pulls(n int, early bool) {
	panic("iter.Pull needs Go 1.23")
}

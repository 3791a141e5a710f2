//go:build go1.23

package main

import "iter"

const hasPull = true

// count yields 0, 1, 2.
func count(yield func(int) bool) {
	for i := 0; i < 3; i++ {
		if !yield(i) {
			return
		}
	}
}

// pulls runs n iter.Pull coroutines to their end (or stops each after its
// first value): either way the coroutine goroutine returns from count and
// exits through runtime.coroexit.
func pulls(n int, early bool) {
	for i := 0; i < n; i++ {
		next, stop := iter.Pull(iter.Seq[int](count))
		for {
			_, ok := next()
			if !ok || early {
				break
			}
		}
		stop()
	}
}

// Command coro is the target of test/e2e/coro.test.ts: goroutines that end
// through runtime.coroexit (iter.Pull's coroutine, Go ≥ 1.23) next to plain
// ones that end through runtime.goexit1.
//
// It prints "ready pid=P pull=B" (B: whether this build has iter.Pull) and
// then reads one command per line on stdin, all run on the main goroutine:
//
//	pull K    K iter.Pull iterators, each pulled to its end: K coroutine
//	          goroutines created and exited; prints "pull n=K"
//	stop K    K iter.Pull iterators, each stopped after its first value
//	          (the iterator sees yield return false and returns); prints
//	          "stop n=K"
//	plain K   K plain goroutines that exit at once; prints "plain n=K"
//	quit      exits 0
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

func plainWorker(wg *sync.WaitGroup) {
	wg.Done()
}

func plain(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go plainWorker(&wg)
	}
	wg.Wait()
}

func main() {
	fmt.Printf("ready pid=%d pull=%t\n", os.Getpid(), hasPull)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		n := 0
		if len(f) > 1 {
			n, _ = strconv.Atoi(f[1])
		}
		switch f[0] {
		case "pull":
			pulls(n, false)
			fmt.Printf("pull n=%d\n", n)
		case "stop":
			pulls(n, true)
			fmt.Printf("stop n=%d\n", n)
		case "plain":
			plain(n)
			fmt.Printf("plain n=%d\n", n)
		case "quit":
			os.Exit(0)
		default:
			fmt.Fprintf(os.Stderr, "unknown command %q\n", f[0])
		}
	}
}

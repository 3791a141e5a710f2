// Command stress is the target of test/e2e/stress.test.ts: until SIGUSR1
// (at most -seconds) it
// recurses deeply (stacks grow to megabytes and shrink back at GC), churns
// goroutines, makes channels and allocates garbage, checking every result
// it computes. It prints "ready pid=P", then "round N ok" per round, and
// "done rounds=N" at the end (exit 0); a wrong result prints "BAD …" and
// exits 2.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// deep recurses n levels with a 256-byte frame each: 4096 levels is 1 MiB of stack.
//
//go:noinline
func deep(n int) uint64 {
	var pad [32]uint64
	pad[n%32] = uint64(n)
	if n == 0 {
		return 0
	}
	return deep(n-1) + pad[n%32]
}

func check(what string, got, want uint64) {
	if got != want {
		fmt.Printf("BAD %s: got %d want %d\n", what, got, want)
		os.Exit(2)
	}
}

func round(r int) {
	var wg sync.WaitGroup
	results := make(chan uint64, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(depth int) {
			defer wg.Done()
			results <- deep(depth)
		}(2000 + i*100)
	}
	wg.Wait()
	close(results)
	var sum, want uint64
	for v := range results {
		sum += v
	}
	for i := 0; i < 64; i++ {
		d := uint64(2000 + i*100)
		want += d * (d + 1) / 2
	}
	check("recursion", sum, want)

	// Churn through unbuffered channels: every hand-off parks and wakes.
	ping := make(chan int)
	done := make(chan uint64)
	go func() {
		var s uint64
		for v := range ping {
			s += uint64(v)
		}
		done <- s
	}()
	for i := 1; i <= 1000; i++ {
		ping <- i
	}
	close(ping)
	check("channel sum", <-done, 1000*1001/2)

	// GC pressure: garbage, then a collection that shrinks the grown stacks.
	var keep [][]byte
	for i := 0; i < 2000; i++ {
		b := make([]byte, 1024+i)
		b[len(b)-1] = byte(i)
		if i%100 == 0 {
			keep = append(keep, b)
		}
	}
	check("kept", uint64(len(keep)), 20)
	if r%5 == 0 {
		runtime.GC()
	}
}

func main() {
	seconds := flag.Float64("seconds", 15, "the longest it runs without SIGUSR1")
	flag.Parse()
	// The test ends the run when it is done with gtop, whatever the load made attaching cost.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGUSR1)
	fmt.Printf("ready pid=%d\n", os.Getpid())
	end := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	r := 0
	for running := true; running && time.Now().Before(end); {
		select {
		case <-stop:
			running = false
			continue
		default:
		}
		round(r)
		r++
		fmt.Printf("round %d ok\n", r)
	}
	fmt.Printf("done rounds=%d\n", r)
}

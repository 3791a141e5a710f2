// busy is the overhead fixture: goroutine pairs ping-pong over unbuffered
// channels (every operation parks and wakes a goroutine) and the program
// prints "OPS <n>/s" once per interval, so a test can compare throughput
// with and without gtop attached. Like parking, it serves net/http/pprof and
// prints "READY http://127.0.0.1:PORT" first.
package main

import (
	"flag"
	"fmt"
	"gtoptest/internal/fixture"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync/atomic"
	"time"
)

var ops atomic.Int64

//go:noinline
func ping(out, in chan int) {
	for {
		out <- 1
		<-in
		ops.Add(1)
	}
}

//go:noinline
func pong(in, out chan int) {
	for {
		out <- <-in
	}
}

func main() {
	pairs := flag.Int("pairs", 1, "number of ping-pong pairs")
	interval := flag.Duration("interval", time.Second, "how often to print OPS")
	flag.Parse()
	fixture.DieWithParent()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "busy:", err)
		os.Exit(1)
	}
	go http.Serve(ln, nil)

	for i := 0; i < *pairs; i++ {
		a, b := make(chan int), make(chan int)
		go ping(a, b)
		go pong(a, b)
	}
	fmt.Printf("READY http://%s\n", ln.Addr())

	last, lastAt := ops.Load(), time.Now()
	for now := range time.Tick(*interval) {
		n := ops.Load()
		rate := float64(n-last) / now.Sub(lastAt).Seconds()
		fmt.Printf("OPS %.0f/s\n", rate)
		last, lastAt = n, now
	}
}

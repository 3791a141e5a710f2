// parked holds N goroutines blocked in a mix of ways, serves the runtime's
// own goroutine dump (net/http/pprof), and measures its own scheduling stalls:
// a ticker goroutine records how late each 1 ms tick arrives, so a reader
// that stops the world shows up as a long stall.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var maxLateNs atomic.Int64

func watchStalls() {
	const period = time.Millisecond
	next := time.Now().Add(period)
	for {
		time.Sleep(time.Until(next))
		late := time.Since(next).Nanoseconds()
		for {
			cur := maxLateNs.Load()
			if late <= cur || maxLateNs.CompareAndSwap(cur, late) {
				break
			}
		}
		next = next.Add(period)
		if time.Until(next) < 0 {
			next = time.Now().Add(period)
		}
	}
}

//go:noinline
func depth(n int, park func()) {
	if n == 0 {
		park()
		return
	}
	depth(n-1, park)
}

func main() {
	n := flag.Int("n", 10000, "goroutines to park")
	flag.Parse()
	var mu sync.Mutex
	mu.Lock()
	never := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	for i := 0; i < *n; i++ {
		var park func()
		switch i % 4 {
		case 0:
			park = func() { <-never }
		case 1:
			park = func() { mu.Lock() }
		case 2:
			park = func() { wg.Wait() }
		default:
			park = func() { time.Sleep(time.Hour) }
		}
		go depth(i%8, park)
	}
	go watchStalls()
	http.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", maxLateNs.Swap(0))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	time.Sleep(200 * time.Millisecond)
	fmt.Printf("READY http://%s\n", ln.Addr())
	http.Serve(ln, nil)
}

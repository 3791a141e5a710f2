// leaky is a small service under a steady local load: a handler that leaks
// one goroutine per request (blocked forever sending on a channel nobody
// reads), next to two busy worker pools whose many idle workers block on
// their job channels between jobs (one unbuffered, one buffered). It prints
// "READY http://127.0.0.1:PORT" once the server and pools run, then drives
// its own /work endpoint at -rate requests per second.
package main

import (
	"flag"
	"fmt"
	"gtoptest/internal/fixture"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

var served atomic.Int64

func main() {
	rate := flag.Int("rate", 40, "requests per second to /work")
	flag.Parse()
	fixture.DieWithParent()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	http.HandleFunc("/work", handleWork)
	go http.Serve(ln, nil)

	startPool(32, make(chan int))
	startPool(16, make(chan int, 64))
	fixture.Announce(fmt.Sprintf("READY http://%s\n", ln.Addr()))
	drive("http://"+ln.Addr().String()+"/work", *rate)
}

// handleWork answers at once and leaves a goroutine behind: its result
// channel is never read.
func handleWork(w http.ResponseWriter, r *http.Request) {
	result := make(chan int)
	go func() {
		result <- compute(r.URL.Path)
	}()
	served.Add(1)
	io.WriteString(w, "ok\n")
}

//go:noinline
func compute(s string) int { return len(s) }

// startPool runs n workers fed by a dispatcher every 500 µs: most workers
// are parked on the job channel at any moment, and all of them keep working.
func startPool(n int, jobs chan int) {
	for i := 0; i < n; i++ {
		go worker(jobs)
	}
	go func() {
		for i := 0; ; i++ {
			jobs <- i
			time.Sleep(500 * time.Microsecond)
		}
	}()
}

//go:noinline
func worker(jobs <-chan int) {
	for j := range jobs {
		compute(fmt.Sprint(j))
	}
}

func drive(url string, perSecond int) {
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	for range tick.C {
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "leaky:", err)
	os.Exit(1)
}

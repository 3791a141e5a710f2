// Command hello is bench/overhead's HTTP target: one handler that writes a
// short body. Prints "READY http://127.0.0.1:PORT" once listening and, with
// -interval, "REQS <n>/s" per interval (a throughput time series, to see
// when a tracer's probes cost the server and for how long).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

var served atomic.Int64

func main() {
	interval := flag.Duration("interval", 0, "print REQS per interval (0: never)")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
	fmt.Printf("READY http://%s\n", ln.Addr())
	if *interval > 0 {
		go func() {
			last, lastAt := served.Load(), time.Now()
			for now := range time.Tick(*interval) {
				n := served.Load()
				fmt.Printf("REQS %.0f/s\n", float64(n-last)/now.Sub(lastAt).Seconds())
				last, lastAt = n, now
			}
		}()
	}
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		fmt.Fprintln(w, "hello")
	}))
}

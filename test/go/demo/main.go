// demo is the program the README's first command watches: a small HTTP
// service with the problems gtop is for — a goroutine leak per request, lock
// contention, a stuck pipeline stage — and some traffic to make them move.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

var (
	cacheMu sync.Mutex
	cache   = map[string]int{}
)

// handler leaks one goroutine per request: the result channel is never read
// after the timeout, so the sender blocks forever.
func handler(w http.ResponseWriter, r *http.Request) {
	result := make(chan string)
	go func() {
		time.Sleep(time.Duration(len(r.URL.Path)) * time.Millisecond)
		result <- lookup(r.URL.Path)
	}()
	select {
	case v := <-result:
		fmt.Fprintln(w, v)
	case <-time.After(time.Millisecond):
		http.Error(w, "timeout", http.StatusGatewayTimeout)
	}
}

// lookup holds a global lock while it "works": the contention shows up as
// goroutines waiting on sync.Mutex.Lock.
func lookup(key string) string {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	time.Sleep(2 * time.Millisecond)
	cache[key]++
	return fmt.Sprintf("%s=%d", key, cache[key])
}

// A pipeline whose last stage has died: the middle stage is stuck sending.
func pipeline() {
	raw := make(chan int, 8)
	parsed := make(chan int)
	go func() {
		for i := 0; ; i++ {
			raw <- i
		}
	}()
	go func() {
		for v := range raw {
			parsed <- v * 2
		}
	}()
	// The consumer of parsed was never started.
}

// A pool of workers that mostly idle on a job channel but do get work.
func workers(n int, jobs <-chan int) {
	for i := 0; i < n; i++ {
		go func() {
			for j := range jobs {
				time.Sleep(time.Duration(j%5) * time.Millisecond)
			}
		}()
	}
}

func traffic(addr string, every time.Duration) {
	client := &http.Client{Timeout: time.Second}
	for i := 0; ; i++ {
		resp, err := client.Get(fmt.Sprintf("http://%s/item/%d", addr, i%50))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		time.Sleep(every)
	}
}

func main() {
	every := flag.Duration("every", 100*time.Millisecond, "interval between self-generated requests")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/item/", handler)
	go http.Serve(ln, mux)

	pipeline()
	jobs := make(chan int)
	workers(8, jobs)
	go func() {
		for i := 0; ; i++ {
			jobs <- i
			time.Sleep(20 * time.Millisecond)
		}
	}()
	go traffic(ln.Addr().String(), *every)
	fmt.Printf("demo: pid %d serving on http://%s\n", os.Getpid(), ln.Addr())
	select {}
}

// handoff makes, only when asked (GET /start), a channel that gtop's probes
// can watch from its make on: an unbuffered relay with senders queued on it
// and a receiver that takes one value every 100 ms, so the channel always has
// waiting senders and each receive hands off to (wakes) one of them. /start
// answers with the relay's address and the receiver's goroutine id. Prints
// "READY http://127.0.0.1:PORT" first.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"gtoptest/internal/fixture"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

const senders = 3

type started struct {
	Relay    string `json:"relay"`
	Receiver int64  `json:"receiver"`
}

var (
	once  sync.Once
	ready = make(chan started, 1)
)

func main() {
	fixture.DieWithParent()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "handoff:", err)
		os.Exit(1)
	}
	var info started
	http.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			go startRelay()
			info = <-ready
		})
		json.NewEncoder(w).Encode(info)
	})
	go http.Serve(ln, nil)
	fixture.Announce(fmt.Sprintf("READY http://%s\n", ln.Addr()))
	select {}
}

//go:noinline
func startRelay() {
	relay := make(chan int) // the make site the probes see
	for i := 0; i < senders; i++ {
		go sender(relay, i)
	}
	me := make(chan int64)
	go receiver(relay, me)
	ready <- started{Relay: fmt.Sprintf("%p", relay), Receiver: <-me}
}

//go:noinline
func sender(relay chan<- int, id int) {
	for {
		relay <- id
	}
}

//go:noinline
func receiver(relay <-chan int, me chan<- int64) {
	me <- goid()
	for {
		time.Sleep(100 * time.Millisecond)
		<-relay
	}
}

// goid reads the calling goroutine's id from its own traceback header.
func goid() int64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.ParseInt(string(buf[:bytes.IndexByte(buf, ' ')]), 10, 64)
	return id
}

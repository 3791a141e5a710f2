// Command events is the target of test/e2e/bpf.test.ts: it does goroutine
// things on command so the eBPF probes have something exact to report.
//
// It prints "ready pid=P" and then reads one command per line on stdin:
//
//	chan              make a channel (makeChan), park a receiver on it for
//	                  500 ms, then send from a second goroutine; prints
//	                  "chan addr=0x… recv=G send=G" before and "chan done
//	                  blocked=NS" after: NS is the program's own measure, from
//	                  just before the receive to just before the send
//	hold              parks a receiver on a new channel until "release";
//	                  prints "hold addr=0x… goid=G start=UNIXNANO" (start:
//	                  time.Now() just before the receive)
//	release           sends to the held channel; prints "released"
//	churn N           a fresh goroutine creates N goroutines that exit at once;
//	                  prints "churn parent=G n=N" when all have exited
//	pingpong N        N round trips between two goroutines over unbuffered
//	                  channels; prints "pingpong n=N ns=T" (T = ns per trip)
//	quit              exits 0
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// curGoid parses "goroutine N [" from the runtime's own stack header.
func curGoid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

//go:noinline
func makeChan() chan int {
	return make(chan int) // the makechan probe's caller pc points into this function
}

func chanScenario() {
	ch := makeChan()
	ids := make(chan uint64)
	done := make(chan struct{})
	var recvAt, sendAt time.Time
	go func() {
		ids <- curGoid()
		recvAt = time.Now()
		<-ch // parks with reason "chan receive" on &ch.lock for 500 ms
		close(done)
	}()
	recv := <-ids
	go func() {
		ids <- curGoid()
		time.Sleep(500 * time.Millisecond)
		sendAt = time.Now()
		ch <- 1 // readies the receiver: the waker is this goroutine
	}()
	send := <-ids
	fmt.Printf("chan addr=%p recv=%d send=%d\n", ch, recv, send)
	<-done
	fmt.Printf("chan done blocked=%d\n", sendAt.Sub(recvAt).Nanoseconds())
}

func churnWorker(wg *sync.WaitGroup) {
	wg.Done()
}

func churn(n int, out chan<- string) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go churnWorker(&wg)
	}
	wg.Wait()
	out <- fmt.Sprintf("churn parent=%d n=%d", curGoid(), n)
}

func pingpong(n int) time.Duration {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	d := time.Since(start)
	close(ping)
	return d
}

var held chan int

func hold() {
	held = makeChan()
	started := make(chan string)
	go func() {
		start := time.Now()
		started <- fmt.Sprintf("hold addr=%p goid=%d start=%d", held, curGoid(), start.UnixNano())
		<-held
	}()
	fmt.Println(<-started)
}

func main() {
	fmt.Printf("ready pid=%d\n", os.Getpid())
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
		case "chan":
			chanScenario()
		case "churn":
			out := make(chan string)
			go churn(n, out)
			fmt.Println(<-out)
		case "pingpong":
			d := pingpong(n)
			fmt.Printf("pingpong n=%d ns=%d\n", n, d.Nanoseconds()/int64(n))
		case "hold":
			hold()
		case "release":
			held <- 1
			fmt.Println("released")
		case "quit":
			return
		default:
			fmt.Printf("unknown command %q\n", f[0])
		}
	}
}

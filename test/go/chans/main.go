// Command chans is the target of test/e2e/channel-activity.test.ts: it makes
// channels and acts on them only on command, so that gtop's probes (attached
// before the command) see each channel being made and used.
//
// It prints "ready pid=P goid=G" (G: the goroutine that runs the commands
// and makes every channel) and then reads one command per line on stdin:
//
//	stuck N    a producer/consumer whose consumer is stuck: a queue of cap 3
//	           made by newQueue, filled, and N producers blocked sending;
//	           prints "stuck addr=0x… n=N len=3 cap=3" once all N are parked
//	handoff    a receiver R parks on a new unbuffered channel, then a sender
//	           S hands it a value (S readies R); prints
//	           "handoff addr=0x… waker=S woken=R" when R has it
//	ops K      on a new channel of cap K, goroutine S sends exactly K values,
//	           then R receives exactly K, then C closes it; prints
//	           "ops addr=0x… k=K sender=S receiver=R closer=C"
//	quit       exits 0
//
// Every channel stays referenced, so its address is never reused.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

var keep []chan int

// curGoid parses "goroutine N [" from the runtime's own stack header.
func curGoid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

// waitFor polls the runtime's own dump until `ok` holds for it.
func waitFor(ok func(dump string) bool) {
	buf := make([]byte, 1<<20)
	for {
		if ok(string(buf[:runtime.Stack(buf, true)])) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newQueue is small enough to be inlined: the make site is then an inlined frame.
func newQueue() chan int {
	return make(chan int, 3) // MAKE-SITE stuck
}

// produce → put (inlined) → chansend: a park-time stack with an inlined frame.
//
//go:noinline
func produce(q chan int, v int) {
	put(q, v)
}

func put(q chan int, v int) {
	q <- v
}

func stuck(n int) {
	q := newQueue()
	keep = append(keep, q)
	for i := 0; i < cap(q); i++ {
		q <- i
	}
	never := make(chan int)
	keep = append(keep, never)
	go func() { // the consumer, stuck before it ever receives
		<-never
		for range q {
		}
	}()
	for i := 0; i < n; i++ {
		go func(v int) { produce(q, v) }(i)
	}
	waitFor(func(d string) bool { return strings.Count(d, "[chan send") >= n })
	fmt.Printf("stuck addr=%p n=%d len=%d cap=%d\n", q, n, len(q), cap(q))
}

func handoff() {
	ch := make(chan int) // MAKE-SITE handoff
	keep = append(keep, ch)
	ids := make(chan uint64)
	done := make(chan struct{})
	go func() {
		ids <- curGoid()
		<-ch
		close(done)
	}()
	recv := <-ids
	go func() {
		ids <- curGoid()
		// Hand off only once the receiver is parked on ch: then this send readies it.
		waitFor(func(d string) bool { return strings.Contains(d, fmt.Sprintf("goroutine %d [chan receive", recv)) })
		ch <- 1
	}()
	send := <-ids
	<-done
	fmt.Printf("handoff addr=%p waker=%d woken=%d\n", ch, send, recv)
}

func ops(k int) {
	ch := make(chan int, k) // MAKE-SITE ops
	keep = append(keep, ch)
	ids := make(chan uint64)
	run := func(f func()) uint64 {
		go func() {
			f()
			ids <- curGoid()
		}()
		return <-ids
	}
	s := run(func() {
		for i := 0; i < k; i++ {
			ch <- i
		}
	})
	r := run(func() {
		for i := 0; i < k; i++ {
			<-ch
		}
	})
	c := run(func() { close(ch) })
	fmt.Printf("ops addr=%p k=%d sender=%d receiver=%d closer=%d\n", ch, k, s, r, c)
}

func main() {
	fmt.Printf("ready pid=%d goid=%d\n", os.Getpid(), curGoid())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		arg := 0
		if len(f) > 1 {
			arg, _ = strconv.Atoi(f[1])
		}
		switch f[0] {
		case "stuck":
			stuck(arg)
		case "handoff":
			handoff()
		case "ops":
			ops(arg)
		case "quit":
			os.Exit(0)
		default:
			fmt.Printf("unknown command %q\n", f[0])
		}
	}
}

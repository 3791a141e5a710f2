// parking is the main gtop test fixture: it parks goroutines in every common
// way, serves net/http/pprof on loopback and prints
// "READY http://127.0.0.1:PORT" once every parker is parked for good.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"gtoptest/internal/fixture"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"
)

// Objects the parkers block on stay reachable from globals, and main holds
// the locks forever.
var (
	mu       sync.Mutex
	rw       sync.RWMutex
	wg       sync.WaitGroup
	cond     = sync.NewCond(&sync.Mutex{})
	netPeer  net.Conn
	channels []chan int
)

func newChan(capacity int) chan int {
	c := make(chan int, capacity)
	channels = append(channels, c)
	return c
}

func main() {
	churn := flag.Int("churn", 0, "spawn N short-lived goroutines per second after READY")
	park := flag.Int("park", 0, "park N extra goroutines on one channel")
	spin := flag.Bool("spin", true, "run the busy goroutines (two Gosched loops, one tight loop)")
	flag.Parse()
	fixture.DieWithParent()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	go http.Serve(ln, nil)

	want := startChannels() + startSync() + startOthers() + startExtra(*park)
	if *spin {
		spinAll()
	}
	fixture.WaitSettled(arrived.Load, int64(want), "main.spin")
	if *churn > 0 {
		go churnLoop(*churn)
	}
	go announceWhenParked(fmt.Sprintf("READY http://%s\n", ln.Addr()))
	select {}
}

// announceWhenParked prints READY once main itself shows as parked in
// select {} in the runtime's own dump, so that a test's first dump cannot
// catch main runnable on its way there (seen under load). Then it parks too.
func announceWhenParked(line string) {
	deadline := time.Now().Add(60 * time.Second)
	buf := make([]byte, 1<<20)
	for !bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("goroutine 1 [select (no cases)")) {
		if time.Now().After(deadline) {
			fatal(fmt.Errorf("main did not park"))
		}
		if n := runtime.Stack(buf, true); n == len(buf) {
			buf = make([]byte, 2*len(buf))
		}
		time.Sleep(time.Millisecond)
	}
	fixture.Announce(line)
	select {}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "parking:", err)
	os.Exit(1)
}

func startChannels() int {
	unbuffered := newChan(0)
	for i := 0; i < 2; i++ {
		go chanSend(unbuffered)
	}
	go chanSend(unbuffered) // a second creation site

	recv := newChan(0)
	for i := 0; i < 2; i++ {
		go chanRecv(recv)
	}

	full := newChan(1)
	full <- 1
	for i := 0; i < 2; i++ {
		go chanSendBuffered(full)
	}

	for i := 0; i < 2; i++ {
		go chanSendNil()
		go chanRecvNil()
	}

	go selectTwo(newChan(0), newChan(0))
	go selectThree(newChan(0), newChan(0), newChan(0))
	for i := 0; i < 2; i++ {
		go selectEmpty()
	}
	return 3 + 2 + 2 + 4 + 2 + 2
}

func startSync() int {
	mu.Lock()
	for i := 0; i < 2; i++ {
		go mutexLock(&mu)
	}

	// The writer must be pending before the readers arrive, or they would
	// get the read lock. TryRLock fails once the writer has announced itself.
	rw.RLock()
	go rwLock(&rw)
	for rw.TryRLock() {
		rw.RUnlock()
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 2; i++ {
		go rwRLock(&rw)
	}

	wg.Add(1)
	for i := 0; i < 2; i++ {
		go wgWait(&wg)
	}
	for i := 0; i < 2; i++ {
		go condWait(cond)
	}
	for i := 0; i < 2; i++ {
		go sleepLong()
	}
	return 2 + 1 + 2 + 2 + 2 + 2
}

func startOthers() int {
	startNetRead()
	go chainA(newChan(0))
	go genericRecv(make(chan string))
	go spawner(newChan(0), newChan(0))
	startClosure()
	startMethodValue()
	go labelled(newChan(0))
	go lockedToThread(newChan(0))
	go panicPark(newChan(0))
	go deepRecurse(120, newChan(0))
	return 1 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1
}

func startNetRead() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fatal(err)
	}
	if netPeer, err = ln.Accept(); err != nil {
		fatal(err)
	}
	go netRead(client)
}

//go:noinline
func startClosure() {
	c := newChan(0)
	go func() {
		arrive()
		<-c
	}()
}

//go:noinline
func startMethodValue() {
	p := &methodParker{c: newChan(0)}
	f := p.park
	go f()
}

func startExtra(n int) int {
	c := newChan(0)
	for i := 0; i < n; i++ {
		go parkExtra(c)
	}
	return n
}

func spinAll() {
	go spinGosched()
	go spinGosched()
	go spinTight()
}

func churnLoop(perSecond int) {
	const tick = 10 * time.Millisecond
	owed := 0.0
	for range time.Tick(tick) {
		owed += float64(perSecond) * tick.Seconds()
		for ; owed >= 1; owed-- {
			go churnOne()
		}
	}
}

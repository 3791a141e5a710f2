package main

// Every parker is noinline so that its frame (name, file, line) is the same
// with every toolchain; each calls arrive() right before its final blocking
// operation, and nothing ever wakes it.

import (
	"context"
	"net"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

var arrived atomic.Int64

func arrive() { arrived.Add(1) }

//go:noinline
func chanSend(c chan int) {
	arrive()
	c <- 1
}

//go:noinline
func chanRecv(c chan int) {
	arrive()
	<-c
}

//go:noinline
func chanSendBuffered(c chan int) {
	arrive()
	c <- 2 // c has capacity 1 and is already full
}

//go:noinline
func chanSendNil() {
	var c chan int
	arrive()
	c <- 1
}

//go:noinline
func chanRecvNil() {
	var c chan int
	arrive()
	<-c
}

//go:noinline
func selectTwo(a, b chan int) {
	arrive()
	select {
	case <-a:
	case b <- 1:
	}
}

//go:noinline
func selectThree(a, b, c chan int) {
	arrive()
	select {
	case <-a:
	case <-b:
	case c <- 1:
	}
}

//go:noinline
func selectEmpty() {
	arrive()
	select {}
}

//go:noinline
func mutexLock(mu *sync.Mutex) {
	arrive()
	mu.Lock()
}

//go:noinline
func rwLock(rw *sync.RWMutex) {
	arrive()
	rw.Lock() // main holds a read lock: waits for the reader to leave
}

//go:noinline
func rwRLock(rw *sync.RWMutex) {
	arrive()
	rw.RLock() // a writer is pending: waits for it
}

//go:noinline
func wgWait(wg *sync.WaitGroup) {
	arrive()
	wg.Wait()
}

//go:noinline
func condWait(c *sync.Cond) {
	c.L.Lock()
	arrive()
	c.Wait()
}

//go:noinline
func sleepLong() {
	arrive()
	time.Sleep(time.Hour)
}

//go:noinline
func netRead(conn net.Conn) {
	buf := make([]byte, 1)
	arrive()
	conn.Read(buf) // the peer never writes
}

// recvInline is small enough to be inlined into chainC: the dump shows it as
// "main.recvInline(...)" without a pc offset.
func recvInline(c chan int) int { return <-c }

//go:noinline
func chainA(c chan int) { chainB(c) }

//go:noinline
func chainB(c chan int) { chainC(c) }

//go:noinline
func chainC(c chan int) {
	arrive()
	sink += recvInline(c)
}

var sink int

//go:noinline
func genericRecv[T any](c chan T) {
	arrive()
	<-c
}

// spawner creates a goroutine itself (so the child's parent is not main),
// then parks.
//
//go:noinline
func spawner(child, self chan int) {
	go spawnedChild(child)
	arrive()
	<-self
}

//go:noinline
func spawnedChild(c chan int) {
	arrive()
	<-c
}

type methodParker struct{ c chan int }

//go:noinline
func (p *methodParker) park() {
	arrive()
	<-p.c
}

//go:noinline
func labelled(c chan int) {
	pprof.Do(context.Background(), pprof.Labels("gtop", "labelled"), func(context.Context) {
		arrive()
		<-c
	})
}

//go:noinline
func lockedToThread(c chan int) {
	runtime.LockOSThread()
	arrive()
	<-c
}

// panicPark blocks inside a deferred call while panicking: the dump shows a
// "panic" frame between the deferred closure and panicPark.
//
//go:noinline
func panicPark(c chan int) {
	defer func() {
		arrive()
		<-c
	}()
	panic("gtop test: parked while panicking")
}

// deepRecurse parks below more than 100 frames, so the dump elides some.
//
//go:noinline
func deepRecurse(n int, c chan int) {
	if n == 0 {
		arrive()
		<-c
		return
	}
	deepRecurse(n-1, c)
}

//go:noinline
func parkExtra(c chan int) {
	arrive()
	<-c
}

// The spinners never park; their names all start with "spin" so the
// readiness check can tell them apart.

var spinSink atomic.Uint64

//go:noinline
func spinGosched() {
	for {
		runtime.Gosched()
	}
}

//go:noinline
func spinTight() {
	x := uint64(1)
	for i := 0; ; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		if i&(1<<20-1) == 0 {
			spinSink.Store(x)
		}
	}
}

// churnOne lives 20ms: at N per second about N/50 are alive at any moment.
//
//go:noinline
func churnOne() {
	time.Sleep(20 * time.Millisecond)
}

// waits parks goroutines on channels and sync objects in known shapes for
// gtop's wait analysis: a producer/consumer whose consumer is stuck, one
// object of each sync type with several waiters, a select over three
// channels, a two-goroutine channel deadlock, a two-goroutine mutex
// deadlock, and a pair that looks deadlocked but is not (a sleeper holds
// one of its channels). It serves the objects' addresses at /objects and
// prints "READY http://127.0.0.1:PORT" once everything is parked.
//
// Objects are only ever named by their address as a string: a pointer kept
// in a global would make every waiter reachable and defeat the deadlock
// proof the tests expect.
package main

import (
	"encoding/json"
	"fmt"
	"gtoptest/internal/fixture"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

const (
	producers  = 6
	jobsBuffer = 4
	contenders = 3
)

type job struct {
	id      int
	payload string
}

var (
	arrived   atomic.Int64
	objectsMu sync.Mutex
	objects   = map[string]string{}
)

func arrive() { arrived.Add(1) }

func name(key string, p any) {
	objectsMu.Lock()
	objects[key] = fmt.Sprintf("%p", p)
	objectsMu.Unlock()
}

func main() {
	fixture.DieWithParent()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	http.HandleFunc("/objects", func(w http.ResponseWriter, r *http.Request) {
		objectsMu.Lock()
		defer objectsMu.Unlock()
		json.NewEncoder(w).Encode(objects)
	})
	go http.Serve(ln, nil)

	want := startPipeline() + startLocks() + startSelect() + startChanDeadlock() + startMutexDeadlock() + startRescuedPair()
	fixture.WaitSettled(arrived.Load, int64(want))
	fixture.Announce(fmt.Sprintf("READY http://%s\n", ln.Addr()))
	select {}
}

// ---- producer/consumer with a stuck consumer ----

//go:noinline
func startPipeline() int {
	jobs := make(chan job, jobsBuffer)
	name("jobs", jobs)
	go consumer(jobs)
	for i := 0; i < producers; i++ {
		go producer(jobs, i)
	}
	return 1 + producers
}

//go:noinline
func producer(jobs chan<- job, id int) {
	arrive()
	for n := 0; ; n++ {
		jobs <- job{id: id*1000 + n, payload: "work"}
	}
}

// consumer takes one job, then gets stuck on a channel nobody sends on.
//
//go:noinline
func consumer(jobs <-chan job) {
	<-jobs
	stuck := make(chan struct{})
	arrive()
	<-stuck
}

// ---- one object of each sync type, several waiters each ----

//go:noinline
func startLocks() int {
	mu := new(sync.Mutex)
	name("mutex", mu)
	mu.Lock() // held by nobody running: contenders wait forever
	for i := 0; i < contenders; i++ {
		go mutexLock(mu)
	}

	rw := new(sync.RWMutex)
	name("rwmutex", rw)
	rw.RLock()
	go rwLock(rw) // waits for the reader to leave (writerSem)
	for rw.TryRLock() {
		rw.RUnlock()
		time.Sleep(time.Millisecond)
	}
	go rwLock(rw) // waits behind the first writer (rw.w)
	for i := 0; i < 2; i++ {
		go rwRLock(rw) // wait for the pending writer (readerSem)
	}

	wg := new(sync.WaitGroup)
	name("waitgroup", wg)
	wg.Add(1)
	for i := 0; i < contenders; i++ {
		go wgWait(wg)
	}

	cond := sync.NewCond(new(sync.Mutex))
	name("cond", cond)
	for i := 0; i < contenders; i++ {
		go condWait(cond)
	}
	return contenders + 4 + contenders + contenders
}

//go:noinline
func mutexLock(mu *sync.Mutex) {
	arrive()
	mu.Lock()
}

//go:noinline
func rwLock(rw *sync.RWMutex) {
	arrive()
	rw.Lock()
}

//go:noinline
func rwRLock(rw *sync.RWMutex) {
	arrive()
	rw.RLock()
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

// ---- a select over three channels ----

//go:noinline
func startSelect() int {
	a, b, c := make(chan int), make(chan string), make(chan job, 1)
	c <- job{}
	name("selectA", a)
	name("selectB", b)
	name("selectC", c)
	go selectThree(a, b, c)
	return 1
}

//go:noinline
func selectThree(a chan int, b chan string, c chan job) {
	arrive()
	select {
	case <-a:
	case <-b:
	case c <- job{}:
	}
}

// ---- a two-goroutine channel deadlock ----

//go:noinline
func startChanDeadlock() int {
	a, b := make(chan int), make(chan int)
	name("deadA", a)
	name("deadB", b)
	go deadFirst(a, b)
	go deadSecond(a, b)
	return 2
}

// deadFirst waits for a, then would send on b; deadSecond the other way round.
//
//go:noinline
func deadFirst(a, b chan int) {
	arrive()
	<-a
	b <- 1
}

//go:noinline
func deadSecond(a, b chan int) {
	arrive()
	<-b
	a <- 1
}

// ---- a two-goroutine mutex deadlock (lock order inversion) ----

type accounts struct {
	from, to sync.Mutex
}

//go:noinline
func startMutexDeadlock() int {
	acc := new(accounts)
	name("lockFrom", &acc.from)
	name("lockTo", &acc.to)
	both := new(sync.WaitGroup)
	both.Add(2)
	go transfer(&acc.from, &acc.to, both)
	go transfer(&acc.to, &acc.from, both)
	return 2
}

//go:noinline
func transfer(first, second *sync.Mutex, both *sync.WaitGroup) {
	first.Lock()
	both.Done()
	both.Wait() // each holds its first lock before wanting the second
	arrive()
	second.Lock()
}

// ---- a pair that looks deadlocked, but a sleeper will send on one channel ----

//go:noinline
func startRescuedPair() int {
	a, b := make(chan int), make(chan int)
	name("rescuedA", a)
	name("rescuedB", b)
	go rescuedFirst(a, b)
	go rescuedSecond(a, b)
	go rescuer(a)
	return 3
}

//go:noinline
func rescuedFirst(a, b chan int) {
	arrive()
	<-a
	b <- 1
}

//go:noinline
func rescuedSecond(a, b chan int) {
	arrive()
	<-b
	a <- 1
}

//go:noinline
func rescuer(a chan int) {
	arrive()
	time.Sleep(time.Hour)
	a <- 1
}

// ---- plumbing (as in test/go/parking) ----

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "waits:", err)
	os.Exit(1)
}

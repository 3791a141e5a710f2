// Command probe exists to be compiled, not run for long: it uses every
// runtime feature whose types gtop reads (channels, select, sync primitives,
// pprof labels, network polling, timers) so that the linker keeps their
// types in DWARF. The extractor then reads the layouts from its binary.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

func main() {
	var (
		mu   sync.Mutex
		rw   sync.RWMutex
		wg   sync.WaitGroup
		cond = sync.NewCond(&mu)
		ch   = make(chan int, 1)
		unb  = make(chan string)
	)
	wg.Add(3)
	go func() { defer wg.Done(); ch <- 1; unb <- "x" }()
	go func() {
		defer wg.Done()
		select {
		case v := <-ch:
			_ = v
		case <-time.After(time.Second):
		}
		<-unb
	}()
	go func() {
		defer wg.Done()
		mu.Lock()
		cond.Signal()
		mu.Unlock()
		rw.RLock()
		rw.RUnlock()
	}()
	pprof.Do(context.Background(), pprof.Labels("probe", "labels"), func(ctx context.Context) {
		if v, ok := pprof.Label(ctx, "probe"); ok {
			_ = v
		}
	})
	// A loopback listener keeps the netpoller (runtime.pollDesc) in use.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	wg.Wait()
	fmt.Fprintln(os.Stdout, "probe ok")
}

package main

import (
	"os"
	"syscall"
)

// dieWithParent makes the kernel SIGKILL us when the test runner that
// started us dies, even if it had no chance to clean up. Opt-in through the
// environment so that a fixture started by hand or by a benchmark is not
// tied to its shell.
func dieWithParent() {
	if os.Getenv("GTOP_DIE_WITH_PARENT") != "1" {
		return
	}
	const prSetPdeathsig = 1
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGKILL), 0)
	if os.Getppid() == 1 { // the parent was already gone
		os.Exit(1)
	}
}

package pgtest

import "syscall"

// procAttr runs a child as cred (nil: the current user) and has the kernel
// send it SIGINT, PostgreSQL's fast shutdown, when the thread that
// started it exits. Go sets the parent-death signal after switching
// credentials, so it survives the switch to the postgres user.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
}

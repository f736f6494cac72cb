//go:build unix && !linux

package pgtest

import "syscall"

// procAttr runs a child as cred (nil: the current user). Only Linux has a
// parent-death signal: elsewhere a killed test run can leave the server
// behind, and Stop is the only way it ends.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}

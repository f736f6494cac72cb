//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package auth

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on the directory dir, waiting for it,
// and returns its release. flock locks belong to the open file, so two
// opens in one process exclude each other too, and the directory holds no
// lock file.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

//go:build !unix

package pgtest

import (
	"errors"
	"runtime"
)

// start cannot start a server here: set M365KIT_TEST_POSTGRES_DSN.
func start() (string, func() error, error) {
	return "", nil, errors.New("starting PostgreSQL is not supported on " + runtime.GOOS + "; set " + EnvDSN)
}

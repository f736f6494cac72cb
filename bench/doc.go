// Package bench measures m365kit against Microsoft's Go SDK
// (github.com/microsoftgraph/msgraph-sdk-go) and against a plain
// net/http + encoding/json loop, the floor.
//
// It is its own module so that the peer SDK never enters m365kit's go.mod.
// run.sh builds three programs doing the same full delta walk of a
// calendar view and of a mail folder (cmd/kitsync, cmd/msgraphsync,
// cmd/plainsync), serves them deterministic Graph pages from a loopback
// TLS server (internal/fake) and prints a table of medians and ratios:
// cold build time and memory, stripped binary size, wall time, CPU time
// and peak RSS of each sync, and per-item decode cost of a 100-item page.
// cmd/benchrun does the measuring; run.sh is its front end. TestRunQuick
// runs run.sh -quick so the script cannot rot.
package bench

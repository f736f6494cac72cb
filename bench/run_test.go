package bench

import (
	"bytes"
	"flag"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

var withMSGraph = flag.Bool("msgraph", false, "also run the msgraph-sdk-go leg (its build is slow)")

// TestRunQuick runs run.sh in quick mode (10,000 items, one run, warm
// builds) so the script, the three programs and the table cannot rot. The
// msgraph-sdk-go leg runs with -msgraph.
func TestRunQuick(t *testing.T) {
	args := []string{"-quick", "-cold=false", "-decodetime=100ms", "-msgraph=" + strconv.FormatBool(*withMSGraph)}
	cmd := exec.CommandContext(t.Context(), "./run.sh", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run.sh %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	legs := []string{"m365kit", "plain"}
	if *withMSGraph {
		legs = []string{"m365kit", "msgraph-sdk-go", "plain"}
	}
	rows := map[string][]string{}
	var header []string
	for line := range strings.SplitSeq(stdout.String(), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if header == nil {
			header = cells
			continue
		}
		rows[cells[0]] = cells
	}
	want := append([]string{"what", "unit"}, legs...)
	want = append(want, "m365kit / plain")
	if *withMSGraph {
		want = append(want, "msgraph / plain", "msgraph / m365kit")
	}
	if strings.Join(header, "|") != strings.Join(want, "|") {
		t.Fatalf("table header = %q, want %q\noutput:\n%s", header, want, stdout.String())
	}
	for _, what := range []string{
		"build: binary, stripped",
		"calendar sync, 10,000 items: wall",
		"calendar sync, 10,000 items: CPU (user+sys)",
		"calendar sync, 10,000 items: peak RSS",
		"mail sync, 10,000 items: wall",
		"mail sync, 10,000 items: CPU (user+sys)",
		"mail sync, 10,000 items: peak RSS",
		"calendar decode, 100-item page: CPU time per item",
		"calendar decode, 100-item page: bytes per item",
		"calendar decode, 100-item page: allocs per item",
		"mail decode, 100-item page: allocs per item",
	} {
		cells, ok := rows[what]
		if !ok {
			t.Errorf("table has no row %q\noutput:\n%s", what, stdout.String())
			continue
		}
		if len(cells) != len(want) {
			t.Errorf("row %q has %d cells, want %d: %q", what, len(cells), len(want), cells)
			continue
		}
		for i, leg := range legs {
			v, err := strconv.ParseFloat(strings.ReplaceAll(cells[2+i], ",", ""), 64)
			if err != nil || v <= 0 {
				t.Errorf("row %q, %s = %q, want a positive number", what, leg, cells[2+i])
			}
		}
		if r := cells[2+len(legs)]; !strings.HasSuffix(r, "x") {
			t.Errorf("row %q: ratio m365kit / plain = %q, want a ratio", what, r)
		}
	}
}

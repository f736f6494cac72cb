// Permissions prints the permission overview a tenant administrator is shown
// before granting consent: what each feature lets the app do, when it is
// required, and every delegated Microsoft Graph permission with its ID. It is
// the table to paste into an admin guide, straight from scopes.Catalog, so the
// guide can never drift from what the SDK requests.
//
//	go run ./examples/permissions                          # Markdown, every feature
//	go run ./examples/permissions -features calendar,mail  # only what these need
//	go run ./examples/permissions -format json             # for a settings page or a script
//
// It needs no tenant and no credentials.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/m365kit/m365kit/scopes"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "permissions:", err)
		os.Exit(1)
	}
}

// overview is the JSON output.
type overview struct {
	Features    []feature    `json:"features"`
	Scopes      []string     `json:"scopes"`
	Permissions []permission `json:"permissions"`
}

type feature struct {
	Name   string   `json:"name"`
	Title  string   `json:"title"`
	Scopes []string `json:"scopes"`
}

type permission struct {
	Name                 string `json:"name"`
	ID                   string `json:"id"`
	Description          string `json:"description"`
	Feature              string `json:"feature"`
	AdminConsentRequired bool   `json:"adminConsentRequired"`
}

// run is the program: main without the process around it, so tests call it.
func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("permissions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "markdown", "output format: markdown or json")
	list := fs.String("features", "", "features to show, comma-separated (default all): "+featureNames())
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	}
	var feats []scopes.Feature
	for name := range strings.SplitSeq(*list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		f, err := scopes.ParseFeature(name)
		if err != nil {
			return fmt.Errorf("-features: %w", err)
		}
		feats = append(feats, f)
	}
	switch *format {
	case "markdown", "md":
		_, err := io.WriteString(stdout, scopes.Markdown(feats...))
		return err
	case "json":
		shown := feats
		if len(shown) == 0 {
			shown = scopes.Features()
		} else if shown[0] != scopes.SignIn {
			shown = append([]scopes.Feature{scopes.SignIn}, shown...)
		}
		var o overview
		for _, f := range shown {
			o.Features = append(o.Features, feature{Name: string(f), Title: f.Title(), Scopes: scopes.For(f)})
		}
		o.Scopes = scopes.For(shown...)
		for _, p := range scopes.Permissions(shown...) {
			o.Permissions = append(o.Permissions, permission{Name: p.Name, ID: p.ID, Description: p.Description, Feature: string(p.Feature), AdminConsentRequired: p.AdminConsentRequired})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	default:
		return fmt.Errorf("-format %q: want markdown or json", *format)
	}
}

func featureNames() string {
	var names []string
	for _, f := range scopes.Features() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

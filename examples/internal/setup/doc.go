// Package setup is the plumbing the example programs share: reading the
// M365KIT_* environment, the encrypted token store under the user's config
// directory, the in-process demo tenant (an m365test sandbox) every example runs
// against when nothing is configured, and Main, the process around each
// example's Program.
//
// It is internal to the examples: programs built on m365kit make their own
// choices about configuration and storage. Everything here uses the public API
// of the m365kit packages only.
package setup

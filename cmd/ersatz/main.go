// Command ersatz answers whether an LLM workload can move to another
// accelerator, how many chips it takes, and at what latency, cost and power.
// See README.md; all the work happens in package cli.
package main

import (
	"os"

	"ersatz/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

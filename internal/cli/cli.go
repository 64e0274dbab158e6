// Package cli is the ersatz command line: one function per subcommand, each
// parsing its own flags, loading what it needs, calling the core packages
// and rendering their values as text, JSON or CSV.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed: bad input, nothing fits, ...
	exitUsage = 2 // the command line itself is wrong
)

// env is what every command receives.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// create opens a file the command writes (plan --html); nil means the
	// file system. progress, when set, hears how far a long command is.
	create   func(path string) (io.WriteCloser, error)
	progress func(done, total int)
	// interrupt, when set, replaces the signals that stop long runs (see
	// interrupt.go); for tests.
	interrupt func() interrupter
}

type command struct {
	summary string
	run     func(e *env, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"chips":    {"list the accelerator catalog", runChips},
		"nodes":    {"list nodes and supernodes", runNodes},
		"models":   {"list the model catalog", runModels},
		"fit":      {"check whether a model fits on chips, and how much KV cache is left", runFit},
		"plan":     {"find the cheapest deployment that meets latency targets under a policy, and what each ban costs", runPlan},
		"validate": {"compare the performance model with published measurements", runValidate},
		"predict":  {"predict throughput, TTFT and TPOT of a deployment, with the step breakdown", runPredict},
		"simulate": {"simulate serving under synthetic load or a trace: queues, tails, goodput", runSimulate},
		"serve":    {"serve a local web UI and JSON API for plan, predict, chips and models", runServe},
		"train":    {"estimate pre-training: step time, memory, layout, days, chip-hours, cost, failures and goodput", runTrain},

		// issue 11: measure and calibrate
		"emulate":   {"serve an OpenAI-compatible endpoint whose timing comes from the simulator", runEmulate},
		"bench":     {"benchmark an OpenAI-compatible endpoint (vllm bench serve's measures and result JSON)", runBench},
		"calibrate": {"fit efficiency parameters to bench results; writes a params overlay", runCalibrate},
	}
}

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ err error }

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// Main runs ersatz with args (without the program name) and returns the
// exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(&env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}, args)
}

// run is Main on an env.
func run(e *env, args []string) int {
	stderr, stdout := e.stderr, e.stdout
	if len(args) > 1 && args[0] == "help" {
		// ersatz help plan is ersatz plan -h.
		args = []string{args[1], "-h"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "ersatz", Version)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ersatz: unknown command %q; run 'ersatz help'\n", args[0])
		return exitUsage
	}
	err := cmd.run(e, args[1:])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	}
	var in *interruptedError
	if errors.As(err, &in) {
		fmt.Fprintf(stderr, "ersatz %s: %s\n", args[0], err)
		return in.code()
	}
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintf(stderr, "ersatz %s: %s; run 'ersatz %s -h'\n", args[0], err, args[0])
		return exitUsage
	}
	fmt.Fprintf(stderr, "ersatz %s: %s\n", args[0], err)
	return exitError
}

// Version is the release; set by the linker for builds.
var Version = "dev"

func usage(w io.Writer) {
	fmt.Fprintln(w, "ersatz: can this LLM workload leave this chip, for which chips, how many, at what cost?")
	fmt.Fprintln(w, "\nUsage: ersatz COMMAND [flags]   (ersatz COMMAND -h for the flags)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEnvironment: ERSATZ_CATALOG=DIR adds accelerator YAML files over the built-in catalog (as --catalog).")
}

// newFlags returns a flag set whose errors come back to the caller (as
// usage errors) instead of exiting. Help that was asked for goes to stdout.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stdout)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: ersatz %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, rejects stray arguments, a setting given under two
// spellings and numbers out of range.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := checkAliases(fs); err != nil {
		return err
	}
	return checkRanges(fs)
}

// readFile reads a user's file; the path is in the error.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, errors.Unwrap(err))
	}
	return data, nil
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

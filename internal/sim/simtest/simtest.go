// Package simtest runs serving scenarios written in a small line language,
// in the manner of Prometheus's promqltest, so each scheduler behaviour is
// pinned by a script whose expected times are worked out by hand.
//
// A script is a sequence of lines; # starts a comment.
//
//	config  KEY=VALUE ...   the serving pool (the decode pool if prefill is given)
//	prefill KEY=VALUE ...   a disaggregated prefill pool
//	transfer kv_bytes=N bw=N latency=DUR
//	slo ttft=DUR tpot=DUR
//	seed N
//	arrive t=DUR id=N prompt=N output=N [hashes=H,H,...]
//	expect id=N [first_token=DUR] [finish=DUR] [cached=N] [preemptions=N]
//	            [replica=N] [prefill_replica=N] [rejected=true|false]
//	expect summary [finished=N] [rejected=N] [preemptions=N] [good=N] [cached_tokens=N]
//
// Pool keys: step (base step time), prefill_token, decode_seq,
// decode_token, kv_token (per-unit step costs of a sim.LinearStepTimer),
// budget, max_seqs, block, kv_tokens, chunked (on/off), prefix (on/off),
// reserve (on/off: KV reserved to completion at admission),
// spec (draft tokens), accept (acceptance rate), replicas, router (a
// sim.Router name), affinity_blocks. Durations take s, ms or us suffixes.
// Expected times match to 1 ns.
package simtest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

// Script is a parsed scenario.
type Script struct {
	Config   sim.Config
	Seed     uint64
	Requests []workload.Request
	Expects  []Expect
	Summary  map[string]int64 // expected Summary counters by script key
}

// Expect is one request's expected outcome; nil fields are not checked.
type Expect struct {
	Line           int
	ID             int64
	FirstTokenS    *float64
	FinishS        *float64
	Cached         *int
	Preemptions    *int
	Replica        *int
	PrefillReplica *int
	Rejected       *bool
}

// Run parses the script read from r and checks its expectations; name
// labels errors. The caller opens the file, so this package needs no os.
func Run(t testing.TB, name string, r io.Reader) {
	t.Helper()
	s, err := Parse(r, name)
	if err != nil {
		t.Fatal(err)
	}
	s.Check(t)
}

// Check runs the scenario and reports every unmet expectation.
func (s *Script) Check(t testing.TB) {
	t.Helper()
	got := map[int64]sim.Record{}
	sum, err := sim.Run(s.Config, workload.FromSlice(s.Requests), rand.New(rand.NewPCG(s.Seed, s.Seed)),
		sim.RecordFunc(func(r *sim.Record) { got[r.ID] = *r }))
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-9
	for _, e := range s.Expects {
		r, ok := got[e.ID]
		if !ok {
			t.Errorf("line %d: request %d has no record", e.Line, e.ID)
			continue
		}
		checkF := func(name string, want *float64, have float64) {
			if want != nil && math.Abs(*want-have) > tol {
				t.Errorf("line %d: request %d: %s = %s, want %s", e.Line, e.ID, name, fmtS(have), fmtS(*want))
			}
		}
		checkI := func(name string, want *int, have int) {
			if want != nil && *want != have {
				t.Errorf("line %d: request %d: %s = %d, want %d", e.Line, e.ID, name, have, *want)
			}
		}
		checkF("first_token", e.FirstTokenS, r.FirstTokenS)
		checkF("finish", e.FinishS, r.FinishS)
		checkI("cached", e.Cached, r.Cached)
		checkI("preemptions", e.Preemptions, r.Preemptions)
		checkI("replica", e.Replica, r.Replica)
		checkI("prefill_replica", e.PrefillReplica, r.PrefillReplica)
		if e.Rejected != nil && *e.Rejected != r.Rejected {
			t.Errorf("line %d: request %d: rejected = %v, want %v", e.Line, e.ID, r.Rejected, *e.Rejected)
		}
	}
	have := map[string]int64{
		"finished": sum.Finished, "rejected": sum.Rejected, "preemptions": sum.Preemptions,
		"good": sum.Good, "cached_tokens": sum.CachedTokens,
	}
	for k, want := range s.Summary {
		if have[k] != want {
			t.Errorf("summary %s = %d, want %d", k, have[k], want)
		}
	}
}

func fmtS(v float64) string { return strconv.FormatFloat(v*1e3, 'f', -1, 64) + "ms" }

// Parse reads a script; name labels errors.
func Parse(r io.Reader, name string) (*Script, error) {
	s := &Script{Summary: map[string]int64{}}
	var prefill *sim.Pool
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		kv, err := pairs(fields[1:])
		if err == nil {
			switch fields[0] {
			case "config":
				err = parsePool(&s.Config.Pool, kv)
			case "prefill":
				prefill = &sim.Pool{}
				err = parsePool(prefill, kv)
			case "transfer":
				err = parseTransfer(&s.Config.Transfer, kv)
			case "slo":
				err = each(kv, map[string]func(string) error{
					"ttft": dur(&s.Config.SLO.TTFTS), "tpot": dur(&s.Config.SLO.TPOTS)})
			case "seed":
				if len(fields) != 2 {
					err = fmt.Errorf("seed: want one number")
				} else {
					s.Seed, err = strconv.ParseUint(fields[1], 10, 64)
				}
			case "arrive":
				err = s.parseArrive(kv)
			case "expect":
				err = s.parseExpect(kv, line)
			default:
				err = fmt.Errorf("directive: want config, prefill, transfer, slo, seed, arrive or expect (got %q)", fields[0])
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	s.Config.Prefill = prefill
	return s, sc.Err()
}

// pairs splits KEY=VALUE fields; a bare word (as in "expect summary")
// becomes KEY with an empty value.
func pairs(fields []string) ([][2]string, error) {
	var out [][2]string
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func each(kv [][2]string, set map[string]func(string) error) error {
	for _, p := range kv {
		f, ok := set[p[0]]
		if !ok {
			return fmt.Errorf("key %q: not known here", p[0])
		}
		if err := f(p[1]); err != nil {
			return fmt.Errorf("%s: %w", p[0], err)
		}
	}
	return nil
}

// parseDur reads "10ms", "1.5s", "250us" or a bare number of seconds.
func parseDur(v string) (float64, error) {
	scale := 1.0
	switch {
	case strings.HasSuffix(v, "ms"):
		v, scale = strings.TrimSuffix(v, "ms"), 1e-3
	case strings.HasSuffix(v, "us"):
		v, scale = strings.TrimSuffix(v, "us"), 1e-6
	case strings.HasSuffix(v, "s"):
		v = strings.TrimSuffix(v, "s")
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 10ms (got %q)", v)
	}
	return x * scale, nil
}

func dur(p *float64) func(string) error {
	return func(v string) (err error) { *p, err = parseDur(v); return err }
}

func durPtr(p **float64) func(string) error {
	return func(v string) error {
		x, err := parseDur(v)
		*p = &x
		return err
	}
}

func integer(p *int) func(string) error {
	return func(v string) (err error) { *p, err = strconv.Atoi(v); return err }
}

func intPtr(p **int) func(string) error {
	return func(v string) error {
		x, err := strconv.Atoi(v)
		*p = &x
		return err
	}
}

func onOff(p *bool, invert bool) func(string) error {
	return func(v string) error {
		switch v {
		case "on":
			*p = !invert
		case "off":
			*p = invert
		default:
			return fmt.Errorf("want on or off (got %q)", v)
		}
		return nil
	}
}

func parsePool(p *sim.Pool, kv [][2]string) error {
	t := &sim.LinearStepTimer{}
	p.Timer = t
	p.Replicas = 1
	e := &p.Engine
	return each(kv, map[string]func(string) error{
		"step":          dur(&t.BaseS),
		"prefill_token": dur(&t.PerPrefillTokenS),
		"decode_seq":    dur(&t.PerDecodeSeqS),
		"decode_token":  dur(&t.PerDecodeTokenS),
		"kv_token":      dur(&t.PerKVTokenS),
		"budget":        integer(&e.MaxNumBatchedTokens),
		"max_seqs":      integer(&e.MaxNumSeqs),
		"block":         integer(&e.BlockTokens),
		"kv_tokens":     integer(&e.KVTokens),
		"chunked":       onOff(&e.DisableChunkedPrefill, true),
		"prefix":        onOff(&e.PrefixCaching, false),
		"reserve":       onOff(&e.ReserveCompletion, false),
		"spec":          integer(&e.SpecTokens),
		"accept": func(v string) (err error) {
			e.SpecAcceptance, err = strconv.ParseFloat(v, 64)
			return err
		},
		"replicas":        integer(&p.Replicas),
		"affinity_blocks": integer(&p.AffinityBlocks),
		"router": func(v string) (err error) {
			p.Router, err = sim.ParseRouter(v)
			return err
		},
	})
}

func parseTransfer(t *sim.Transfer, kv [][2]string) error {
	num := func(p *float64) func(string) error {
		return func(v string) (err error) { *p, err = strconv.ParseFloat(v, 64); return err }
	}
	return each(kv, map[string]func(string) error{
		"kv_bytes": num(&t.KVBytesPerToken), "bw": num(&t.LinkBytesPerS), "latency": dur(&t.LatencyS)})
}

func (s *Script) parseArrive(kv [][2]string) error {
	var r workload.Request
	id := 0
	err := each(kv, map[string]func(string) error{
		"t":      dur(&r.ArrivalS),
		"id":     integer(&id),
		"prompt": integer(&r.Input),
		"output": integer(&r.Output),
		"hashes": func(v string) error {
			for _, h := range strings.Split(v, ",") {
				x, err := strconv.ParseUint(h, 10, 64)
				if err != nil {
					return fmt.Errorf("want comma-separated integers (got %q)", v)
				}
				r.Hashes = append(r.Hashes, x)
			}
			return nil
		},
	})
	r.ID = int64(id)
	s.Requests = append(s.Requests, r)
	return err
}

func (s *Script) parseExpect(kv [][2]string, line int) error {
	if len(kv) > 0 && kv[0][0] == "summary" {
		for _, p := range kv[1:] {
			x, err := strconv.ParseInt(p[1], 10, 64)
			if err != nil {
				return fmt.Errorf("summary %s: want an integer (got %q)", p[0], p[1])
			}
			switch p[0] {
			case "finished", "rejected", "preemptions", "good", "cached_tokens":
				s.Summary[p[0]] = x
			default:
				return fmt.Errorf("summary key %q: want finished, rejected, preemptions, good or cached_tokens", p[0])
			}
		}
		return nil
	}
	e := Expect{Line: line}
	id := 0
	err := each(kv, map[string]func(string) error{
		"id":              integer(&id),
		"first_token":     durPtr(&e.FirstTokenS),
		"finish":          durPtr(&e.FinishS),
		"cached":          intPtr(&e.Cached),
		"preemptions":     intPtr(&e.Preemptions),
		"replica":         intPtr(&e.Replica),
		"prefill_replica": intPtr(&e.PrefillReplica),
		"rejected": func(v string) error {
			b, err := strconv.ParseBool(v)
			e.Rejected = &b
			return err
		},
	})
	e.ID = int64(id)
	s.Expects = append(s.Expects, e)
	return err
}

package corpus

import (
	"embed"
	"io/fs"
)

//go:embed published.yaml independent.yaml models
var shipped embed.FS

// Published returns the shipped corpus of published measurements
// (published.yaml), used by `ersatz validate` by default.
func Published() []byte { return mustRead("published.yaml") }

// Independent returns the shipped hold-out corpus (independent.yaml):
// published figures kept apart from the ones the model is tuned against.
func Independent() []byte { return mustRead("independent.yaml") }

// FS returns the shipped corpus files: published.yaml, independent.yaml
// and, under models/, the config.json files that their cases name by a
// path relative to the corpus file.
func FS() fs.FS { return shipped }

func mustRead(name string) []byte {
	b, err := shipped.ReadFile(name)
	if err != nil {
		panic("corpus: embedded " + name + ": " + err.Error()) // ruled out by the package tests
	}
	return b
}

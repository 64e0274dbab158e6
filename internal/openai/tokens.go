package openai

import "strings"

// BytesPerToken is the tokenizer-free rule ersatz uses where a count of
// tokens is needed without the model's tokenizer: one token per 4 bytes of
// UTF-8 text, rounded up (OpenAI's rule of thumb for English).
const BytesPerToken = 4

// CountTokens counts s's tokens by the BytesPerToken rule.
func CountTokens(s string) int { return (len(s) + BytesPerToken - 1) / BytesPerToken }

// words are four-byte words that common BPE tokenizers (GPT, Llama, Qwen,
// DeepSeek) encode as one token each, so a synthetic text of n of them is
// n tokens by CountTokens and close to n under a real tokenizer.
var words = [...]string{" the", " and", " for", " you", " are", " not", " but", " all", " can", " had", " one", " our", " out", " day", " get", " has"}

// SyntheticText returns n tokens of text: n four-byte words, varied by
// seed so prompts do not share a prefix by accident.
func SyntheticText(n int, seed uint64) string {
	var b strings.Builder
	b.Grow(n * BytesPerToken)
	x := seed*0x9e3779b97f4a7c15 + 1
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b.WriteString(words[x%uint64(len(words))])
	}
	return b.String()
}

// Word is the i-th word of a synthetic output.
func Word(i int) string { return words[i%len(words)] }

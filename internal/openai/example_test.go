package openai_test

import (
	"fmt"
	"os"

	"ersatz/internal/openai"
)

// A streamed chunk as the emulator writes it, and the tokenizer-free count.
func Example() {
	openai.WriteEvent(os.Stdout, openai.ChatChunk{ID: "chatcmpl-1", Object: openai.ObjectChatChunk,
		Choices: []openai.ChatChunkChoice{{Delta: openai.Delta{Role: "assistant", Content: openai.Word(0)}}}})
	openai.WriteDone(os.Stdout)
	fmt.Println(openai.CountTokens("hello there"), openai.CountTokens(openai.SyntheticText(100, 1)))
	// Output:
	// data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":0,"model":"","choices":[{"index":0,"delta":{"role":"assistant","content":" the"},"logprobs":null,"finish_reason":null}],"usage":null}
	//
	// data: [DONE]
	//
	// 3 100
}

# A static ersatz binary on a distroless base; by default it runs the
# emulator (an OpenAI-compatible endpoint with vLLM's metrics) on port 8000.
#   docker build -t ersatz .
#   docker run -p 8000:8000 ersatz emulate --host 0.0.0.0 --model Qwen/Qwen3-14B --chip h100 --chips 1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ersatz ./cmd/ersatz

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ersatz /usr/local/bin/ersatz
USER nonroot:nonroot
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/ersatz"]
CMD ["emulate", "--host", "0.0.0.0", "--port", "8000", "--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1"]

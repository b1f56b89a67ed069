// Package llm is the adapter to OpenAI-compatible chat-completion endpoints (OpenAI,
// DeepSeek, Qwen/DashScope compatible mode, vLLM, Ollama, llama.cpp server...): one POST
// to {base URL}/chat/completions with a bearer key. It knows nothing about triage; the
// domain packages consume it through their own small interfaces (triage.ChatModel).
//
// A Client is immutable after New and safe for concurrent use.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 1 << 20

// Config configures a Client.
type Config struct {
	// BaseURL is the API root including the version, e.g. "https://api.example.com/v1".
	BaseURL string
	// Model is the model name sent with every request.
	Model string
	// APIKey is sent as "Authorization: Bearer <key>" when not empty.
	APIKey string
	// Timeout bounds one request; 0 means 30 seconds.
	Timeout time.Duration
	// Temperature is the sampling temperature; 0 asks for the most deterministic answer.
	Temperature float64
}

// Client calls one chat-completion endpoint.
type Client struct {
	endpoint string
	cfg      Config
	http     *http.Client
}

// New validates cfg and returns a Client. The base URL must be http or https with a host.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, citybrain.FieldError("base_url", "LLM base URL must be an http(s) URL with a host / 大模型接口地址必须是http(s)地址")
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, citybrain.FieldError("model", "LLM model name is required / 需要模型名称")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Client{
		endpoint: strings.TrimRight(u.String(), "/") + "/chat/completions",
		cfg:      cfg,
		http:     &http.Client{Timeout: cfg.Timeout},
	}, nil
}

// Model returns the configured model name.
func (c *Client) Model() string { return c.cfg.Model }

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type request struct {
	Model       string    `json:"model"`
	Messages    []message `json:"messages"`
	Temperature float64   `json:"temperature"`
	Stream      bool      `json:"stream"`
}

type response struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Chat sends a system and a user message and returns the content of the first choice.
// Errors: EUNAVAILABLE for transport failures, timeouts, non-2xx statuses and answers
// without content (wrapping the cause); the caller decides what to fall back to.
func (c *Client) Chat(ctx context.Context, system, user string) (string, error) {
	body, err := json.Marshal(request{
		Model:       c.cfg.Model,
		Messages:    []message{{"system", system}, {"user", user}},
		Temperature: c.cfg.Temperature,
	})
	if err != nil {
		return "", fmt.Errorf("llm: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("llm: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("llm: %w", unavailable(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return "", fmt.Errorf("llm: read: %w", unavailable(err))
	}
	var r response
	jerr := json.Unmarshal(data, &r)
	if resp.StatusCode/100 != 2 {
		msg := snippet(data)
		if jerr == nil && r.Error != nil && r.Error.Message != "" {
			msg = r.Error.Message
		}
		return "", citybrain.Errorf(citybrain.EUNAVAILABLE, "llm: status %d: %s", resp.StatusCode, msg)
	}
	if jerr != nil {
		return "", citybrain.Errorf(citybrain.EUNAVAILABLE, "llm: answer is not JSON: %s", snippet(data))
	}
	if len(r.Choices) == 0 || strings.TrimSpace(r.Choices[0].Message.Content) == "" {
		return "", citybrain.Errorf(citybrain.EUNAVAILABLE, "llm: answer has no content")
	}
	return r.Choices[0].Message.Content, nil
}

// unavailableError marks a transport failure as EUNAVAILABLE while keeping the cause
// (context.DeadlineExceeded stays detectable with errors.Is).
type unavailableError struct{ err error }

// Error returns the cause's message.
func (e *unavailableError) Error() string { return e.err.Error() }

// Unwrap exposes both the cause and the EUNAVAILABLE code.
func (e *unavailableError) Unwrap() []error {
	return []error{e.err, citybrain.Errorf(citybrain.EUNAVAILABLE, "model endpoint unavailable")}
}

func unavailable(err error) error { return &unavailableError{err} }

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	r := []rune(s)
	if len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return s
}

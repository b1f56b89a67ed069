// Package webhook is the HTTP adapter that sends alert webhooks (alert.SendFunc) and
// verifies them on the receiving side. It keeps net/http out of the alert package.
//
// Concurrency: a Client is safe for concurrent use.
package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/alert"
)

// Client posts webhook requests.
type Client struct {
	HTTP *http.Client
}

// New returns a client with a per-request timeout and no redirects followed (a redirect
// could send the signed body somewhere the subscriber did not name).
func New(timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Client{HTTP: &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Send implements alert.SendFunc.
func (c *Client) Send(ctx context.Context, url string, header map[string]string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook request: %w", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

var _ alert.SendFunc = (*Client)(nil).Send

// MaxBody bounds the body VerifyRequest reads.
const MaxBody = 1 << 20

// VerifyRequest reads and verifies a received webhook request: signature and timestamp
// within tolerance of now. It returns the body on success.
func VerifyRequest(r *http.Request, secret []byte, now time.Time, tolerance time.Duration) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("webhook read: %w", err)
	}
	if len(body) > MaxBody {
		return nil, citybrain.Errorf(citybrain.ETOOLARGE, "webhook body too large")
	}
	if err := alert.Verify(secret, r.Header.Get(alert.HeaderSignature), r.Header.Get(alert.HeaderTimestamp), body, now, tolerance); err != nil {
		return nil, err
	}
	return body, nil
}

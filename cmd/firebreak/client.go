package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak/firebreak/openai"
)

// adminClient talks to a running server's admin API, so the CLI and the
// API change the same state and the server's caches see every change. The
// server records the token's owner as the author of every change. Every
// command family that manages a server uses it.
type adminClient struct {
	base  string
	token string
	http  *http.Client
	out   io.Writer
	json  bool
}

// adminFlags adds --server, --admin-token and --json to an admin command.
func adminFlags(cmd *cobra.Command) func() (*adminClient, error) {
	server := cmd.PersistentFlags().String("server", "", "server URL (env FIREBREAK_SERVER, default http://127.0.0.1:8080)")
	token := cmd.PersistentFlags().String("admin-token", "", "admin token (env FIREBREAK_ADMIN_TOKEN)")
	asJSON := cmd.PersistentFlags().Bool("json", false, "print JSON instead of a table")
	return func() (*adminClient, error) {
		c := &adminClient{base: firstSet(*server, os.Getenv("FIREBREAK_SERVER"), "http://127.0.0.1:8080"),
			token: firstSet(*token, os.Getenv("FIREBREAK_ADMIN_TOKEN")),
			http:  &http.Client{Timeout: 30 * time.Second}, out: cmd.OutOrStdout(), json: *asJSON}
		if c.token == "" {
			return nil, fmt.Errorf("no admin token: pass --admin-token or set FIREBREAK_ADMIN_TOKEN (your personal token: firebreak staff tokens create; on a new installation the bootstrap token printed at first start creates the first admin)")
		}
		if _, err := url.Parse(c.base); err != nil {
			return nil, fmt.Errorf("--server: %w", err)
		}
		c.base = strings.TrimSuffix(c.base, "/")
		return c, nil
	}
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// do sends one admin call and decodes a 2xx answer into out (when not nil).
// An error answer becomes an error carrying the server's message.
func (c *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, c.http, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// send sends one admin call with hc and returns the response of a 2xx
// answer, body unread. An error answer becomes an error carrying the
// server's message.
func (c *adminClient) send(ctx context.Context, hc *http.Client, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/admin/v1"+path, body)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e openai.ErrorBody
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		return nil, fmt.Errorf("%s (HTTP %d)", e.Error.Message, resp.StatusCode)
	}
	return nil, fmt.Errorf("admin API: HTTP %d", resp.StatusCode)
}

// say tells a person what a command did; with --json it says nothing, so
// the output stays JSON.
func (c *adminClient) say(format string, args ...any) error {
	if c.json {
		return nil
	}
	_, err := fmt.Fprintf(c.out, format, args...)
	return err
}

// print writes v as indented JSON.
func (c *adminClient) print(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

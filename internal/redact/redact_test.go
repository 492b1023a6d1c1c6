package redact

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/fb?sslmode=disable", "postgres://REDACTED@db:5432/fb?sslmode=disable"},
		{"postgres://db/fb?password=s3cret&sslmode=require", "postgres://db/fb?password=REDACTED&sslmode=require"},
		{"redis://:s3cret@127.0.0.1:6379/0", "redis://REDACTED@127.0.0.1:6379/0"},
		{"https://ghp_s3cret@example.com/v1", "https://REDACTED@example.com/v1"},
		{"https://hooks.example.com/sms?token=s3cret&to=ops", "https://hooks.example.com/sms?to=ops&token=REDACTED"},
		{"https://hooks.example.com/sms?access_key=s3cret#sig=s3cret", "https://hooks.example.com/sms?access_key=REDACTED#REDACTED"},
		{"host=db user=app password=s3cret dbname=fb", "host=db user=app password=REDACTED dbname=fb"},
		{"host=db password='s3 cret' sslmode=disable", "host=db password=REDACTED sslmode=disable"},
		{"Server=db;Password=s3cret;Database=fb", "Server=db;Password=REDACTED;Database=fb"},
		{"http://10.0.0.5:8000/v1", "http://10.0.0.5:8000/v1"},
		{"plain text", "plain text"},
		{"://bad url%%", "REDACTED"},
	} {
		got := String(tt.in)
		if got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "s3 cret") {
			t.Errorf("String(%q) keeps the secret: %q", tt.in, got)
		}
	}
}

func TestURLError(t *testing.T) {
	_, err := (&http.Client{}).Get("http://user:s3cret@127.0.0.1:1/hook?token=s3cret")
	if err == nil {
		t.Skip("something listens on port 1")
	}
	if got := URLError(fmt.Errorf("send: %w", err)).Error(); strings.Contains(got, "s3cret") || strings.Contains(got, "user") {
		t.Errorf("URLError = %q", got)
	}
	plain := errors.New("x")
	if URLError(plain) != plain {
		t.Error("URLError changed an error without a URL")
	}
}

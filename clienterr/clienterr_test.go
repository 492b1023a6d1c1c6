package clienterr_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/firebreak/firebreak/clienterr"
)

func TestAs(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	tests := []struct {
		name    string
		err     error
		code    clienterr.Code
		message string
	}{
		{"client error", clienterr.Errorf(clienterr.Conflict, "tenant %q exists", "shop"), clienterr.Conflict, `tenant "shop" exists`},
		{"wrapped client error", fmt.Errorf("create: %w", clienterr.Wrap(clienterr.RateLimited, cause, "slow down")), clienterr.RateLimited, "slow down"},
		{"not found", fmt.Errorf("get: %w", &clienterr.NotFoundError{What: "tenant"}), clienterr.NotFound, "tenant not found"},
		{"sentinel", fmt.Errorf("create tenant: %w", errTaken), clienterr.Conflict, "name already taken"},
		{"coded", fmt.Errorf("validate: %w", badName("x y")), clienterr.InvalidRequest, `name "x y" has a space`},
		{"internal", fmt.Errorf("open store: %w", cause), clienterr.Internal, "internal error"},
		{"internal sentinel", fs.ErrPermission, clienterr.Internal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := clienterr.As(tt.err)
			if e.Code != tt.code || e.Message != tt.message {
				t.Fatalf("As = %s %q, want %s %q", e.Code, e.Message, tt.code, tt.message)
			}
			if !errors.Is(e, tt.err) && !errors.Is(tt.err, e) {
				t.Errorf("the cause is lost: %v", e)
			}
		})
	}
}

var errTaken = clienterr.New(clienterr.Conflict, "name already taken")

// badName is a Coded validation error, as domains declare them.
type badName string

func (b badName) Error() string            { return fmt.Sprintf("name %q has a space", string(b)) }
func (badName) ClientCode() clienterr.Code { return clienterr.InvalidRequest }

func TestErrorKeepsCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("disk full")
	e := clienterr.Wrap(clienterr.Internal, cause, "internal error")
	if !errors.Is(e, cause) || e.Error() != "internal_error: internal error: disk full" {
		t.Fatalf("Error() = %q, Is(cause) = %v", e.Error(), errors.Is(e, cause))
	}
}

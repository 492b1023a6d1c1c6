package eval

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientOnly keeps the evaluator a client: it talks HTTP to its
// target and imports none of the server's surfaces or storage.
func TestClientOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const mod = "github.com/firebreak/firebreak/"
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list -deps listed only %v", deps)
	}
	for _, d := range deps {
		for _, f := range []string{"gateway", "admin", "openai", "store", "account", "audit", "upstream"} {
			if d == mod+f || strings.HasPrefix(d, mod+f+"/") {
				t.Errorf("eval depends on %s", d)
			}
		}
	}
}

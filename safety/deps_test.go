package safety

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPureLibrary keeps the engine a pure library: no network, database,
// process or logging packages in its dependencies.
func TestPureLibrary(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not found")
	}
	pkgs := []string{".", "./textnorm", "./lexicon"}
	if _, err := os.Stat(filepath.Join("pii")); err == nil {
		pkgs = append(pkgs, "./pii")
	}
	forbidden := []string{"net/http", "database/sql", "os/exec", "log/slog", "log", "net"}
	for _, p := range pkgs {
		t.Run(p, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", p).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 5 {
				t.Fatalf("go list -deps %s listed only %v", p, deps)
			}
			for _, d := range deps {
				for _, f := range forbidden {
					if d == f {
						t.Errorf("%s depends on %s", p, d)
					}
				}
			}
		})
	}
}

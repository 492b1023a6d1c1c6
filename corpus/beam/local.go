package corpusbeam

import (
	"os"
	"path/filepath"
	"strings"
)

// mkdirLocal makes the folder of a local output file (Beam's local file
// system does not); remote file systems have no folders to make.
func mkdirLocal(name string) error {
	if strings.Contains(name, "://") {
		return nil
	}
	return os.MkdirAll(filepath.Dir(name), 0o755)
}

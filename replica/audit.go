package replica

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/firebreak/firebreak/audit"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/store"
)

// AuditFiles returns the audit keyring and signing-key paths of cfg,
// defaulting into the data folder.
func AuditFiles(cfg config.Config) (keyring, signing string) {
	keyring, signing = cfg.Audit.Keyring, cfg.Audit.SigningKey
	if keyring == "" {
		keyring = filepath.Join(cfg.Data, "audit.keys")
	}
	if signing == "" {
		signing = filepath.Join(cfg.Data, "audit-signing.key")
	}
	return keyring, signing
}

// OpenTrail opens the audit trail, creating its content key and signing
// key on first start. The keys are what make retained content readable
// and checkpoints verifiable: back them up with the database.
func OpenTrail(cfg config.Config, db *store.DB, log *slog.Logger) (*audit.Trail, *audit.Keyring, error) {
	keyPath, _ := AuditFiles(cfg)
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		id, err := audit.GenerateKey(keyPath)
		if err != nil {
			return nil, nil, err
		}
		log.Info("created the audit content key", "file", keyPath, "key_id", id)
	}
	keys, err := audit.LoadKeyring(keyPath)
	if err != nil {
		return nil, nil, err
	}
	signer, err := SigningKey(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	var pubs []audit.Publisher
	if cfg.Audit.CheckpointFile != "" {
		pubs = append(pubs, &audit.FilePublisher{Path: cfg.Audit.CheckpointFile})
	}
	if cfg.Audit.CheckpointURL != "" {
		pubs = append(pubs, &audit.HTTPPublisher{URL: cfg.Audit.CheckpointURL})
	}
	trail, err := audit.New(audit.Options{DB: db, Keys: keys, Signer: signer, Logger: log, Publishers: pubs,
		Retention: audit.Retention{Clean: audit.Mode(cfg.Audit.Clean), Flagged: audit.Mode(cfg.Audit.Flagged)}})
	if err != nil {
		return nil, nil, err
	}
	return trail, keys, nil
}

// SigningKey loads the audit signing key, creating it on first start. It
// signs the trail's checkpoints and the answers' labels.
func SigningKey(cfg config.Config, log *slog.Logger) (ed25519.PrivateKey, error) {
	_, signPath := AuditFiles(cfg)
	if err := os.MkdirAll(filepath.Dir(signPath), 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(signPath); errors.Is(err, fs.ErrNotExist) {
		if _, err := audit.GenerateSigningKey(signPath); err != nil {
			return nil, err
		}
		log.Info("created the audit signing key", "file", signPath)
	}
	return audit.LoadSigningKey(signPath)
}

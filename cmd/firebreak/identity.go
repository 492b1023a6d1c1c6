package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/firebreak/firebreak/account"
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/identity"
	"github.com/firebreak/firebreak/notify"
	"github.com/firebreak/firebreak/store"
)

// identityTopic carries the ids of end users whose verification state
// changed, so other replicas drop their cached state.
const identityTopic = "identity.changed"

// newIdentity builds the real-name and minors service from the config and
// connects its cache to the other replicas.
func newIdentity(cfg config.Identity, db *store.DB, users *account.Users, secret []byte, n *notify.Notifier, log *slog.Logger) (*identity.Service, *identity.TokenVerifier, error) {
	opts := identity.Options{DB: db, Users: users, Secret: secret, Logger: log,
		Requirements: identity.Requirements{MinLevel: map[string]identity.Level{}, VerifyURL: cfg.VerifyURL},
		Minors:       identity.MinorOptions{DailyRequests: cfg.MinorDailyRequests, QuietHours: cfg.MinorQuietHours},
		OnChange: func(userID string) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := n.Publish(ctx, identityTopic, userID); err != nil {
					log.Warn("tell other replicas of an identity change", "err", err)
				}
			}()
		},
	}
	for model, name := range cfg.Require {
		level, err := identity.ParseLevel(name)
		if err != nil {
			return nil, nil, fmt.Errorf("identity.require[%q]: %w", model, err)
		}
		opts.Requirements.MinLevel[model] = level
	}
	if cfg.TimeZone != "" {
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return nil, nil, fmt.Errorf("identity.time_zone: %w", err)
		}
		opts.Location = loc
	}
	if cfg.SMSWebhook != "" {
		sender, err := identity.NewWebhookSender(identity.WebhookOptions{URL: cfg.SMSWebhook, Secret: []byte(os.Getenv(cfg.SMSWebhookSecretEnv))})
		if err != nil {
			return nil, nil, fmt.Errorf("identity.sms_webhook: %w", err)
		}
		opts.Sender = sender
	}
	svc, err := identity.New(opts)
	if err != nil {
		return nil, nil, err
	}
	n.Subscribe(identityTopic, svc.Invalidate)
	if len(cfg.TokenKeys) == 0 {
		return svc, nil, nil
	}
	tokens, err := identity.NewTokenVerifier(identity.TokenOptions{KeyFiles: cfg.TokenKeys, Issuer: cfg.TokenIssuer,
		Audience: cfg.TokenAudience, Location: opts.Location})
	if err != nil {
		svc.Close()
		return nil, nil, fmt.Errorf("identity.token_keys: %w", err)
	}
	return svc, tokens, nil
}

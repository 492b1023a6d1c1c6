package replica

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/firebreak/firebreak/identity"
)

// openIdentity builds the real-name and minors service from the config and
// connects its cache to the other replicas.
func (r *Replica) openIdentity(context.Context) error {
	cfg := r.Config.Identity
	opts := identity.Options{DB: r.DB, Users: r.Accounts.Users, Secret: r.secret, Logger: r.log, Now: r.opts.Now,
		Requirements: identity.Requirements{MinLevel: map[string]identity.Level{}, VerifyURL: cfg.VerifyURL,
			AcceptFormatChecks: cfg.AcceptFormatChecks},
		Minors: identity.MinorOptions{DailyRequests: cfg.MinorDailyRequests, QuietHours: cfg.MinorQuietHours},
		Sender: r.opts.SMS,
		Bus:    r.Notifier,
	}
	for model, name := range cfg.Require {
		level, err := identity.ParseLevel(name)
		if err != nil {
			return fmt.Errorf("identity.require[%q]: %w", model, err)
		}
		opts.Requirements.MinLevel[model] = level
	}
	if cfg.TimeZone != "" {
		loc, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			return fmt.Errorf("identity.time_zone: %w", err)
		}
		opts.Location = loc
	}
	if cfg.SMSWebhook != "" && opts.Sender == nil {
		sender, err := identity.NewWebhookSender(identity.WebhookOptions{URL: cfg.SMSWebhook, Secret: []byte(os.Getenv(cfg.SMSWebhookSecretEnv))})
		if err != nil {
			return fmt.Errorf("identity.sms_webhook: %w", err)
		}
		opts.Sender = sender
	}
	if cfg.IDCheckWebhook != "" {
		checker, err := identity.NewWebhookIDChecker(identity.WebhookOptions{URL: cfg.IDCheckWebhook, Secret: []byte(os.Getenv(cfg.IDCheckWebhookSecretEnv))})
		if err != nil {
			return fmt.Errorf("identity.id_check_webhook: %w", err)
		}
		opts.IDChecker = checker
	}
	svc, err := identity.New(opts)
	if err != nil {
		return err
	}
	r.Identity = svc
	r.onClose(func() { svc.Close() })
	if len(cfg.TokenKeys) == 0 {
		return nil
	}
	r.Tokens, err = identity.NewTokenVerifier(identity.TokenOptions{KeyFiles: cfg.TokenKeys, Issuer: cfg.TokenIssuer,
		Audience: cfg.TokenAudience, Location: opts.Location})
	if err != nil {
		return fmt.Errorf("identity.token_keys: %w", err)
	}
	return nil
}

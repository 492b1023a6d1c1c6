package main

import (
	"github.com/firebreak/firebreak/config"
	"github.com/firebreak/firebreak/policy"
)

// newEngine compiles the safety engine the configuration asks for.
func newEngine(cfg config.Safety) (*policy.Holder, error) {
	e, err := policy.Compile(policy.Sources{Starter: cfg.StarterEnabled(), Lexicons: cfg.Lexicons, PII: cfg.PIIEnabled()})
	if err != nil {
		return nil, err
	}
	return policy.NewHolder(e), nil
}

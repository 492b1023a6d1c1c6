package config

import (
	"fmt"
	"strconv"
	"time"
)

// Setting is one scalar setting that both an environment variable and a
// command-line flag can set. The table keeps the three sources in step.
type Setting struct {
	Flag  string // flag name, e.g. "listen"
	Env   string // environment variable, e.g. FIREBREAK_LISTEN
	Usage string
	Set   func(c *Config, v string) error
	Get   func(c *Config) string
}

// Settings lists every setting that flags and environment variables reach.
// Lists (upstreams, models, routing) are set in the YAML file or through
// the admin API.
func Settings() []Setting {
	return []Setting{
		str("listen", "address of the OpenAI-compatible API", func(c *Config) *string { return &c.Listen }),
		str("admin-listen", "separate address for the admin API (default: under /admin/ on --listen)", func(c *Config) *string { return &c.AdminListen }),
		str("data", "data folder for the embedded database", func(c *Config) *string { return &c.Data }),
		str("database", "PostgreSQL DSN (postgres://…); empty for embedded SQLite", func(c *Config) *string { return &c.Database }),
		i64("wal-limit", "largest size of the SQLite write-ahead log file, in bytes", func(c *Config) *int64 { return &c.WALLimit }),
		str("redis", "Redis URL for limits that are exact across replicas", func(c *Config) *string { return &c.Redis }),
		str("redis-on-error", "what limits do while Redis is down: open (admit without them) or closed (refuse with 503)", func(c *Config) *string { return &c.RedisOnError }),
		str("secret-file", "file of the server secret that keys hashes of phone and ID numbers (default <data>/server.secret)", func(c *Config) *string { return &c.SecretFile }),
		str("client-ip-header", "header a trusted proxy sets to the client address (e.g. X-Forwarded-For)", func(c *Config) *string { return &c.ClientIPHeader }),
		str("tracing-endpoint", "OTLP/HTTP traces URL of a collector (e.g. http://127.0.0.1:4318/v1/traces); empty: tracing off", func(c *Config) *string { return &c.Tracing.Endpoint }),
		str("log-level", "log level: debug, info, warn, error", func(c *Config) *string { return &c.Log.Level }),
		str("log-format", "log format: text or json", func(c *Config) *string { return &c.Log.Format }),
		str("user-header", "header that names the end user when the body's user field is empty", func(c *Config) *string { return &c.Users.Header }),
		i64("max-body-bytes", "largest request body accepted", func(c *Config) *int64 { return &c.HTTP.MaxBodyBytes }),
		dur("read-header-timeout", "time allowed to read request headers", func(c *Config) *time.Duration { return &c.HTTP.ReadHeaderTimeout }),
		dur("read-timeout", "time allowed to read a whole request", func(c *Config) *time.Duration { return &c.HTTP.ReadTimeout }),
		i64("answer-budget", "memory answers in flight may hold for review and audit, in bytes (-1: unbounded)", func(c *Config) *int64 { return &c.HTTP.AnswerBudget }),
		dur("shutdown-timeout", "time in-flight requests get to finish on shutdown", func(c *Config) *time.Duration { return &c.HTTP.ShutdownTimeout }),
	}
}

func envName(flag string) string {
	b := []byte("FIREBREAK_")
	for i := 0; i < len(flag); i++ {
		switch ch := flag[i]; {
		case ch == '-':
			b = append(b, '_')
		case ch >= 'a' && ch <= 'z':
			b = append(b, ch-'a'+'A')
		default:
			b = append(b, ch)
		}
	}
	return string(b)
}

func str(flag, usage string, field func(*Config) *string) Setting {
	return Setting{Flag: flag, Env: envName(flag), Usage: usage,
		Set: func(c *Config, v string) error { *field(c) = v; return nil },
		Get: func(c *Config) string { return *field(c) },
	}
}

func i64(flag, usage string, field func(*Config) *int64) Setting {
	return Setting{Flag: flag, Env: envName(flag), Usage: usage,
		Set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%s: want an integer, got %q", flag, v)
			}
			*field(c) = n
			return nil
		},
		Get: func(c *Config) string { return strconv.FormatInt(*field(c), 10) },
	}
}

func dur(flag, usage string, field func(*Config) *time.Duration) Setting {
	return Setting{Flag: flag, Env: envName(flag), Usage: usage,
		Set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: want a duration like 30s, got %q", flag, v)
			}
			*field(c) = d
			return nil
		},
		Get: func(c *Config) string { return field(c).String() },
	}
}

// ApplyEnv sets every setting whose environment variable lookup finds.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	for _, s := range Settings() {
		if v, ok := lookup(s.Env); ok && v != "" {
			if err := s.Set(c, v); err != nil {
				return fmt.Errorf("%s: %w", s.Env, err)
			}
		}
	}
	return nil
}

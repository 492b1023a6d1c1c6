// Package account holds who may call Firebreak and on whose behalf: tenants,
// their API keys, their end users, token usage for quotas, and the admin
// token of the management API.
//
// Authentication and end-user resolution sit on every request's path, so
// both are served from bounded in-memory caches with a short TTL. Local
// writes invalidate the caches at once and publish the change on
// Options.Bus inside their transaction; every replica applies the changes
// it hears of with Service.Invalidate.
// "Last used" and "last seen" times are written in batches off the request
// path, at most once per key or user per Options.TouchInterval.
//
// Secrets are never stored: API keys and the admin token are kept as SHA-256
// hashes. A plain hash is enough because the secrets are 192-bit random
// strings, which no dictionary or brute-force search can reach; a server-side
// pepper (HMAC) would add a second secret to lose and rotate without making
// a leaked table any easier to use.
package account

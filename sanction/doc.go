// Package sanction decides what happens to end users who break the law or
// the service agreement, and keeps the record of it (Interim Measures for
// Generative AI Services, Art. 14: warn, restrict functions, suspend or
// terminate the service, keep records).
//
// It has three parts:
//
//   - Strikes: RecordViolation counts a refused input (or a violation a
//     reviewer confirmed) against the user, and RecordClean resets the "in a
//     row" count when an input passes. Which risk codes bear strikes is
//     configuration; by default the A1 and A2 codes (the "17 risks").
//   - A ladder of graded sanctions (Ladder), evaluated atomically per user on
//     each violation: by default the first violation warns, 3 in a row or 5
//     in one calendar day suspend for 7 days, and a second suspension within
//     90 days terminates. Every step is written to a history with its reason,
//     time and actor, and can be lifted on appeal (Lift).
//   - Blacklists of end users, devices, IP addresses and ranges, and keyed
//     hashes of phone and identity numbers (AddEntry, RemoveEntry, Blocked).
//
// The gateway asks Standing and Blocked on every request. Both are answered
// from memory: standings from a cache that a change drops at once on this
// replica and, through the Bus, on the others; blacklists from an index
// of exact maps plus a path-compressed binary trie of IP prefixes, kept
// current the same way and rebuilt from the database every
// Options.ReloadInterval.
// Expiry is checked on every read, so nothing waits for a reload to end.
package sanction

// Package identity knows who an end user really is: how far their identity
// has been verified (phone, ID document, organisation, or the operator's own
// signed claims), whether they are a minor, and so what they may do now.
//
// Art. 9 of the Deep Synthesis Provisions requires verifying real identity
// by mobile number, ID number, unified social credit code or the national
// online identity service before publishing features are offered; Art. 10
// of the Interim Measures requires protecting minors. Service.Check and
// Service.MinorGate enforce both on every request, from an in-memory cache
// (Options.CacheTTL, Service.Invalidate), so an adult's request costs two
// map reads. A minor's request also counts against a daily cap in the
// database, so the cap holds across replicas.
//
// # What is stored (Interim Measures Art. 11: no more than needed)
//
// Phone numbers, ID numbers, credit codes and client IPs are kept only as
// HMAC-SHA-256 under Options.Secret, never as plain hashes: there are about
// 10^10 mobile numbers, and a plain hash of each is a second's work. Next to
// the hash is a masked display form (138****5678, 1101**********7777) that
// lets a user recognise their own number. The person's name given with an
// ID number is passed to the IDChecker and not kept. The birth date is not
// kept either: for a minor only the day they come of age is stored, and
// Purge clears it once that day has come, so an adult's row says nothing
// about age at all. Verification codes are stored as keyed hashes bound to
// the user and number, and only a LogSender, at debug level, ever logs one.
//
// # Verification
//
// StartPhone and ConfirmPhone are a built-in SMS code flow with code expiry,
// an attempt cap, single use, and send limits per number and per client IP
// counted in the database. VerifyIDDocument and VerifyOrganisation check the
// GB 11643 and GB 32100 check characters; matching a name to an ID number
// against a government source is the operator's integration (IDChecker).
// TokenVerifier checks a JWT from the operator's identity system (HS256,
// RS256 or EdDSA, keys from local files) and Service.Attest records it.
package identity

// Package review is the review desk: the queue of exchanges, complaints
// and appeals a person must look at, the leases that keep two reviewers
// off the same item, their decisions (with dual review and a senior
// reviewer when two disagree), and the effects of a final decision on the
// end user's sanctions, the complaint or the appeal. Every decision is a
// staff action on the audit trail.
//
// Items come from four sources: exchanges the engine sent to review
// (action review), a random sample of allowed exchanges per tenant (spot
// checks; their content is retained sealed on the audit trail, see
// Recorder), complaints (audit.Complaints hands them over) and appeals
// filed by sanctioned end users. The queue orders open items by their
// service-level deadline, which is the time they entered plus their
// source's target, so priority follows source and age together.
//
// The desk keeps no content of its own: an item names its audit record,
// and the record's content is read (decrypted with the audit keyring)
// only when a reviewer opens the item.
package review

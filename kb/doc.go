// Package kb is Firebreak's knowledge bases and the grounding of answers
// in them. An operator puts its own documents (Markdown, plain text, HTML,
// PDF) in a knowledge base bound to a route (public model), a tenant, or
// both; documents are cut into overlapping chunks and indexed for BM25
// retrieval in the database: SQLite's FTS5, or PostgreSQL's full-text
// search with BM25 computed in SQL from the index's term frequencies.
// Chinese, Japanese and Korean text has no spaces between words, so both
// the index and every query see it as overlapping character bigrams,
// produced here in Go (Terms), which makes BM25 work the same on both
// databases and on mixed zh/en text.
//
// A grounded route (Grounding) gets the top passages for the conversation
// in its prompt, with instructions to answer only from them and to cite
// them; after generation, Check scores each sentence of the answer for
// support by those passages, and the route's action annotates the
// unsupported sentences, appends a caution, or refuses the answer with
// risk code A5a (A5b when nothing was found to ground it on).
package kb

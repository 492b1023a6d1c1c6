-- Grading sets on the review desk (package review, grading.go): samples
-- that people grade pass or fail, such as the manual sample of a cleaned
-- training corpus (firebreak corpus sample --desk). Each item is also a
-- review_items row of source 'grading' whose ref is set_id || '/' || item_id.

CREATE TABLE review_grading (
    set_id   TEXT NOT NULL,
    item_id  TEXT NOT NULL,
    context  TEXT NOT NULL,              -- what the grader is told: the corpus source, a bank and risk code
    text     TEXT NOT NULL,              -- JSON {"prompt", "text"}, sealed with the content keyring when text_key is set
    text_key TEXT NOT NULL,
    time_ms  BIGINT NOT NULL,
    PRIMARY KEY (set_id, item_id)
);

-- The desk at a million cases. The queues read active cases in deadline order (cases with no
-- running clock last, then by number); these partial indexes hold only active cases, in that
-- order, one per way a queue is narrowed, so a page is a short index range whatever the size of
-- the history. The expression is written exactly as the queries write it (store/src/cases.rs,
-- DUE_KEY): both engines match an expression index by its expression.
CREATE INDEX cases_queue ON cases (COALESCE(next_due_at, 9223372036854775807), number)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX cases_queue_assignee ON cases (assignee_id, COALESCE(next_due_at, 9223372036854775807), number)
    WHERE status NOT IN ('resolved', 'closed');
-- Unassigned: a few thousand of the active cases, read in order without a sort.
CREATE INDEX cases_queue_unassigned ON cases (COALESCE(next_due_at, 9223372036854775807), number)
    WHERE status NOT IN ('resolved', 'closed') AND assignee_id IS NULL;
CREATE INDEX cases_queue_category ON cases (category, COALESCE(next_due_at, 9223372036854775807), number)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX cases_queue_status ON cases (status, COALESCE(next_due_at, 9223372036854775807), number)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX cases_queue_priority ON cases (priority, COALESCE(next_due_at, 9223372036854775807), number)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX cases_queue_language ON cases (language, COALESCE(next_due_at, 9223372036854775807), number)
    WHERE status NOT IN ('resolved', 'closed');

-- The case view's related cases: follow-ups, merges and appeals point at a case by these
-- columns, and repeat contacts by case_context.ref_id; without them every view scanned all cases.
CREATE INDEX cases_linked_from ON cases (linked_from) WHERE linked_from IS NOT NULL;
CREATE INDEX cases_merged_into ON cases (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX cases_appeal_of ON cases (appeal_of) WHERE appeal_of IS NOT NULL;
CREATE INDEX case_context_ref ON case_context (ref_id, kind);

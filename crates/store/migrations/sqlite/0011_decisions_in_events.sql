-- An event's decision is kept on the event's own row: one row and two index entries fewer
-- per event than in a table of their own (a decision always belongs to exactly one event, and
-- is written in the same transaction). Decisions are looked up by their id through
-- `events_decision`.
ALTER TABLE events ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN decision TEXT NOT NULL DEFAULT '';
UPDATE events SET action = d.action, decision = d.body FROM decisions d WHERE d.event_id = events.id;
DROP TABLE decisions;
CREATE UNIQUE INDEX events_decision ON events (decision_id);

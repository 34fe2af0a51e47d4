-- Fewer index pages written per event. An account's decisions are read through its events
-- (`events_account`), so they need no index of their own by account; every decision belongs to
-- an event. (`risk_states.last_activity_at` is now written only when it moves by an hour or
-- more: see store/src/risk.rs, ACTIVITY_STEP_MS.)
DROP INDEX decisions_account;

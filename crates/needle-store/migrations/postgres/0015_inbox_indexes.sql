-- The inbox at 100,000 cases (issue 6; measured by examples/inbox_bench.rs).
-- The same indexes as SQLite's, with `id` spelled out (PostgreSQL indexes do not end with it).
--
-- Queues list by priority, then the longest-waiting customer, then id.
CREATE INDEX cases_by_urgency ON cases (workspace_id, priority, last_inbound_at, id);
-- `mine`: one agent's cases, already in queue order.
CREATE INDEX cases_mine ON cases (workspace_id, assignee, priority, last_inbound_at, id);
-- `resolved`: the latest resolutions first.
CREATE INDEX cases_resolved ON cases (workspace_id, status, resolved_at, id);
-- Every queue's count from the index (an index-only scan where the visibility map allows).
CREATE INDEX cases_counts ON cases (workspace_id, status, assignee, snoozed_until,
    first_response_at, first_response_due, resolution_due);

-- The inbox at 100,000 cases (issue 6; measured by examples/inbox_bench.rs).
--
-- Queues list by priority, then the longest-waiting customer: an index in that order lets a
-- queue's first page stop after its hundred rows instead of sorting every open case. (Every
-- SQLite index ends with the rowid, which is the `id` tie-break.)
CREATE INDEX cases_by_urgency ON cases (workspace_id, priority, last_inbound_at);
-- `mine`: one agent's cases, already in queue order.
CREATE INDEX cases_mine ON cases (workspace_id, assignee, priority, last_inbound_at);
-- `resolved`: the latest resolutions first.
CREATE INDEX cases_resolved ON cases (workspace_id, status, resolved_at);
-- Every queue's count from the index alone: the inbox shows seven counts on every page, and
-- without it each one read its cases from the table in index order.
CREATE INDEX cases_counts ON cases (workspace_id, status, assignee, snoozed_until,
    first_response_at, first_response_due, resolution_due);

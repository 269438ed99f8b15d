-- A backfill is worked on by one process at a time: the one holding an unexpired lease.
ALTER TABLE backfills ADD COLUMN lease_owner TEXT;
ALTER TABLE backfills ADD COLUMN lease_until INTEGER;

#include "store/migrations.hpp"

namespace inferix::store {

const std::vector<Migration>& SqliteMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE user_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id)
);
CREATE TABLE enrollments (
  token_hash TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  used_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE nodes (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  public_key TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  capabilities TEXT NOT NULL DEFAULT '{}',
  banned INTEGER NOT NULL DEFAULT 0,
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  accepted INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE user_files (
  user_id INTEGER NOT NULL REFERENCES users(id),
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (user_id, sha256)
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  main_file TEXT NOT NULL,
  files TEXT NOT NULL,
  frames_spec TEXT NOT NULL,
  format TEXT NOT NULL,
  chunk_size INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_user ON jobs(user_id, id);
CREATE TABLE frames (
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  number INTEGER NOT NULL,
  state TEXT NOT NULL,
  task_id INTEGER NOT NULL DEFAULT 0,
  output_id INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  errors TEXT NOT NULL DEFAULT '',
  excluded TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, number)
);
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  frames TEXT NOT NULL,
  output_id INTEGER NOT NULL DEFAULT 0,
  node_id INTEGER NOT NULL DEFAULT 0,
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  excluded TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
);
CREATE INDEX tasks_by_state ON tasks(state, kind);
CREATE INDEX tasks_by_job ON tasks(job_id);
CREATE TABLE outputs (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  frame INTEGER NOT NULL,
  task_id INTEGER NOT NULL,
  node_id INTEGER NOT NULL,
  blob_key TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  render_seconds REAL NOT NULL DEFAULT 0,
  verdict TEXT NOT NULL,
  verdict_detail TEXT NOT NULL DEFAULT '',
  verifier_node_id INTEGER NOT NULL DEFAULT 0,
  verify_seconds REAL NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  UNIQUE (task_id, frame)
);
CREATE INDEX outputs_by_job ON outputs(job_id, frame);
)sql"},
      {2, R"sql(
ALTER TABLE jobs ADD COLUMN fps REAL NOT NULL DEFAULT 24;
ALTER TABLE jobs ADD COLUMN video_state TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN video_key TEXT NOT NULL DEFAULT '';
ALTER TABLE outputs ADD COLUMN preview_key TEXT NOT NULL DEFAULT '';
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL,
  job_id INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX events_by_user ON events(user_id, id);
CREATE INDEX events_by_job ON events(job_id, id);
)sql"},
      {3, R"sql(
ALTER TABLE tasks ADD COLUMN level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outputs ADD COLUMN render_cpu_seconds REAL NOT NULL DEFAULT 0;
ALTER TABLE outputs ADD COLUMN verify_cpu_seconds REAL NOT NULL DEFAULT 0;
ALTER TABLE outputs ADD COLUMN det_class TEXT NOT NULL DEFAULT '';
ALTER TABLE outputs ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE outputs ADD COLUMN credited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outputs ADD COLUMN replica_of INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN ban_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN det_class TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN streak INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outputs_by_node ON outputs(node_id, id);
CREATE INDEX outputs_by_sha ON outputs(sha256);
)sql"},
      {4, R"sql(
CREATE TABLE job_blocklist (
  job_id INTEGER NOT NULL,
  node_id INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (job_id, node_id)
);
)sql"},
      {5, R"sql(
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  expires_ms INTEGER NOT NULL
);
)sql"},
      // When a job's first frame began rendering. Jobs a worker already took work from get their submission
      // time, the closest bound known; the others (waiting, or ended before any start) stay 0.
      {6, R"sql(
ALTER TABLE jobs ADD COLUMN started_ms INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET started_ms = created_ms WHERE EXISTS (
  SELECT 1 FROM tasks WHERE tasks.job_id = jobs.id AND tasks.state IN ('active', 'done', 'failed'));
)sql"},
      // Where the artist's files lay (the paths of `files` are relative to it), the Blender version of the
      // main file's header, and its denoising. Older jobs keep the old layout (relative to the main file's
      // folder).
      {7, R"sql(
ALTER TABLE jobs ADD COLUMN scene_root TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN blender_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN denoisers TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN without_denoiser INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN resolution_percentage INTEGER NOT NULL DEFAULT 0;
)sql"},
      // Retention (issue #14): the highest event id it removed (a client resuming before it gets a resync
      // hint), and indexes that let each round find the oldest ended jobs, rejected outputs, events and
      // sessions without reading whole tables.
      {8, R"sql(
CREATE TABLE retention_marks (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE INDEX jobs_by_finish ON jobs(finished_ms) WHERE state IN ('completed', 'failed', 'canceled');
CREATE INDEX outputs_rejected ON outputs(created_ms) WHERE verdict = 'rejected' AND blob_key <> '';
CREATE INDEX outputs_by_preview ON outputs(preview_key) WHERE preview_key <> '';
CREATE INDEX outputs_by_blob ON outputs(blob_key);
CREATE INDEX events_by_time ON events(created_ms);
CREATE INDEX sessions_by_user ON sessions(user_id, expires_ms);
CREATE INDEX sessions_by_expiry ON sessions(expires_ms);
CREATE INDEX tasks_by_output ON tasks(output_id) WHERE state IN ('queued', 'active');
CREATE INDEX frames_by_output ON frames(output_id) WHERE output_id <> 0;
)sql"},
      // Accounts (issue #14): a user's role and own limits (NULL: the manager's default), API tokens with an
      // id, label, times and revocation (the table is made again: its old key was the hash, and SQLite's
      // implicit rowid is not stable), and the audit log of operators' actions. Existing users are plain
      // users; existing tokens never expire.
      {9, R"sql(
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
ALTER TABLE users ADD COLUMN max_priority INTEGER;
ALTER TABLE users ADD COLUMN quota_stored_bytes INTEGER;
ALTER TABLE users ADD COLUMN quota_active_jobs INTEGER;
ALTER TABLE users ADD COLUMN quota_frames_per_job INTEGER;
ALTER TABLE users ADD COLUMN quota_frames_in_flight INTEGER;
CREATE TABLE user_tokens_v9 (
  id INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  label TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL DEFAULT 0,
  expires_ms INTEGER NOT NULL DEFAULT 0,
  last_used_ms INTEGER NOT NULL DEFAULT 0,
  revoked_ms INTEGER NOT NULL DEFAULT 0
);
INSERT INTO user_tokens_v9 (token_hash, user_id) SELECT token_hash, user_id FROM user_tokens ORDER BY rowid;
DROP TABLE user_tokens;
ALTER TABLE user_tokens_v9 RENAME TO user_tokens;
CREATE INDEX user_tokens_by_user ON user_tokens(user_id, id);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
)sql"},
      // Issue #14's scheduler: a render task's progress (its lease is renewed only while it shows some;
      // tasks held now count as having shown it at their lease's end), and each node's claims per hour (the
      // daily cap).
      {10, R"sql(
ALTER TABLE tasks ADD COLUMN progress INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN progress_ms INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET progress_ms = lease_expires_ms WHERE state = 'active';
CREATE INDEX tasks_by_node ON tasks(node_id, state);
CREATE INDEX outputs_by_verdict ON outputs(verdict, node_id);
CREATE TABLE node_claims (
  node_id INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (node_id, hour)
);
)sql"},
      // Issue #16: each job's frames counted by state, kept by triggers in the transaction that changes a
      // frame, so that a job's state and progress are read in one row per state instead of every frame (a
      // frame's bookkeeping then costs the same in a job of 200 frames and of 100,000). Frames are written by
      // upsert (PutFrame), never by REPLACE: a REPLACE deletes without firing the delete trigger.
      {11, R"sql(
CREATE TABLE frame_counts (
  job_id INTEGER NOT NULL,
  state TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (job_id, state)
);
INSERT INTO frame_counts (job_id, state, n) SELECT job_id, state, COUNT(*) FROM frames GROUP BY job_id, state;
CREATE TRIGGER frames_counted_insert AFTER INSERT ON frames BEGIN
  INSERT INTO frame_counts (job_id, state, n) VALUES (NEW.job_id, NEW.state, 1)
    ON CONFLICT (job_id, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER frames_counted_update AFTER UPDATE OF state ON frames WHEN OLD.state <> NEW.state BEGIN
  UPDATE frame_counts SET n = n - 1 WHERE job_id = OLD.job_id AND state = OLD.state;
  INSERT INTO frame_counts (job_id, state, n) VALUES (NEW.job_id, NEW.state, 1)
    ON CONFLICT (job_id, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER frames_counted_delete AFTER DELETE ON frames BEGIN
  UPDATE frame_counts SET n = n - 1 WHERE job_id = OLD.job_id AND state = OLD.state;
  DELETE FROM frame_counts WHERE job_id = OLD.job_id AND state = OLD.state AND n = 0;
END;
)sql"},
      // Issue #16: a queued task carries its job's priority, so that a claim walks one index in the claim
      // order (priority, then oldest task) and stops at the first tasks it can take, instead of sorting every
      // queued task of the farm on each claim. CreateTask copies the job's priority; a trigger follows
      // changes.
      {12, R"sql(
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET priority = COALESCE((SELECT priority FROM jobs WHERE jobs.id = tasks.job_id), 0);
CREATE INDEX tasks_claim_order ON tasks(kind, priority DESC, id) WHERE state = 'queued';
CREATE TRIGGER jobs_priority_to_tasks AFTER UPDATE OF priority ON jobs WHEN OLD.priority <> NEW.priority BEGIN
  UPDATE tasks SET priority = NEW.priority WHERE job_id = NEW.id;
END;
)sql"},
      // Issue #17: a task records the slot (device) of its node that holds it (its outputs' determinism
      // class follows that device), and a job what its user requires of the slots that render it.
      {13, R"sql(
ALTER TABLE tasks ADD COLUMN slot TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN requirements TEXT NOT NULL DEFAULT '';
)sql"},
      // Issue #17: a job's render engine, as preflight read it from its scene ('' for older clients' jobs).
      {14, R"sql(
ALTER TABLE jobs ADD COLUMN engine TEXT NOT NULL DEFAULT '';
)sql"},
      // Issue #17: why a node takes no work now, as it said (paused by its owner, outside its hours, ...).
      {15, R"sql(
ALTER TABLE nodes ADD COLUMN availability TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN availability_reason TEXT NOT NULL DEFAULT '';
)sql"},
      // Issue #17: the user who owns a node's machine, named when its enrollment token was made (0: nobody).
      {16, R"sql(
ALTER TABLE enrollments ADD COLUMN owner_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN owner_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX nodes_by_owner ON nodes(owner_id);
)sql"},
      // Issue #18: the credits ledger. Postings are append-only; an entry's account is its kind and the user
      // it belongs to (0 for the network's). Balances are sums of entries.
      {17, R"sql(
CREATE TABLE ledger_postings (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  job_id INTEGER NOT NULL DEFAULT 0,
  frame INTEGER NOT NULL DEFAULT 0,
  node_id INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  memo TEXT NOT NULL DEFAULT ''
);
CREATE TABLE ledger_entries (
  posting_id INTEGER NOT NULL REFERENCES ledger_postings(id),
  seq INTEGER NOT NULL,
  account TEXT NOT NULL,
  owner_id INTEGER NOT NULL,
  amount INTEGER NOT NULL
);
CREATE INDEX ledger_entries_by_account ON ledger_entries(account, owner_id);
CREATE INDEX ledger_entries_by_owner ON ledger_entries(owner_id, posting_id);
CREATE INDEX ledger_entries_by_posting ON ledger_entries(posting_id);
CREATE INDEX ledger_postings_by_job ON ledger_postings(job_id);
)sql"},
  };
  return kMigrations;
}

}  // namespace inferix::store

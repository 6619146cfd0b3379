-- Hand-off lists at millions of rows: pending ones are listed soonest due first, so they get
-- small partial indexes in that order (a completed hand-off leaves them); the history (any
-- status) is listed newest first by receiver or department. The wide (…, status, due_at)
-- indexes of 0004 sorted pending lists in memory and made every insert touch four large trees.
DROP INDEX handoffs_receiver;
DROP INDEX handoffs_department;
DROP INDEX handoffs_status_due;
CREATE INDEX handoffs_pending_receiver ON handoffs(receiver_id, due_at, id) WHERE status IN ('open', 'acknowledged');
CREATE INDEX handoffs_pending_department ON handoffs(department_id, due_at, id) WHERE status IN ('open', 'acknowledged');
CREATE INDEX handoffs_pending_due ON handoffs(due_at, id) WHERE status IN ('open', 'acknowledged');
CREATE INDEX handoffs_receiver ON handoffs(receiver_id, id);
CREATE INDEX handoffs_department ON handoffs(department_id, id);

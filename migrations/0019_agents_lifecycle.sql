-- Agents (issue 17, second part): an instance can be deregistered (kept, marked, its inbox
-- closed), an invoke canceled by its caller can still record an answer that comes after the
-- cancel, and the agents sweep finds the jobs that finished lately (their blackboard
-- namespaces `job:<id>` get a short expiry) without reading the whole jobs table.
--
-- Deregistering deletes the instance's `agent_inboxes` row: a send takes the recipient's next
-- seq from it, so a send to a deregistered instance finds no counter and stores nothing, with no
-- extra check on the send's path.
-- migrate:up
alter table agent_instances add column deregistered_at timestamptz;

-- When the target's answer came: the completion for completed, failed and late invokes; for a
-- canceled invoke, an answer that came after the cancel (null when none came).
alter table invoke_audit add column answered_at timestamptz;

-- The agents sweep's question, every minute: which jobs settled since a recent instant. Written
-- once per job (at its settlement), never per item.
create index jobs_settled_idx on jobs (settled_at) where settled_at is not null;

-- migrate:down
drop index jobs_settled_idx;
alter table invoke_audit drop column answered_at;
alter table agent_instances drop column deregistered_at;

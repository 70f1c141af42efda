-- Agents (issue 17): a message sent while its recipient is long-polling is handed to that
-- waiter by the send itself. The receive that found nothing names itself in its inbox row
-- (`waiter`, a random token, until `waiter_until`); the send, which updates that row anyway for
-- the next seq, then stores the message already leased to the token (`leased_to`), clears the
-- waiter (one message per wait; `handed_to` says to whom it went) and carries the row in
-- its wake-up, so the woken receiver returns it without another statement. A waiter that left
-- before reading it gets it from its next check (`leased_to`), else it is delivered again when
-- its lease ends, as any unacked message.
-- migrate:up

alter table agent_inboxes
  add column waiter text,
  add column waiter_until timestamptz,
  add column handed_to text;
alter table agent_messages add column leased_to text;

-- migrate:down

alter table agent_messages drop column leased_to;
alter table agent_inboxes drop column waiter, drop column waiter_until, drop column handed_to;

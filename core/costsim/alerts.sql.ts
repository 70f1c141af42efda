/**
 * The alert queue's SQL (alerts.ts, costsim_alert_queue): one row per incident's alert, holding
 * its current state; `version` is bumped at each change (a re-assertion, the resolve) and the row
 * waits for delivery while `sent_version < version`. A sender claims the row for a short lease,
 * so one alert's sends never overlap (Alertmanager sees them in order). Times are parameters.
 */

const columns = `id, incident_id, labels, annotations, starts_at, ends_at, state, version, sent_version,
  delivered_to, attempts, next_attempt_at, changed_at, last_error`;

/** $1 incident, $2 labels, $3 annotations, $4 starts at, $5 ends at, $6 now. */
export const insertAlert = `insert into costsim_alert_queue
    (incident_id, labels, annotations, starts_at, ends_at, state, next_attempt_at, changed_at)
  values ($1, $2, $3, $4, $5, 'firing', $6, $6)
  returning ${columns}`;

/**
 * $1 incident ids, $2 now: their firing alerts become resolved (endsAt now), a new version to send
 * at once, whatever backoff the old one was in.
 */
export const resolveAlerts = `update costsim_alert_queue
  set state = 'resolved', ends_at = $2, version = version + 1, delivered_to = '{}', attempts = 0,
    next_attempt_at = $2, changed_at = $2, last_error = null
  where incident_id = any(CAST($1 AS uuid[])) and state = 'firing'
  returning ${columns}`;

/**
 * $1 now, $2 resend interval (s), $3 the new endsAt: firing alerts not changed for an interval get
 * a new lease and a new version (re-sent, as Prometheus re-sends its active alerts). A version
 * still waiting keeps its backoff and its message (or the sweeper's re-drive of it): the next
 * attempt sends the new endsAt.
 */
export const reassertAlerts = `update costsim_alert_queue
  set ends_at = $3, version = version + 1, delivered_to = '{}', changed_at = $1,
    next_attempt_at = case when sent_version = version then $1 else next_attempt_at end
  where state = 'firing' and changed_at <= CAST($1 AS timestamptz) - make_interval(secs => $2)
  returning ${columns}`;

/**
 * $1 id, $2 claim id, $3 now, $4 claim lease (s): the row, if its version waits and no other sender
 * holds it. A redelivered message for a delivered row claims nothing.
 */
export const claimAlert = `update costsim_alert_queue
  set claim_id = $2, claimed_until = CAST($3 AS timestamptz) + make_interval(secs => $4)
  where id = $1 and sent_version < version
    and (claimed_until is null or claimed_until < $3)
  returning ${columns}`;

/**
 * $1 id, $2 claim id, $3 the version sent, $4 URLs that accepted it, $5 every URL, $6 now, $7 the
 * next attempt after a failure (null: none failed), $8 the failures: the accepted URLs noted (if
 * the version is still current), the version delivered once every URL has it, a failure counted,
 * the claim released. Returns the row as it is now.
 */
export const finishSend = `with s as (
    select id, version = $3 as current,
      CAST($5 AS text[]) <@ (delivered_to || CAST($4 AS text[])) as everywhere
    from costsim_alert_queue where id = $1 and claim_id = $2
  )
  update costsim_alert_queue q
  set delivered_to = case when s.current
        then array(select distinct u from unnest(q.delivered_to || CAST($4 AS text[])) u order by u)
        else q.delivered_to end,
    sent_version = case when s.current and s.everywhere then $3 else q.sent_version end,
    attempts = case when s.current and s.everywhere then 0
        when CAST($7 AS timestamptz) is not null then q.attempts + 1 else q.attempts end,
    next_attempt_at = coalesce(CAST($7 AS timestamptz), q.next_attempt_at),
    last_error = case when CAST($8 AS text) is not null then CAST($8 AS text) when s.current and s.everywhere then null else q.last_error end,
    last_sent_at = case when cardinality(CAST($4 AS text[])) > 0 then $6 else q.last_sent_at end,
    claim_id = null, claimed_until = null
  from s
  where q.id = s.id
  returning q.id, q.incident_id, q.labels, q.annotations, q.starts_at, q.ends_at, q.state, q.version,
    q.sent_version, q.delivered_to, q.attempts, q.next_attempt_at, q.changed_at, q.last_error`;

/** $1 id, $2 claim id, $3 next attempt, $4 last error: a failed attempt; the claim released. */
export const failSend = `update costsim_alert_queue
  set attempts = attempts + 1, next_attempt_at = $3, last_error = $4, claim_id = null, claimed_until = null
  where id = $1 and claim_id = $2
  returning ${columns}`;

/** Alerts waiting for delivery (the depth gauge). */
export const depth = `select CAST(count(*) AS integer) as depth from costsim_alert_queue where sent_version < version`;

/** $1 before: delivered resolved alerts older than this deleted. */
export const trimAlerts = `delete from costsim_alert_queue
  where state = 'resolved' and sent_version = version and changed_at < $1`;

export interface AlertRow {
  id: string;
  incident_id: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  starts_at: Date;
  ends_at: Date;
  state: "firing" | "resolved";
  version: number;
  sent_version: number;
  delivered_to: string[];
  attempts: number;
  next_attempt_at: Date;
  changed_at: Date;
  last_error: string | null;
}

/** The outbox's declaration over costsim_alert_queue (core/platform/outbox). */
export const alertOutboxTable = {
  table: "costsim_alert_queue",
  columns: "t.id",
  waiting: "t.sent_version < t.version and (t.claimed_until is null or t.claimed_until < CAST($1 AS timestamptz))",
  createdAt: "t.changed_at",
  // A message is presumed lost a minute after the attempt it carried was due.
  resendAfterS: "greatest(60, extract(epoch from t.next_attempt_at - t.enqueued_at) + 60)",
};

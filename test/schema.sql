CREATE FUNCTION public.aos_grant_app_role(p_role text) RETURNS void
    LANGUAGE plpgsql
    AS $$
begin
  perform aos_grant_app_role_0015(p_role);
  if p_role is null or p_role = '' or p_role = current_user then
    return;
  end if;
  if to_regprocedure('public.workflow_archive_ops(uuid, uuid, timestamptz)') is not null then
    execute format('grant execute on function workflow_archive_ops(uuid, uuid, timestamptz) to %I', p_role);
  end if;
end
$$;

CREATE FUNCTION public.aos_grant_app_role_0012(p_role text) RETURNS void
    LANGUAGE plpgsql
    AS $$
declare
  t record;
begin
  -- No role named, or one role for both (migrations run as the application's own role):
  -- nothing to grant, and never revoke anything from the owner itself.
  if p_role is null or p_role = '' or p_role = current_user then
    return;
  end if;
  execute format('grant usage on schema public to %I', p_role);
  -- Rows, never the schema: no TRUNCATE, TRIGGER or REFERENCES, and no ownership of anything.
  execute format('grant select, insert, update, delete on all tables in schema public to %I', p_role);
  execute format('revoke truncate, references, trigger on all tables in schema public from %I', p_role);
  execute format('grant usage, select on all sequences in schema public to %I', p_role);
  -- The migrator's own bookkeeping: readable (aos load-test checks nothing is pending), no more.
  if to_regclass('public.schema_migrations') is not null then
    execute format('revoke insert, update, delete on schema_migrations from %I', p_role);
  end if;
  -- Append-only tables: those with a BEFORE TRUNCATE trigger that refuses the change, as
  -- status_history (0003) and credit_ledger (0005) have. INSERT and SELECT only.
  for t in
    select distinct tg.tgrelid::regclass as rel
    from pg_trigger tg
    join pg_class c on c.oid = tg.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and not tg.tgisinternal
      and (tg.tgtype & 32) <> 0 -- TRIGGER_TYPE_TRUNCATE
      and (tg.tgtype & 2) <> 0  -- TRIGGER_TYPE_BEFORE
  loop
    execute format('revoke update, delete on %s from %I', t.rel, p_role);
  end loop;
  -- Tables and sequences this role creates later get the row privileges at once (a later
  -- append-only table loses UPDATE and DELETE again when the migrator calls this after `up`).
  execute format('alter default privileges in schema public grant select, insert, update, delete on tables to %I', p_role);
  execute format('alter default privileges in schema public grant usage, select on sequences to %I', p_role);
end
$$;

CREATE FUNCTION public.aos_grant_app_role_0015(p_role text) RETURNS void
    LANGUAGE plpgsql
    AS $$
begin
  perform aos_grant_app_role_0012(p_role);
  if p_role is null or p_role = '' or p_role = current_user then
    return;
  end if;
  if to_regclass('public.failure_matches') is not null then
    -- DELETE stays: the retention cron (FAILURE_RETENTION_DAYS) deletes old records.
    execute format('revoke update on failure_matches from %I', p_role);
    execute format(
      'grant update (recovery_attempted, recovery_succeeded, recovered_at, recovered_by, recovery_notes, updated_at) on failure_matches to %I',
      p_role);
  end if;
end
$$;

CREATE FUNCTION public.credit_ledger_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  raise exception 'credit_ledger is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege';
end
$$;

CREATE FUNCTION public.job_claim_room(p_job uuid, p_now timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
  v_parallelism integer;
  v_total integer;
  v_in_flight integer;
begin
  select parallelism, items_total into v_parallelism, v_total from jobs where id = p_job;
  if v_parallelism is null then
    return 0;
  end if;
  if v_parallelism >= v_total then
    return v_parallelism;
  end if;
  perform pg_advisory_xact_lock(1785686892, hashtext(CAST(p_job AS text)));
  select count(*) into v_in_flight from job_items
    where job_id = p_job and status = 'claimed' and lease_until >= p_now;
  return greatest(v_parallelism - v_in_flight, 0);
end
$$;

CREATE FUNCTION public.job_has_pending(p_job uuid) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
begin
  perform 1 from job_items where job_id = p_job and status = 'pending' order by idx desc limit 1;
  return found;
end
$$;

CREATE FUNCTION public.job_items_record_history() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  insert into status_history
    (tenant_id, entity_type, entity_id, old_status, new_status, actor, reason, metadata, correlation_id)
  select n.tenant_id, 'job_item', CAST(n.id AS text), o.status, n.status,
    coalesce(nullif(current_setting('aos.actor', true), ''), 'system:jobs'),
    case when n.status in ('pending', 'failed') and n.error is not null then n.error ->> 'code' end,
    jsonb_build_object('job_id', n.job_id, 'attempt', n.attempt,
      'worker_id', coalesce(n.claimed_by, o.claimed_by)),
    nullif(current_setting('aos.correlation_id', true), '')
  from job_items_new n
  join job_items_old o on o.id = n.id
  where o.status is distinct from n.status and not (o.status = 'pending' and n.status = 'cancelled');
  return null;
end
$$;

CREATE FUNCTION public.status_history_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  raise exception 'status_history is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'status history rows are never changed or removed';
end
$$;

CREATE FUNCTION public.uuid7(p_seq integer DEFAULT NULL::integer) RETURNS uuid
    LANGUAGE sql PARALLEL SAFE
    AS $$
  select encode(
    int8send((floor(extract(epoch from clock_timestamp()) * 1000)::bigint << 16) | 28672 | ((x.s >> 6) & 4095))
      || set_byte(substring(uuid_send(gen_random_uuid()) from 9 for 8), 0, 128 | (x.s & 63)),
    'hex')::uuid
  from (select coalesce(p_seq, floor(random() * 262144)::integer) & 262143 as s) x
$$;

CREATE FUNCTION public.workflow_archive_ops(p_tenant uuid, p_run uuid, p_cutoff timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
declare
  r record;
  a record;
  live integer;
  n integer;
begin
  select id, status, finished_at, head_hash, ops_archived_at into r
    from public.workflow_runs where id = p_run and tenant_id = p_tenant for update;
  if not found then
    raise exception 'workflow run % of tenant % not found', p_run, p_tenant using errcode = 'no_data_found';
  end if;
  if r.ops_archived_at is not null then
    return null;
  end if;
  if p_cutoff > now() then
    raise exception 'retention cutoff % is in the future', p_cutoff using errcode = 'object_not_in_prerequisite_state';
  end if;
  if r.status not in ('completed', 'failed', 'cancelled') or r.finished_at is null or r.finished_at >= p_cutoff then
    raise exception 'workflow run % did not finish before %', p_run, p_cutoff
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  select ops, head_hash into a
    from public.workflow_ops_archives where workflow_run_id = p_run and tenant_id = p_tenant and deleted_at is null;
  if not found then
    raise exception 'workflow run % has no recorded export of its ops', p_run
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  select count(*) into live from public.workflow_ops where workflow_run_id = p_run;
  if a.ops <> live or a.head_hash is distinct from r.head_hash then
    raise exception 'the export of workflow run % covers % ops to head %, the log has % to head %',
      p_run, a.ops, a.head_hash, live, r.head_hash
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  perform set_config('aos.workflow_ops_archive_run', CAST(p_run AS text), true);
  delete from public.workflow_ops where workflow_run_id = p_run and tenant_id = p_tenant;
  get diagnostics n = row_count;
  perform set_config('aos.workflow_ops_archive_run', '', true);
  update public.workflow_ops_archives set deleted_at = now(), deleted_ops = n where workflow_run_id = p_run;
  update public.workflow_runs set ops_archived_at = now() where id = p_run;
  return n;
end
$$;

CREATE FUNCTION public.workflow_next_op_index(p_run uuid) RETURNS integer
    LANGUAGE sql STABLE
    AS $$
  select coalesce(max(op_index) + 1, 0) from workflow_ops where workflow_run_id = p_run
$$;

CREATE FUNCTION public.workflow_ops_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
  if tg_op = 'DELETE' then
    if current_setting('aos.workflow_ops_archive_run', true) = CAST(old.workflow_run_id AS text) then
      return old;
    end if;
  end if;
  raise exception 'workflow_ops is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'workflow operations are never changed; only workflow_archive_ops removes an exported run''s ops';
end
$$;

CREATE TABLE public.agent_inboxes (
    agent_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    waiter text,
    waiter_until timestamp with time zone,
    handed_to text
);

CREATE TABLE public.agent_instances (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    capabilities text[] DEFAULT '{}'::text[] NOT NULL,
    job_id uuid,
    created_by text NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    deregistered_at timestamp with time zone,
    CONSTRAINT agent_instances_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

CREATE TABLE public.agent_messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    recipient_id uuid NOT NULL,
    seq bigint NOT NULL,
    sender text NOT NULL,
    message_id text,
    type text NOT NULL,
    payload jsonb NOT NULL,
    reply_to uuid,
    invoke_id text,
    expires_at timestamp with time zone NOT NULL,
    leased_until timestamp with time zone,
    deliveries integer DEFAULT 0 NOT NULL,
    acked_at timestamp with time zone,
    dead_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    leased_to text,
    CONSTRAINT agent_messages_message_id_check CHECK (((length(message_id) >= 1) AND (length(message_id) <= 200))),
    CONSTRAINT agent_messages_type_check CHECK (((length(type) >= 1) AND (length(type) <= 100)))
);

CREATE TABLE public.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    role text NOT NULL,
    prefix text NOT NULL,
    key_hash bytea NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_key_hash_check CHECK ((length(key_hash) = 32)),
    CONSTRAINT api_keys_name_check CHECK ((length(name) <= 200)),
    CONSTRAINT api_keys_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'operator'::text, 'agent'::text, 'viewer'::text])))
);

CREATE TABLE public.circuit_breaker_state (
    id bigint NOT NULL,
    tenant_id uuid,
    target text NOT NULL,
    state text DEFAULT 'CLOSED'::text NOT NULL,
    failure_count integer DEFAULT 0 NOT NULL,
    last_failure_at timestamp with time zone,
    last_error text,
    opened_at timestamp with time zone,
    cooldown_until timestamp with time zone,
    probe_id uuid,
    probe_until timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    kind text DEFAULT 'skill'::text NOT NULL,
    version bigint DEFAULT 0 NOT NULL,
    recent_failures timestamp with time zone[],
    CONSTRAINT circuit_breaker_state_failure_count_check CHECK ((failure_count >= 0)),
    CONSTRAINT circuit_breaker_state_kind_check CHECK ((kind ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT circuit_breaker_state_last_error_check CHECK ((length(last_error) <= 1000)),
    CONSTRAINT circuit_breaker_state_recent_failures_check CHECK ((cardinality(recent_failures) <= 1000)),
    CONSTRAINT circuit_breaker_state_state_check CHECK ((state = ANY (ARRAY['CLOSED'::text, 'OPEN'::text, 'HALF_OPEN'::text]))),
    CONSTRAINT circuit_breaker_state_target_check CHECK (((length(target) >= 1) AND (length(target) <= 300))),
    CONSTRAINT circuit_breaker_state_version_check CHECK ((version >= 0))
);

ALTER TABLE public.circuit_breaker_state ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.circuit_breaker_state_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.costsim_alert_queue (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    incident_id uuid NOT NULL,
    labels jsonb NOT NULL,
    annotations jsonb NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    state text NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    sent_version integer DEFAULT 0 NOT NULL,
    delivered_to text[] DEFAULT '{}'::text[] NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    claim_id uuid,
    claimed_until timestamp with time zone,
    last_error text,
    changed_at timestamp with time zone NOT NULL,
    last_sent_at timestamp with time zone,
    enqueued_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT costsim_alert_queue_check CHECK ((sent_version <= version)),
    CONSTRAINT costsim_alert_queue_state_check CHECK ((state = ANY (ARRAY['firing'::text, 'resolved'::text])))
);

CREATE TABLE public.costsim_canary_reports (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    status text NOT NULL,
    trigger text NOT NULL,
    requested_by text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    lease_until timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    report jsonb,
    failures text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT costsim_canary_reports_status_check CHECK ((status = ANY (ARRAY['running'::text, 'passed'::text, 'failed'::text, 'insufficient_data'::text, 'abandoned'::text]))),
    CONSTRAINT costsim_canary_reports_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'api'::text])))
);

CREATE TABLE public.costsim_cb_evaluations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    bucket bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    outcome text,
    figures jsonb DEFAULT '{}'::jsonb NOT NULL,
    consecutive_failures integer,
    tripped boolean DEFAULT false NOT NULL,
    CONSTRAINT costsim_cb_evaluations_outcome_check CHECK ((outcome = ANY (ARRAY['pass'::text, 'fail'::text, 'insufficient_data'::text])))
);

CREATE TABLE public.costsim_cb_incidents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    trigger text NOT NULL,
    reason text NOT NULL,
    figures jsonb DEFAULT '{}'::jsonb NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    disabled_until timestamp with time zone NOT NULL,
    resolved_at timestamp with time zone,
    resolution text,
    resolved_by text,
    resolution_reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT costsim_cb_incidents_check CHECK (((resolved_at IS NULL) = (resolution IS NULL))),
    CONSTRAINT costsim_cb_incidents_resolution_check CHECK ((resolution = ANY (ARRAY['auto_recovery'::text, 'reset'::text]))),
    CONSTRAINT costsim_cb_incidents_trigger_check CHECK ((trigger = ANY (ARRAY['drift'::text, 'schema_errors'::text, 'canary'::text])))
);

CREATE VIEW public.costsim_cb_state AS
 SELECT circuit_breaker_state.id,
    circuit_breaker_state.state,
    (circuit_breaker_state.state <> 'CLOSED'::text) AS disabled,
    circuit_breaker_state.failure_count AS consecutive_failures,
    circuit_breaker_state.opened_at AS disabled_at,
    circuit_breaker_state.cooldown_until AS disabled_until,
    circuit_breaker_state.last_error,
    circuit_breaker_state.last_failure_at,
    circuit_breaker_state.version,
    circuit_breaker_state.updated_at
   FROM public.circuit_breaker_state
  WHERE ((circuit_breaker_state.kind = 'costsim'::text) AND (circuit_breaker_state.target = 'v2'::text) AND (circuit_breaker_state.tenant_id IS NULL));

CREATE TABLE public.costsim_provenance (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    input_hash text NOT NULL,
    source text NOT NULL,
    plan_ref text,
    plan_hash text,
    skills text[] DEFAULT '{}'::text[] NOT NULL,
    v1_version text NOT NULL,
    v2_version text,
    v1_hash text NOT NULL,
    v2_hash text,
    v1_credits numeric NOT NULL,
    v2_credits numeric,
    v1_duration_ms double precision NOT NULL,
    v2_duration_ms double precision,
    v1_p_failure double precision,
    v2_p_failure double precision,
    cost_delta numeric,
    drift_score double precision,
    verdict text NOT NULL,
    outputs jsonb,
    outputs_gz bytea,
    simulations integer DEFAULT 1 NOT NULL,
    actual_credits numeric,
    actual_duration_ms double precision,
    actual_run_id uuid,
    actual_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    cost_delta_float double precision GENERATED ALWAYS AS ((cost_delta)::double precision) STORED,
    cost_rel double precision GENERATED ALWAYS AS (
CASE
    WHEN (v2_credits IS NULL) THEN NULL::double precision
    WHEN (v1_credits = v2_credits) THEN (0)::double precision
    ELSE (abs(((v2_credits)::double precision - (v1_credits)::double precision)) / GREATEST(abs((v1_credits)::double precision), abs((v2_credits)::double precision)))
END) STORED,
    kl_bin integer GENERATED ALWAYS AS (((((((width_bucket(v1_credits, '{1,2,5,10,20,50,100,200,500,1000,2000,5000,10000}'::numeric[]) * 16) + width_bucket(v2_credits, '{1,2,5,10,20,50,100,200,500,1000,2000,5000,10000}'::numeric[])) * 16) + width_bucket(v1_duration_ms, '{100,250,500,1000,2500,5000,10000,30000,60000,300000,900000,3600000}'::double precision[])) * 16) + width_bucket(v2_duration_ms, '{100,250,500,1000,2500,5000,10000,30000,60000,300000,900000,3600000}'::double precision[]))) STORED,
    compared_at timestamp with time zone,
    actual_started_at timestamp with time zone,
    CONSTRAINT costsim_provenance_source_check CHECK ((source = ANY (ARRAY['shadow'::text, 'backfill'::text]))),
    CONSTRAINT costsim_provenance_verdict_check CHECK ((verdict = ANY (ARRAY['match'::text, 'minor_drift'::text, 'major_drift'::text, 'mismatch'::text, 'v2_error'::text])))
);

CREATE TABLE public.costsim_provenance_inputs (
    provenance_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    input_gz bytea NOT NULL,
    recorded_at timestamp with time zone NOT NULL
);

CREATE TABLE public.credit_balances (
    tenant_id uuid NOT NULL,
    balance numeric(18,4) DEFAULT 0 NOT NULL,
    reserved numeric(18,4) DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT credit_balances_balance_check CHECK ((balance >= (0)::numeric)),
    CONSTRAINT credit_balances_check CHECK ((reserved <= balance)),
    CONSTRAINT credit_balances_reserved_check CHECK ((reserved >= (0)::numeric))
);

CREATE TABLE public.credit_holds (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    amount numeric(18,4) NOT NULL,
    reason text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT credit_holds_amount_check CHECK ((amount > (0)::numeric)),
    CONSTRAINT credit_holds_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 500)))
);

CREATE TABLE public.credit_ledger (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    amount numeric(18,4) NOT NULL,
    balance_delta numeric(18,4) NOT NULL,
    reserved_delta numeric(18,4) NOT NULL,
    job_id uuid,
    item_id uuid,
    idempotency_key text NOT NULL,
    reason text,
    actor text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    item_ids uuid[],
    CONSTRAINT credit_ledger_amount_check CHECK ((amount >= (0)::numeric)),
    CONSTRAINT credit_ledger_check CHECK ((((kind = 'grant'::text) AND (balance_delta = amount) AND (reserved_delta = (0)::numeric)) OR ((kind = 'reserve'::text) AND (balance_delta = (0)::numeric) AND (reserved_delta = amount)) OR ((kind = 'charge'::text) AND (balance_delta = (- amount)) AND (reserved_delta = (- amount))) OR ((kind = ANY (ARRAY['release'::text, 'refund'::text])) AND (balance_delta = (0)::numeric) AND (reserved_delta = (- amount))))),
    CONSTRAINT credit_ledger_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 200))),
    CONSTRAINT credit_ledger_item_ids_check CHECK (((item_ids IS NULL) OR ((kind = 'charge'::text) AND (item_id IS NULL) AND (job_id IS NOT NULL) AND ((cardinality(item_ids) >= 2) AND (cardinality(item_ids) <= 1000)) AND (array_position(item_ids, NULL::uuid) IS NULL)))),
    CONSTRAINT credit_ledger_kind_check CHECK ((kind = ANY (ARRAY['grant'::text, 'reserve'::text, 'charge'::text, 'release'::text, 'refund'::text]))),
    CONSTRAINT credit_ledger_reason_check CHECK ((length(reason) <= 500))
);

ALTER TABLE public.credit_ledger ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.credit_ledger_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.failure_aggregates (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    object_key text NOT NULL,
    sha256 text NOT NULL,
    rows integer NOT NULL,
    failures integer NOT NULL,
    bytes bigint NOT NULL,
    runs integer DEFAULT 1 NOT NULL,
    generated_at timestamp with time zone NOT NULL,
    CONSTRAINT failure_aggregates_bytes_check CHECK ((bytes >= 0)),
    CONSTRAINT failure_aggregates_failures_check CHECK ((failures >= 0)),
    CONSTRAINT failure_aggregates_rows_check CHECK ((rows >= 0)),
    CONSTRAINT failure_aggregates_runs_check CHECK ((runs >= 1)),
    CONSTRAINT failure_aggregates_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text))
);

CREATE TABLE public.failure_matches (
    id uuid NOT NULL,
    run_id character varying NOT NULL,
    tenant_id uuid NOT NULL,
    error_code character varying(255) NOT NULL,
    error_message text,
    catalog_entry_id character varying(100),
    match_type character varying(20),
    match_confidence double precision,
    category character varying(50),
    severity character varying(20),
    is_retryable boolean DEFAULT false,
    recovery_mode character varying(50),
    recovery_suggestion text,
    recovery_attempted boolean DEFAULT false,
    recovery_succeeded boolean DEFAULT false,
    recovered_at timestamp with time zone,
    recovered_by character varying(100),
    recovery_notes text,
    skill_id character varying(100),
    step_index integer,
    context_json jsonb,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now(),
    CONSTRAINT failure_matches_confidence_check CHECK (((match_confidence IS NULL) OR ((match_confidence >= (0)::double precision) AND (match_confidence <= (1)::double precision)))),
    CONSTRAINT failure_matches_match_type_check CHECK (((match_type IS NULL) OR ((match_type)::text = ANY ((ARRAY['exact_code'::character varying, 'kind_cause'::character varying, 'message_pattern'::character varying, 'similarity'::character varying, 'miss'::character varying])::text[]))))
);

CREATE TABLE public.invoke_audit (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    invoke_id text NOT NULL,
    caller_instance_id text NOT NULL,
    target_instance_id text NOT NULL,
    job_id uuid,
    request_payload jsonb NOT NULL,
    response_payload jsonb,
    status text NOT NULL,
    credits_reserved numeric(12,2),
    credits_charged numeric(12,2),
    hold_id uuid,
    timeout_s integer NOT NULL,
    deadline_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    received_at timestamp with time zone,
    completed_at timestamp with time zone,
    duration_ms integer,
    error_message text,
    answered_at timestamp with time zone,
    CONSTRAINT invoke_audit_status_check CHECK ((status = ANY (ARRAY['submitted'::text, 'working'::text, 'completed'::text, 'failed'::text, 'canceled'::text, 'timeout'::text, 'late'::text]))),
    CONSTRAINT invoke_audit_timeout_s_check CHECK (((timeout_s >= 1) AND (timeout_s <= 30)))
);

CREATE TABLE public.job_cancellations (
    job_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    completed_items integer NOT NULL,
    cancelled_items integer NOT NULL,
    in_flight_items integer NOT NULL,
    credits_refunded numeric(18,4) NOT NULL,
    reason text,
    cancelled_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT job_cancellations_reason_check CHECK ((length(reason) <= 500))
);

CREATE TABLE public.job_items (
    id uuid DEFAULT public.uuid7() NOT NULL,
    job_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    idx integer NOT NULL,
    input jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempt integer DEFAULT 0 NOT NULL,
    claimed_by text,
    lease_until timestamp with time zone,
    result jsonb,
    error jsonb,
    enqueued_at timestamp with time zone,
    claimed_at timestamp with time zone,
    finished_at timestamp with time zone,
    duration_ms integer,
    credits numeric(18,4) NOT NULL,
    CONSTRAINT job_items_attempt_check CHECK ((attempt >= 0)),
    CONSTRAINT job_items_check CHECK (((status = 'claimed'::text) = ((claimed_by IS NOT NULL) AND (lease_until IS NOT NULL)))),
    CONSTRAINT job_items_claimed_by_check CHECK (((length(claimed_by) >= 1) AND (length(claimed_by) <= 200))),
    CONSTRAINT job_items_credits_check CHECK ((credits >= (0)::numeric)),
    CONSTRAINT job_items_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT job_items_error_check CHECK (((error IS NULL) OR (jsonb_typeof(error) = 'object'::text))),
    CONSTRAINT job_items_idx_check CHECK ((idx >= 0)),
    CONSTRAINT job_items_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'claimed'::text, 'done'::text, 'failed'::text, 'cancelled'::text])))
);

CREATE TABLE public.jobs (
    id uuid DEFAULT public.uuid7() NOT NULL,
    tenant_id uuid NOT NULL,
    task text NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    parallelism integer NOT NULL,
    credits_per_item numeric(18,4) NOT NULL,
    max_attempts integer NOT NULL,
    item_timeout_s integer NOT NULL,
    items_total integer NOT NULL,
    credits_reserved numeric(18,4) NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    settled_at timestamp with time zone,
    plan_hash text,
    CONSTRAINT jobs_credits_per_item_check CHECK ((credits_per_item >= (0)::numeric)),
    CONSTRAINT jobs_item_timeout_s_check CHECK (((item_timeout_s >= 1) AND (item_timeout_s <= 86400))),
    CONSTRAINT jobs_items_total_check CHECK (((items_total >= 1) AND (items_total <= 100000))),
    CONSTRAINT jobs_max_attempts_check CHECK (((max_attempts >= 1) AND (max_attempts <= 100))),
    CONSTRAINT jobs_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT jobs_parallelism_check CHECK (((parallelism >= 1) AND (parallelism <= 1000))),
    CONSTRAINT jobs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'completed'::text, 'failed'::text, 'cancelled'::text]))),
    CONSTRAINT jobs_task_check CHECK ((task ~ '^[a-z][a-z0-9_]{0,62}$'::text))
);

CREATE TABLE public.queue_failures (
    id bigint NOT NULL,
    queue text NOT NULL,
    message_id text NOT NULL,
    tenant_id uuid,
    body text NOT NULL,
    error_code text NOT NULL,
    error_message text NOT NULL,
    receive_count integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.queue_failures ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.queue_failures_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.replay_runs (
    replay_id uuid DEFAULT public.uuid7() NOT NULL,
    tenant_id uuid NOT NULL,
    workflow_run_id uuid NOT NULL,
    mode text NOT NULL,
    version integer NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    ops_total integer,
    ops_verified integer,
    ops_failed integer,
    ops_skipped integer,
    first_mismatch_op_index integer,
    mismatch_diff jsonb,
    severity text,
    mismatches jsonb,
    error_message text,
    requested_by text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    enqueued_at timestamp with time zone,
    lease_until timestamp with time zone,
    CONSTRAINT replay_runs_mode_check CHECK ((mode = ANY (ARRAY['verify'::text, 'against_version'::text]))),
    CONSTRAINT replay_runs_severity_check CHECK ((severity = ANY (ARRAY['CRITICAL'::text, 'WARNING'::text]))),
    CONSTRAINT replay_runs_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'running'::text, 'verified'::text, 'mismatch'::text, 'error'::text]))),
    CONSTRAINT replay_runs_version_check CHECK ((version >= 1))
);

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.skill_executions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    skill text NOT NULL,
    skill_version text NOT NULL,
    idempotency_key text NOT NULL,
    args_hash text NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    result jsonb,
    error jsonb,
    attempts integer DEFAULT 1 NOT NULL,
    lease_until timestamp with time zone NOT NULL,
    duration_ms integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    CONSTRAINT skill_executions_args_hash_check CHECK ((args_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT skill_executions_attempts_check CHECK ((attempts >= 1)),
    CONSTRAINT skill_executions_check CHECK (((status <> 'succeeded'::text) OR (result IS NOT NULL))),
    CONSTRAINT skill_executions_check1 CHECK (((status = 'failed'::text) = (error IS NOT NULL))),
    CONSTRAINT skill_executions_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT skill_executions_error_check CHECK (((error IS NULL) OR (jsonb_typeof(error) = 'object'::text))),
    CONSTRAINT skill_executions_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 255))),
    CONSTRAINT skill_executions_skill_check CHECK ((skill ~ '^(route:)?[a-z][a-z0-9_.]{0,62}$'::text)),
    CONSTRAINT skill_executions_skill_version_check CHECK (((length(skill_version) >= 1) AND (length(skill_version) <= 32))),
    CONSTRAINT skill_executions_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text])))
);

CREATE TABLE public.workflow_ops (
    op_id uuid DEFAULT public.uuid7() NOT NULL,
    tenant_id uuid NOT NULL,
    workflow_run_id uuid NOT NULL,
    op_index integer NOT NULL,
    step_id text NOT NULL,
    op_type text NOT NULL,
    skill_version text,
    args jsonb NOT NULL,
    args_hash text NOT NULL,
    result jsonb,
    result_hash text,
    status text NOT NULL,
    error_code text,
    error_message text,
    duration_ms integer,
    transient boolean DEFAULT false NOT NULL,
    idempotency_key text,
    credits numeric(18,4) DEFAULT 0 NOT NULL,
    prev_hash text,
    hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    units numeric(18,4),
    CONSTRAINT workflow_ops_args_hash_check CHECK ((args_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_ops_check CHECK (((status = 'succeeded'::text) = (result_hash IS NOT NULL))),
    CONSTRAINT workflow_ops_credits_check CHECK ((credits >= (0)::numeric)),
    CONSTRAINT workflow_ops_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT workflow_ops_error_message_check CHECK ((length(error_message) <= 2000)),
    CONSTRAINT workflow_ops_hash_check CHECK ((hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_ops_op_index_check CHECK ((op_index >= 0)),
    CONSTRAINT workflow_ops_prev_hash_check CHECK ((prev_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_ops_result_hash_check CHECK ((result_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_ops_status_check CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text]))),
    CONSTRAINT workflow_ops_units_check CHECK ((units >= (0)::numeric))
);

CREATE VIEW public.skill_metrics AS
 SELECT workflow_ops.tenant_id,
    date_trunc('hour'::text, workflow_ops.completed_at) AS hour,
    workflow_ops.op_type AS skill_name,
    (count(*))::integer AS calls,
    (count(*) FILTER (WHERE (workflow_ops.status = 'failed'::text)))::integer AS failures,
    percentile_cont((0.5)::double precision) WITHIN GROUP (ORDER BY ((workflow_ops.duration_ms)::double precision)) AS duration_p50_ms,
    percentile_cont((0.95)::double precision) WITHIN GROUP (ORDER BY ((workflow_ops.duration_ms)::double precision)) AS duration_p95_ms,
    percentile_cont((0.99)::double precision) WITHIN GROUP (ORDER BY ((workflow_ops.duration_ms)::double precision)) AS duration_p99_ms,
    sum(workflow_ops.credits) AS credits,
    sum(workflow_ops.units) AS units_total,
    round(avg(workflow_ops.units), 4) AS units_per_call
   FROM public.workflow_ops
  GROUP BY workflow_ops.tenant_id, (date_trunc('hour'::text, workflow_ops.completed_at)), workflow_ops.op_type;

CREATE TABLE public.status_history (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    old_status text,
    new_status text NOT NULL,
    actor text NOT NULL,
    reason text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    correlation_id text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT status_history_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 200))),
    CONSTRAINT status_history_correlation_id_check CHECK ((length(correlation_id) <= 200)),
    CONSTRAINT status_history_entity_id_check CHECK (((length(entity_id) >= 1) AND (length(entity_id) <= 200))),
    CONSTRAINT status_history_entity_type_check CHECK ((entity_type ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT status_history_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT status_history_new_status_check CHECK (((length(new_status) >= 1) AND (length(new_status) <= 64))),
    CONSTRAINT status_history_old_status_check CHECK (((length(old_status) >= 1) AND (length(old_status) <= 64))),
    CONSTRAINT status_history_reason_check CHECK ((length(reason) <= 2000))
);

CREATE TABLE public.status_history_exports (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    format text NOT NULL,
    gzip boolean DEFAULT false NOT NULL,
    filters jsonb DEFAULT '{}'::jsonb NOT NULL,
    max_id bigint NOT NULL,
    object_key text NOT NULL,
    row_count bigint,
    bytes bigint,
    sha256 text,
    attempts integer DEFAULT 0 NOT NULL,
    lease_until timestamp with time zone,
    last_error text,
    requested_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    expires_at timestamp with time zone,
    enqueued_at timestamp with time zone,
    CONSTRAINT status_history_exports_check CHECK (((status <> 'ready'::text) OR ((row_count IS NOT NULL) AND (bytes IS NOT NULL) AND (sha256 IS NOT NULL) AND (expires_at IS NOT NULL)))),
    CONSTRAINT status_history_exports_filters_check CHECK ((jsonb_typeof(filters) = 'object'::text)),
    CONSTRAINT status_history_exports_format_check CHECK ((format = ANY (ARRAY['csv'::text, 'jsonl'::text]))),
    CONSTRAINT status_history_exports_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT status_history_exports_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'running'::text, 'ready'::text, 'failed'::text, 'expired'::text])))
);

ALTER TABLE public.status_history ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.status_history_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.tenants (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenants_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT tenants_slug_check CHECK ((slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'::text)),
    CONSTRAINT tenants_status_check CHECK ((status = ANY (ARRAY['active'::text, 'suspended'::text])))
);

CREATE TABLE public.workflow_definitions (
    id uuid DEFAULT public.uuid7() NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    version integer NOT NULL,
    steps jsonb NOT NULL,
    steps_hash text NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT workflow_definitions_name_check CHECK ((name ~ '^[a-z][a-z0-9_-]{0,62}$'::text)),
    CONSTRAINT workflow_definitions_steps_check CHECK ((jsonb_typeof(steps) = 'array'::text)),
    CONSTRAINT workflow_definitions_steps_hash_check CHECK ((steps_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_definitions_version_check CHECK ((version >= 1))
);

CREATE TABLE public.workflow_ops_archives (
    workflow_run_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    object_key text NOT NULL,
    sha256 text NOT NULL,
    ops integer NOT NULL,
    head_hash text,
    bytes bigint NOT NULL,
    exported_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone,
    deleted_ops integer,
    CONSTRAINT workflow_ops_archives_bytes_check CHECK ((bytes >= 0)),
    CONSTRAINT workflow_ops_archives_deleted_ops_check CHECK ((deleted_ops >= 0)),
    CONSTRAINT workflow_ops_archives_head_hash_check CHECK ((head_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_ops_archives_ops_check CHECK ((ops >= 0)),
    CONSTRAINT workflow_ops_archives_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text))
);

CREATE TABLE public.workflow_runs (
    id uuid DEFAULT public.uuid7() NOT NULL,
    tenant_id uuid NOT NULL,
    definition_id uuid NOT NULL,
    workflow_name text NOT NULL,
    version integer NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    input jsonb DEFAULT '{}'::jsonb NOT NULL,
    idempotency_key text,
    forked_from uuid,
    fork_op_index integer,
    steps_total integer NOT NULL,
    next_op_index integer DEFAULT 0 NOT NULL,
    attempt integer DEFAULT 0 NOT NULL,
    credits_reserved numeric(18,4) DEFAULT 0 NOT NULL,
    credits_charged numeric(18,4) DEFAULT 0 NOT NULL,
    head_hash text,
    error jsonb,
    enqueued_at timestamp with time zone,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    ops_archived_at timestamp with time zone,
    estimate jsonb,
    CONSTRAINT workflow_runs_attempt_check CHECK ((attempt >= 0)),
    CONSTRAINT workflow_runs_check CHECK (((forked_from IS NULL) = (fork_op_index IS NULL))),
    CONSTRAINT workflow_runs_check1 CHECK ((credits_charged <= credits_reserved)),
    CONSTRAINT workflow_runs_check2 CHECK (((status = 'running'::text) = (finished_at IS NULL))),
    CONSTRAINT workflow_runs_credits_charged_check CHECK ((credits_charged >= (0)::numeric)),
    CONSTRAINT workflow_runs_credits_reserved_check CHECK ((credits_reserved >= (0)::numeric)),
    CONSTRAINT workflow_runs_error_check CHECK (((error IS NULL) OR (jsonb_typeof(error) = 'object'::text))),
    CONSTRAINT workflow_runs_fork_op_index_check CHECK ((fork_op_index >= 0)),
    CONSTRAINT workflow_runs_head_hash_check CHECK ((head_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_runs_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 255))),
    CONSTRAINT workflow_runs_next_op_index_check CHECK ((next_op_index >= 0)),
    CONSTRAINT workflow_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'completed'::text, 'failed'::text, 'cancelled'::text]))),
    CONSTRAINT workflow_runs_steps_total_check CHECK (((steps_total >= 1) AND (steps_total <= 10000))),
    CONSTRAINT workflow_runs_version_check CHECK ((version >= 1))
)
WITH (fillfactor='80');

CREATE VIEW public.workflow_summary AS
 SELECT workflow_ops.tenant_id,
    workflow_ops.workflow_run_id,
    (count(*))::integer AS total_ops,
    (count(*) FILTER (WHERE (workflow_ops.status = 'succeeded'::text)))::integer AS completed_ops,
    (count(*) FILTER (WHERE (workflow_ops.status = 'failed'::text)))::integer AS failed_ops,
    min(workflow_ops.created_at) AS first_op_at,
    max(workflow_ops.completed_at) AS last_op_at,
    (COALESCE(sum(workflow_ops.duration_ms), (0)::bigint))::integer AS total_duration_ms
   FROM public.workflow_ops
  GROUP BY workflow_ops.tenant_id, workflow_ops.workflow_run_id;

ALTER TABLE ONLY public.agent_inboxes
    ADD CONSTRAINT agent_inboxes_pkey PRIMARY KEY (agent_id);

ALTER TABLE ONLY public.agent_instances
    ADD CONSTRAINT agent_instances_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.agent_messages
    ADD CONSTRAINT agent_messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.agent_messages
    ADD CONSTRAINT agent_messages_recipient_id_seq_key UNIQUE (recipient_id, seq);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_prefix_key UNIQUE (prefix);

ALTER TABLE ONLY public.circuit_breaker_state
    ADD CONSTRAINT circuit_breaker_state_kind_tenant_id_target_key UNIQUE NULLS NOT DISTINCT (kind, tenant_id, target);

ALTER TABLE ONLY public.circuit_breaker_state
    ADD CONSTRAINT circuit_breaker_state_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.costsim_alert_queue
    ADD CONSTRAINT costsim_alert_queue_incident_id_key UNIQUE (incident_id);

ALTER TABLE ONLY public.costsim_alert_queue
    ADD CONSTRAINT costsim_alert_queue_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.costsim_canary_reports
    ADD CONSTRAINT costsim_canary_reports_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.costsim_cb_evaluations
    ADD CONSTRAINT costsim_cb_evaluations_bucket_key UNIQUE (bucket);

ALTER TABLE ONLY public.costsim_cb_evaluations
    ADD CONSTRAINT costsim_cb_evaluations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.costsim_cb_incidents
    ADD CONSTRAINT costsim_cb_incidents_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.costsim_provenance_inputs
    ADD CONSTRAINT costsim_provenance_inputs_pkey PRIMARY KEY (provenance_id);

ALTER TABLE ONLY public.costsim_provenance
    ADD CONSTRAINT costsim_provenance_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.costsim_provenance
    ADD CONSTRAINT costsim_provenance_tenant_id_input_hash_key UNIQUE (tenant_id, input_hash);

ALTER TABLE ONLY public.credit_balances
    ADD CONSTRAINT credit_balances_pkey PRIMARY KEY (tenant_id);

ALTER TABLE ONLY public.credit_holds
    ADD CONSTRAINT credit_holds_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.credit_ledger
    ADD CONSTRAINT credit_ledger_idempotency_key_key UNIQUE (idempotency_key);

ALTER TABLE ONLY public.credit_ledger
    ADD CONSTRAINT credit_ledger_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.failure_aggregates
    ADD CONSTRAINT failure_aggregates_pkey PRIMARY KEY (tenant_id, day);

ALTER TABLE ONLY public.failure_matches
    ADD CONSTRAINT failure_matches_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.invoke_audit
    ADD CONSTRAINT invoke_audit_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.job_cancellations
    ADD CONSTRAINT job_cancellations_pkey PRIMARY KEY (job_id);

ALTER TABLE ONLY public.job_items
    ADD CONSTRAINT job_items_job_id_idx_key UNIQUE (job_id, idx);

ALTER TABLE ONLY public.job_items
    ADD CONSTRAINT job_items_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.queue_failures
    ADD CONSTRAINT queue_failures_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.queue_failures
    ADD CONSTRAINT queue_failures_queue_message_id_key UNIQUE (queue, message_id);

ALTER TABLE ONLY public.replay_runs
    ADD CONSTRAINT replay_runs_pkey PRIMARY KEY (replay_id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.skill_executions
    ADD CONSTRAINT skill_executions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.skill_executions
    ADD CONSTRAINT skill_executions_tenant_id_skill_idempotency_key_key UNIQUE (tenant_id, skill, idempotency_key);

ALTER TABLE ONLY public.status_history_exports
    ADD CONSTRAINT status_history_exports_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.status_history
    ADD CONSTRAINT status_history_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_slug_key UNIQUE (slug);

ALTER TABLE ONLY public.workflow_definitions
    ADD CONSTRAINT workflow_definitions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.workflow_definitions
    ADD CONSTRAINT workflow_definitions_tenant_id_name_version_key UNIQUE (tenant_id, name, version);

ALTER TABLE ONLY public.workflow_ops_archives
    ADD CONSTRAINT workflow_ops_archives_pkey PRIMARY KEY (workflow_run_id);

ALTER TABLE ONLY public.workflow_ops
    ADD CONSTRAINT workflow_ops_pkey PRIMARY KEY (op_id);

ALTER TABLE ONLY public.workflow_ops
    ADD CONSTRAINT workflow_ops_workflow_run_id_op_index_key UNIQUE (workflow_run_id, op_index);

ALTER TABLE ONLY public.workflow_runs
    ADD CONSTRAINT workflow_runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.workflow_runs
    ADD CONSTRAINT workflow_runs_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key);

CREATE INDEX agent_instances_job_idx ON public.agent_instances USING btree (tenant_id, job_id) WHERE (job_id IS NOT NULL);

CREATE INDEX agent_instances_tenant_idx ON public.agent_instances USING btree (tenant_id, created_at DESC, id DESC);

CREATE INDEX agent_messages_dead_idx ON public.agent_messages USING btree (tenant_id, dead_at DESC, id DESC) WHERE (dead_at IS NOT NULL);

CREATE INDEX agent_messages_expires_idx ON public.agent_messages USING btree (expires_at);

CREATE INDEX agent_messages_inbox_idx ON public.agent_messages USING btree (recipient_id, seq) WHERE ((acked_at IS NULL) AND (dead_at IS NULL));

CREATE INDEX agent_messages_invoke_idx ON public.agent_messages USING btree (tenant_id, invoke_id) WHERE (invoke_id IS NOT NULL);

CREATE INDEX agent_messages_leased_idx ON public.agent_messages USING btree (leased_until) WHERE ((acked_at IS NULL) AND (dead_at IS NULL) AND (leased_until IS NOT NULL));

CREATE UNIQUE INDEX agent_messages_sender_message_id_idx ON public.agent_messages USING btree (tenant_id, sender, message_id) WHERE (message_id IS NOT NULL);

CREATE INDEX api_keys_tenant_created_idx ON public.api_keys USING btree (tenant_id, created_at DESC, id DESC);

CREATE INDEX costsim_alert_queue_due_idx ON public.costsim_alert_queue USING btree (next_attempt_at) WHERE (sent_version < version);

CREATE INDEX costsim_alert_queue_firing_idx ON public.costsim_alert_queue USING btree (ends_at) WHERE (state = 'firing'::text);

CREATE UNIQUE INDEX costsim_canary_reports_one_running ON public.costsim_canary_reports USING btree ((true)) WHERE (status = 'running'::text);

CREATE INDEX costsim_canary_reports_started_idx ON public.costsim_canary_reports USING btree (started_at DESC, id DESC);

CREATE INDEX costsim_cb_evaluations_started_idx ON public.costsim_cb_evaluations USING btree (started_at DESC);

CREATE INDEX costsim_cb_incidents_open_idx ON public.costsim_cb_incidents USING btree (opened_at) WHERE (resolved_at IS NULL);

CREATE INDEX costsim_cb_incidents_opened_idx ON public.costsim_cb_incidents USING btree (opened_at DESC, id DESC);

CREATE INDEX costsim_provenance_actuals_idx ON public.costsim_provenance USING btree (tenant_id, created_at) INCLUDE (verdict, cost_rel, cost_delta_float, v2_duration_ms, v1_credits, v2_credits, v1_duration_ms, actual_credits, actual_duration_ms, skills) WHERE ((actual_credits IS NOT NULL) AND (actual_duration_ms IS NOT NULL));

CREATE INDEX costsim_provenance_compared_idx ON public.costsim_provenance USING btree (compared_at) INCLUDE (drift_score, verdict) WHERE (compared_at IS NOT NULL);

CREATE INDEX costsim_provenance_inputs_recorded_idx ON public.costsim_provenance_inputs USING btree (recorded_at);

CREATE INDEX costsim_provenance_plan_idx ON public.costsim_provenance USING btree (tenant_id, plan_hash) WHERE (plan_hash IS NOT NULL);

CREATE INDEX costsim_provenance_skills_idx ON public.costsim_provenance USING gin (skills);

CREATE INDEX costsim_provenance_tenant_created_idx ON public.costsim_provenance USING btree (tenant_id, created_at) INCLUDE (verdict, kl_bin, cost_rel, cost_delta_float, v2_duration_ms, skills);

CREATE INDEX credit_holds_expires_idx ON public.credit_holds USING btree (expires_at);

CREATE INDEX credit_ledger_job_idx ON public.credit_ledger USING btree (job_id) WHERE (job_id IS NOT NULL);

CREATE INDEX credit_ledger_tenant_idx ON public.credit_ledger USING btree (tenant_id, id DESC);

CREATE INDEX failure_aggregates_day_idx ON public.failure_aggregates USING btree (day);

CREATE INDEX idx_fm_catalog_entry_id ON public.failure_matches USING btree (catalog_entry_id);

CREATE INDEX idx_fm_category ON public.failure_matches USING btree (category);

CREATE INDEX idx_fm_created_at ON public.failure_matches USING btree (created_at);

CREATE INDEX idx_fm_error_code ON public.failure_matches USING btree (error_code);

CREATE INDEX idx_fm_recent_misses ON public.failure_matches USING btree (tenant_id, created_at DESC) WHERE (catalog_entry_id IS NULL);

CREATE INDEX idx_fm_recovery_mode ON public.failure_matches USING btree (recovery_mode);

CREATE INDEX idx_fm_recovery_pending ON public.failure_matches USING btree (tenant_id, created_at DESC) WHERE (recovery_succeeded IS NOT TRUE);

CREATE INDEX idx_fm_run_id ON public.failure_matches USING btree (run_id);

CREATE INDEX idx_fm_severity ON public.failure_matches USING btree (severity);

CREATE INDEX idx_fm_tenant_error ON public.failure_matches USING btree (tenant_id, error_code);

CREATE INDEX idx_fm_tenant_id ON public.failure_matches USING btree (tenant_id);

CREATE INDEX idx_fm_tenant_time ON public.failure_matches USING btree (tenant_id, created_at DESC);

CREATE INDEX idx_invoke_audit_caller ON public.invoke_audit USING btree (tenant_id, caller_instance_id, started_at DESC);

CREATE UNIQUE INDEX idx_invoke_audit_invoke_id ON public.invoke_audit USING btree (invoke_id);

CREATE INDEX idx_invoke_audit_job ON public.invoke_audit USING btree (tenant_id, job_id, started_at DESC) WHERE (job_id IS NOT NULL);

CREATE INDEX idx_messages_reply_to ON public.agent_messages USING btree (reply_to) WHERE (reply_to IS NOT NULL);

CREATE INDEX job_items_claimed_idx ON public.job_items USING btree (job_id, lease_until) WHERE (status = 'claimed'::text);

CREATE INDEX job_items_pending_idx ON public.job_items USING btree (job_id, idx) WHERE (status = 'pending'::text);

CREATE INDEX jobs_settled_idx ON public.jobs USING btree (settled_at) WHERE (settled_at IS NOT NULL);

CREATE INDEX jobs_tenant_created_idx ON public.jobs USING btree (tenant_id, created_at DESC, id DESC);

CREATE INDEX jobs_unsettled_idx ON public.jobs USING btree (created_at) WHERE (settled_at IS NULL);

CREATE INDEX queue_failures_tenant_created_idx ON public.queue_failures USING btree (tenant_id, created_at DESC);

CREATE INDEX replay_runs_tenant_run_idx ON public.replay_runs USING btree (tenant_id, workflow_run_id, started_at DESC);

CREATE INDEX replay_runs_waiting_idx ON public.replay_runs USING btree (started_at) WHERE (status = ANY (ARRAY['pending'::text, 'running'::text]));

CREATE INDEX skill_executions_created_idx ON public.skill_executions USING btree (created_at);

CREATE INDEX status_history_exports_expiry_idx ON public.status_history_exports USING btree (expires_at) WHERE (status = 'ready'::text);

CREATE INDEX status_history_exports_open_idx ON public.status_history_exports USING btree (updated_at) WHERE (status = ANY (ARRAY['pending'::text, 'running'::text]));

CREATE INDEX status_history_exports_tenant_idx ON public.status_history_exports USING btree (tenant_id, created_at DESC, id DESC);

CREATE INDEX status_history_tenant_entity_idx ON public.status_history USING btree (tenant_id, entity_type, entity_id, created_at, id);

CREATE INDEX status_history_tenant_time_idx ON public.status_history USING btree (tenant_id, created_at, id) INCLUDE (entity_type, new_status);

CREATE INDEX workflow_ops_archives_tenant_idx ON public.workflow_ops_archives USING btree (tenant_id, exported_at);

CREATE INDEX workflow_ops_tenant_time_idx ON public.workflow_ops USING btree (tenant_id, completed_at);

CREATE INDEX workflow_runs_retention_idx ON public.workflow_runs USING btree (finished_at) WHERE ((status <> 'running'::text) AND (ops_archived_at IS NULL));

CREATE INDEX workflow_runs_running_idx ON public.workflow_runs USING btree (id) WHERE (status = 'running'::text);

CREATE INDEX workflow_runs_tenant_created_idx ON public.workflow_runs USING btree (tenant_id, created_at DESC, id DESC);

CREATE INDEX workflow_runs_tenant_name_idx ON public.workflow_runs USING btree (tenant_id, workflow_name, created_at DESC, id DESC);

CREATE TRIGGER credit_ledger_no_truncate BEFORE TRUNCATE ON public.credit_ledger FOR EACH STATEMENT EXECUTE FUNCTION public.credit_ledger_refuse_change();

CREATE TRIGGER credit_ledger_no_update_delete BEFORE DELETE OR UPDATE ON public.credit_ledger FOR EACH ROW EXECUTE FUNCTION public.credit_ledger_refuse_change();

CREATE TRIGGER job_items_history AFTER UPDATE ON public.job_items REFERENCING OLD TABLE AS job_items_old NEW TABLE AS job_items_new FOR EACH STATEMENT EXECUTE FUNCTION public.job_items_record_history();

CREATE TRIGGER status_history_no_truncate BEFORE TRUNCATE ON public.status_history FOR EACH STATEMENT EXECUTE FUNCTION public.status_history_refuse_change();

CREATE TRIGGER status_history_no_update_delete BEFORE DELETE OR UPDATE ON public.status_history FOR EACH ROW EXECUTE FUNCTION public.status_history_refuse_change();

CREATE TRIGGER workflow_ops_no_truncate BEFORE TRUNCATE ON public.workflow_ops FOR EACH STATEMENT EXECUTE FUNCTION public.workflow_ops_refuse_change();

CREATE TRIGGER workflow_ops_no_update_delete BEFORE DELETE OR UPDATE ON public.workflow_ops FOR EACH ROW EXECUTE FUNCTION public.workflow_ops_refuse_change();

ALTER TABLE ONLY public.agent_inboxes
    ADD CONSTRAINT agent_inboxes_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agent_instances(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_inboxes
    ADD CONSTRAINT agent_inboxes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.agent_instances
    ADD CONSTRAINT agent_instances_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id);

ALTER TABLE ONLY public.agent_instances
    ADD CONSTRAINT agent_instances_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.agent_messages
    ADD CONSTRAINT agent_messages_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES public.agent_instances(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_messages
    ADD CONSTRAINT agent_messages_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.api_keys(id);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.circuit_breaker_state
    ADD CONSTRAINT circuit_breaker_state_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.costsim_alert_queue
    ADD CONSTRAINT costsim_alert_queue_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES public.costsim_cb_incidents(id);

ALTER TABLE ONLY public.costsim_provenance_inputs
    ADD CONSTRAINT costsim_provenance_inputs_provenance_id_fkey FOREIGN KEY (provenance_id) REFERENCES public.costsim_provenance(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.costsim_provenance_inputs
    ADD CONSTRAINT costsim_provenance_inputs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.costsim_provenance
    ADD CONSTRAINT costsim_provenance_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.credit_balances
    ADD CONSTRAINT credit_balances_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.credit_holds
    ADD CONSTRAINT credit_holds_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.credit_ledger
    ADD CONSTRAINT credit_ledger_item_id_fkey FOREIGN KEY (item_id) REFERENCES public.job_items(id);

ALTER TABLE ONLY public.credit_ledger
    ADD CONSTRAINT credit_ledger_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id);

ALTER TABLE ONLY public.credit_ledger
    ADD CONSTRAINT credit_ledger_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.failure_aggregates
    ADD CONSTRAINT failure_aggregates_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.failure_matches
    ADD CONSTRAINT failure_matches_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.invoke_audit
    ADD CONSTRAINT invoke_audit_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.job_cancellations
    ADD CONSTRAINT job_cancellations_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id);

ALTER TABLE ONLY public.job_cancellations
    ADD CONSTRAINT job_cancellations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.job_items
    ADD CONSTRAINT job_items_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id);

ALTER TABLE ONLY public.job_items
    ADD CONSTRAINT job_items_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.replay_runs
    ADD CONSTRAINT replay_runs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.replay_runs
    ADD CONSTRAINT replay_runs_workflow_run_id_fkey FOREIGN KEY (workflow_run_id) REFERENCES public.workflow_runs(id);

ALTER TABLE ONLY public.skill_executions
    ADD CONSTRAINT skill_executions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.status_history_exports
    ADD CONSTRAINT status_history_exports_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.status_history
    ADD CONSTRAINT status_history_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.workflow_definitions
    ADD CONSTRAINT workflow_definitions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.workflow_ops_archives
    ADD CONSTRAINT workflow_ops_archives_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.workflow_ops_archives
    ADD CONSTRAINT workflow_ops_archives_workflow_run_id_fkey FOREIGN KEY (workflow_run_id) REFERENCES public.workflow_runs(id);

ALTER TABLE ONLY public.workflow_ops
    ADD CONSTRAINT workflow_ops_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.workflow_ops
    ADD CONSTRAINT workflow_ops_workflow_run_id_fkey FOREIGN KEY (workflow_run_id) REFERENCES public.workflow_runs(id);

ALTER TABLE ONLY public.workflow_runs
    ADD CONSTRAINT workflow_runs_definition_id_fkey FOREIGN KEY (definition_id) REFERENCES public.workflow_definitions(id);

ALTER TABLE ONLY public.workflow_runs
    ADD CONSTRAINT workflow_runs_forked_from_fkey FOREIGN KEY (forked_from) REFERENCES public.workflow_runs(id);

ALTER TABLE ONLY public.workflow_runs
    ADD CONSTRAINT workflow_runs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

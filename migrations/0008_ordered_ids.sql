-- Jobs and items get time-ordered ids (UUID version 7), so the rows a worker touches together
-- sit together in every index keyed by id.
-- migrate:up

-- A UUID version 7 (RFC 9562): Unix time in milliseconds (48 bits), the version, an 18-bit
-- counter (12 bits of rand_a, then 6 after the variant: RFC 9562 section 6.2, method 1), then 56
-- random bits. `p_seq` is the counter: the position of the id in a run made at once (a job's
-- items by idx), so a run's ids sort in its order; without it the counter is random. With
-- random v4 ids the 25 items of a claim lay on 25 leaf pages of each index keyed by item id,
-- and every completion's charge key landed on a random page of the ledger's key index.
create function uuid7(p_seq integer default null) returns uuid
  language sql volatile parallel safe
as $$
  select encode(
    int8send((floor(extract(epoch from clock_timestamp()) * 1000)::bigint << 16) | 28672 | ((x.s >> 6) & 4095))
      || set_byte(substring(uuid_send(gen_random_uuid()) from 9 for 8), 0, 128 | (x.s & 63)),
    'hex')::uuid
  from (select coalesce(p_seq, floor(random() * 262144)::integer) & 262143 as s) x
$$;

alter table jobs alter column id set default uuid7();
alter table job_items alter column id set default uuid7();

-- migrate:down
alter table job_items alter column id set default gen_random_uuid();
alter table jobs alter column id set default gen_random_uuid();
drop function uuid7(integer);

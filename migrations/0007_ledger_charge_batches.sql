-- Credits: one charge row per completion, however many items of a job it completes.
-- migrate:up

-- A completion of several items of one job (POST /api/v1/items/complete, an SQS batch) is one
-- `charge` row for all of them: `item_ids` lists them in id order, `item_id` is null, `amount`
-- is their sum, the key is `charge:<first id>..<last id>`. A single item's charge is as before
-- (`item_id`, `charge:<item>`). An item is charged once either way: its row's move to done and
-- its charge are one statement, and only a held item moves (see core/jobs/work.sql.ts).
alter table credit_ledger add column item_ids uuid[];
alter table credit_ledger add constraint credit_ledger_item_ids_check check (
  item_ids is null
  or (kind = 'charge' and item_id is null and job_id is not null
      and cardinality(item_ids) between 2 and 1000 and array_position(item_ids, null) is null)
);

-- migrate:down
alter table credit_ledger drop constraint credit_ledger_item_ids_check;
alter table credit_ledger drop column item_ids;

/**
 * The Alertmanager harness (test/setup/alertmanager.ts) against the real binary, and what
 * Alertmanager does with what AOS will send it: an alert posted to `/api/v2/alerts` shows at once;
 * a re-send with the same labels is the same alert (startsAt kept, updatedAt and endsAt moved on,
 * annotations replaced); one sent with endsAt = now leaves the list and is notified as resolved;
 * a stopped Alertmanager refuses connections, and one started again answers on the same URL with
 * its silences but without its alerts. Also: an HA pair, and a failed start saying why.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type Alertmanager, startAlertmanager, startAlertmanagerPair } from "../setup/alertmanager.ts";
import { startScriptedServer } from "../setup/external-servers.ts";

const started: Alertmanager[] = [];
afterAll(async () => {
  await Promise.all(started.map((a) => a.dispose()));
});
const track = <T extends Alertmanager>(a: T) => {
  started.push(a);
  return a;
};

const iso = (ms: number) => new Date(ms).toISOString();
const alertname = `HarnessCheck${process.pid}`;

/** The body of a webhook notification (Alertmanager's webhook_configs payload, version 4). */
interface Notification {
  status: "firing" | "resolved";
  alerts: { status: string; labels: Record<string, string>; endsAt: string }[];
}

describe("Alertmanager harness", () => {
  it("de-duplicates by labels, resolves on endsAt, and comes back empty on the same URL after a restart", async () => {
    const hook = await startScriptedServer();
    try {
      let t = Date.now();
      const am = track(await startAlertmanager({ webhookUrl: `${hook.origin}/alerts` }));
      console.log(`alertmanager: ready ${Date.now() - t} ms after spawn`);
      expect(am.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const labels = { alertname, severity: "ticket", subsystem: "test" };
      const startsAt = iso(Date.now() - 60_000);
      t = Date.now();
      await am.post([
        {
          labels,
          annotations: { summary: "first", runbook_url: "docs/runbooks/x.md#a" },
          startsAt,
          endsAt: iso(Date.now() + 120_000),
          generatorURL: "http://aos.test/first",
        },
      ]);
      const first = await am.waitForAlert((a) => a.labels.alertname === alertname, 5_000);
      console.log(`alertmanager: alert listed ${Date.now() - t} ms after POST`);
      expect(first).toMatchObject({
        labels,
        annotations: { summary: "first" },
        generatorURL: "http://aos.test/first",
        status: { state: "active", silencedBy: [], inhibitedBy: [] },
        receivers: [{ name: "test" }],
      });
      expect(Date.parse(first.startsAt)).toBe(Date.parse(startsAt));
      // The filter is applied by Alertmanager: another name matches nothing.
      expect(await am.alerts({ labels: { alertname } })).toHaveLength(1);
      expect(await am.alerts({ labels: { alertname: "NoSuchAlert" } })).toEqual([]);
      expect(await am.alerts({ labels: { alertname }, active: false })).toEqual([]);

      // The receiver is notified once group_wait (100ms) has passed.
      await waitFor(() => hook.requests.length >= 1, 5_000, "the firing notification");
      const fired = JSON.parse(hook.requests[0]?.text ?? "{}") as Notification;
      expect(fired.status).toBe("firing");
      expect(fired.alerts.map((a) => a.labels.alertname)).toEqual([alertname]);

      // Sent again with the same labels, a later startsAt, another annotation and no endsAt:
      // still one alert; startsAt the first one, annotations the last ones, endsAt = receipt + 5m.
      await new Promise((r) => setTimeout(r, 20));
      const resentAt = Date.now();
      await am.post([{ labels, annotations: { summary: "second" }, startsAt: iso(resentAt) }]);
      const again = await am.waitForAlert((a) => a.annotations.summary === "second", 5_000, { labels: { alertname } });
      expect(await am.alerts({ labels: { alertname } })).toHaveLength(1);
      expect(again.fingerprint).toBe(first.fingerprint);
      expect(Date.parse(again.startsAt)).toBe(Date.parse(startsAt));
      expect(again.annotations).toEqual({ summary: "second" });
      expect(again.generatorURL ?? "").toBe("");
      expect(Date.parse(again.updatedAt)).toBeGreaterThan(Date.parse(first.updatedAt));
      expect(Date.parse(again.updatedAt)).toBeGreaterThanOrEqual(resentAt - 1_000);
      expect(Date.parse(again.endsAt) - Date.parse(again.updatedAt)).toBe(5 * 60_000);
      console.log(
        `alertmanager re-send: startsAt ${first.startsAt} -> ${again.startsAt}, updatedAt ${first.updatedAt} -> ${again.updatedAt}, endsAt ${first.endsAt} -> ${again.endsAt}`,
      );

      // endsAt = now: resolved. It leaves GET /api/v2/alerts at once, whatever the filter.
      await am.post([{ labels, annotations: { summary: "resolved" }, startsAt, endsAt: iso(Date.now()) }]);
      await am.waitForAlerts((l) => l.length === 0, 5_000, { labels: { alertname } });
      for (const active of [true, false]) expect(await am.alerts({ labels: { alertname }, active })).toEqual([]);
      await waitFor(
        () => hook.requests.some((r) => (JSON.parse(r.text) as Notification).status === "resolved"),
        5_000,
        "the resolved notification",
      );

      // A silence survives the restart; alerts do not.
      const silenceId = await am.silence({ alertname: "Silenced" }, 3_600_000);
      await am.post([{ labels, startsAt: iso(Date.now()) }]);
      await am.waitForAlert((a) => a.labels.alertname === alertname, 5_000);

      t = Date.now();
      await am.stop();
      console.log(`alertmanager: stopped ${Date.now() - t} ms after SIGTERM`);
      expect(am.running()).toBe(false);
      const refused = await am.post([{ labels }]).then(
        () => undefined,
        (e: Error) => e,
      );
      expect((refused?.cause as { code?: string } | undefined)?.code).toBe("ECONNREFUSED");

      t = Date.now();
      await am.start();
      console.log(`alertmanager: ready again ${Date.now() - t} ms after spawn`);
      expect(await am.alerts()).toEqual([]);
      const kept = (await am.silences()).find((s) => s.id === silenceId);
      expect(kept?.status.state).toBe("active");
      await am.post([{ labels, startsAt: iso(Date.now()) }]);
      await am.waitForAlert((a) => a.labels.alertname === alertname, 5_000);
    } finally {
      await hook.close();
    }
  });

  it("runs an HA pair: alerts are each instance's own, silences are gossiped", async () => {
    const t = Date.now();
    const [a, b] = (await startAlertmanagerPair()).map(track) as [Alertmanager, Alertmanager];
    console.log(`alertmanager pair: both ready ${Date.now() - t} ms after the first spawn`);
    expect(a.url).not.toBe(b.url);
    // Each sees both members once the second has joined.
    const peers = async (x: Alertmanager) =>
      ((await (await fetch(`${x.url}/api/v2/status`)).json()) as { cluster: { peers: { address: string }[] } }).cluster
        .peers.length;
    await waitFor(async () => (await peers(a)) === 2 && (await peers(b)) === 2, 5_000, "two cluster peers");

    await a.post([{ labels: { alertname: "OnlyOnA" } }]);
    await a.waitForAlert((x) => x.labels.alertname === "OnlyOnA", 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(await b.alerts()).toEqual([]);

    const id = await a.silence({ alertname: "Gossiped" }, 3_600_000);
    await waitFor(async () => (await b.silences()).some((s) => s.id === id), 5_000, "the silence on the peer");
  });

  it("says why when Alertmanager does not start", async () => {
    const e = await startAlertmanager({ config: "route:\n  receiver: nobody\nreceivers:\n  - name: somebody\n" }).then(
      (a) => track(a) && undefined,
      (err: Error) => err,
    );
    expect(e?.message).toMatch(/exited .* before it was ready/);
    expect(e?.message).toMatch(/undefined receiver .*nobody/);
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

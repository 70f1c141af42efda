/**
 * The skills' specs (registry.ts: what validation, simulation and descriptions read) and the
 * runnable skills (runnable.ts: what the execution path runs) are two lists; they must name the
 * same skills, with the runnable one carrying exactly its spec.
 */
import { describe, expect, it } from "vitest";
import { getSpec, skillNames } from "../../core/skills/registry.ts";
import { getSkill, runnableNames } from "../../core/skills/runnable.ts";

describe("skill specs and runnable skills", () => {
  it("name the same skills, and each runnable skill is its spec plus run", async () => {
    expect(runnableNames().sort()).toEqual(skillNames().sort());
    for (const name of skillNames()) {
      const { run, ...spec } = await getSkill(name);
      expect(typeof run).toBe("function");
      expect(spec).toEqual({ ...getSpec(name) });
    }
  });

  it("refuses an unknown name in both", async () => {
    expect(() => getSpec("no_such_skill")).toThrow(expect.objectContaining({ code: "skills.not_found" }));
    await expect(getSkill("no_such_skill")).rejects.toThrow(expect.objectContaining({ code: "skills.not_found" }));
    await expect(getSkill("toString")).rejects.toThrow(expect.objectContaining({ code: "skills.not_found" }));
  });
});

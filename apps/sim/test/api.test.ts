import { buddyinfo } from "@mem/buddy";
import { describe, expect, it } from "vitest";
import {
  boot,
  MemoryTrace,
  replay,
  SCENARIOS,
  type ScenarioInput,
  simulate,
  traceHeader,
} from "../src/index.js";

/** A built-in scenario with its operation counts cut down for debug mode. */
function shrink(name: string): ScenarioInput {
  const s = SCENARIOS[name]!;
  return {
    ...s,
    machine: "small",
    sampleEvery: 100,
    steps: s.steps.map((st) => {
      const out: Record<string, unknown> = { ...st };
      if ("ops" in out) out.ops = 120;
      if ("packets" in out) out.packets = 100;
      if ("cacheOps" in out) out.cacheOps = 60;
      if ("fill" in out) out.fill = 0.01;
      if ("sizes" in out) out.sizes = [65536, 1048576];
      if ("bytes" in out) out.bytes = 1048576;
      return out as ScenarioInput["steps"][number];
    }),
  };
}

describe("boot", () => {
  it("boots the small preset with every subsystem and passes every invariant", () => {
    const k = boot({ machine: "small", debug: true });
    expect(k.buddy.managedPages).toBeGreaterThan(0);
    expect(k.bootmem.released).toBe(true);
    expect(k.log.format()).toMatch(/Memory: \d+K\/\d+K available/);
    expect(k.log.format()).toContain("Dentry cache hash table entries");
    expect(k.compat.buddy).toBeDefined();
    k.checkInvariants();
    const text = k.proc("buddyinfo");
    expect(text).toBe(buddyinfo(k.buddy));
  });

  it("boots with memblock as well as rootmem", () => {
    const a = boot({ machine: "small", bootAllocator: "memblock" });
    expect(a.log.format()).toContain("memblock: memory size");
    a.checkInvariants();
  });

  it("rejects bad options with the field named", () => {
    expect(() => boot({ machine: "small", cpus: 0 })).toThrow(/cpus/);
    expect(() => boot({ machine: "small", bootAllocator: "slab" as never })).toThrow(
      /bootAllocator/,
    );
  });
});

describe("run", () => {
  for (const name of Object.keys(SCENARIOS)) {
    it(`keeps every invariant after every step of scenario ${name}`, () => {
      const r = simulate(shrink(name), { debug: true, seed: 7 });
      expect(r.invariants.ok).toBe(true);
      expect(r.invariants.checks).toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(r)).digest).toBe(r.digest);
    });
  }

  it("returns a rich JSON-serialisable result", () => {
    const r = simulate(shrink("showcase"), { seed: 3 });
    expect(r.series.samples.length).toBeGreaterThan(2);
    expect(r.series.samples[0]!.freeByOrder[0]!.length).toBe(11);
    expect(r.contig.ladder.length).toBe(10);
    expect(r.contig.isa?.ok).toBe(true);
    expect(r.netback?.responses).toBe(r.netback?.requests);
    expect(r.hibernation?.imagePages).toBeGreaterThan(0);
    expect(r.hotplug.map((e) => e.type)).toEqual(["add", "remove"]);
    const states = Buffer.from(r.pageMap.states, "base64");
    const present = r.pageMap.ranges.reduce((a, x) => a + x.endPfn - x.startPfn, 0);
    expect(states.length).toBe(present);
    expect(r.bootLog.length).toBeGreaterThan(20);
  });

  it("gives the same digest for the same seed and another for another seed", () => {
    const a = simulate(shrink("churn"), { seed: 5 });
    const b = simulate(shrink("churn"), { seed: 5 });
    const c = simulate(shrink("churn"), { seed: 6 });
    expect(a.digest).toBe(b.digest);
    expect(c.digest).not.toBe(a.digest);
  });
});

describe("replay", () => {
  it("replays a recorded trace to the same final digest", () => {
    const k = boot({ machine: "small", seed: 9 });
    const trace = new MemoryTrace(traceHeader(k, "showcase"));
    const r = simulate(shrink("showcase"), { seed: 9, trace });
    expect(trace.ops.length).toBeGreaterThan(100);
    const again = replay(trace);
    expect(again.digest).toBe(r.digest);
    expect(again.ok).toBe(true);
  });
});

describe("proc", () => {
  it("buddyinfo sums equal the free pages and zoneinfo watermarks follow Linux's formulas", () => {
    const k = boot({ machine: "x86_64-4g", minFreeKbytes: 0 });
    k.run({ name: "t", steps: [{ do: "churn", ops: 2000 }] });
    k.buddy.drain();
    let sum = 0;
    for (const line of k.proc("buddyinfo").trim().split("\n")) {
      const counts = line.split(/\s+/).slice(4).map(Number);
      counts.forEach((c, o) => {
        sum += c * 2 ** o;
      });
    }
    expect(sum).toBe(k.buddy.freePageCount);
    // zoneinfo: min = min_free_pages * managed / lowmem managed; low = min + max(min/4, managed*10/10000); high = low + same.
    const zi = k.proc("zoneinfo");
    const zones = [...zi.matchAll(/zone\s+(\w+)\n([\s\S]*?)(?=\nNode|$)/g)];
    const minFree = Math.floor((k.buddy.minFreeKbytes * 1024) / 4096);
    const parsed = zones
      .map((m) => ({
        name: m[1],
        min: Number(/\n\s+min\s+(\d+)/.exec(m[2]!)?.[1]),
        low: Number(/\n\s+low\s+(\d+)/.exec(m[2]!)?.[1]),
        high: Number(/\n\s+high\s+(\d+)/.exec(m[2]!)?.[1]),
        managed: Number(/\n\s+managed\s+(\d+)/.exec(m[2]!)?.[1]),
      }))
      .filter((z) => z.managed > 0);
    const lowmem = parsed.reduce((a, z) => a + z.managed, 0);
    for (const z of parsed) {
      const min = Math.floor((minFree * z.managed) / lowmem);
      const gap = Math.max(Math.floor(min / 4), Math.floor((z.managed * 10) / 10000));
      expect(z.min).toBe(min);
      expect(z.low).toBe(min + gap);
      expect(z.high).toBe(min + 2 * gap);
    }
  });
});

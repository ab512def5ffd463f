/**
 * Pulumi identifies a resource by its URN: stack, project, the type token
 * qualified by the types of its parents, and its name. A renamed type, a
 * renamed resource or a child moved to another parent gets a new URN, and
 * `pulumi up` then deletes the old resource and creates a new one (an IAM
 * role in use, an OIDC provider, a repository: retained on delete, so the
 * create then collides with it), unless the resource carries an `aliases`
 * entry for its old URN.
 *
 * The snapshot (tests/snapshots/urns.json) lists every URN both programs
 * register for the fixtures' fleet, with the URN of each resource's parent,
 * as last released. A current URN that differs passes only when an alias
 * (its own or inherited from a parent, resolved as the engine does) names
 * the released one. Regenerate it deliberately, at a release:
 *
 *     UPDATE_SNAPSHOTS=1 npx mocha tests/urn-snapshot.test.ts
 *
 * URNs are computed as the engine computes them, from the recorded parent
 * chain: the type part is the parent's full qualified type, `$`, the type.
 * The SDK's mock monitor (runtime/mocks.js `newUrn`) keeps only the parent's
 * own type, so for a grandchild (a PullRole's role, a PullRepository's
 * repository) the URN the mock engine returns lacks the grandparent's type.
 * StackReferences are read, not registered, so runProgram records them
 * without a URN; this test reads theirs from the mock monitor's answer.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { PROJECT, RecordedAlias, RecordedResource, recordAlias, runProgram } from "../tools/engine/mock-engine";
import { runTwoStacks } from "../tools/engine/two-stacks";
import { clusterA, clusterB, registry } from "./support/fixtures";

const SNAPSHOT = path.join(__dirname, "snapshots", "urns.json");
const UPDATE = process.env.UPDATE_SNAPSHOTS === "1";
const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

interface UrnEntry {
    readonly urn: string;
    /** The parent's URN; "" for a resource whose parent is the stack. */
    readonly parent: string;
}

/** `urn:pulumi:<stack>::<project>::<qualified type>::<name>`: the qualified type. */
const qualifiedTypeOf = (urn: string) => urn.split("::")[2];
/** The resource's own type: the last `$`-separated part of the qualified type. */
const typeOfUrn = (urn: string) => qualifiedTypeOf(urn).split("$").pop()!;
const stackOf = (urn: string) => urn.slice("urn:pulumi:".length).split("::")[0];

/** The engine's URN (pulumi/pulumi sdk/go/common/resource/urn.go NewURN with the parent's full qualified type). */
function engineUrn(stack: string, project: string, parentUrn: string, type: string, name: string): string {
    const parentType = parentUrn === "" ? "" : qualifiedTypeOf(parentUrn);
    const qualified = parentType === "" || parentType === ROOT_STACK_TYPE ? type : `${parentType}$${type}`;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

interface CurrentEntry extends UrnEntry {
    /** The URNs this resource's aliases (its own and its parents') name: the engine moves state from any of them. */
    readonly formerUrns: readonly string[];
}

interface ReadResource {
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly urn: string;
}

/** Records what the mock monitor answers to ReadResource (StackReferences) while `body` runs. */
async function recordingReads<T>(body: (reads: ReadResource[]) => Promise<T>): Promise<T> {
    const reads: ReadResource[] = [];
    const prototype = MockMonitor.prototype as unknown as { readResource: (req: any, callback: (err: any, res: any) => void) => Promise<void> };
    const original = prototype.readResource;
    prototype.readResource = function (this: unknown, req: any, callback: (err: any, res: any) => void) {
        return original.call(this, req, (err: any, res: any) => {
            if (res) {
                reads.push({ type: req.getType(), name: req.getName(), parent: req.getParent(), urn: res.getUrn() });
            }
            callback(err, res);
        });
    };
    try {
        return await body(reads);
    } finally {
        prototype.readResource = original;
    }
}

/** The engine URN and parent of every resource of one program run, and the former URNs its aliases name. */
function entriesOf(stack: string, resources: readonly RecordedResource[], reads: readonly ReadResource[]): CurrentEntry[] {
    const withUrn = resources.map((r) => {
        if (r.urn !== "") return r;
        const read = reads.find((x) => x.type === r.type && x.name === r.name && stackOf(x.urn) === stack);
        expect(read, `the URN of ${r.type} ${r.name}`).to.exist;
        return { ...r, urn: read!.urn, parent: read!.parent };
    });
    const byMockUrn = new Map(withUrn.map((r) => [r.urn, r]));
    const resolved = new Map<string, string>();
    const parentOf = (r: RecordedResource): RecordedResource | undefined => {
        if (r.parent === "") return undefined;
        const parent = byMockUrn.get(r.parent);
        expect(parent, `the parent ${r.parent} of ${r.name}`).to.exist;
        return parent;
    };
    const resolve = (r: RecordedResource): string => {
        const known = resolved.get(r.urn);
        if (known !== undefined) return known;
        const parent = parentOf(r);
        const urn = engineUrn(stackOf(r.urn), PROJECT, parent ? resolve(parent) : "", r.type, r.name);
        resolved.set(r.urn, urn);
        return urn;
    };
    // As the engine resolves aliases (step_generator.go generateAliases):
    // each spec's unset parts are the resource's own, and under each former
    // URN of its parent the child is aliased by its own type and name and by
    // the type and name of each of its own aliases.
    const formerUrns = (r: RecordedResource): string[] => {
        const parent = parentOf(r);
        const own = r.aliases.map((a) => {
            if (a.urn !== "") return a.urn;
            const parentUrn = a.noParent
                ? ""
                : a.parentUrn !== ""
                  ? byMockUrn.has(a.parentUrn)
                      ? resolve(byMockUrn.get(a.parentUrn)!)
                      : a.parentUrn
                  : parent
                    ? resolve(parent)
                    : "";
            return engineUrn(a.stack || stackOf(r.urn), a.project || PROJECT, parentUrn, a.type || r.type, a.name || r.name);
        });
        const inherited = (parent ? formerUrns(parent) : []).flatMap((p) => [
            engineUrn(stackOf(r.urn), PROJECT, p, r.type, r.name),
            ...own.map((o) => engineUrn(stackOf(r.urn), PROJECT, p, typeOfUrn(o), o.split("::").slice(3).join("::"))),
        ]);
        return [...new Set([...own, ...inherited])].filter((urn) => urn !== resolve(r));
    };
    return withUrn.map((r) => {
        const parent = parentOf(r);
        return { urn: resolve(r), parent: parent ? resolve(parent) : "", formerUrns: formerUrns(r) };
    });
}

/** What would be replaced: snapshot URNs no resource (nor alias) keeps, URNs that are new, resources moved without an alias. Empty when none. */
function differences(expected: readonly UrnEntry[], actual: readonly CurrentEntry[]): string[] {
    const before = new Map(expected.map((e) => [e.urn, e.parent]));
    const after = new Map(actual.map((e) => [e.urn, e]));
    const kept = new Set(actual.flatMap((e) => [e.urn, ...e.formerUrns]));
    const lines: string[] = [];
    for (const [urn] of before) if (!kept.has(urn)) lines.push(`  - gone:  ${urn}`);
    for (const [urn, entry] of after) if (!before.has(urn) && !entry.formerUrns.some((f) => before.has(f))) lines.push(`  + new:   ${urn}`);
    for (const [urn, entry] of after) {
        if (before.has(urn) && before.get(urn) !== entry.parent)
            lines.push(`  ~ moved: ${urn}\n      parent ${before.get(urn) || "(the stack)"} -> ${entry.parent || "(the stack)"}`);
    }
    return lines;
}

function describeDifference(expected: readonly UrnEntry[], actual: readonly CurrentEntry[]): string {
    const lines = differences(expected, actual);
    return [
        `The URNs the programs register for the fixtures fleet differ from ${path.relative(process.cwd(), SNAPSHOT)}:`,
        ...lines,
        "A renamed type, a renamed resource or a moved child gets a new URN, and `pulumi up` then deletes the old resource and creates a new one.",
        'Give each changed resource an `aliases` entry for its old URN (e.g. `aliases: [{ type: "<old type>" }]`, `[{ parent: <old parent> }]` or `[{ name: "<old name>", parent: <old parent> }]`),',
        "or, if the change is intended, regenerate the snapshot deliberately: UPDATE_SNAPSHOTS=1 npx mocha tests/urn-snapshot.test.ts",
    ].join("\n");
}

describe("URN snapshot of both programs for the fixtures fleet", () => {
    let entries: CurrentEntry[];
    let recorded: RecordedResource[];

    before(async () => {
        const { run, reads } = await recordingReads(async (reads) => ({ run: await runTwoStacks([clusterA(), clusterB()], registry()), reads }));
        recorded = [...run.eks.flatMap((e) => e.resources), ...run.ecr.resources];
        const stacks = [clusterA(), clusterB()].map((s) => s.name.split("/").pop()!);
        entries = [...run.eks.flatMap((e, i) => entriesOf(stacks[i], e.resources, reads)), ...entriesOf("ecr", run.ecr.resources, reads)].sort((a, b) =>
            a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0,
        );
    });

    it("computes the same URN as the mock engine for resources at most one level below the stack", () => {
        // A check of engineUrn: where the mock monitor's rule and the engine's agree, the URNs must too.
        const urns = new Set(entries.map((e) => e.urn));
        const shallow = recorded.filter((r) => r.urn !== "" && (r.parent === "" || recorded.find((p) => p.urn === r.parent)?.parent === ""));
        expect(shallow.length).to.be.greaterThan(20);
        for (const r of shallow) {
            expect(urns.has(r.urn), r.urn).to.equal(true);
        }
    });

    it("registers no two resources under one URN", () => {
        expect(new Set(entries.map((e) => e.urn)).size).to.equal(entries.length);
    });

    it("matches tests/snapshots/urns.json", () => {
        if (UPDATE) {
            fs.mkdirSync(path.dirname(SNAPSHOT), { recursive: true });
            fs.writeFileSync(
                SNAPSHOT,
                `${JSON.stringify(
                    entries.map(({ urn, parent }) => ({ urn, parent })),
                    null,
                    2,
                )}\n`,
            );
            return;
        }
        if (!fs.existsSync(SNAPSHOT)) {
            expect.fail(`${SNAPSHOT} does not exist: create it deliberately with UPDATE_SNAPSHOTS=1 npx mocha tests/urn-snapshot.test.ts`);
        }
        const expected = JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) as UrnEntry[];
        if (differences(expected, entries).length > 0) {
            expect.fail(describeDifference(expected, entries));
        }
    });

    it("keeps every URN of the snapshot through the aliases the components carry (without them, renamed types would replace resources)", () => {
        const expected = JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) as UrnEntry[];
        const renamed = entries.filter((e) => !expected.some((x) => x.urn === e.urn));
        const withoutAliases = differences(
            expected,
            entries.map((e) => ({ ...e, formerUrns: [] })),
        );
        // Either the snapshot already holds the current URNs, or each renamed one is kept by an alias.
        expect(withoutAliases.length === 0).to.equal(renamed.length === 0);
        for (const e of renamed) {
            expect(
                e.formerUrns.some((f) => expected.some((x) => x.urn === f)),
                e.urn,
            ).to.equal(true);
        }
    });

    it("explains a difference: a moved child, a renamed type, a new resource", () => {
        const child = entries.find((e) => e.parent !== "")!;
        const other = entries.find((e) => e.parent === "" && e.urn !== child.parent)!;
        const changed: CurrentEntry[] = [
            ...entries.filter((e) => e !== child && e !== other),
            { urn: child.urn, parent: other.urn, formerUrns: [] },
            { ...other, urn: other.urn.replace("::ecrpull:", "::ecrpull2:"), formerUrns: [] },
            { urn: "urn:pulumi:ecr::ecrpull::aws:s3/bucket:Bucket::x", parent: "", formerUrns: [] },
        ];
        const message = describeDifference(entries, changed);
        expect(message).to.contain(`~ moved: ${child.urn}\n      parent ${child.parent} -> ${other.urn}`);
        expect(message).to.contain(`- gone:  ${other.urn}`);
        expect(message).to.contain("+ new:   urn:pulumi:ecr::ecrpull::aws:s3/bucket:Bucket::x");
        expect(message).to.contain("`aliases` entry").and.to.contain("UPDATE_SNAPSHOTS=1 npx mocha tests/urn-snapshot.test.ts");
    });
});

// ---- An alias keeps a moved child's URN ------------------------------------

type AliasSpec = RecordedAlias;
interface Registration {
    readonly type: string;
    readonly name: string;
    readonly parent: string;
    readonly urn: string;
    readonly aliases: readonly AliasSpec[];
}

const STACK = "aliases";

/** Runs a tiny program on the mock engine and records each RegisterResource request with its aliases, as mock-engine.ts wraps the monitor. */
async function registrations(program: () => void): Promise<Registration[]> {
    const seen: Registration[] = [];
    await runProgram(
        async () => {
            const monitor = pulumi.runtime.getMonitor() as any;
            const register = monitor.registerResource.bind(monitor);
            monitor.registerResource = (req: any, callback: (err: any, res: any) => void) =>
                register(req, (err: any, res: any) => {
                    if (res) {
                        seen.push({
                            type: req.getType(),
                            name: req.getName(),
                            parent: req.getParent(),
                            urn: res.getUrn(),
                            aliases: req.getAliasesList().map(recordAlias),
                        });
                    }
                    callback(err, res);
                });
            program();
            return {};
        },
        { stack: STACK, config: {}, accountId: "111122223333", region: "eu-west-1" },
    );
    return seen;
}

/** The URN an alias names, resolved as the engine resolves an alias spec: unset parts are the resource's own. */
function aliasUrn(resource: Registration, alias: AliasSpec): string {
    if (alias.urn !== "") return alias.urn;
    const parent = alias.noParent ? "" : alias.parentUrn !== "" ? alias.parentUrn : resource.parent;
    return engineUrn(alias.stack || STACK, alias.project || PROJECT, parent, alias.type || resource.type, alias.name || resource.name);
}

class Group extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Group", name, {}, opts);
    }
}
class Shelf extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Shelf", name, {}, opts);
    }
}
class Thing extends pulumi.CustomResource {
    constructor(name: string, opts: pulumi.CustomResourceOptions) {
        super("test:index:Thing", name, { size: 1 }, opts);
    }
}
const thing = (name: string, opts: pulumi.CustomResourceOptions) => new Thing(name, opts);

describe("an alias keeps a moved child's URN (Pulumi SDK on the mock engine)", () => {
    let oldUrn: string;

    before(async () => {
        // First deployment: the child under a Group.
        const first = await registrations(() => {
            const group = new Group("old-parent");
            thing("child", { parent: group });
        });
        oldUrn = first.find((r) => r.name === "child")!.urn;
        expect(oldUrn).to.equal(`urn:pulumi:${STACK}::${PROJECT}::test:index:Group$test:index:Thing::child`);
    });

    it("without an alias, the child moved under another parent type gets a new URN (the engine would replace it)", async () => {
        const second = await registrations(() => {
            new Group("old-parent");
            thing("child", { parent: new Shelf("new-parent") });
        });
        const child = second.find((r) => r.name === "child")!;
        expect(child.urn).to.equal(`urn:pulumi:${STACK}::${PROJECT}::test:index:Shelf$test:index:Thing::child`);
        expect(child.urn).not.to.equal(oldUrn);
        expect(child.aliases.map((a) => aliasUrn(child, a))).not.to.include(oldUrn);
    });

    it("aliases: [{ parent: oldParent }] sends the engine an alias that resolves to the old URN", async () => {
        const second = await registrations(() => {
            const oldParent = new Group("old-parent");
            thing("child", { parent: new Shelf("new-parent"), aliases: [{ parent: oldParent }] });
        });
        const child = second.find((r) => r.name === "child")!;
        const group = second.find((r) => r.name === "old-parent")!;
        expect(child.urn).not.to.equal(oldUrn);
        expect(child.aliases).to.have.length(1);
        expect(child.aliases[0]).to.include({ urn: "", name: "", type: "", parentUrn: group.urn, noParent: false });
        expect(aliasUrn(child, child.aliases[0])).to.equal(oldUrn);
    });

    it("aliases: [{ name, parent }] keeps the URN of a child renamed and moved, even when the old parent is gone", async () => {
        const oldParentUrn = `urn:pulumi:${STACK}::${PROJECT}::test:index:Group::old-parent`;
        const second = await registrations(() => {
            thing("item", { parent: new Shelf("new-parent"), aliases: [{ name: "child", parent: oldParentUrn }] });
        });
        const item = second.find((r) => r.name === "item")!;
        expect(second.map((r) => r.name)).not.to.include("old-parent");
        expect(item.aliases.map((a) => aliasUrn(item, a))).to.deep.equal([oldUrn]);
        // The SDK's own URN function agrees with the engine's rule.
        const viaSdk = await new Promise<string>((resolve) => pulumi.createUrn("child", "test:index:Thing", oldParentUrn, PROJECT, STACK).apply(resolve));
        expect(viaSdk).to.equal(oldUrn);
    });
});

/**
 * The whole-process benchmark (bench/process.ts) judges the ECR program
 * against a process that makes the same registrations with the SDK alone.
 * These tests hold the benchmark to that: on a small fleet, the replay the
 * target is judged against registers every resource of the program again
 * (components, parents, aliases, dependencies, options, so the same URNs),
 * the flat replay the same custom resources, and the comparison that says so
 * finds each kind of difference.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { compareRecorded, Recorded, stackInputOf } from "../bench/process";

const ROOT = path.resolve(__dirname, "..");

/** One child of the benchmark, run as it runs there but under ts-node (no compile step). */
function child(args: readonly string[]): void {
    const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "bench/process.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 180_000,
    });
    const line = (run.stdout ?? "").split("\n").find((l) => l.startsWith("CHILD_RESULT "));
    expect(line, `${args[0]}: ${run.stderr}`).to.be.a("string");
    const result = JSON.parse(line!.slice("CHILD_RESULT ".length)) as { ok: boolean; error?: string };
    expect(result.error).to.equal(undefined);
    expect(result.ok).to.equal(true);
}

describe("the whole-process benchmark's replays", function () {
    this.timeout(600_000);
    let dir: string;
    let program: Recorded[];
    let baseline: Recorded[];
    let flat: Recorded[];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-bench-process-test-"));
        const input = path.join(dir, "input.json");
        fs.writeFileSync(input, JSON.stringify(await stackInputOf({ clusters: 6, tenants: 4, repositories: 12 })));
        const file = (name: string) => path.join(dir, `${name}.json`);
        child(["program", input, file("program")]);
        child(["baseline", input, file("program"), file("baseline")]);
        child(["flat", input, file("program"), file("flat")]);
        const read = (name: string) => JSON.parse(fs.readFileSync(file(name), "utf8")) as Recorded[];
        [program, baseline, flat] = [read("program"), read("baseline"), read("flat")];
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("records a program that has everything the baseline must make again", () => {
        expect(program.filter((r) => !r.custom).map((r) => r.type)).to.include.members([
            "ecrpull:index:RegistryAccess",
            "ecrpull:index:PullRole",
            "ecrpull:index:PullRepository",
        ]);
        expect(program.filter((r) => r.aliases.length > 0)).to.have.length(program.filter((r) => !r.custom).length);
        expect(
            program.some((r) => r.dependsOn.length > 0),
            "a pull role waits for its OIDC provider",
        ).to.equal(true);
        expect(
            program.some((r) => r.retainOnDelete),
            "repositories are retained",
        ).to.equal(true);
        expect(program.filter((r) => r.custom && r.parent.includes("$ecrpull:index:PullRepository::"))).to.have.length.greaterThan(0);
    });

    it("the baseline makes every registration again, with the same URN, parent, inputs, aliases, dependencies and options", () => {
        expect(baseline).to.have.length(program.length);
        expect(compareRecorded(program, baseline, "tree")).to.deep.equal([]);
    });

    it("the flat replay makes the same custom resources with the same inputs, and nothing else", () => {
        expect(flat).to.have.length(program.filter((r) => r.custom).length);
        expect(flat.every((r) => r.custom && r.aliases.length === 0 && r.dependsOn.length === 0)).to.equal(true);
        expect(compareRecorded(program, flat, "flat")).to.deep.equal([]);
        // The flat replay is not the same registrations: its URNs have no component in them.
        expect(compareRecorded(program, flat, "tree")).to.not.deep.equal([]);
    });

    it("the comparison finds a changed parent, a dropped alias, a dropped dependency, a changed input and a missing resource", () => {
        const child = program.findIndex((r) => r.custom && r.parent.includes("$ecrpull:index:PullRepository::"));
        const aliased = program.findIndex((r) => r.aliases.length > 0);
        const dependent = program.findIndex((r) => r.dependsOn.length > 0);
        const changed = (i: number, change: Partial<Recorded>) => program.map((r, j) => (j === i ? { ...r, ...change } : r));
        const cases: [string, Recorded[]][] = [
            ["parent", changed(child, { parent: program.find((r) => r.type === "ecrpull:index:RegistryAccess")!.urn })],
            ["alias", changed(aliased, { aliases: [] })],
            ["dependency", changed(dependent, { dependsOn: [] })],
            ["input", changed(child, { inputs: { ...program[child].inputs, name: "another" } })],
            ["retainOnDelete", changed(child, { retainOnDelete: !program[child].retainOnDelete })],
            ["missing", program.slice(1)],
        ];
        for (const [what, replay] of cases) {
            expect(compareRecorded(program, replay, "tree"), what).to.have.length.greaterThan(0);
        }
        expect(compareRecorded(program, changed(child, { inputs: { ...program[child].inputs, name: "another" } }), "flat")).to.have.length(1);
    });
});

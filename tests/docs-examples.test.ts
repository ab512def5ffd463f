/**
 * Every fenced block of README.md and docs/*.md is an example that either
 * runs here or says that it needs a real cloud. The line above each block
 * says which, as an HTML comment the reader does not see:
 *
 *   <!-- example: run -->           each line is an `ecrpull` command: run, must exit 0
 *   <!-- example: output ARGS -->   an excerpt of what `ecrpull ARGS` prints (stdout and stderr): each line must be in it;
 *                                   $STATE in ARGS is a directory holding the example stacks' state
 *                                   (`pulumi stack export` files: tools/engine/example-state.ts)
 *   <!-- example: typescript -->    compiled as pasted against this package (`ecrpull`, `ecrpull/stacks`)
 *   <!-- example: stack eks|ecr --> a stack file: its config runs through that program
 *   <!-- example: pod -->           a Pod or Deployment on the example stacks' cluster: its container's
 *                                   command runs with real AWS clients in an emulated pod (as in
 *                                   tests/real-clients.test.ts) and must end with exit code 0
 *   <!-- example: excerpt FILE -->  an excerpt of a file of this repository (a committed file, or output
 *                                   a test asserts): each line must be in that file
 *   <!-- example: ci -->            npm commands: each must be a script of package.json (CI runs them)
 *   <!-- example: cloud -->         needs the Pulumi CLI, AWS or a cluster: not run
 *   <!-- example: illustration -->  a diagram: nothing to run
 *
 * So an example that would not compile, plan or pull cannot ship.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { runExampleStacks, writeExampleStates } from "../tools/engine/example-state";
import { runCli } from "../tools/cli/main";
import { runEcrStack, runEksStack } from "../tools/engine/two-stacks";
import { AwsEndpoint } from "./support/aws/endpoint";
import { clusterNamed, World, worldFromExampleRuns } from "./support/aws/world";
import { jsSdk, Op } from "./support/clients/real-clients";
import { emulatePod } from "./support/pod/kubelet";
import { podsUnavailable, runInPod } from "./support/pod/run";
import { Pod } from "./support/pod/types";
import { IamSimulator } from "./support/simulate";

const ROOT = path.resolve(__dirname, "..");
const KINDS = ["run", "output", "excerpt", "typescript", "stack", "pod", "ci", "cloud", "illustration"] as const;

interface Example {
    readonly file: string;
    readonly line: number;
    readonly kind: string;
    readonly args: string;
    readonly language: string;
    readonly body: string;
}

/** The fenced blocks of a Markdown file, with the annotation on the line above each. */
function examplesOf(file: string): Example[] {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const examples: Example[] = [];
    for (let i = 0; i < lines.length; i++) {
        const fence = /^(\s*)(```+)(\S*)\s*$/.exec(lines[i]);
        if (!fence) {
            continue;
        }
        const end = lines.findIndex((l, j) => j > i && l.trim() === fence[2]);
        const annotation = /^<!-- example: (\S+)\s*(.*?)\s*-->$/.exec(lines[i - 1]?.trim() ?? "");
        examples.push({
            file: path.relative(ROOT, file),
            line: i + 1,
            kind: annotation?.[1] ?? "",
            args: annotation?.[2] ?? "",
            language: fence[3],
            body: lines
                .slice(i + 1, end)
                .map((l) => l.slice(fence[1].length))
                .join("\n"),
        });
        i = end;
    }
    return examples;
}

const documents = [
    path.join(ROOT, "README.md"),
    ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => path.join(ROOT, "docs", f)),
];
const examples = documents.flatMap(examplesOf);
const where = (e: Example) => `${e.file}:${e.line}`;
const commandLines = (body: string) =>
    body
        .split("\n")
        .map((l) => l.replace(/\s+#.*$/, "").trim())
        .filter((l) => l !== "" && !l.startsWith("#"));

/** The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens. */
function headingSlugs(file: string): string[] {
    return fs
        .readFileSync(file, "utf8")
        .replace(/^```[\s\S]*?^```/gm, "")
        .split("\n")
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) =>
            l
                .replace(/^#+ /, "")
                .trim()
                .toLowerCase()
                .replace(/[^\p{L}\p{N}\s_-]/gu, "")
                .replace(/\s/g, "-"),
        );
}

/** `ecrpull ...` (or `npx ecrpull ...`) as argv for runCli. */
function ecrpullArgv(line: string): string[] {
    const words = line.match(/"[^"]*"|'[^']*'|\S+/g)!.map((w) => w.replace(/^["']|["']$/g, ""));
    const start = words[0] === "npx" ? 1 : 0;
    expect(words[start], `"${line}" is an ecrpull command`).to.equal("ecrpull");
    return words.slice(start + 1);
}

async function ecrpull(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd: ROOT });
    return { code, out, err };
}

describe("the examples of README.md and docs/", function () {
    this.timeout(300_000);

    it("are all annotated with what checks them", () => {
        expect(examples.length).to.be.greaterThan(10);
        const unannotated = examples.filter((e) => !(KINDS as readonly string[]).includes(e.kind)).map(where);
        expect(unannotated, "blocks without <!-- example: ... --> above them").to.deep.equal([]);
        expect(examples.filter((e) => e.kind === "illustration" && e.language !== "mermaid").map(where), "only diagrams are illustrations").to.deep.equal([]);
    });

    it("link only to files that exist, and to headings those files have", () => {
        const broken: string[] = [];
        for (const file of documents) {
            const text = fs.readFileSync(file, "utf8").replace(/^```[\s\S]*?^```/gm, "");
            for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^[a-z]+:/.test(target)) {
                    continue;
                }
                const [relative, anchor] = target.split("#");
                const linked = relative === "" ? file : path.resolve(path.dirname(file), relative);
                if (!fs.existsSync(linked)) {
                    broken.push(`${path.relative(ROOT, file)}: ${target} (no such file)`);
                } else if (anchor !== undefined && !headingSlugs(linked).includes(anchor)) {
                    broken.push(`${path.relative(ROOT, file)}: ${target} (no such heading)`);
                }
            }
        }
        expect(broken).to.deep.equal([]);
    });

    for (const e of examples.filter((x) => x.kind === "run")) {
        it(`${where(e)}: runs ${commandLines(e.body).length} command(s) and each exits 0`, async () => {
            for (const line of commandLines(e.body)) {
                const result = await ecrpull(ecrpullArgv(line));
                expect(result.code, `${line}\n${result.err}`).to.equal(0);
            }
        });
    }

    let state: string | undefined;
    after(() => state && fs.rmSync(state, { recursive: true, force: true }));

    for (const e of examples.filter((x) => x.kind === "output")) {
        it(`${where(e)}: is what \`ecrpull ${e.args}\` prints`, async () => {
            if (e.args.includes("$STATE") && !state) {
                state = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-docs-state-"));
                await writeExampleStates(state, path.join(ROOT, "Pulumi.ecr.yaml"));
            }
            const result = await ecrpull(ecrpullArgv(`ecrpull ${e.args.split("$STATE").join(state ?? "")}`));
            for (const line of e.body.split("\n").filter((l) => l.trim() !== "" && l.trim() !== "...")) {
                expect(`${result.out}${result.err}`, `line of ${where(e)} not in the output`).to.contain(line.trimEnd());
            }
        });
    }

    for (const e of examples.filter((x) => x.kind === "excerpt")) {
        it(`${where(e)}: is an excerpt of ${e.args}`, () => {
            const source = fs.readFileSync(path.join(ROOT, e.args), "utf8");
            for (const line of e.body.split("\n").filter((l) => l.trim() !== "" && l.trim() !== "...")) {
                expect(source, `line of ${where(e)} not in ${e.args}`).to.contain(line.trim());
            }
        });
    }

    for (const e of examples.filter((x) => x.kind === "ci")) {
        it(`${where(e)}: names npm commands this repository has`, () => {
            const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
            for (const line of commandLines(e.body)) {
                const npm = /^npm (ci|test|run(?: -s)? ([\w-]+))\b/.exec(line);
                expect(npm, `"${line}" is an npm command`).to.not.equal(null);
                if (npm![2]) {
                    expect(scripts, line).to.have.property(npm![2]);
                }
            }
        });
    }

    describe("TypeScript, compiled as pasted", () => {
        const snippets = examples.filter((x) => x.kind === "typescript");
        it(`${snippets.length} snippets type-check against this package`, () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-docs-"));
            try {
                const files = snippets.map((e, i) => {
                    const file = path.join(dir, `snippet-${i}.ts`);
                    // Each snippet is a module of its own, as a program's index.ts is.
                    fs.writeFileSync(file, /^\s*(import|export)\b/m.test(e.body) ? e.body : `${e.body}\nexport {};\n`);
                    return { file, example: e };
                });
                const program = ts.createProgram(
                    files.map((f) => f.file),
                    {
                        strict: true,
                        noEmit: true,
                        target: ts.ScriptTarget.ES2022,
                        module: ts.ModuleKind.CommonJS,
                        moduleResolution: ts.ModuleResolutionKind.Node10,
                        esModuleInterop: true,
                        skipLibCheck: true,
                        types: ["node"],
                        typeRoots: [path.join(ROOT, "node_modules", "@types")],
                        baseUrl: ROOT,
                        paths: {
                            ecrpull: ["index.ts"],
                            "ecrpull/stacks": ["stacks/program.ts"],
                            "@pulumi/*": ["node_modules/@pulumi/*"],
                        },
                    },
                );
                const problems = ts
                    .getPreEmitDiagnostics(program)
                    .filter((d) => d.file && files.some((f) => f.file === d.file!.fileName))
                    .map((d) => {
                        const example = files.find((f) => f.file === d.file!.fileName)!.example;
                        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
                        return `${example.file}:${example.line + 1 + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
                    });
                expect(problems).to.deep.equal([]);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("stack files", () => {
        let references: Record<string, Record<string, unknown>>;
        before(async () => {
            const runs = await runExampleStacks(path.join(ROOT, "Pulumi.ecr.yaml"));
            references = Object.fromEntries(runs.eks.map((e) => [e.name, e.run.outputs as Record<string, unknown>]));
        });
        for (const e of examples.filter((x) => x.kind === "stack")) {
            it(`${where(e)}: runs through the ${e.args} program`, async () => {
                const config = (yaml.load(e.body) as { config: Record<string, unknown> }).config;
                if (e.args === "eks") {
                    const run = await runEksStack({
                        name: "acme/ecrpull/eks",
                        config,
                        accountId: "444455556666",
                        region: String(config["aws:region"] ?? "eu-west-1"),
                    });
                    expect(run.resources.length).to.be.greaterThan(0);
                } else {
                    const run = await runEcrStack({ config, accountId: "111122223333", region: String(config["aws:region"] ?? "eu-west-1") }, references);
                    expect(run.resources.length).to.be.greaterThan(0);
                }
            });
        }
    });

    describe("pods, with real AWS clients in an emulated pod on the example stacks' cluster", () => {
        const pods = examples.filter((x) => x.kind === "pod");
        let world: World;
        let endpoint: AwsEndpoint;
        const unavailable = podsUnavailable() ?? (fs.existsSync("/usr/bin/aws") ? undefined : "/usr/bin/aws is not installed (Debian package awscli)");

        before(async function () {
            if (unavailable) {
                console.log(`[docs examples] SKIPPED the pod examples: ${unavailable}`);
                this.skip();
            }
            world = worldFromExampleRuns(await runExampleStacks(path.join(ROOT, "Pulumi.ecr.yaml")));
            endpoint = new AwsEndpoint(world, new IamSimulator());
        });

        for (const e of pods) {
            it(`${where(e)}: its command ends with exit code 0`, async function () {
                const document = yaml.load(e.body) as { kind: string; metadata: { name: string; namespace: string }; spec: Record<string, any> };
                const spec = document.kind === "Pod" ? document.spec : document.spec.template.spec;
                const pod: Pod = { metadata: { name: document.metadata.name, namespace: document.metadata.namespace }, spec: spec as Pod["spec"] };
                const cluster = world.clusters[0];
                const kube = world.kube.get(cluster.arn)!;
                const emulated = emulatePod(world, {
                    cluster: clusterNamed(world, cluster.name),
                    pod,
                    serviceAccounts: kube.serviceAccounts,
                    configMaps: kube.configMaps,
                    associations: world.associations.filter((a) => a.clusterArn === cluster.arn),
                });
                const container = pod.spec.containers[0] as { command?: string[]; args?: string[] };
                const argv = [...(container.command ?? []), ...(container.args ?? [])];
                // Debian's AWS CLI 2.9 predates the Pod Identity agent (tests/real-clients.test.ts shows it
                // refusing 169.254.170.23): a Pod Identity pod's calls run with the JavaScript SDK instead.
                const podIdentity = emulated.env.some(([k]) => k === "AWS_CONTAINER_CREDENTIALS_FULL_URI");
                if (podIdentity) {
                    // The same calls: the identity, then the image the example's command pulls.
                    const text = argv.join(" ");
                    const option = (name: string) => new RegExp(`--${name}[ =](\\S+)`).exec(text)?.[1];
                    const ops: Op[] = [{ kind: "get-caller-identity" }];
                    if (option("repository-name")) {
                        ops.push({
                            kind: "batch-get-image",
                            registryId: option("registry-id")!,
                            repository: option("repository-name")!,
                            tag: /imageTag=(\S+)/.exec(text)![1],
                        });
                    }
                    const run = await runInPod(endpoint, emulated, jsSdk.commands(ops));
                    console.log(`[docs examples] ${where(e)}: run with the JavaScript SDK (Debian's awscli 2.9 has no Pod Identity support)`);
                    const results = jsSdk.parse(ops, run.results);
                    expect(results.map((r) => `${r.op}: ${r.ok ? "ok" : `${r.code} ${r.message}`}`)).to.deep.equal(ops.map((o) => `${o.kind}: ok`));
                    return;
                }
                const run = await runInPod(endpoint, emulated, [{ argv }]);
                const result = run.results[0];
                expect(result.exitCode, `${argv.join(" ")}\n${result.stdout}\n${result.stderr}`).to.equal(0);
            });
        }
    });
});

/**
 * The package as a consumer gets it: `npm pack` (which builds it), the
 * tarball installed into a scratch copy of `examples/team-registry` (a
 * program that composes the components in a component of its own), checked
 * with that program's own `tsc`, and run on the mock engine of the
 * consumer's own copy of @pulumi/pulumi; and the installed `ecrpull`
 * command run on a copy of this repository's stack files.
 *
 * Installs use npm's cache (`--prefer-offline`): `npm ci` of this repository
 * has put every dependency the consumer needs there.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const EXAMPLE = path.join(ROOT, "examples", "team-registry");
const rootPackage = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

interface PackedFile {
    readonly path: string;
}

function run(command: string, args: string[], cwd: string): string {
    const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed in ${cwd} (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
}

describe("the npm package, installed into a consumer project", function () {
    this.timeout(600_000);
    let scratch: string;
    let tarball: string;
    let packed: string[];
    let consumer: string;

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-pack-"));
        // `npm pack` runs the prepare script: the build a consumer's tarball is made of.
        const report = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", scratch], ROOT)) as { filename: string; files: PackedFile[] }[];
        tarball = path.join(scratch, report[0].filename);
        packed = report[0].files.map((f) => f.path).sort();

        consumer = path.join(scratch, "consumer");
        fs.mkdirSync(consumer);
        for (const file of fs.readdirSync(EXAMPLE)) {
            fs.copyFileSync(path.join(EXAMPLE, file), path.join(consumer, file));
        }
        run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], consumer);
    });

    after(() => {
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("packs the built entry point, the components, the stack programs and the command, with declarations, and nothing a consumer does not need", () => {
        expect(packed).to.include.members([
            "dist/index.js",
            "dist/index.d.ts",
            "dist/components/registry/registry-access.js",
            "dist/components/registry/registry-access.d.ts",
            "dist/stacks/index.js",
            "dist/tools/cli/main.js",
            "package.json",
            "README.md",
            "LICENSE",
            "PulumiPlugin.yaml",
        ]);
        const unwanted = packed.filter(
            (f) =>
                /^(tests|scripts|stacks|tools|components|bench|examples|deployments|policy|docs|node_modules)\//.test(f) ||
                (/\.ts$/.test(f) && !f.endsWith(".d.ts")) ||
                /^Pulumi\./.test(f),
        );
        expect(unwanted).to.deep.equal([]);
        // Every module of components/, stacks/ and tools/ is in the build.
        for (const folder of ["components", "stacks", "tools"]) {
            const sources = (fs.readdirSync(path.join(ROOT, folder), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"));
            for (const source of sources) {
                expect(packed, source).to.include(`dist/${folder}/${source.replace(/\.ts$/, ".js")}`);
            }
        }
    });

    it("installs the ecrpull command: --help, and a plan of the example project from the compiled JavaScript", () => {
        const project = path.join(consumer, "stacks-project");
        fs.mkdirSync(project);
        for (const file of ["Pulumi.yaml", "Pulumi.eks.yaml", "Pulumi.ecr.yaml"]) {
            fs.copyFileSync(path.join(ROOT, file), path.join(project, file));
        }
        const help = run("npx", ["--no-install", "ecrpull", "--help"], project);
        expect(help).to.contain("usage: ecrpull <command> [options]");
        const plan = spawnSync("npx", ["--no-install", "ecrpull", "plan"], { cwd: project, encoding: "utf8" });
        expect(plan.status, plan.stderr).to.equal(0);
        expect(plan.stdout).to.contain("Cluster account 444455556666 (example) - stack acme/ecrpull/eks - cluster apps-prod-euw1 (created)");
        expect(plan.stdout).to.contain("| apps-prod-euw1 | ci/image-builder | federation | ecr-pull-ci-builders |");
        // The installed command runs the package's compiled JavaScript, not TypeScript through ts-node.
        expect(fs.realpathSync(path.join(consumer, "node_modules", ".bin", "ecrpull"))).to.equal(
            path.join(consumer, "node_modules", "ecrpull", "dist", "tools", "cli", "main.js"),
        );
    });

    // With TypeScript's classic Node resolution, as Pulumi's TypeScript templates set it (typesVersions maps the subpath).
    it("serves the stack programs to a project of one's own as ecrpull/stacks", () => {
        fs.writeFileSync(path.join(consumer, "own-stacks.ts"), `import { main } from "ecrpull/stacks";\nexport = main();\n`);
        const check = spawnSync(
            process.execPath,
            [
                path.join(consumer, "node_modules", "typescript", "bin", "tsc"),
                "--noEmit",
                "--strict",
                "--skipLibCheck",
                "--types",
                "node",
                "--module",
                "commonjs",
                "--moduleResolution",
                "node",
                "own-stacks.ts",
            ],
            { cwd: consumer, encoding: "utf8" },
        );
        expect(check.status, check.stdout).to.equal(0);
        const loaded = spawnSync(process.execPath, ["-e", `console.log(typeof require("ecrpull/stacks").main)`], { cwd: consumer, encoding: "utf8" });
        expect(loaded.stdout.trim(), loaded.stderr).to.equal("function");
    });

    it("declares @pulumi/pulumi as a peer, the provider SDKs as caret ranges, and no dev-only package", () => {
        expect(rootPackage.peerDependencies).to.have.property("@pulumi/pulumi");
        expect(rootPackage.dependencies).not.to.have.property("@pulumi/pulumi");
        for (const sdk of ["@pulumi/aws", "@pulumi/eks", "@pulumi/kubernetes"]) {
            expect(rootPackage.dependencies[sdk], sdk).to.match(/^\^\d+\.\d+\.\d+$/);
        }
        expect(
            Object.keys(rootPackage.dependencies).filter((d) => rootPackage.devDependencies?.[d] === undefined && /iam-simulate|iam-policy|mocha|chai/.test(d)),
        ).to.deep.equal([]);
        expect(rootPackage.main).to.equal("dist/index.js");
        expect(rootPackage.types).to.equal("dist/index.d.ts");
        expect(rootPackage.bin).to.deep.equal({ ecrpull: "dist/tools/cli/main.js" });
    });

    it("leaves the consumer with one copy of @pulumi/pulumi", () => {
        expect(fs.existsSync(path.join(consumer, "node_modules", "@pulumi", "pulumi"))).to.equal(true);
        expect(fs.existsSync(path.join(consumer, "node_modules", "ecrpull", "node_modules", "@pulumi", "pulumi"))).to.equal(false);
        const found = execFileSync(
            "find",
            [path.join(consumer, "node_modules"), "-path", "*/@pulumi/pulumi/package.json", "-not", "-path", "*/@pulumi/pulumi/*/*"],
            { encoding: "utf8" },
        )
            .split("\n")
            .filter(Boolean);
        expect(found).to.have.length(1);
    });

    it("type-checks the consumer program against the shipped declarations, and rejects args of the wrong type", () => {
        run(process.execPath, [path.join(consumer, "node_modules", "typescript", "bin", "tsc"), "-p", "."], consumer);
        fs.writeFileSync(
            path.join(consumer, "wrong.ts"),
            `import { RegistryAccess } from "ecrpull";\nnew RegistryAccess("x", { registryAccountId: 111122223333, region: "eu-west-1", clusters: [], repositories: [], grants: [] });\n`,
        );
        const wrong = spawnSync(
            process.execPath,
            [path.join(consumer, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--strict", "--skipLibCheck", "--types", "node", "wrong.ts"],
            { cwd: consumer, encoding: "utf8" },
        );
        expect(wrong.status).to.not.equal(0);
        expect(wrong.stdout).to.match(/wrong\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
    });

    it("runs the consumer program on its own mock engine: one RegistryAccess under the consumer's component, one OIDC provider per issuer, one pull role per team", () => {
        // The runner uses the consumer's @pulumi/pulumi, as `pulumi up` would.
        fs.writeFileSync(
            path.join(consumer, "run-on-mocks.js"),
            `const pulumi = require("@pulumi/pulumi");
const registered = [];
pulumi.runtime.setMocks({
    newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const name = args.inputs.name ?? args.name;
        return { id: args.name + "-id", state: { ...args.inputs, arn: "arn:aws:iam::111122223333:role/" + name, repositoryUrl: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/" + name } };
    },
    call: (args) => { throw new Error("no invoke " + args.token); },
}, "team-registry", "dev", false);
const program = require("./bin/index.js");
const known = (o) => new Promise((resolve) => (pulumi.Output.isInstance(o) ? o.apply(resolve) : resolve(o)));
setTimeout(async () => {
    const outputs = {};
    for (const [key, value] of Object.entries(program)) outputs[key] = await known(value);
    process.stdout.write(JSON.stringify({ registered, outputs }));
}, 1000);
`,
        );
        const { registered, outputs } = JSON.parse(run(process.execPath, ["run-on-mocks.js"], consumer)) as {
            registered: { type: string; name: string; inputs: Record<string, any> }[];
            outputs: { repositoryUrls: Record<string, string>; pullRoleArns: Record<string, string> };
        };
        const count = (type: string) => registered.filter((r) => r.type === type).length;
        expect(count("teamregistry:index:TeamsRegistry")).to.equal(1);
        expect(count("ecrpull:index:RegistryAccess")).to.equal(1);
        expect(count("ecrpull:index:PullRole")).to.equal(2);
        expect(count("ecrpull:index:PullRepository")).to.equal(3);
        expect(registered.filter((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider").map((r) => r.inputs.url)).to.deep.equal([
            "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF",
        ]);
        expect(
            registered
                .filter((r) => r.type === "aws:iam/role:Role")
                .map((r) => r.inputs.name)
                .sort(),
        ).to.deep.equal(["ecr-pull-billing", "ecr-pull-search"]);
        expect(outputs.pullRoleArns).to.deep.equal({
            search: "arn:aws:iam::111122223333:role/ecr-pull-search",
            billing: "arn:aws:iam::111122223333:role/ecr-pull-billing",
        });
        expect(Object.keys(outputs.repositoryUrls).sort()).to.deep.equal(["billing/invoices", "search/api", "search/indexer"]);
    });
});

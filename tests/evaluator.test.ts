/**
 * The documents checked by an evaluator this package did not write:
 * @cloud-copilot/iam-simulate (adapter: tests/support/simulate.ts) answers
 * every request of a principal universe against every role and repository
 * both programs create, and each answer is compared with what the CONFIG
 * grants (tests/support/fleets.ts, the Oracle), never with the documents
 * themselves. Allowed exactly where the config grants it, denied everywhere
 * else. Every document is also validated with @cloud-copilot/iam-policy, and
 * random valid fleets (fast-check) go through the same check on the pure
 * planners' documents.
 *
 * The two @cloud-copilot packages are AGPL-3.0 dev dependencies: the first
 * test proves they stay out of the package's runtime.
 */
import { expect } from "chai";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { EcrStackRun, EksStackRun, runTwoStacks } from "../tools/engine/two-stacks";
import { clusterA, clusterB, registry } from "./support/fixtures";
import {
    allDocuments,
    checkFleet,
    cloneDocuments,
    documentsFromPlans,
    documentsFromRuns,
    FleetDocuments,
    FleetModel,
    MatrixResult,
    modelFromStacks,
    patternFleet,
    randomFleet,
    Section,
    shardedFleet,
} from "./support/fleets";
import { IamSimulator, validatePolicy } from "./support/simulate";

const ROOT = path.resolve(__dirname, "..");
const AGPL_PACKAGES = ["@cloud-copilot/iam-simulate", "@cloud-copilot/iam-policy"];

/** Combinations checked, by fleet, printed once for the README. */
const tally = new Map<string, MatrixResult>();

function report(result: MatrixResult): string {
    const shown = result.mismatches.slice(0, 25).join("\n  ");
    return `${result.mismatches.length} disagreements of ${result.checked} combinations:\n  ${shown}`;
}

function expectValid(documents: FleetDocuments): number {
    const invalid = allDocuments(documents)
        .map((d) => ({ ...d, errors: validatePolicy(d.kind, d.json) }))
        .filter((d) => d.errors.length > 0)
        .map((d) => `${d.owner} (${d.kind}): ${JSON.stringify(d.errors)}`);
    expect(invalid).to.deep.equal([]);
    return allDocuments(documents).length;
}

describe("independent evaluation with @cloud-copilot/iam-simulate", function () {
    this.timeout(180000);
    const started = Date.now();

    after(() => {
        const total = [...tally.values()].reduce((sum, r) => sum + r.checked, 0);
        const parts = [...tally].map(([name, r]) => `${name} ${r.checked.toLocaleString("en-US")}`).join(", ");
        console.log(
            `      iam-simulate: ${total.toLocaleString("en-US")} combinations checked against the config (${parts}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
    });

    it("keeps the AGPL simulator and validator out of the package's runtime", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        for (const name of AGPL_PACKAGES) {
            for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies", "bundledDependencies"]) {
                expect(Object.keys(pkg[field] ?? {}), `${name} in ${field}`).not.to.include(name);
            }
            expect(pkg.devDependencies, "a dev dependency only").to.have.property(name);
        }
        // A source file that names the packages, or every such file under a folder.
        const offenders = (source: string): string[] =>
            fs.statSync(source).isDirectory()
                ? fs.readdirSync(source).flatMap((entry) => offenders(path.join(source, entry)))
                : /\.(ts|js|mjs|cjs|json|ya?ml)$/.test(source) && /@cloud-copilot\//.test(fs.readFileSync(source, "utf8"))
                  ? [path.relative(ROOT, source)]
                  : [];
        // What ships: the sources of package.json's "files" under dist/ (dist/components/ is built from components/).
        const shipped = [
            ...new Set<string>(pkg.files.filter((f: string) => f.startsWith("dist/")).map((f: string) => f.split("/")[1].replace(/\.(js|d\.ts)$/, ""))),
        ];
        expect(shipped).to.include.members(["index", "components", "stacks", "tools"]);
        const sources = shipped.map((name) => path.join(ROOT, fs.existsSync(path.join(ROOT, name)) ? name : `${name}.ts`));
        expect(sources.flatMap(offenders)).to.deep.equal([]);
        // The scan does find an import where there is one.
        expect(offenders(path.join(ROOT, "tests", "support"))).to.include(path.join("tests", "support", "simulate.ts"));
    });

    describe("the adapter follows IAM's rules (small hand-written cases)", () => {
        const registry = "111122223333";
        const cluster = "444455556666";
        const repo = `arn:aws:ecr:eu-west-1:${registry}:repository/team/api`;
        const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
        const pullOnRepo = { name: "pull", json: doc({ Effect: "Allow", Action: "ecr:BatchGetImage", Resource: repo }) };
        const repoPolicy = (principal: string, pinned?: string) =>
            doc({
                Sid: "Pull",
                Effect: "Allow",
                Principal: { AWS: principal },
                Action: "ecr:BatchGetImage",
                ...(pinned ? { Condition: { ArnEquals: { "aws:PrincipalArn": pinned } } } : {}),
            });
        const ecr = (principalRoleArn: string, identityPolicies: { name: string; json: string }[], repositoryPolicy?: string) =>
            new IamSimulator().ecr({ principalRoleArn, identityPolicies, action: "ecr:BatchGetImage", repositoryArn: repo, repositoryPolicy });

        it("cross-account: both the identity and the repository policy must allow", async () => {
            const nodes = `arn:aws:iam::${cluster}:role/nodes`;
            expect(await ecr(nodes, [pullOnRepo], repoPolicy(`arn:aws:iam::${cluster}:root`, nodes))).to.equal(true);
            expect(await ecr(nodes, [], repoPolicy(`arn:aws:iam::${cluster}:root`, nodes)), "no identity policy").to.equal(false);
            expect(await ecr(nodes, [pullOnRepo], undefined), "no repository policy").to.equal(false);
            expect(
                await ecr(nodes, [pullOnRepo], repoPolicy(`arn:aws:iam::${cluster}:root`, `arn:aws:iam::${cluster}:role/other`)),
                "pinned to another role",
            ).to.equal(false);
        });

        it("same account: either allows, but a statement naming only the account root grants nothing by itself", async () => {
            const puller = `arn:aws:iam::${registry}:role/ecr-pull-team`;
            expect(await ecr(puller, [pullOnRepo], undefined), "identity only").to.equal(true);
            expect(await ecr(puller, [], repoPolicy(puller)), "repository policy naming the role").to.equal(true);
            expect(await ecr(puller, [], repoPolicy(`arn:aws:iam::${registry}:root`, puller)), "account root only").to.equal(false);
        });

        it("web identity: the provider and both claims must match the trust (the claim keys are not dropped)", async () => {
            const issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789";
            const provider = `arn:aws:iam::${registry}:oidc-provider/${issuer}`;
            const trust = doc({
                Effect: "Allow",
                Principal: { Federated: provider },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:ci:builder", [`${issuer}:aud`]: "sts.amazonaws.com" } },
            });
            const ask = (providerArn: string, namespace: string, audience: string) =>
                new IamSimulator().webIdentity({
                    roleArn: `arn:aws:iam::${registry}:role/r`,
                    trustPolicy: trust,
                    providerArn,
                    issuerHostPath: issuer,
                    namespace,
                    serviceAccount: "builder",
                    audience,
                });
            expect(await ask(provider, "ci", "sts.amazonaws.com")).to.equal(true);
            expect(await ask(provider, "default", "sts.amazonaws.com"), "another sub").to.equal(false);
            expect(await ask(provider, "ci", "other"), "another aud").to.equal(false);
            expect(await ask(provider.replace(registry, cluster), "ci", "sts.amazonaws.com"), "another provider").to.equal(false);
        });

        it("sts:TagSession is checked on its own, and session tags reach the trust's conditions", async () => {
            const caller = `arn:aws:iam::${cluster}:role/podid`;
            const target = `arn:aws:iam::${registry}:role/ecr-pull-ml`;
            const trust = doc({
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${cluster}:root` },
                Action: ["sts:AssumeRole", "sts:TagSession"],
                Condition: { ArnEquals: { "aws:PrincipalArn": caller }, StringEquals: { "aws:RequestTag/kubernetes-namespace": "ml" } },
            });
            const identity = [{ name: "assume", json: doc({ Effect: "Allow", Action: "sts:AssumeRole", Resource: target }) }];
            const ask = (action: "sts:AssumeRole" | "sts:TagSession", namespace: string) =>
                new IamSimulator().roleSession({
                    principalRoleArn: caller,
                    identityPolicies: identity,
                    action,
                    roleArn: target,
                    trustPolicy: trust,
                    sessionTags: { "kubernetes-namespace": namespace },
                });
            expect(await ask("sts:AssumeRole", "ml")).to.equal(true);
            expect(await ask("sts:AssumeRole", "default"), "another namespace tag").to.equal(false);
            expect(await ask("sts:TagSession", "ml"), "TagSession not in the caller's identity policy").to.equal(false);
        });
    });

    /** `grants`: the kinds of request the fleet's config must grant at least once, so that its check is not vacuous. */
    const ALL_KINDS = ["web identity", "role session", "role session (guard)", "service", "ecr", "ecr (guard)", "end to end", "provider"];
    const fleets: { name: string; eks: () => EksStackRun[]; ecr: () => EcrStackRun; floor: number; grants: string[] }[] = [
        { name: "fixtures fleet", eks: () => [clusterA(), clusterB()], ecr: () => registry(), floor: 15000, grants: ALL_KINDS },
        // Adopted clusters, federation only: no role session or service request is granted.
        {
            name: "sharded fleet",
            eks: () => shardedFleet().eks,
            ecr: () => shardedFleet().ecr,
            floor: 10000,
            grants: ["web identity", "ecr", "ecr (guard)", "end to end", "provider"],
        },
        { name: "pattern fleet", eks: () => patternFleet().eks, ecr: () => patternFleet().ecr, floor: 20000, grants: ALL_KINDS },
    ];
    const collected = new Map<string, { model: FleetModel; documents: FleetDocuments }>();

    for (const fleet of fleets) {
        describe(fleet.name, () => {
            before(async () => {
                const eks = fleet.eks();
                const ecr = fleet.ecr();
                const run = await runTwoStacks(eks, ecr);
                collected.set(fleet.name, { model: modelFromStacks(eks, ecr, run), documents: documentsFromRuns(run, eks, ecr) });
            });

            it("writes only documents iam-policy accepts (trust, identity and repository policies)", () => {
                const { documents } = collected.get(fleet.name)!;
                expect(expectValid(documents)).to.be.greaterThan(0);
            });

            it("allows exactly what the config grants, for every combination of principal, context, action and role or repository", async () => {
                const { model, documents } = collected.get(fleet.name)!;
                const result = await checkFleet(model, documents, new IamSimulator());
                tally.set(fleet.name, result);
                expect(result.mismatches, report(result)).to.deep.equal([]);
                expect(result.checked).to.be.greaterThan(fleet.floor);
                // Every kind of request was tried, and the config grants some and refuses most of each.
                expect(Object.keys(result.counts)).to.include.members(ALL_KINDS);
                for (const kind of fleet.grants) {
                    expect(result.granted[kind], `granted ${kind}`).to.be.greaterThan(0);
                }
                for (const kind of ALL_KINDS.filter((k) => k !== "provider")) {
                    expect(result.granted[kind] ?? 0, `refused ${kind}`).to.be.lessThan(result.counts[kind]);
                }
            });
        });
    }

    describe("catches a broken document (mutations of a scratch copy of the fixtures fleet's documents)", () => {
        const mutate = (json: string, change: (doc: any) => void): string => {
            const doc = JSON.parse(json);
            change(doc);
            return JSON.stringify(doc);
        };
        const roleNamed = (documents: FleetDocuments, name: string) => {
            const role = [...documents.roles.values()].find((r) => r.arn.endsWith(`:role/${name}`) || r.arn.includes(`:role/${name}-`));
            expect(role, name).to.exist;
            return role!;
        };
        const dropKey = (block: Record<string, unknown> | undefined, suffix: string) => {
            for (const key of Object.keys(block ?? {})) {
                if (key.endsWith(suffix)) {
                    delete block![key];
                }
            }
        };
        const mutations: { name: string; section: Section; apply: (d: FleetDocuments) => void; kind?: string }[] = [
            {
                name: "a pull role the config calls for missing",
                section: "provider",
                kind: "roles",
                apply: (d) => {
                    d.roles.delete([...d.roles.keys()].find((arn) => arn.endsWith(":role/ecr-pull-ml"))!);
                },
            },
            {
                name: "the sub condition dropped from a federated pull role's trust",
                section: "web identity",
                apply: (d) => {
                    const role = roleNamed(d, "ecr-pull-ci-builders");
                    (role as { trust: string }).trust = mutate(role.trust, (doc) =>
                        doc.Statement.forEach((s: any) => dropKey(s.Condition.StringEquals, ":sub")),
                    );
                },
            },
            {
                name: "the aud condition dropped from a federated pull role's trust",
                section: "web identity",
                apply: (d) => {
                    const role = roleNamed(d, "ecr-pull-ci-builders");
                    (role as { trust: string }).trust = mutate(role.trust, (doc) =>
                        doc.Statement.forEach((s: any) => dropKey(s.Condition.StringEquals, ":aud")),
                    );
                },
            },
            {
                name: "a chained IRSA role's trust widened to its whole namespace",
                section: "web identity",
                apply: (d) => {
                    const role = roleNamed(d, "ecr-chain-payments");
                    (role as { trust: string }).trust = mutate(role.trust, (doc) =>
                        doc.Statement.forEach((s: any) => {
                            const key = Object.keys(s.Condition.StringEquals).find((k) => k.endsWith(":sub"))!;
                            delete s.Condition.StringEquals[key];
                            s.Condition.StringLike = { [key]: "system:serviceaccount:payments:*" };
                        }),
                    );
                },
            },
            {
                name: "ecr:PutImage added to a repository policy",
                section: "ecr",
                apply: (d) => {
                    const repository = d.repositories.get("platform/base")!;
                    d.repositories.set("platform/base", {
                        ...repository,
                        policy: mutate(repository.policy!, (doc) => doc.Statement.forEach((s: any) => (s.Action = [...[s.Action].flat(), "ecr:PutImage"]))),
                    });
                },
            },
            {
                name: "the node role pin (aws:PrincipalArn) dropped from a repository policy",
                section: "ecr",
                apply: (d) => {
                    const repository = d.repositories.get("ml/models")!;
                    d.repositories.set("ml/models", {
                        ...repository,
                        policy: mutate(repository.policy!, (doc) =>
                            doc.Statement.filter((s: any) => s.Sid === "PullByNodeRoles").forEach((s: any) => delete s.Condition),
                        ),
                    });
                },
            },
            {
                name: "ecr:PutImage added to a pull role's policy",
                section: "ecr",
                apply: (d) => {
                    const inline = roleNamed(d, "ecr-pull-payments").inline;
                    inline[0] = {
                        ...inline[0],
                        json: mutate(inline[0].json, (doc) =>
                            doc.Statement.filter((s: any) => s.Sid === "EcrPull").forEach((s: any) => (s.Action = [...[s.Action].flat(), "ecr:PutImage"])),
                        ),
                    };
                },
            },
            {
                name: "a pull role's policy widened to every repository",
                section: "ecr",
                apply: (d) => {
                    const inline = roleNamed(d, "ecr-pull-ml").inline;
                    inline[0] = { ...inline[0], json: mutate(inline[0].json, (doc) => doc.Statement.forEach((s: any) => (s.Resource = "*"))) };
                },
            },
            {
                name: "a repository's policy removed (its node pulls would fail)",
                section: "ecr",
                apply: (d) => {
                    const repository = d.repositories.get("payments/api")!;
                    d.repositories.set("payments/api", { arn: repository.arn });
                },
            },
            {
                name: "the aws:PrincipalArn pin dropped from the chaining trust",
                section: "role session",
                apply: (d) => {
                    const role = roleNamed(d, "ecr-pull-payments");
                    (role as { trust: string }).trust = mutate(role.trust, (doc) => doc.Statement.forEach((s: any) => delete s.Condition));
                },
            },
            {
                name: "the namespace tag dropped from the Pod Identity target trust",
                section: "role session",
                apply: (d) => {
                    const role = roleNamed(d, "ecr-pull-ml");
                    (role as { trust: string }).trust = mutate(role.trust, (doc) =>
                        doc.Statement.forEach((s: any) => dropKey(s.Condition.StringEquals, "kubernetes-namespace")),
                    );
                },
            },
            {
                name: "aws:SourceAccount dropped from the Pod Identity association role's trust",
                section: "service",
                apply: (d) => {
                    const role = roleNamed(d, "ecr-podid-ml");
                    (role as { trust: string }).trust = mutate(role.trust, (doc) =>
                        doc.Statement.forEach((s: any) => dropKey(s.Condition.StringEquals, "aws:SourceAccount")),
                    );
                },
            },
        ];

        for (const mutation of mutations) {
            it(`fails on ${mutation.name}`, async () => {
                const { model, documents } = collected.get("fixtures fleet") ?? {};
                expect(model, "the fixtures fleet ran first").to.exist;
                // Unmutated, the documents agree with the config everywhere...
                expect(tally.get("fixtures fleet")?.mismatches, "the fixtures fleet passed first").to.deep.equal([]);
                // ...and a mutated scratch copy does not; the real documents are untouched.
                const scratch = cloneDocuments(documents!);
                mutation.apply(scratch);
                const broken = await checkFleet(model!, scratch, new IamSimulator(), { sections: [mutation.section], stopAtFirst: true });
                expect(broken.mismatches, "the mutation went unnoticed").to.have.length(1);
                expect(broken.mismatches[0]).to.match(new RegExp(`^${mutation.kind ?? mutation.section}`));
            });
        }

        it("rejects invalid documents with iam-policy's validators", () => {
            const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole" }] });
            const identity = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allowed", Action: "ecr:BatchGetImage", Resource: "*" }] });
            const resource = JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Principal: { AWS: "*" }, Action: "ecr:BatchGetImage", Condition: { ArnEquals: "arn:aws:iam::444455556666:role/nodes" } },
                ],
            });
            expect(validatePolicy("trust", trust), "trust without principal").not.to.deep.equal([]);
            expect(validatePolicy("identity", identity), "bad effect").not.to.deep.equal([]);
            expect(validatePolicy("resource", resource), "condition without a key").not.to.deep.equal([]);
        });
    });

    describe("random valid fleets (fast-check, fixed seed)", () => {
        it("allow exactly what their config grants, on the pure planners' documents", async () => {
            const combined = { counts: {} as Record<string, number>, granted: {} as Record<string, number>, checked: 0, mismatches: [] as string[] };
            let fleets = 0;
            await fc.assert(
                fc.asyncProperty(randomFleet, async (model) => {
                    const documents = documentsFromPlans(model);
                    expectValid(documents);
                    const result = await checkFleet(model, documents, new IamSimulator(), { lean: true });
                    fleets++;
                    combined.checked += result.checked;
                    for (const [kind, n] of Object.entries(result.counts)) {
                        combined.counts[kind] = (combined.counts[kind] ?? 0) + n;
                        combined.granted[kind] = (combined.granted[kind] ?? 0) + (result.granted[kind] ?? 0);
                    }
                    expect(result.mismatches, `${report(result)}\nfleet: ${JSON.stringify(model)}`).to.deep.equal([]);
                }),
                { numRuns: 25, seed: 20260412 },
            );
            tally.set(`${fleets} random fleets`, combined);
            expect(fleets).to.equal(25);
            expect(combined.checked).to.be.greaterThan(30000);
            for (const kind of ["web identity", "role session", "role session (guard)", "service", "ecr", "ecr (guard)", "end to end"]) {
                expect(combined.granted[kind], `granted ${kind}`).to.be.greaterThan(0);
            }
        });
    });

    describe("a documented limitation (the ECR stack warns about it)", () => {
        it("a cluster in the registry account: its node role pulls repositories no grant names", async () => {
            // The stacks accept a cluster whose account is the registry's. Same-account
            // requests need only the identity policy, and the node role's
            // AmazonEC2ContainerRegistryPullOnly allows the pull actions on "*": the
            // repository policies cannot narrow it. Cross-account, the same fleet is exact.
            const fleet = (account: string): FleetModel => ({
                registryAccount: "111122223333",
                region: "eu-west-1",
                clusters: [
                    {
                        stack: "acme/ecrpull/eks",
                        account,
                        region: "eu-west-1",
                        name: "apps",
                        issuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA0000AAAA0000AAAA0000AAAA0000",
                        nodeRoleArns: [`arn:aws:iam::${account}:role/apps-nodes`],
                        created: false,
                        workloads: [{ namespace: "ci", serviceAccount: "builder", grant: "ci", path: "federation" }],
                    },
                ],
                grants: [
                    {
                        name: "ci",
                        path: "federation",
                        shards: 1,
                        clusters: ["acme/ecrpull/eks"],
                        serviceAccounts: [{ namespace: "ci", name: "builder" }],
                        repositories: ["ci/cache"],
                    },
                ],
                repositories: ["ci/cache", "secret/vault"],
            });
            const nodeMismatches = async (account: string) => {
                const model = fleet(account);
                const result = await checkFleet(model, documentsFromPlans(model), new IamSimulator(), { sections: ["ecr"] });
                return result.mismatches.filter((m) => m.includes(":role/apps-nodes "));
            };
            expect(await nodeMismatches("444455556666")).to.deep.equal([]);
            // What its own AmazonEC2ContainerRegistryPullOnly grants on any repository of its account: the two calls of a pull.
            expect(await nodeMismatches("111122223333")).to.deep.equal(
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"].map(
                    (action) => `ecr: arn:aws:iam::111122223333:role/apps-nodes ${action} secret/vault: simulator says ALLOWED, the config does not`,
                ),
            );
        });
    });
});

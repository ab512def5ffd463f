/**
 * Fleet behaviour with both programs wired: a grant split across several
 * pull roles still gives every service account a role that admits it (and
 * only its own), growing the fleet moves nobody, patterns are explicit, and a
 * fleet over a quota is refused before anything is created.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { shardOf } from "../components/iam/names";
import { RecordedResource, resourcesBeforeFailure } from "../tools/engine/mock-engine";
import { EksStackRun, runEcrStack, runEksStack, runTwoStacks, TwoStackRun } from "../tools/engine/two-stacks";
import { allows, webIdentity } from "./support/iam";
import { REGION, REGISTRY_ACCOUNT } from "./support/fixtures";

const stackName = (i: number) => `acme/ecrpull/eks-${i}`;
const accountOf = (i: number) => String(300000000000 + Math.floor(i / 2));
const issuerOf = (i: number) => `https://oidc.eks.${REGION}.amazonaws.com/id/${String(i).padStart(32, "0")}`;
const hostPath = (url: string) => url.replace(/^https:\/\//, "");

/** An adopted cluster, two per account, with the workloads of grant "platform". */
function cluster(i: number, shards: number, serviceAccount = "puller"): EksStackRun {
    return {
        name: stackName(i),
        accountId: accountOf(i),
        region: REGION,
        existingClusters: { [`c${i}`]: { issuerUrl: issuerOf(i) } },
        config: {
            "ecrpull:registryAccountId": REGISTRY_ACCOUNT,
            "ecrpull:cluster": { name: `c${i}`, create: false, nodeRoleArns: [`arn:aws:iam::${accountOf(i)}:role/nodes-c${i}`] },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:workloads": [{ namespace: "platform", serviceAccount, grant: "platform", shards }],
        },
    };
}

function registry(clusters: number, shards: number, grant: Record<string, unknown> = {}) {
    const stacks = Array.from({ length: clusters }, (_, i) => stackName(i));
    return {
        accountId: REGISTRY_ACCOUNT,
        region: REGION,
        config: {
            "ecrpull:clusterStacks": stacks,
            "ecrpull:repositories": [{ name: "platform/base" }],
            "ecrpull:grants": [
                {
                    name: "platform",
                    shards,
                    clusters: stacks,
                    serviceAccounts: [{ namespace: "platform", name: "puller" }],
                    repositories: ["platform/base"],
                    ...grant,
                },
            ],
        },
    };
}

const annotationOf = (resources: readonly RecordedResource[]) =>
    resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount")!.inputs.metadata.annotations["eks.amazonaws.com/role-arn"] as string;
const rolesOf = (run: TwoStackRun) => run.ecr.resources.filter((r) => r.type === "aws:iam/role:Role");
const providerOf = (i: number) => `arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${hostPath(issuerOf(i))}`;

describe("a federated grant split across shards, both stacks wired", function () {
    this.timeout(60000);
    const CLUSTERS = 10;
    const SHARDS = 8;
    let run: TwoStackRun;

    before(async () => {
        run = await runTwoStacks(
            Array.from({ length: CLUSTERS }, (_, i) => cluster(i, SHARDS)),
            registry(CLUSTERS, SHARDS),
        );
    });

    it("keeps every trust policy within the limit that one role could not", async () => {
        for (const role of rolesOf(run)) {
            expect(role.inputs.assumeRolePolicy.length).to.be.at.most(2048);
        }
        let message = "";
        try {
            await runTwoStacks(
                Array.from({ length: CLUSTERS }, (_, i) => cluster(i, 1)),
                registry(CLUSTERS, 1),
            );
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).to.match(
            /the trust policy of ecr-pull-platform \(grant "platform", 10 clusters\) is \d+ characters; AWS allows 2048: set shards: \d+ on grant "platform"/,
        );
    });

    it("annotates each cluster's service account with a role that exists and admits it, and no other role does", () => {
        const roles = rolesOf(run);
        expect(new Set(run.eks.map((e) => annotationOf(e.resources))).size).to.be.greaterThan(1);
        run.eks.forEach((eks, i) => {
            const annotation = annotationOf(eks.resources);
            const shard = shardOf(`arn:aws:eks:${REGION}:${accountOf(i)}:cluster/c${i}`, SHARDS);
            expect(annotation).to.equal(`arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-platform${shard === 0 ? "" : `.${shard}`}`);
            const request = webIdentity(providerOf(i), hostPath(issuerOf(i)), "platform", "puller");
            for (const role of roles) {
                const arn = `arn:aws:iam::${REGISTRY_ACCOUNT}:role/${role.inputs.name}`;
                expect(allows(role.inputs.assumeRolePolicy, request), `${stackName(i)} via ${role.inputs.name}`).to.equal(arn === annotation);
            }
        });
    });

    it("lets every shard's role pull the grant's repositories", () => {
        const policy = run.ecr.resources.find((r) => r.type === "aws:ecr/repositoryPolicy:RepositoryPolicy")!.inputs.policy;
        const grantRoles = JSON.parse(policy).Statement.find((s: { Sid: string }) => s.Sid === "PullByGrantRoles").Condition.ArnEquals["aws:PrincipalArn"];
        expect([...grantRoles].sort()).to.deep.equal(
            rolesOf(run)
                .map((r) => `arn:aws:iam::${REGISTRY_ACCOUNT}:role/${r.inputs.name}`)
                .sort(),
        );
    });

    it("exports every shard's pull role, keyed like the role names", () => {
        const exported = run.ecr.outputs.pullRoleArns as Record<string, string>;
        const expected = Object.fromEntries(
            rolesOf(run).map((r) => [String(r.inputs.name).replace(/^ecr-pull-/, ""), `arn:aws:iam::${REGISTRY_ACCOUNT}:role/${r.inputs.name}`]),
        );
        expect(Object.keys(expected).length).to.be.greaterThan(1);
        expect(exported).to.deep.equal(expected);
    });

    it("adding a cluster moves no other cluster's workloads to another role", async () => {
        const grown = await runTwoStacks(
            Array.from({ length: CLUSTERS + 1 }, (_, i) => cluster(i, SHARDS)),
            registry(CLUSTERS + 1, SHARDS),
        );
        for (let i = 0; i < CLUSTERS; i++) {
            expect(annotationOf(grown.eks[i].resources), stackName(i)).to.equal(annotationOf(run.eks[i].resources));
        }
    });

    it("refuses a cluster whose workloads name another number of shards, with the fix", async () => {
        const references = Object.fromEntries(run.eks.map((e, i) => [stackName(i), e.outputs as Record<string, unknown>]));
        const odd = (await runEksStack(cluster(3, 1))).outputs;
        let message = "";
        try {
            await runEcrStack(registry(CLUSTERS, SHARDS), { ...references, [stackName(3)]: odd as Record<string, unknown> });
        } catch (e) {
            message = (e as Error).message;
        }
        const expected = shardOf(`arn:aws:eks:${REGION}:${accountOf(3)}:cluster/c3`, SHARDS);
        if (expected === 0) {
            expect(message, "shard 0 is the same role with or without shards").to.equal("");
        } else {
            expect(message).to.contain(
                `set shards: ${SHARDS} on the workloads of grant "platform" in stack "${stackName(3)}" (ecrpull:workloads), as the grant has.`,
            );
        }
    });

    it("gives byte-identical resource inputs when run twice", async () => {
        const references = Object.fromEntries(run.eks.map((e, i) => [stackName(i), e.outputs as Record<string, unknown>]));
        const again = await runEcrStack(registry(CLUSTERS, SHARDS), references);
        const inputs = (resources: readonly RecordedResource[]) => resources.map((r) => `${r.type}::${r.name}::${JSON.stringify(r.inputs)}`).sort();
        expect(inputs(again.resources)).to.deep.equal(inputs(run.ecr.resources));
    });
});

describe("service-account patterns", function () {
    this.timeout(60000);

    async function ecrMessage(grant: Record<string, unknown>): Promise<{ message: string; run?: TwoStackRun }> {
        try {
            const run = await runTwoStacks([cluster(0, 1)], registry(1, 1, grant));
            return { message: "", run };
        } catch (e) {
            return { message: (e as Error).message };
        }
    }

    it("refuses a pattern unless the grant allows patterns", async () => {
        const { message } = await ecrMessage({ serviceAccounts: [{ namespace: "platform", name: "*" }] });
        expect(message).to.equal(
            'Stack "ecr" (ECR program): ecrpull:grants[0].serviceAccounts[0] "platform/*" is a pattern, and patterns admit service accounts nobody listed: name the service accounts exactly, or set allowPatterns: true on the grant to match with StringLike.',
        );
    });

    it("matches a namespace-wide pattern with StringLike, and nothing outside the namespace", async () => {
        const { run } = await ecrMessage({ allowPatterns: true, serviceAccounts: [{ namespace: "platform", name: "*" }] });
        const trust = rolesOf(run!)[0].inputs.assumeRolePolicy;
        expect(JSON.parse(trust).Statement[0].Condition.StringLike).to.deep.equal({ [`${hostPath(issuerOf(0))}:sub`]: "system:serviceaccount:platform:*" });
        expect(allows(trust, webIdentity(providerOf(0), hostPath(issuerOf(0)), "platform", "anything"))).to.equal(true);
        expect(allows(trust, webIdentity(providerOf(0), hostPath(issuerOf(0)), "platform-2", "puller"))).to.equal(false);
        expect(allows(trust, webIdentity(providerOf(0), hostPath(issuerOf(0)), "platform", "puller", "other-audience"))).to.equal(false);
    });

    it("refuses a pattern that opens the grant to every service account of a cluster unless explicitly allowed", async () => {
        const every = { allowPatterns: true, serviceAccounts: [{ namespace: "*", name: "*" }] };
        expect((await ecrMessage(every)).message).to.equal(
            'Stack "ecr" (ECR program): ecrpull:grants[0].serviceAccounts[0] "*/*" admits every service account of every namespace of the grant\'s clusters: narrow it, or set allowEveryServiceAccount: true on the grant if that is really meant.',
        );
        const { run } = await ecrMessage({ ...every, allowEveryServiceAccount: true });
        expect(allows(rolesOf(run!)[0].inputs.assumeRolePolicy, webIdentity(providerOf(0), hostPath(issuerOf(0)), "kube-system", "anything"))).to.equal(true);
    });
});

describe("a fleet over a registry quota", function () {
    this.timeout(120000);

    it("is refused at preview with the count, the quota and the remedy", async () => {
        // 101 federated clusters need 101 OIDC providers; the default quota is 100.
        const clusters = 101;
        const references: Record<string, Record<string, unknown>> = {};
        const eks = (await runEksStack(cluster(0, 64))).outputs as Record<string, unknown>;
        for (let i = 0; i < clusters; i++) {
            const arn = `arn:aws:eks:${REGION}:${accountOf(i)}:cluster/c${i}`;
            const shard = shardOf(arn, 64);
            references[stackName(i)] = {
                ...eks,
                oidcIssuerUrl: issuerOf(i),
                accountId: accountOf(i),
                clusterName: `c${i}`,
                clusterArn: arn,
                nodeRoleArns: [`arn:aws:iam::${accountOf(i)}:role/nodes-c${i}`],
                workloads: [
                    {
                        namespace: "platform",
                        serviceAccount: "puller",
                        grant: "platform",
                        path: "federation",
                        roleArn: `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-platform${shard === 0 ? "" : `.${shard}`}`,
                        clusterRoleArn: "",
                    },
                ],
            };
        }
        let message = "";
        let registered: readonly RecordedResource[] = [];
        try {
            await runEcrStack(registry(clusters, 64), references);
        } catch (e) {
            message = String(e);
            registered = resourcesBeforeFailure(e);
        }
        // Nothing in AWS: only the stack references were read and the component began.
        expect(registered.length).to.be.greaterThan(0);
        expect(registered.filter((r) => !["pulumi:pulumi:StackReference", "ecrpull:index:RegistryAccess"].includes(r.type))).to.deep.equal([]);
        expect(message).to.contain(
            'the registry account would hold 101 OIDC providers (one per cluster of a federated grant); the quota is 100: raise the IAM quota "OpenID Connect providers per account" (up to 700) and set limits.oidcProviders, or switch grants to path "chaining" or "podIdentity", which need none (federated: platform).',
        );
        // The same fleet in an account that raised its quotas plans clean.
        const limits = { oidcProviders: 700, trustPolicy: 4096 };
        const raised = await runEcrStack({ ...registry(clusters, 64), config: { ...registry(clusters, 64).config, "ecrpull:limits": limits } }, references);
        expect(raised.resources.filter((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider")).to.have.length(101);
    });
});

describe("a cluster in the registry account", () => {
    it("is accepted with a warning that its node roles can pull every repository of the account", async () => {
        const warnings: string[] = [];
        const warn = pulumi.log.warn;
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string) => {
            warnings.push(message);
        };
        try {
            const inRegistry = { ...cluster(0, 1), accountId: REGISTRY_ACCOUNT };
            inRegistry.config = {
                ...inRegistry.config,
                "ecrpull:cluster": { name: "c0", create: false, nodeRoleArns: [`arn:aws:iam::${REGISTRY_ACCOUNT}:role/nodes-c0`] },
            };
            await runTwoStacks([inRegistry], registry(1, 1));
        } finally {
            (pulumi.log as { warn: typeof pulumi.log.warn }).warn = warn;
        }
        expect(warnings).to.deep.equal([
            `cluster "${stackName(0)}" runs in the registry account ${REGISTRY_ACCOUNT}: its node roles' own ECR policy lets them pull every repository of this account, whatever the repository policies say. Run clusters in other accounts for per-repository node pulls.`,
        ]);
    });
});

/**
 * Faults at the edges of the two programs: stack references whose outputs are
 * secret or not known yet, repositories that must survive config changes and
 * deletes, and the thumbprint fetch behind a proxy. Network traffic stays on
 * 127.0.0.1.
 */
import { expect } from "chai";
import * as net from "net";
import { fetchOidcThumbprint, ThumbprintError } from "../components/cluster/thumbprint";
import { ValidationError } from "../components/validation";
import { RecordedResource, resourcesBeforeFailure } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack } from "../tools/engine/two-stacks";
import { clusterA, clusterB, registry, STACK_A, STACK_B } from "./support/fixtures";

/** The engine's marker of a secret value, as a StackReference hands secret outputs over. */
const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });
/** The SDK's marker of a value not known yet (runtime/rpc.ts unknownValue). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

type Outputs = Record<string, unknown>;
const byType = (resources: readonly RecordedResource[], type: string) => resources.filter((r) => r.type === type);
/** Every custom resource's inputs by type and logical name (StackReferences aside). */
const inputsOf = (resources: readonly RecordedResource[]) =>
    new Map(resources.filter((r) => r.custom && r.type !== "pulumi:pulumi:StackReference").map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
const changedBetween = (before: readonly RecordedResource[], after: readonly RecordedResource[]) => {
    const [x, y] = [inputsOf(before), inputsOf(after)];
    return [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k)).sort();
};

async function failureOf(run: Promise<unknown>): Promise<Error & { recordedResources?: RecordedResource[] }> {
    try {
        await run;
    } catch (e) {
        return e as Error;
    }
    throw new Error("expected the run to fail");
}

describe("faults", () => {
    let outputsA: Outputs;
    let outputsB: Outputs;
    let baseline: Awaited<ReturnType<typeof runEcrStack>>;

    before(async () => {
        outputsA = (await runEksStack(clusterA())).outputs as Outputs;
        outputsB = (await runEksStack(clusterB())).outputs as Outputs;
        baseline = await runEcrStack(registry(), { [STACK_A]: outputsA, [STACK_B]: outputsB });
    });

    describe("(a) stack references whose outputs are secret", () => {
        it("reads every output of both stacks as secrets, nested ones too, and builds exactly what plain outputs build", async () => {
            const allSecret = (outputs: Outputs) => Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, secret(v)]));
            // A secret inside a value as well: one workload's role ARN.
            const workloadsB = (outputsB.workloads as Outputs[]).map((w, i) => (i === 0 ? { ...w, roleArn: secret(w.roleArn) } : w));
            const run = await runEcrStack(registry(), { [STACK_A]: allSecret(outputsA), [STACK_B]: { ...outputsB, workloads: workloadsB } });

            const providerUrls = byType(run.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").map((p) => p.inputs.url);
            expect(providerUrls.sort()).to.deep.equal([outputsA.oidcIssuerUrl, outputsB.oidcIssuerUrl].sort());
            const nodeRoleA = (outputsA.nodeRoleArns as string[])[0];
            const basePolicy = byType(run.resources, "aws:ecr/repositoryPolicy:RepositoryPolicy").find((p) => p.name === "registry-platform/base-policy")!;
            expect(basePolicy.inputs.policy).to.contain(nodeRoleA);
            expect(changedBetween(baseline.resources, run.resources)).to.deep.equal([]);
            expect(run.outputs.pullRoleArns).to.deep.equal(baseline.outputs.pullRoleArns);
        });
    });

    describe("(b) a preview while an EKS stack's outputs are partly unknown", () => {
        /** Reference outputs as the engine hands over values it does not know: the unknown marker. */
        const withUnknown = (outputs: Outputs, keys: readonly string[]) => ({ ...outputs, ...Object.fromEntries(keys.map((k) => [k, UNKNOWN])) });

        it("the EKS preview of a new cluster plans, leaving the issuer and the node roles unknown", async () => {
            const preview = await runEksStack(clusterA(), true);
            const unknown = Object.entries(preview.outputs)
                .filter(([, v]) => v === undefined)
                .map(([k]) => k);
            expect(unknown.sort()).to.deep.equal(["nodeRoleArns", "oidcIssuerUrl"]);
            expect(byType(preview.resources, "kubernetes:core/v1:ServiceAccount")).to.have.length(3);
        });

        const NOT_KNOWN = `stack "${STACK_A}" outputs are not known in this preview: preview again once that stack's update has finished, so that its outputs can be checked.`;

        it("the ECR preview refuses with one message naming the stack whose outputs are not known yet, not a stack trace, and creates nothing", async () => {
            const preview = (await runEksStack(clusterA(), true)).outputs as Outputs;
            const unknownKeys = Object.keys(preview).filter((k) => preview[k] === undefined);
            const references = { [STACK_A]: withUnknown(preview, unknownKeys), [STACK_B]: outputsB };
            const error = await failureOf(runEcrStack(registry(), references, true));

            expect(error).to.be.instanceOf(ValidationError);
            expect(error.message).to.equal(`Stack "ecr" (ECR program): ${NOT_KNOWN}`);
            expect(resourcesBeforeFailure(error).map((r) => r.type)).to.deep.equal(["pulumi:pulumi:StackReference", "pulumi:pulumi:StackReference"]);
        });

        it("only oidcIssuerUrl unknown (deployed stack): the preview says the outputs are not known yet, rather than missing", async () => {
            const error = await failureOf(runEcrStack(registry(), { [STACK_A]: withUnknown(outputsA, ["oidcIssuerUrl"]), [STACK_B]: outputsB }, true));
            expect(error).to.be.instanceOf(ValidationError);
            expect(error.message).to.equal(`Stack "ecr" (ECR program): ${NOT_KNOWN}`);
            expect(resourcesBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:StackReference")).to.deep.equal([]);
        });

        it("only oidcIssuerUrl unknown during an update: exactly that output is reported", async () => {
            const error = await failureOf(runEcrStack(registry(), { [STACK_A]: withUnknown(outputsA, ["oidcIssuerUrl"]), [STACK_B]: outputsB }));
            expect(error).to.be.instanceOf(ValidationError);
            expect(error.message).to.equal(
                `Stack "ecr" (ECR program): stack "${STACK_A}" output oidcIssuerUrl is missing: run \`pulumi up\` on stack "${STACK_A}" with this package's EKS program first; it exports contractVersion, oidcIssuerUrl, oidcThumbprint, accountId, region, clusterName, clusterArn, nodeRoleArns, workloads.`,
            );
        });
    });

    describe("(c) repositories", () => {
        const repositories = (run: { resources: readonly RecordedResource[] }) => byType(run.resources, "aws:ecr/repository:Repository");
        const repositoryConfig = () => registry().config["ecrpull:repositories"] as Outputs[];
        const withRepository = (name: string, change: Outputs) =>
            registry({ "ecrpull:repositories": repositoryConfig().map((r) => (r.name === name ? { ...r, ...change } : r)) });
        const references = () => ({ [STACK_A]: outputsA, [STACK_B]: outputsB });

        it("retains every repository on delete and refuses to delete one with images, unless its config says otherwise", async () => {
            const expected = (config: Outputs) => ({ retainOnDelete: config.retainOnDelete ?? true, forceDelete: config.forceDelete ?? false });
            const check = (run: { resources: readonly RecordedResource[] }, configs: Outputs[]) => {
                const found = repositories(run);
                expect(found.map((r) => r.inputs.name).sort()).to.deep.equal(configs.map((c) => c.name).sort());
                for (const repository of found) {
                    const config = configs.find((c) => c.name === repository.inputs.name)!;
                    expect({ retainOnDelete: repository.retainOnDelete, forceDelete: repository.inputs.forceDelete }, String(config.name)).to.deep.equal(
                        expected(config),
                    );
                }
            };
            // The fixture: payments/api says retainOnDelete: false, the others say nothing.
            check(baseline, repositoryConfig());
            expect(
                repositories(baseline)
                    .filter((r) => r.retainOnDelete)
                    .map((r) => r.inputs.name)
                    .sort(),
            ).to.deep.equal(["archive/legacy", "ci/cache", "ml/models", "platform/base"]);

            const overridden = repositoryConfig().map((r) =>
                r.name === "archive/legacy" ? { ...r, forceDelete: true } : r.name === "ml/models" ? { ...r, retainOnDelete: true, forceDelete: false } : r,
            );
            const run = await runEcrStack(registry({ "ecrpull:repositories": overridden }), references());
            check(run, overridden);
            expect(repositories(run).find((r) => r.inputs.name === "archive/legacy")!.inputs.forceDelete).to.equal(true);
        });

        for (const [setting, change, changes] of [
            ["scanOnPush", { scanOnPush: false }, ["aws:ecr/repository:Repository::registry-ml/models-repository"]],
            // ml/models keeps `latest` and `nightly-*` mutable; the other way round is an update in place too.
            ["imageTagMutability", { imageTagMutability: "MUTABLE_WITH_EXCLUSION" }, ["aws:ecr/repository:Repository::registry-ml/models-repository"]],
            ["keepLastImages", { keepLastImages: 50 }, ["aws:ecr/lifecyclePolicy:LifecyclePolicy::registry-ml/models-lifecycle"]],
        ] as const) {
            it(`changing ${setting} changes only that repository's inputs, never its logical name or its name`, async () => {
                const run = await runEcrStack(withRepository("ml/models", change), references());
                expect(changedBetween(baseline.resources, run.resources)).to.deep.equal(changes);
                // Same logical names and URNs: the engine updates in place.
                const identities = (resources: readonly RecordedResource[]) => resources.map((r) => `${r.type}::${r.name}::${r.urn}`).sort();
                expect(identities(run.resources)).to.deep.equal(identities(baseline.resources));
                const [before, after] = [baseline, run].map((r) => repositories(r).find((x) => x.name === "registry-ml/models-repository")!);
                // Name and encryption are replace-on-change properties of aws.ecr.Repository; retention must hold too.
                expect(after.inputs.name).to.equal(before.inputs.name);
                expect(after.inputs.encryptionConfigurations).to.deep.equal(before.inputs.encryptionConfigurations);
                expect([after.retainOnDelete, after.inputs.forceDelete]).to.deep.equal([before.retainOnDelete, before.inputs.forceDelete]);
                if (setting === "scanOnPush") expect(after.inputs.imageScanningConfiguration).to.deep.equal({ scanOnPush: false });
                if (setting === "imageTagMutability") expect(after.inputs.imageTagMutability).to.equal("MUTABLE_WITH_EXCLUSION");
                if (setting === "keepLastImages") {
                    const lifecycle = byType(run.resources, "aws:ecr/lifecyclePolicy:LifecyclePolicy").find((p) => p.name === "registry-ml/models-lifecycle")!;
                    expect(JSON.stringify(JSON.parse(lifecycle.inputs.policy))).to.contain('"countNumber":50');
                }
            });
        }
    });

    describe("(d) the thumbprint fetch behind HTTPS_PROXY", () => {
        const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy"] as const;
        let saved: Partial<Record<(typeof PROXY_VARIABLES)[number], string>>;
        const sockets = new Set<net.Socket>();
        const servers: net.Server[] = [];

        /** A TCP server on 127.0.0.1 that accepts and counts connections and never answers. */
        async function silentServer(): Promise<{ port: number; accepted: () => number }> {
            let accepted = 0;
            const server = net.createServer((socket) => {
                accepted++;
                sockets.add(socket);
                socket.on("close", () => sockets.delete(socket));
            });
            servers.push(server);
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted };
        }
        /** A port on 127.0.0.1 nothing listens on. */
        async function closedPort(): Promise<number> {
            const probe = net.createServer();
            await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
            const { port } = probe.address() as net.AddressInfo;
            await new Promise<void>((resolve) => probe.close(() => resolve()));
            return port;
        }
        async function thumbprintError(run: Promise<string>): Promise<ThumbprintError> {
            const error = await failureOf(run);
            expect(error).to.be.instanceOf(ThumbprintError);
            return error as ThumbprintError;
        }

        beforeEach(() => {
            saved = Object.fromEntries(PROXY_VARIABLES.map((v) => [v, process.env[v]]));
            for (const v of PROXY_VARIABLES) delete process.env[v];
        });
        afterEach(async () => {
            for (const v of PROXY_VARIABLES) {
                if (saved[v] === undefined) delete process.env[v];
                else process.env[v] = saved[v];
            }
            for (const socket of sockets) socket.destroy();
            await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        });

        it("an issuer that never answers, HTTPS_PROXY on a closed local port: times out within the timeout and says the proxy is not used", async () => {
            const issuer = await silentServer();
            process.env.HTTPS_PROXY = `http://127.0.0.1:${await closedPort()}`;
            const started = Date.now();
            const error = await thumbprintError(
                fetchOidcThumbprint(`https://127.0.0.1:${issuer.port}/id/EXAMPLE`, { timeoutMs: 300, attempts: 2, retryDelayMs: 20 }),
            );
            const elapsed = Date.now() - started;
            // Two attempts of 300 ms and a 20 ms pause, with slack for a loaded machine.
            expect(elapsed).to.be.at.least(600).and.below(2000);
            expect(error.kind).to.equal("timeout");
            expect(issuer.accepted()).to.equal(2);
            expect(error.message).to.equal(
                `Could not compute the OIDC thumbprint of 127.0.0.1:${issuer.port} after 2 attempts: timeout (no TLS handshake within 300 ms). ` +
                    'Check network access to the issuer, or set ecrpull:oidcThumbprint to "omit" (IAM does not need a thumbprint for issuers whose certificate chains to a CA AWS trusts). ' +
                    "Note: HTTPS_PROXY is set, but this check makes a direct TLS connection to the issuer and does not go through the proxy.",
            );
        });

        it("a refused issuer with https_proxy on a listening local proxy: fails at once, with the note, and never talks to the proxy", async () => {
            const proxy = await silentServer();
            process.env.https_proxy = `http://127.0.0.1:${proxy.port}`;
            const port = await closedPort();
            const started = Date.now();
            const error = await thumbprintError(fetchOidcThumbprint(`https://127.0.0.1:${port}/id/EXAMPLE`, { timeoutMs: 300, attempts: 2, retryDelayMs: 20 }));
            expect(Date.now() - started).to.be.below(1000);
            expect(error.kind).to.equal("connection-refused");
            expect(error.message).to.contain(`127.0.0.1:${port} after 2 attempts: connection refused (ECONNREFUSED)`);
            expect(error.message).to.contain(
                "Note: https_proxy is set, but this check makes a direct TLS connection to the issuer and does not go through the proxy.",
            );
            expect(proxy.accepted()).to.equal(0);
        });
    });
});

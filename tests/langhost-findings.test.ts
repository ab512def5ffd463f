/**
 * What `pulumi up` does with the programs, checked on the real entry point
 * under the language-host harness (tests/support/langhost/): the findings
 * of issue 12. Each test states the correct behaviour; (a), (c) for a
 * missing cluster, (d) and (e) failed on the code of release 0.2 (a config
 * error printed with a stack trace; nothing but "error serializing property
 * kubeconfig"; fifteen resources created before the thumbprint failed; an
 * add-on and an annotation naming resources they did not depend on).
 */
import { expect } from "chai";
import { undeclaredDependencies } from "./support/langhost/dependencies";
import { EXIT_AFTER_USER_MESSAGE, LanghostRun, runLanghost } from "./support/langhost/run";
import {
    ADOPTED_WORLD,
    adoptedClusterConfig,
    CLUSTER_ACCOUNT,
    ClusterMode,
    dependencyRegistrations,
    describeRun,
    ecrRun,
    eksConfig,
    eksRun,
    REGION,
} from "./support/langhost/scenarios";
import { World } from "./support/langhost/world";

const errors = (run: LanghostRun) => run.diagnostics.filter((d) => d.severity === "error");
/** Resources the program asked to create (not the stack, not reads). */
const registered = (run: LanghostRun) => run.registrations.filter((r) => r.kind !== "stack" && r.kind !== "read");

/** What the CLI shows for an error the program already reported: the message alone. */
function expectShownAsMessageAlone(run: LanghostRun, message: RegExp | string): void {
    const context = describeRun(run);
    // run.js exits 32 after logging an error the user can act on; the language host then
    // bails without a further message (cmd/run/index.js, pulumi-language-nodejs).
    expect(run.exitCode, context).to.equal(EXIT_AFTER_USER_MESSAGE);
    const shown = errors(run);
    expect(shown, context).to.have.length(1);
    const text = shown[0].message;
    expect(text, "no 'unhandled exception' wrapper").not.to.contain("failed with an unhandled exception");
    expect(text, "no stack trace").not.to.match(/\n\s+at /);
    expect(text, "no error fields").not.to.match(/\bproblems: \[|\bsubject: /);
    if (typeof message === "string") {
        expect(text).to.equal(message);
    } else {
        expect(text).to.match(message);
    }
    expect(run.stderr, "nothing on stderr but the message").not.to.match(/failed to deliver log message|error serializing property|\n\s+at /);
}

describe("findings under the language host: the first `pulumi up`", function () {
    this.timeout(180_000);

    describe("(a) a config error is shown as its message alone, and the process exits as after a message shown to the user", () => {
        it("a wrong ecrpull:program", async () => {
            const run = await runLanghost({
                stack: "eks",
                config: eksConfig({ "ecrpull:program": "ekss" }),
                mode: "preview",
                accountId: CLUSTER_ACCOUNT,
                region: REGION,
            });
            expectShownAsMessageAlone(run, 'ecrpull:program is "ekss": set ecrpull:program to "eks" (cluster account) or "ecr" (registry account).');
            expect(registered(run)).to.deep.equal([]);
        });

        it("an invalid ecrpull:workloads entry", async () => {
            const run = await runLanghost({
                stack: "eks",
                config: eksConfig({ "ecrpull:workloads": [{ namespace: "CI", serviceAccount: "builder", grant: "ci-builders", path: "nope" }] }),
                mode: "preview",
                accountId: CLUSTER_ACCOUNT,
                region: REGION,
            });
            expectShownAsMessageAlone(
                run,
                /^Stack "eks" \(EKS program\): 2 problems:\n {2}- ecrpull:workloads\[0\]\.namespace "CI" .*\n {2}- ecrpull:workloads\[0\]\.path "nope" /,
            );
            expect(registered(run)).to.deep.equal([]);
        });
    });

    describe("(b) a new cluster with a podIdentity workload", () => {
        it("completes `up` in the engine's order: the add-on and the association are created after the cluster exists", async () => {
            const run = await eksRun("managed", "up");
            expect(run.exitCode, describeRun(run)).to.equal(0);
            expect(run.failures).to.deep.equal([]);
            const at = (type: string) => run.creations.find((c) => c.type === type)!;
            const cluster = at("eks:index:Cluster");
            const addon = at("aws:eks/addon:Addon");
            const association = at("aws:eks/podIdentityAssociation:PodIdentityAssociation");
            expect(addon.startedAt).to.be.at.least(cluster.finishedAt!);
            expect(association.startedAt).to.be.at.least(Math.max(cluster.finishedAt!, addon.finishedAt!));
        });
    });

    describe("(c) an adopted cluster (cluster.create: false)", () => {
        it("completes preview and up", async () => {
            for (const mode of ["preview", "up"] as const) {
                const run = await eksRun("adopted", mode);
                expect(run.exitCode, `${mode}\n${describeRun(run)}`).to.equal(0);
                expect(errors(run), mode).to.deep.equal([]);
                expect(run.stderr, mode).to.equal("");
            }
            const up = await eksRun("adopted", "up");
            expect(up.failures).to.deep.equal([]);
            expect(up.stackOutputs?.clusterName).to.equal("apps-b");
        });

        it("whose name does not exist gives a clear message naming the cluster", async () => {
            const run = await runLanghost({
                stack: "eks",
                config: adoptedClusterConfig("apps-missing"),
                mode: "preview",
                accountId: CLUSTER_ACCOUNT,
                region: REGION,
                world: new World(ADOPTED_WORLD),
            });
            expectShownAsMessageAlone(run, /apps-missing/);
            expect(errors(run)[0].message).to.match(/not found|does not exist|no (EKS )?cluster/i);
            expect(run.creations).to.deep.equal([]);
        });
    });

    describe("(d) oidcThumbprint: fetch with the issuer unreachable", () => {
        it("registers nothing before the error, and says which host could not be reached", async () => {
            const run = await runLanghost({
                stack: "eks",
                config: { ...adoptedClusterConfig(), "ecrpull:oidcThumbprint": "fetch" },
                mode: "up",
                accountId: CLUSTER_ACCOUNT,
                region: REGION,
                world: new World(ADOPTED_WORLD),
            });
            expectShownAsMessageAlone(run, /oidc\.eks\.eu-west-1\.amazonaws\.com/);
            expect(
                registered(run).map((r) => `${r.type}::${r.name}`),
                "registered before the error",
            ).to.deep.equal([]);
            expect(run.creations).to.deep.equal([]);
        });
    });

    describe("(e) every input that names another resource of the program depends on it", () => {
        for (const mode of ["managed", "adopted"] as ClusterMode[]) {
            it(`eks program, ${mode} cluster`, async () => {
                const run = await eksRun(mode, "up");
                expect(run.exitCode, describeRun(run)).to.equal(0);
                expect(undeclaredDependencies(dependencyRegistrations(run))).to.deep.equal([]);
            });
            it(`ecr program, reading the ${mode} cluster's stack`, async () => {
                const run = await ecrRun(mode, "up");
                expect(run.exitCode, describeRun(run)).to.equal(0);
                expect(undeclaredDependencies(dependencyRegistrations(run))).to.deep.equal([]);
            });
        }
    });
});

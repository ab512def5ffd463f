/**
 * The pod settings of each path, and the helpers that add them to a pod
 * spec. Whether real clients end as the pull role with them is
 * tests/real-clients.test.ts's to prove; here: the exact fragment, and that
 * adding it never overwrites what a pod spec already says.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import {
    applyPodSettings,
    chainedAwsConfig,
    PodSpecConflictError,
    PodSpecLike,
    podSettingsFor,
    withPullAccess,
    withPullAccessInTemplate,
    WorkloadPodSettings,
} from "../components/cluster/pod-settings";

const CHAINED = podSettingsFor({ namespace: "payments", serviceAccount: "release-deployer", grant: "payments", path: "chaining" }, "ecr-pull-payments");
const FEDERATED = podSettingsFor({ namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders", path: "federation" });

const container = (name: string, extra: Record<string, unknown> = {}): PodSpecLike["containers"][number] => ({
    name,
    image: "public.ecr.aws/aws-cli/aws-cli:2.22.0",
    ...extra,
});

describe("pod settings", () => {
    it("gives a chained workload the token, the AWS config and the profile, and nothing that the IRSA webhook would add", () => {
        expect(CHAINED).to.deep.equal({
            serviceAccountName: "release-deployer",
            namespace: "payments",
            grant: "payments",
            path: "chaining",
            volumes: [
                {
                    name: "aws-iam-token",
                    projected: { sources: [{ serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } }] },
                },
                { name: "ecr-pull-config", configMap: { name: "ecr-pull-payments", items: [{ key: "config", path: "config" }] } },
            ],
            volumeMounts: [
                { name: "aws-iam-token", mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount", readOnly: true },
                { name: "ecr-pull-config", mountPath: "/etc/ecr-pull", readOnly: true },
            ],
            env: [
                { name: "AWS_CONFIG_FILE", value: "/etc/ecr-pull/config" },
                { name: "AWS_PROFILE", value: "ecr-pull" },
                { name: "AWS_SDK_LOAD_CONFIG", value: "1" },
            ],
        });
        const names = CHAINED.env.map((e) => e.name);
        expect(names).to.not.include("AWS_ROLE_ARN");
        expect(names).to.not.include("AWS_WEB_IDENTITY_TOKEN_FILE");
    });

    it("gives federated and Pod Identity workloads only their ServiceAccount: EKS injects the rest", () => {
        expect(FEDERATED).to.deep.equal({
            serviceAccountName: "image-builder",
            namespace: "ci",
            grant: "ci-builders",
            path: "federation",
            volumes: [],
            volumeMounts: [],
            env: [],
        });
        const pod = podSettingsFor({ namespace: "ml", serviceAccount: "model-sync", grant: "ml-models", path: "podIdentity" });
        expect([pod.volumes, pod.volumeMounts, pod.env]).to.deep.equal([[], [], []]);
    });

    it("refuses a chained workload without its ConfigMap", () => {
        expect(() => podSettingsFor({ namespace: "p", serviceAccount: "s", grant: "g", path: "chaining" })).to.throw("needs its grant's ConfigMap name");
    });

    it("writes an AWS config whose token file is the mounted one, with the cluster's region for STS", () => {
        const config = chainedAwsConfig("payments", "eu-west-1", "arn:aws:iam::444455556666:role/chain", "arn:aws:iam::111122223333:role/ecr-pull-payments");
        expect(config).to.contain("web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token\n");
        expect(config.match(/^region = eu-west-1$/gm)).to.have.length(2);
        expect(config).to.contain("[profile ecr-pull]\nrole_arn = arn:aws:iam::111122223333:role/ecr-pull-payments\nsource_profile = ecr-pull-source\n");
    });

    describe("applyPodSettings", () => {
        it("adds the ServiceAccount, volumes, mounts and env to every container, and is idempotent", () => {
            const spec: PodSpecLike = {
                containers: [container("app"), container("sidecar", { env: [{ name: "LOG", value: "debug" }] })],
                initContainers: [container("init")],
            };
            const once = applyPodSettings(spec, CHAINED);
            expect(once.serviceAccountName).to.equal("release-deployer");
            expect(once.volumes).to.deep.equal(CHAINED.volumes);
            for (const c of [...once.containers, ...once.initContainers!]) {
                expect(c.volumeMounts).to.deep.equal(CHAINED.volumeMounts);
                expect(c.env?.filter((e) => e.name.startsWith("AWS_"))).to.deep.equal(CHAINED.env);
            }
            expect(once.containers[1].env![0]).to.deep.equal({ name: "LOG", value: "debug" });
            expect(applyPodSettings(once, CHAINED)).to.deep.equal(once);
            expect(spec.containers[0]).to.not.have.property("env");
        });

        it("only the named containers get the mounts and env", () => {
            const spec = applyPodSettings<PodSpecLike>({ containers: [container("app"), container("proxy")] }, CHAINED, { containers: ["app"] });
            expect(spec.containers[0].env).to.have.length(3);
            expect(spec.containers[1]).to.not.have.property("env");
            expect(() => applyPodSettings({ containers: [container("app")] }, CHAINED, { containers: ["ap"] })).to.throw(
                PodSpecConflictError,
                'no container named "ap"',
            );
        });

        const conflicts: [string, Record<string, unknown>, string][] = [
            ["another ServiceAccount", { serviceAccountName: "default", containers: [container("app")] }, 'it runs as ServiceAccount "default"'],
            [
                "AWS_PROFILE set to something else",
                { containers: [container("app", { env: [{ name: "AWS_PROFILE", value: "other" }] })] },
                'container "app" sets AWS_PROFILE to something else than "ecr-pull"',
            ],
            [
                "AWS_ROLE_ARN, which the Go SDK takes before the profile",
                { containers: [container("app", { env: [{ name: "AWS_ROLE_ARN", value: "arn:aws:iam::1:role/x" }] })] },
                'container "app" sets AWS_ROLE_ARN, which the Go and Java SDKs use before the AWS profile: remove it.',
            ],
            [
                "another volume at the token's path",
                {
                    containers: [container("app", { volumeMounts: [{ name: "irsa-token", mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount" }] })],
                },
                "already mounts irsa-token at /var/run/secrets/eks.amazonaws.com/serviceaccount, where the grant needs aws-iam-token",
            ],
            [
                "a volume of the same name",
                { containers: [container("app")], volumes: [{ name: "ecr-pull-config", emptyDir: {} }] },
                'already has a volume "ecr-pull-config"',
            ],
        ];
        for (const [what, spec, message] of conflicts) {
            it(`refuses a pod spec with ${what}`, () => {
                expect(() => applyPodSettings(spec as never, CHAINED)).to.throw(PodSpecConflictError, message);
            });
        }

        it("lets a federated pod keep its own AWS variables: it has no profile to protect", () => {
            const spec = applyPodSettings<PodSpecLike>({ containers: [container("app", { env: [{ name: "AWS_REGION", value: "eu-west-1" }] })] }, FEDERATED);
            expect(spec.containers[0].env).to.deep.equal([{ name: "AWS_REGION", value: "eu-west-1" }]);
            expect(spec.serviceAccountName).to.equal("image-builder");
        });
    });

    describe("withPullAccess and withPullAccessInTemplate (Outputs)", () => {
        const valueOf = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply((v) => resolve(v)));

        it("take a pod spec and settings that are Outputs, as a StackReference gives them", async () => {
            const settings = pulumi.output(CHAINED as WorkloadPodSettings);
            const spec = await valueOf(
                withPullAccess(pulumi.output<PodSpecLike>({ containers: [container("app", { image: pulumi.output("x:1") })] }), settings),
            );
            expect(spec.containers[0].image).to.equal("x:1");
            expect(spec.containers[0].env).to.deep.equal(CHAINED.env);
            const deployment = await valueOf(
                withPullAccessInTemplate<{ replicas: number; selector: unknown; template: { metadata: unknown; spec?: PodSpecLike } }>(
                    {
                        replicas: 1,
                        selector: { matchLabels: { app: "sync" } },
                        template: { metadata: { labels: { app: "sync" } }, spec: { containers: [container("app")] } },
                    },
                    settings,
                ),
            );
            expect(deployment.replicas).to.equal(1);
            expect(deployment.template.spec!.serviceAccountName).to.equal("release-deployer");
            expect(deployment.template.spec!.volumes).to.deep.equal(CHAINED.volumes);
        });
    });
});

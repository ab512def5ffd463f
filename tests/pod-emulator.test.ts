/**
 * The pod emulator of tests/real-clients.test.ts, checked on its own: the
 * EKS pod identity webhook's rules (aws/amazon-eks-pod-identity-webhook,
 * pkg/handler/handler.go at HEAD 3bf80a3), the API server's refusal of a
 * duplicate mount path, and the tokens the kubelet projects.
 */
import { expect } from "chai";
import { parseJwt, verifyJwt } from "./support/aws/jwt";
import { clusterNamed, World, WorldAssociation } from "./support/aws/world";
import { admit, eksWebhookConfig, PodRejected } from "./support/pod/admission";
import { emulatePod } from "./support/pod/kubelet";
import { Container, Pod } from "./support/pod/types";
import { realClientsWorld } from "./support/pod-setups";

const SA = { metadata: { name: "app", namespace: "team", annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/r" } } };
const podWith = (container: Partial<Container> = {}, annotations: Record<string, string> = {}): Pod => ({
    metadata: { name: "p", namespace: "team", annotations },
    spec: { serviceAccountName: "app", containers: [{ name: "c", ...container }] },
});
const envOf = (pod: Pod) => Object.fromEntries((pod.spec.containers[0].env ?? []).map((e) => [e.name, e.value]));
const mountsOf = (pod: Pod) => (pod.spec.containers[0].volumeMounts ?? []).map((m) => `${m.name}@${m.mountPath}`);

describe("pod emulator (support for the real-clients tests)", function () {
    this.timeout(60000);
    let world: World;
    let config: ReturnType<typeof eksWebhookConfig>;

    before(async () => {
        world = await realClientsWorld();
        config = eksWebhookConfig(clusterNamed(world, "apps-a"));
    });

    it("IRSA: injects the role, token file, region and regional STS, and the aws-iam-token volume", () => {
        const pod = admit(podWith(), SA, [], config);
        expect(envOf(pod)).to.deep.equal({
            AWS_STS_REGIONAL_ENDPOINTS: "regional",
            AWS_DEFAULT_REGION: "eu-west-1",
            AWS_REGION: "eu-west-1",
            AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/r",
            AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        });
        expect(mountsOf(pod)).to.include("aws-iam-token@/var/run/secrets/eks.amazonaws.com/serviceaccount");
        expect(pod.spec.volumes![0]).to.deep.equal({
            name: "aws-iam-token",
            projected: { sources: [{ serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } }] },
        });
    });

    it("IRSA: adds neither variable when the container sets one of them, and no region when it sets one", () => {
        const pod = admit(
            podWith({
                env: [
                    { name: "AWS_ROLE_ARN", value: "mine" },
                    { name: "AWS_DEFAULT_REGION", value: "us-east-2" },
                ],
            }),
            SA,
            [],
            config,
        );
        expect(envOf(pod)).to.deep.equal({ AWS_ROLE_ARN: "mine", AWS_DEFAULT_REGION: "us-east-2", AWS_STS_REGIONAL_ENDPOINTS: "regional" });
    });

    it("IRSA: a container mounting something else at the token path gets a second mount there, which the API server refuses", () => {
        const pod = podWith({ volumeMounts: [{ name: "own", mountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount" }] });
        const withVolume: Pod = {
            ...pod,
            spec: {
                ...pod.spec,
                volumes: [{ name: "own", projected: { sources: [{ serviceAccountToken: { audience: "sts.amazonaws.com", path: "token" } }] } }],
            },
        };
        expect(() => admit(withVolume, SA, [], config)).to.throw(
            PodRejected,
            /volumeMounts\[\d\]\.mountPath: Invalid value: "\/var\/run\/secrets\/eks\.amazonaws\.com\/serviceaccount": must be unique/,
        );
    });

    it("IRSA: honours the audience, token-expiration and sts-regional-endpoints annotations and skip-containers", () => {
        const sa = {
            metadata: {
                ...SA.metadata,
                annotations: {
                    ...SA.metadata.annotations,
                    "eks.amazonaws.com/audience": "sigstore",
                    "eks.amazonaws.com/token-expiration": "600",
                    "eks.amazonaws.com/sts-regional-endpoints": "false",
                },
            },
        };
        const pod = admit(podWith(), sa, [], config);
        expect(pod.spec.volumes![0].projected!.sources[0].serviceAccountToken).to.deep.equal({ audience: "sigstore", expirationSeconds: 3600, path: "token" });
        expect(envOf(pod)).to.not.have.property("AWS_STS_REGIONAL_ENDPOINTS");
        const skipped = admit(podWith({}, { "eks.amazonaws.com/skip-containers": "c" }), SA, [], config);
        expect(envOf(skipped)).to.deep.equal({});
        expect(skipped.spec.volumes!.map((v) => v.name)).to.include("aws-iam-token");
    });

    it("Pod Identity takes precedence over the IRSA annotation: container credentials only, token for pods.eks.amazonaws.com", () => {
        const association = { namespace: "team", serviceAccount: "app" } as WorldAssociation;
        const pod = admit(podWith(), SA, [association], config);
        expect(envOf(pod)).to.deep.equal({
            AWS_STS_REGIONAL_ENDPOINTS: "regional",
            AWS_DEFAULT_REGION: "eu-west-1",
            AWS_REGION: "eu-west-1",
            AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
            AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
        });
        const token = pod.spec.volumes![0].projected!.sources[0].serviceAccountToken!;
        expect(token.audience).to.equal("pods.eks.amazonaws.com");
        expect(token.expirationSeconds).to.be.within(79200, 86400);
        expect(pod.metadata.labels).to.deep.equal({ "eks.amazonaws.com/pod-identity": "enabled" });
    });

    it("the kubelet projects RS256 tokens of the cluster's issuer, bound to the pod, with the atomic writer's layout", () => {
        const cluster = clusterNamed(world, "apps-a");
        const kube = world.kube.get(cluster.arn)!;
        const pod = emulatePod(world, {
            cluster,
            pod: { metadata: { name: "builder-0", namespace: "ci" }, spec: { serviceAccountName: "image-builder", containers: [{ name: "c" }] } },
            serviceAccounts: kube.serviceAccounts,
            configMaps: kube.configMaps,
            associations: [],
        });
        const irsa = pod.tokens.find((t) => t.path === "/var/run/secrets/eks.amazonaws.com/serviceaccount/token")!;
        expect(irsa.claims).to.include({ iss: cluster.issuerUrl, sub: "system:serviceaccount:ci:image-builder" });
        expect(irsa.claims.aud).to.deep.equal(["sts.amazonaws.com"]);
        expect((irsa.claims["kubernetes.io"] as { pod: { name: string; uid: string } }).pod).to.deep.equal({ name: "builder-0", uid: pod.uid });
        const file = pod.files.find((f) => f.path.startsWith("/var/run/secrets/eks.amazonaws.com/serviceaccount/..") && f.path.endsWith("/token"))!;
        expect(verifyJwt(parseJwt(file.content!)!, world.issuers.get(cluster.issuerUrl)!.key.publicKey)).to.equal(true);
        expect(pod.files.find((f) => f.path === "/var/run/secrets/eks.amazonaws.com/serviceaccount/token")).to.include({ symlink: "..data/token" });
        expect(pod.files.map((f) => f.path)).to.include("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
    });
});

/**
 * What the API server does to a Pod before the kubelet sees it, for the parts
 * that matter to AWS credentials:
 *
 * 1. The ServiceAccount admission plugin adds the `kube-api-access-*`
 *    projected volume (token, kube-root-ca.crt, namespace) at
 *    /var/run/secrets/kubernetes.io/serviceaccount in every container that
 *    has no mount there, unless automountServiceAccountToken is false.
 * 2. The EKS Pod Identity webhook (aws/amazon-eks-pod-identity-webhook),
 *    which serves both IRSA and EKS Pod Identity. Followed from its source at
 *    HEAD 3bf80a3 (2026-08): pkg/handler/handler.go (`buildPodPatchConfig`,
 *    `addEnvToContainer`, `getPodSpecPatch`), pkg/cache/cache.go (the
 *    ServiceAccount annotations), pkg/containercredentials/config.go,
 *    pkg/annotations.go, pkg/constants.go, main.go (flag defaults):
 *    - Pod Identity takes precedence: when an association exists for the
 *      pod's (namespace, service account) — EKS feeds the webhook that list —
 *      it injects AWS_CONTAINER_CREDENTIALS_FULL_URI and
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE and a projected token with
 *      audience pods.eks.amazonaws.com, and no IRSA variables at all.
 *    - Otherwise, a ServiceAccount annotated `eks.amazonaws.com/role-arn`
 *      gets AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE and the
 *      `aws-iam-token` volume (audience from `eks.amazonaws.com/audience`,
 *      default sts.amazonaws.com; expiration from `token-expiration`, at
 *      least 3600; `sts-regional-endpoints` overrides the flag).
 *    - Per container: if AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE is
 *      already set, neither is added (likewise the two container-credential
 *      variables); if AWS_REGION or AWS_DEFAULT_REGION is set, no region is
 *      added; AWS_STS_REGIONAL_ENDPOINTS is added only when not set. A
 *      container with all of them set is left alone. The volume mount is
 *      skipped only when the container already mounts a volume of the
 *      *same name*: a container mounting something else at the same path
 *      gets a second mount there, and the API server then refuses the Pod
 *      (step 3). Containers named in the pod annotation
 *      `eks.amazonaws.com/skip-containers` are skipped; the volume is added
 *      only when no volume of that name exists.
 *    - EKS runs the webhook with the cluster's region (`--aws-default-region`)
 *      and regional STS (docs/aws-facts.md: the injected env includes AWS_REGION,
 *      AWS_DEFAULT_REGION and AWS_STS_REGIONAL_ENDPOINTS); Pod Identity
 *      tokens get the default expiration with jitter (79200..86400 s).
 * 3. Validation: mount paths unique per container, volume names unique, every
 *    mount naming a volume.
 */
import { KubeServiceAccount, WorldAssociation, WorldCluster } from "../aws/world";
import { Container, EnvVar, Pod, PodSpec, Volume, VolumeMount } from "./types";

export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";
export const IRSA_MOUNT_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
export const POD_IDENTITY_MOUNT_PATH = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount";
export const POD_IDENTITY_FULL_URI = "http://169.254.170.23/v1/credentials";
export const KUBE_API_ACCESS_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface WebhookConfig {
    readonly annotationDomain: string;
    readonly region: string;
    readonly regionalSts: boolean;
    readonly defaultAudience: string;
    readonly tokenExpiration: number;
}

/** The webhook as EKS runs it for a cluster. */
export function eksWebhookConfig(cluster: WorldCluster): WebhookConfig {
    return { annotationDomain: "eks.amazonaws.com", region: cluster.region, regionalSts: true, defaultAudience: "sts.amazonaws.com", tokenExpiration: 86400 };
}

/** Thrown where the API server would refuse the Pod. */
export class PodRejected extends Error {}

interface PatchConfig {
    readonly containersToSkip: ReadonlySet<string>;
    readonly tokenExpiration: number;
    readonly useRegionalSts: boolean;
    readonly audience: string;
    readonly mountPath: string;
    readonly volumeName: string;
    readonly tokenPath: string;
    readonly webIdentityRoleArn?: string;
    readonly containerCredentialsFullUri?: string;
}

const MIN_TOKEN_EXPIRATION = 3600;
const DEFAULT_TOKEN_EXPIRATION = 86400;
const DEFAULT_MIN_TOKEN_EXPIRATION = 79200;

function parseBool(text: string | undefined): boolean | undefined {
    if (text === undefined) {
        return undefined;
    }
    // Go's strconv.ParseBool
    if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) {
        return true;
    }
    if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) {
        return false;
    }
    return undefined;
}

function tokenExpirationOf(text: string | undefined, fallback: number): number {
    if (text === undefined || !/^-?\d+$/.test(text)) {
        return fallback;
    }
    return Math.max(Number(text), MIN_TOKEN_EXPIRATION);
}

function buildPatchConfig(
    pod: Pod,
    serviceAccount: KubeServiceAccount | undefined,
    associations: readonly WorldAssociation[],
    config: WebhookConfig,
    jitter: () => number,
): PatchConfig | undefined {
    const annotations = serviceAccount?.metadata.annotations ?? {};
    const a = (name: string) => annotations[`${config.annotationDomain}/${name}`];
    const saExpiration = tokenExpirationOf(a("token-expiration"), config.tokenExpiration);
    const useRegionalSts = parseBool(a("sts-regional-endpoints")) ?? config.regionalSts;
    const podExpiration = (fallback: number) => tokenExpirationOf(pod.metadata.annotations?.[`${config.annotationDomain}/token-expiration`], fallback);
    const skipText = pod.metadata.annotations?.[`${config.annotationDomain}/skip-containers`];
    const containersToSkip = new Set(skipText ? skipText.split(",") : []);

    const hasAssociation = associations.some((x) => x.namespace === pod.metadata.namespace && x.serviceAccount === pod.spec.serviceAccountName);
    if (hasAssociation) {
        let tokenExpiration = podExpiration(saExpiration);
        if (tokenExpiration === DEFAULT_TOKEN_EXPIRATION) {
            tokenExpiration = DEFAULT_MIN_TOKEN_EXPIRATION + Math.floor(jitter() * (DEFAULT_TOKEN_EXPIRATION - DEFAULT_MIN_TOKEN_EXPIRATION + 1));
        }
        return {
            containersToSkip,
            tokenExpiration,
            useRegionalSts,
            audience: "pods.eks.amazonaws.com",
            mountPath: POD_IDENTITY_MOUNT_PATH,
            volumeName: "eks-pod-identity-token",
            tokenPath: "eks-pod-identity-token",
            containerCredentialsFullUri: POD_IDENTITY_FULL_URI,
        };
    }
    const roleArn = a("role-arn");
    if (!serviceAccount || !roleArn) {
        return undefined;
    }
    return {
        containersToSkip,
        tokenExpiration: podExpiration(saExpiration),
        useRegionalSts,
        audience: a("audience") ?? config.defaultAudience,
        mountPath: IRSA_MOUNT_PATH,
        volumeName: "aws-iam-token",
        tokenPath: "token",
        webIdentityRoleArn: roleArn,
    };
}

function addEnvToContainer(container: Container, tokenFilePath: string, patch: PatchConfig, region: string): Container {
    const env = [...(container.env ?? [])];
    const has = (names: string[]) => env.some((e) => names.includes(e.name));
    const webIdentityKeysDefined = has(["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
    const containerCredentialsKeysDefined = has(["AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]);
    const regionKeyDefined = has(["AWS_REGION", "AWS_DEFAULT_REGION"]);
    const regionalStsKeyDefined = has(["AWS_STS_REGIONAL_ENDPOINTS"]);
    if (
        ((patch.webIdentityRoleArn && webIdentityKeysDefined) || (patch.containerCredentialsFullUri && containerCredentialsKeysDefined)) &&
        regionKeyDefined &&
        regionalStsKeyDefined
    ) {
        return container;
    }
    const added: EnvVar[] = [];
    if (!regionalStsKeyDefined && patch.useRegionalSts) {
        added.push({ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" });
    }
    if (!regionKeyDefined && region !== "") {
        added.push({ name: "AWS_DEFAULT_REGION", value: region }, { name: "AWS_REGION", value: region });
    }
    if (patch.containerCredentialsFullUri) {
        if (!containerCredentialsKeysDefined) {
            added.push(
                { name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", value: patch.containerCredentialsFullUri },
                { name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", value: tokenFilePath },
            );
        }
    } else if (patch.webIdentityRoleArn && !webIdentityKeysDefined) {
        added.push({ name: "AWS_ROLE_ARN", value: patch.webIdentityRoleArn }, { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: tokenFilePath });
    }
    const mounts: VolumeMount[] = [...(container.volumeMounts ?? [])];
    if (!mounts.some((m) => m.name === patch.volumeName)) {
        mounts.push({ name: patch.volumeName, readOnly: true, mountPath: patch.mountPath });
    }
    return { ...container, env: [...env, ...added], volumeMounts: mounts };
}

/** The pod identity webhook's mutation (see the header). */
export function podIdentityWebhook(
    pod: Pod,
    serviceAccount: KubeServiceAccount | undefined,
    associations: readonly WorldAssociation[],
    config: WebhookConfig,
    jitter: () => number = Math.random,
): Pod {
    const patch = buildPatchConfig(pod, serviceAccount, associations, config, jitter);
    if (!patch) {
        return pod;
    }
    const tokenFilePath = `${patch.mountPath}/${patch.tokenPath}`;
    const mutate = (c: Container) => (patch.containersToSkip.has(c.name) ? c : addEnvToContainer(c, tokenFilePath, patch, config.region));
    const volumes: Volume[] = [...(pod.spec.volumes ?? [])];
    if (!volumes.some((v) => v.name === patch.volumeName)) {
        volumes.unshift({
            name: patch.volumeName,
            projected: { sources: [{ serviceAccountToken: { audience: patch.audience, expirationSeconds: patch.tokenExpiration, path: patch.tokenPath } }] },
        });
    }
    const labels = patch.containerCredentialsFullUri ? { ...(pod.metadata.labels ?? {}), "eks.amazonaws.com/pod-identity": "enabled" } : pod.metadata.labels;
    return {
        metadata: { ...pod.metadata, labels },
        spec: { ...pod.spec, volumes, containers: pod.spec.containers.map(mutate), initContainers: pod.spec.initContainers?.map(mutate) },
    };
}

/** The ServiceAccount admission plugin's `kube-api-access-*` volume. */
export function serviceAccountAdmission(pod: Pod, serviceAccount: KubeServiceAccount | undefined): Pod {
    if (!serviceAccount) {
        throw new PodRejected(
            `pods "${pod.metadata.name}" is forbidden: error looking up service account ${pod.metadata.namespace}/${pod.spec.serviceAccountName}: serviceaccount "${pod.spec.serviceAccountName}" not found`,
        );
    }
    if (pod.spec.automountServiceAccountToken === false) {
        return pod;
    }
    const name = "kube-api-access-ecrpl";
    const volume: Volume = {
        name,
        projected: {
            defaultMode: 0o644,
            sources: [
                { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
                { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
            ],
        },
    };
    const mount = (c: Container): Container =>
        (c.volumeMounts ?? []).some((m) => m.mountPath === KUBE_API_ACCESS_PATH)
            ? c
            : { ...c, volumeMounts: [...(c.volumeMounts ?? []), { name, mountPath: KUBE_API_ACCESS_PATH, readOnly: true }] };
    return {
        metadata: pod.metadata,
        spec: {
            ...pod.spec,
            volumes: [...(pod.spec.volumes ?? []), volume],
            containers: pod.spec.containers.map(mount),
            initContainers: pod.spec.initContainers?.map(mount),
        },
    };
}

/** The API server's validation of what the mutations produced. */
export function validatePodSpec(pod: Pod): void {
    const spec: PodSpec = pod.spec;
    const volumeNames = (spec.volumes ?? []).map((v) => v.name);
    const duplicateVolume = volumeNames.find((n, i) => volumeNames.indexOf(n) !== i);
    if (duplicateVolume) {
        throw new PodRejected(
            `Pod "${pod.metadata.name}" is invalid: spec.volumes[${volumeNames.lastIndexOf(duplicateVolume)}].name: Duplicate value: "${duplicateVolume}"`,
        );
    }
    for (const [ci, c] of spec.containers.entries()) {
        const mounts = c.volumeMounts ?? [];
        for (const [mi, m] of mounts.entries()) {
            if (!volumeNames.includes(m.name)) {
                throw new PodRejected(`Pod "${pod.metadata.name}" is invalid: spec.containers[${ci}].volumeMounts[${mi}].name: Not found: "${m.name}"`);
            }
            if (mounts.findIndex((x) => x.mountPath === m.mountPath) !== mi) {
                throw new PodRejected(
                    `Pod "${pod.metadata.name}" is invalid: spec.containers[${ci}].volumeMounts[${mi}].mountPath: Invalid value: "${m.mountPath}": must be unique`,
                );
            }
        }
    }
}

/** Admission as a whole, in the API server's order. */
export function admit(pod: Pod, serviceAccount: KubeServiceAccount | undefined, associations: readonly WorldAssociation[], config: WebhookConfig): Pod {
    const mutated = podIdentityWebhook(serviceAccountAdmission(pod, serviceAccount), serviceAccount, associations, config);
    validatePodSpec(mutated);
    return mutated;
}

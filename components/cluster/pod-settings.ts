/**
 * What a pod of each workload needs so that every AWS SDK ends as the
 * registry's pull role, and the helpers that add it to a pod spec.
 *
 * - `federation` and `podIdentity`: only the ServiceAccount. EKS's IRSA
 *   webhook or its Pod Identity agent injects the credentials.
 * - `chaining`: the ServiceAccount is *not* annotated, so the IRSA webhook
 *   injects nothing. The pod mounts a projected service-account token
 *   (audience `sts.amazonaws.com`) and the AWS config from the grant's
 *   ConfigMap, and selects its profile with `AWS_CONFIG_FILE`/`AWS_PROFILE`.
 *   Why: with the webhook's `AWS_ROLE_ARN`/`AWS_WEB_IDENTITY_TOKEN_FILE` in
 *   the environment, the Go SDK v2 (`config.LoadDefaultConfig`) and the Java
 *   SDK v2 take that web identity before a profile named only by
 *   `AWS_PROFILE`, and end as the cluster account's role, which may not pull
 *   (aws-sdk-go-v2 `config/resolve_credentials.go`; AWS SDK for Java 2.x,
 *   "Default credentials provider chain"). Without those variables every SDK
 *   reads the profile. The real-client suite (tests/real-clients.test.ts)
 *   runs the AWS CLI, boto3, the Go SDK and the JavaScript SDK in a pod set
 *   up this way.
 *
 * The types are plain data shaped like the Kubernetes API's, so a value is
 * both a stack output and a valid fragment of a `k8s.types.input.core.v1.PodSpec`.
 */
import * as pulumi from "@pulumi/pulumi";
import { AccessPath } from "../iam/names";

/** The profile a chained workload selects with `AWS_PROFILE`. */
export const CHAINED_PROFILE = "ecr-pull";
/** The key of the chained AWS config in its ConfigMap. */
export const AWS_CONFIG_KEY = "config";
/** Where a chained pod mounts its grant's ConfigMap; `AWS_CONFIG_FILE` points into it. */
export const AWS_CONFIG_MOUNT = "/etc/ecr-pull";
/**
 * Where a chained pod mounts its projected service-account token. The path
 * the IRSA webhook uses, on purpose: pods deployed with release 0.2 (whose
 * ServiceAccount was annotated) have the webhook's token there, so the AWS
 * config, which names this path, stays valid for them until they restart.
 */
export const CHAINED_TOKEN_MOUNT = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
export const CHAINED_TOKEN_FILE = `${CHAINED_TOKEN_MOUNT}/token`;
/** The audience STS accepts in `AssumeRoleWithWebIdentity`, as the IRSA webhook requests it. */
export const STS_TOKEN_AUDIENCE = "sts.amazonaws.com";
/** The webhook's default token lifetime; the kubelet renews the token at 80% of it. */
export const CHAINED_TOKEN_SECONDS = 86400;
/**
 * Names of the two volumes a chained pod gets. The token's is the IRSA
 * webhook's own volume name on purpose: the webhook adds its volume and
 * mount only when none of that name is there, while a second mount at the
 * same path makes the API server refuse the pod
 * (aws/amazon-eks-pod-identity-webhook, pkg/handler). So a pod with these
 * settings is accepted even while its ServiceAccount still carries the
 * annotation (an upgrade from 0.2 in progress).
 */
export const CHAINED_VOLUMES = { token: "aws-iam-token", config: "ecr-pull-config" } as const;

/** Environment variables that make the Go and Java SDKs ignore the profile (they come before it in their chains). */
export const PROFILE_OVERRIDING_ENV = ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ACCESS_KEY_ID", "AWS_CONTAINER_CREDENTIALS_FULL_URI"];

/** An environment variable of a container. */
export interface EnvVar {
    /** The variable's name. */
    readonly name: string;
    /** Its value. */
    readonly value: string;
}

/** A volume mounted into a container. */
export interface VolumeMount {
    /** The pod volume's name. */
    readonly name: string;
    /** Where the container sees it. */
    readonly mountPath: string;
    /** Mounted read-only. */
    readonly readOnly?: boolean;
}

/** A file of a ConfigMap volume. */
export interface KeyToPath {
    /** The ConfigMap's key. */
    readonly key: string;
    /** The file's name in the volume. */
    readonly path: string;
}

/** A ConfigMap mounted as files. */
export interface ConfigMapVolumeSource {
    /** The ConfigMap's name, in the pod's namespace. */
    readonly name: string;
    /** The keys to mount, and as which files. */
    readonly items?: KeyToPath[];
}

/** A service-account token the kubelet mints for the pod and renews. */
export interface ServiceAccountTokenProjection {
    /** The token's audience: `sts.amazonaws.com`, which STS requires. */
    readonly audience: string;
    /** The token's lifetime; the kubelet renews it at 80%. */
    readonly expirationSeconds: number;
    /** The file's name in the volume. */
    readonly path: string;
}

/** One source of a projected volume. */
export interface VolumeProjection {
    /** The pod's service-account token. */
    readonly serviceAccountToken: ServiceAccountTokenProjection;
}

/** A volume projected from several sources. */
export interface ProjectedVolumeSource {
    /** Its sources. */
    readonly sources: VolumeProjection[];
}

/** A pod volume: the grant's ConfigMap, or a projected service-account token. */
export interface Volume {
    /** The volume's name in the pod. */
    readonly name: string;
    /** The grant's ConfigMap, holding the AWS config. */
    readonly configMap?: ConfigMapVolumeSource;
    /** The pod's service-account token for STS. */
    readonly projected?: ProjectedVolumeSource;
}

/** What a pod of one workload needs: exported per workload by the EKS stack (output `podSpecs`), printed by the plan. */
export interface WorkloadPodSettings {
    /** The ServiceAccount the pod must run as. */
    readonly serviceAccountName: string;
    /** Its namespace: the pod must run there. */
    readonly namespace: string;
    /** The grant whose pull role the pod ends with. */
    readonly grant: string;
    /** `federation`, `chaining` or `podIdentity`. */
    readonly path: string;
    /** Volumes to add to the pod (chaining only). Arrays, not readonly ones: the multi-language schema takes no others. */
    readonly volumes: Volume[];
    /** Mounts to add to each container that calls AWS (chaining only). */
    readonly volumeMounts: VolumeMount[];
    /** Environment to add to each container that calls AWS (chaining only). */
    readonly env: EnvVar[];
}

/** The pod settings of one workload; `configMapName` is the grant's ConfigMap (chaining). */
export function podSettingsFor(
    workload: { namespace: string; serviceAccount: string; grant: string; path: AccessPath },
    configMapName?: string,
): WorkloadPodSettings {
    const base = { serviceAccountName: workload.serviceAccount, namespace: workload.namespace, grant: workload.grant, path: workload.path };
    if (workload.path !== "chaining") {
        return { ...base, volumes: [], volumeMounts: [], env: [] };
    }
    if (!configMapName) {
        throw new Error(`podSettingsFor: the chained workload ${workload.namespace}/${workload.serviceAccount} needs its grant's ConfigMap name.`);
    }
    return {
        ...base,
        volumes: [
            {
                name: CHAINED_VOLUMES.token,
                projected: {
                    sources: [{ serviceAccountToken: { audience: STS_TOKEN_AUDIENCE, expirationSeconds: CHAINED_TOKEN_SECONDS, path: "token" } }],
                },
            },
            { name: CHAINED_VOLUMES.config, configMap: { name: configMapName, items: [{ key: AWS_CONFIG_KEY, path: AWS_CONFIG_KEY }] } },
        ],
        volumeMounts: [
            { name: CHAINED_VOLUMES.token, mountPath: CHAINED_TOKEN_MOUNT, readOnly: true },
            { name: CHAINED_VOLUMES.config, mountPath: AWS_CONFIG_MOUNT, readOnly: true },
        ],
        env: [
            { name: "AWS_CONFIG_FILE", value: `${AWS_CONFIG_MOUNT}/${AWS_CONFIG_KEY}` },
            { name: "AWS_PROFILE", value: CHAINED_PROFILE },
            // The Go SDK v1 reads AWS_CONFIG_FILE only with this set; the other SDKs ignore it.
            { name: "AWS_SDK_LOAD_CONFIG", value: "1" },
        ],
    };
}

/**
 * An AWS shared config file for a chained grant: the source profile takes
 * the cluster-account role with the pod's projected token, the target
 * profile assumes the registry's pull role from it. The region is the
 * cluster's, for STS: nothing else sets one once the IRSA webhook is out of
 * the way, and the Go SDK refuses to call STS without it.
 */
export function chainedAwsConfig(grant: string, region: string, clusterRoleArn: string, targetRoleArn: string): string {
    return [
        `# Grant "${grant}": the cluster-account role (web identity of the pod's token) chained into the registry's pull role.`,
        `# Use with AWS_CONFIG_FILE=${AWS_CONFIG_MOUNT}/${AWS_CONFIG_KEY} and AWS_PROFILE=${CHAINED_PROFILE}.`,
        `[profile ${CHAINED_PROFILE}-source]`,
        `role_arn = ${clusterRoleArn}`,
        `web_identity_token_file = ${CHAINED_TOKEN_FILE}`,
        `region = ${region}`,
        `sts_regional_endpoints = regional`,
        "",
        `[profile ${CHAINED_PROFILE}]`,
        `role_arn = ${targetRoleArn}`,
        `source_profile = ${CHAINED_PROFILE}-source`,
        `region = ${region}`,
        `sts_regional_endpoints = regional`,
        "",
    ].join("\n");
}

// ---- Adding the settings to a pod spec ---------------------------------------

/** The parts of a Kubernetes container this module reads and writes. */
export interface ContainerLike {
    readonly name: string;
    readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
    readonly volumeMounts?: readonly VolumeMount[];
    readonly [key: string]: unknown;
}

/** The parts of a Kubernetes pod spec this module reads and writes. */
export interface PodSpecLike {
    readonly serviceAccountName?: string;
    readonly containers: readonly ContainerLike[];
    readonly initContainers?: readonly ContainerLike[];
    readonly volumes?: readonly { readonly name: string; readonly [key: string]: unknown }[];
    readonly [key: string]: unknown;
}

export interface ApplyOptions {
    /** Only these containers (and init containers) get the mounts and env. Default: all of them. */
    readonly containers?: readonly string[];
}

/** Thrown when a pod spec already says something that contradicts the settings. */
export class PodSpecConflictError extends Error {}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A copy of `spec` that runs as the workload's ServiceAccount and, for a
 * chained grant, mounts the token and the AWS config and selects the
 * profile in each chosen container. Applying it twice changes nothing.
 * Refuses (PodSpecConflictError) rather than overwrite: another
 * ServiceAccount, a volume or mount of the same name or path with other
 * content, the same variable with another value, or a variable that makes
 * the Go and Java SDKs skip the profile.
 */
export function applyPodSettings<T extends PodSpecLike>(spec: T, settings: WorkloadPodSettings, options: ApplyOptions = {}): T {
    const where = `pod spec for ${settings.namespace}/${settings.serviceAccountName} (grant "${settings.grant}", path ${settings.path})`;
    if (spec.serviceAccountName !== undefined && spec.serviceAccountName !== settings.serviceAccountName) {
        throw new PodSpecConflictError(
            `${where}: it runs as ServiceAccount "${spec.serviceAccountName}"; the grant's credentials belong to "${settings.serviceAccountName}".`,
        );
    }
    const chosen = (c: ContainerLike) => !options.containers || options.containers.includes(c.name);
    const unknown = (options.containers ?? []).filter((n) => ![...spec.containers, ...(spec.initContainers ?? [])].some((c) => c.name === n));
    if (unknown.length > 0) {
        throw new PodSpecConflictError(`${where}: no container named ${unknown.map((n) => JSON.stringify(n)).join(", ")}.`);
    }

    const volumes: { readonly name: string }[] = [...(spec.volumes ?? [])];
    for (const volume of settings.volumes) {
        const existing = volumes.find((v) => v.name === volume.name);
        if (!existing) {
            volumes.push(volume);
        } else if (!same(existing, volume)) {
            throw new PodSpecConflictError(`${where}: it already has a volume "${volume.name}" with other content.`);
        }
    }

    const patchContainer = (container: ContainerLike): ContainerLike => {
        if (!chosen(container)) {
            return container;
        }
        const env = [...(container.env ?? [])];
        for (const name of PROFILE_OVERRIDING_ENV) {
            if (settings.env.length > 0 && env.some((e) => e.name === name)) {
                throw new PodSpecConflictError(
                    `${where}: container "${container.name}" sets ${name}, which the Go and Java SDKs use before the AWS profile: remove it.`,
                );
            }
        }
        for (const variable of settings.env) {
            const existing = env.find((e) => e.name === variable.name);
            if (!existing) {
                env.push(variable);
            } else if (!same(existing, variable)) {
                throw new PodSpecConflictError(
                    `${where}: container "${container.name}" sets ${variable.name} to something else than ${JSON.stringify(variable.value)}.`,
                );
            }
        }
        const mounts = [...(container.volumeMounts ?? [])];
        for (const mount of settings.volumeMounts) {
            const existing = mounts.find((m) => m.mountPath === mount.mountPath || m.name === mount.name);
            if (!existing) {
                mounts.push(mount);
            } else if (!same(existing, mount)) {
                throw new PodSpecConflictError(
                    `${where}: container "${container.name}" already mounts ${existing.name} at ${existing.mountPath}, where the grant needs ${mount.name} at ${mount.mountPath}.`,
                );
            }
        }
        return {
            ...container,
            ...(env.length > 0 ? { env } : {}),
            ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
        };
    };

    return {
        ...spec,
        serviceAccountName: settings.serviceAccountName,
        containers: spec.containers.map(patchContainer),
        ...(spec.initContainers ? { initContainers: spec.initContainers.map(patchContainer) } : {}),
        ...(volumes.length > 0 ? { volumes } : {}),
    } as T;
}

/**
 * `applyPodSettings` for Pulumi programs: takes a pod spec that may hold
 * Outputs (for `k8s.core.v1.Pod` `spec`) and settings that may come from a
 * StackReference (`eks` stack output `podSpecs["<namespace>/<name>"]`).
 *
 * ```ts
 * new k8s.core.v1.Pod("sync", { metadata: { namespace: "payments" }, spec: withPullAccess(spec, settings) });
 * ```
 */
export function withPullAccess<T extends PodSpecLike>(
    spec: pulumi.Input<T>,
    settings: pulumi.Input<WorkloadPodSettings>,
    options: ApplyOptions = {},
): pulumi.Output<T> {
    return pulumi
        .all([spec, settings])
        .apply(([s, w]) => applyPodSettings(s as unknown as T, w as unknown as WorkloadPodSettings, options)) as pulumi.Output<T>;
}

/** The same for workloads with a pod template (`k8s.apps.v1.Deployment`, StatefulSet, DaemonSet, `k8s.batch.v1.Job` `spec`). */
export function withPullAccessInTemplate<
    T extends { readonly template: { readonly spec?: PodSpecLike; readonly [key: string]: unknown }; readonly [key: string]: unknown },
>(workloadSpec: pulumi.Input<T>, settings: pulumi.Input<WorkloadPodSettings>, options: ApplyOptions = {}): pulumi.Output<T> {
    return pulumi.all([workloadSpec, settings]).apply(([raw, w]) => {
        const s = raw as unknown as T;
        if (!s.template.spec) {
            throw new PodSpecConflictError("withPullAccessInTemplate: the workload's template has no spec.");
        }
        return { ...s, template: { ...s.template, spec: applyPodSettings(s.template.spec, w as unknown as WorkloadPodSettings, options) } } as T;
    }) as pulumi.Output<T>;
}

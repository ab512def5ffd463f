/**
 * The subset of the Kubernetes Pod API (core/v1) the emulator understands.
 * Anything else in a pod declaration is a test error, not silently ignored.
 */
import type { EnvVar, VolumeMount } from "../../../components/cluster/pod-settings";

export type { EnvVar, VolumeMount };

export interface Container {
    readonly name: string;
    readonly env?: readonly EnvVar[];
    readonly volumeMounts?: readonly VolumeMount[];
}

export interface KeyToPath {
    readonly key: string;
    readonly path: string;
}

export interface ConfigMapVolumeSource {
    readonly name: string;
    readonly items?: readonly KeyToPath[];
    readonly defaultMode?: number;
}

export interface ServiceAccountTokenProjection {
    /** Default: the API server's audiences (`https://kubernetes.default.svc` on EKS). */
    readonly audience?: string;
    /** Default 3600; at least 600 (Kubernetes API reference, ServiceAccountTokenProjection). */
    readonly expirationSeconds?: number;
    readonly path: string;
}

export interface VolumeProjection {
    readonly serviceAccountToken?: ServiceAccountTokenProjection;
    readonly configMap?: ConfigMapVolumeSource;
    readonly downwardAPI?: {
        readonly items: readonly { readonly path: string; readonly fieldRef: { readonly fieldPath: "metadata.namespace" | "metadata.name" } }[];
    };
}

export interface Volume {
    readonly name: string;
    readonly configMap?: ConfigMapVolumeSource;
    readonly projected?: { readonly sources: readonly VolumeProjection[]; readonly defaultMode?: number };
}

export interface PodSpec {
    readonly serviceAccountName: string;
    readonly containers: readonly Container[];
    readonly initContainers?: readonly Container[];
    readonly volumes?: readonly Volume[];
    readonly automountServiceAccountToken?: boolean;
    readonly nodeSelector?: Readonly<Record<string, string>>;
}

export interface Pod {
    readonly metadata: {
        readonly name: string;
        readonly namespace: string;
        readonly annotations?: Readonly<Record<string, string>>;
        readonly labels?: Readonly<Record<string, string>>;
    };
    readonly spec: PodSpec;
}

/** A file the kubelet puts in the container: content, or a symlink (the atomic writer's `..data` layout). */
export interface PodFile {
    readonly path: string;
    readonly content?: string;
    readonly symlink?: string;
    readonly mode: number;
}

/**
 * Plain-value validation shared by the components and the stack programs.
 *
 * Every check reports into a `Problems` collector instead of throwing, so one
 * run shows every bad value at once; the caller throws a single
 * `ValidationError` before it creates any resource. Each message names the key,
 * the bad value and what a valid one looks like.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * Thrown once, with every problem found, before anything is created. A
 * `RunError`, so that under `pulumi up` the Node.js language host prints the
 * message alone, without a stack trace (@pulumi/pulumi cmd/run/run.js).
 */
export class ValidationError extends pulumi.RunError {
    constructor(
        readonly subject: string,
        readonly problems: readonly string[],
    ) {
        super(problems.length === 1 ? `${subject}: ${problems[0]}` : `${subject}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ValidationError";
        hideStack(this);
    }
}

/**
 * Gives an error that is shown as its message alone (a RunError, or a
 * ResourceError with hideStack) a stack that is that message. Its real stack
 * is never shown, but anything that reads it makes source-map-support map
 * every frame through the SDKs' source maps: under the language host a
 * config error after an invoke took 12.6 s to be shown instead of 1.5 s
 * (measured with tests/support/langhost).
 */
export function hideStack<T extends Error>(error: T): T {
    error.stack = `${error.name}: ${error.message}`;
    return error;
}

/**
 * For a check that wants text and got a number or boolean: YAML read an
 * unquoted value (`namespace: 2024`, `name: true`) as one. Says "quote it"
 * and returns true; the caller then skips its own message.
 */
export function quoteHint(problems: Problems, path: string, value: unknown, what: string): boolean {
    if (typeof value === "number" || typeof value === "boolean") {
        problems.add(
            path,
            value,
            `is a ${typeof value}, not text: YAML reads it so when it is not quoted. Quote it ("${String(value)}"), if that is the ${what} you mean.`,
        );
        return true;
    }
    return false;
}

/** Renders a value for a message; never prints a bare `undefined`. */
export function describeValue(value: unknown): string {
    if (value === undefined) {
        return "(missing)";
    }
    if (typeof value === "string") {
        return JSON.stringify(value);
    }
    if (typeof value === "number" || typeof value === "boolean" || value === null) {
        return String(value);
    }
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Collects problems. `keyOf` turns a path such as `grants[0].name` into the
 * form the reader knows: `ecrpull:grants[0].name` for stack config,
 * `[grants[0].name]` for component args.
 */
export class Problems {
    private readonly found: string[] = [];

    constructor(private readonly keyOf: (path: string) => string) {}

    /** Records `<key> <value> <explanation>`. */
    add(path: string, value: unknown, explanation: string): void {
        this.found.push(`${this.keyOf(path)} ${describeValue(value)} ${explanation}`);
    }

    /** Records a problem about a key that is missing. */
    missing(path: string, whatToSet: string): void {
        this.found.push(`${this.keyOf(path)} is missing: ${whatToSet}`);
    }

    /** Records a problem whose text already says everything. */
    raw(path: string, message: string): void {
        this.found.push(`${this.keyOf(path)} ${message}`);
    }

    /** How the reader knows `path`: for messages that point at a second key. */
    key(path: string): string {
        return this.keyOf(path);
    }

    get list(): readonly string[] {
        return this.found;
    }

    throwIfAny(subject: string): void {
        if (this.found.length > 0) {
            throw new ValidationError(subject, [...this.found]);
        }
    }
}

export const configKey = (namespace: string) => (path: string) => `${namespace}:${path}`;
export const argKey = (path: string) => `[${path}]`;

// ---- Value rules (each cites where the rule comes from) -------------------

const ACCOUNT_ID = /^\d{12}$/;
/** Kubernetes docs: a namespace is an RFC 1123 label. */
const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes docs: a service account name is an RFC 1123 subdomain. */
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** ECR API reference, CreateRepository `repositoryName`. */
const ECR_REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** Pulumi stack names: `stack`, `project/stack` or `org/project/stack`. */
const STACK_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;
/** IAM API reference: a path of `/`-separated parts, then a name of at most 64 characters; nothing after it. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const ISSUER_URL = /^https:\/\/[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(\/[A-Za-z0-9._~-]+)*$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/[A-Za-z0-9-]+$/;
const KMS_ALIAS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias\/[A-Za-z0-9/_-]+$/;

export function checkAccountId(problems: Problems, path: string, value: unknown): void {
    if (typeof value !== "string" || !ACCOUNT_ID.test(value)) {
        problems.add(path, value, 'is not an AWS account ID: use the 12 digits, as a quoted string (e.g. "111122223333").');
    }
}

export function checkRegion(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "region")) {
        return;
    }
    if (typeof value !== "string" || !REGION.test(value)) {
        problems.add(path, value, 'is not an AWS region: use a region code such as "eu-west-1".');
    }
}

/** IAM wants the issuer exactly as the cluster reports it: https, a host, no trailing slash. */
export function checkIssuerUrl(problems: Problems, path: string, value: unknown): void {
    const good =
        'use the cluster\'s issuer as `aws eks describe-cluster` prints it, e.g. "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" (https, no trailing slash).';
    if (typeof value !== "string") {
        problems.add(path, value, `is not an issuer URL: ${good}`);
        return;
    }
    // Checked as text, not with `new URL`: the URL parser forgives white space,
    // a missing "//", an empty "?" and more, but the raw text is what ends up
    // in the provider's URL, its ARN and the trust's condition keys. IAM wants
    // no port either (CreateOpenIDConnectProvider).
    if (!ISSUER_URL.test(value)) {
        problems.add(path, value, `is not a valid OIDC issuer URL: ${good}`);
    }
}

export function checkNamespace(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "namespace")) {
        return;
    }
    if (typeof value !== "string" || value.length > 63 || !RFC1123_LABEL.test(value)) {
        problems.add(
            path,
            value,
            "is not a valid namespace: use lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label, at most 63 characters).",
        );
    }
}

export function checkServiceAccountName(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "service account name")) {
        return;
    }
    if (typeof value !== "string" || value.length > 253 || !RFC1123_SUBDOMAIN.test(value)) {
        problems.add(
            path,
            value,
            "is not a valid service account name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (RFC 1123 subdomain, at most 253 characters).",
        );
    }
}

export function checkRepositoryName(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "repository name")) {
        return;
    }
    if (typeof value !== "string" || value.length < 2 || value.length > 256 || !ECR_REPOSITORY_NAME.test(value)) {
        problems.add(
            path,
            value,
            "is not a valid ECR repository name: use 2 to 256 lowercase letters, digits and '.', '_', '-' between them, with '/' between path parts (e.g. \"team-a/api\").",
        );
    }
}

export const isStackName = (value: unknown): value is string => typeof value === "string" && STACK_NAME.test(value);

export function checkStackName(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "stack name")) {
        return;
    }
    if (!isStackName(value)) {
        problems.add(path, value, 'is not a Pulumi stack name: use "<organization>/<project>/<stack>" (e.g. "acme/ecrpull/eks").');
    }
}

export function checkRoleArn(problems: Problems, path: string, value: unknown): void {
    if (typeof value !== "string" || !ROLE_ARN.test(value)) {
        problems.add(path, value, 'is not an IAM role ARN: use "arn:aws:iam::<12-digit account>:role/<name>".');
    }
}

/**
 * A repository's KMS key: a key ARN in the repository's region. ECR refuses a
 * key of another region (ECR API reference, EncryptionConfiguration.kmsKey);
 * an alias ARN is refused too, because ECR stores the key's ARN and the AWS
 * provider then plans to replace the repository on every run
 * (cloudposse/terraform-aws-ecr#85).
 */
export function checkKmsKeyArn(problems: Problems, path: string, value: unknown, region?: string): void {
    if (typeof value === "string" && KMS_ALIAS_ARN.test(value)) {
        problems.add(
            path,
            value,
            "is an alias ARN: ECR keeps the key's own ARN, so every preview would plan to replace the repository. Use the key ARN that `aws kms describe-key --key-id <alias ARN>` prints (KeyMetadata.Arn).",
        );
        return;
    }
    const match = typeof value === "string" ? KMS_KEY_ARN.exec(value) : null;
    if (!match) {
        problems.add(path, value, 'is not a KMS key ARN: use "arn:aws:kms:<region>:<account>:key/<key-id>".');
    } else if (region !== undefined && match[1] !== region) {
        problems.add(path, value, `is a key in ${match[1]}, but the repository is in ${region}: ECR only uses a key of the repository's own region.`);
    }
}

export function checkBoolean(problems: Problems, path: string, value: unknown): void {
    if (typeof value !== "boolean") {
        problems.add(path, value, "is not a boolean: use true or false.");
    }
}

export function checkIntegerInRange(problems: Problems, path: string, value: unknown, min: number, max: number): void {
    if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) {
        problems.add(path, value, `is text, not a number: write it without quotes (a whole number from ${min} to ${max}).`);
    } else if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        problems.add(path, value, `is not a whole number from ${min} to ${max}.`);
    }
}

export function checkOneOf(problems: Problems, path: string, value: unknown, allowed: readonly string[]): void {
    if (typeof value !== "string" || !allowed.includes(value)) {
        problems.add(path, value, `is not one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}.`);
    }
}

/**
 * Reports a value that appears more than once in a list. `keyOf` gives the
 * identity of an item (e.g. `namespace/name`), or undefined for a malformed
 * item, which is skipped (it is reported elsewhere) without shifting the
 * indexes of the others.
 */
export function checkUnique(problems: Problems, path: string, items: readonly unknown[], keyOf: (item: unknown) => string | undefined, what: string): void {
    const firstIndex = new Map<string, number>();
    items.forEach((item, index) => {
        const key = keyOf(item);
        if (key === undefined) {
            return;
        }
        const first = firstIndex.get(key);
        if (first === undefined) {
            firstIndex.set(key, index);
        } else {
            problems.add(`${path}[${index}]`, key, `is the same ${what} as ${problems.key(`${path}[${first}]`)}: list each ${what} once.`);
        }
    });
}

/** The string a field of an untyped record holds, or undefined. */
export function stringField(item: unknown, field: string): string | undefined {
    const value = typeof item === "object" && item !== null ? (item as Record<string, unknown>)[field] : undefined;
    return typeof value === "string" ? value : undefined;
}

/** A list item itself when it is a string. */
export const stringItem = (item: unknown): string | undefined => (typeof item === "string" ? item : undefined);

/** `namespace/name` of a service account given as an untyped record. */
export function pairField(item: unknown, first: string, second: string): string | undefined {
    const a = stringField(item, first);
    const b = stringField(item, second);
    return a !== undefined && b !== undefined ? `${a}/${b}` : undefined;
}

/** Narrowing helpers for untyped config: report and return undefined when the shape is wrong. */
export function asArray(problems: Problems, path: string, value: unknown, what: string): readonly unknown[] | undefined {
    if (value === undefined) {
        problems.missing(path, `set it to a YAML list of ${what}.`);
        return undefined;
    }
    if (!Array.isArray(value)) {
        problems.add(path, value, `is not a list: use a YAML list of ${what}.`);
        return undefined;
    }
    return value;
}

export function asRecord(problems: Problems, path: string, value: unknown, what: string): Record<string, unknown> | undefined {
    if (value === undefined) {
        problems.missing(path, `set it to a YAML mapping with ${what}.`);
        return undefined;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.add(path, value, `is not an object: use a YAML mapping with ${what}.`);
        return undefined;
    }
    return value as Record<string, unknown>;
}

/** Reports keys a mapping should not have (usually a typo of a real key). */
export function checkKnownKeys(problems: Problems, path: string, record: Record<string, unknown>, known: readonly string[]): void {
    for (const key of Object.keys(record)) {
        if (!known.includes(key)) {
            problems.raw(path ? `${path}.${key}` : key, `is not a known setting: use one of ${known.join(", ")}.`);
        }
    }
}

/**
 * AWS resource tags, as IAM, ECR and EKS accept them: at most 50, keys of 1 to
 * 128 and values of 0 to 256 letters, digits, spaces and `_ . : / = + - @`,
 * and no key starting with `aws:`, which AWS reserves (IAM User Guide,
 * "Tagging IAM resources"; ECR and EKS API references, `Tag`).
 */
export function checkTags(problems: Problems, path: string, value: unknown): void {
    if (value === undefined) {
        return;
    }
    const tags = asRecord(problems, path, value, "tag keys and string values");
    if (!tags) {
        return;
    }
    const entries = Object.entries(tags);
    if (entries.length > 50) {
        problems.raw(path, `has ${entries.length} tags; AWS allows 50 per resource.`);
    }
    const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
    for (const [key, tagValue] of entries) {
        if (key.length < 1 || key.length > 128 || !allowed.test(key)) {
            problems.add(`${path}`, key, "is not a valid tag key: use 1 to 128 letters, digits, spaces and _ . : / = + - @.");
        } else if (/^aws:/i.test(key)) {
            problems.add(`${path}`, key, 'is a reserved tag key: AWS keeps keys starting with "aws:" for itself; choose another prefix.');
        }
        if (typeof tagValue === "number" || typeof tagValue === "boolean") {
            problems.add(`${path}.${key}`, tagValue, `is not a string: tag values are strings, so quote it (e.g. ${key}: "${String(tagValue)}").`);
        } else if (typeof tagValue !== "string") {
            problems.add(`${path}.${key}`, tagValue, 'is not a string: tag values are strings (e.g. owner: "platform-team").');
        } else if (tagValue.length > 256 || !allowed.test(tagValue)) {
            problems.add(`${path}.${key}`, tagValue, "is not a valid tag value: use at most 256 letters, digits, spaces and _ . : / = + - @.");
        }
    }
}

/** A component's args must be an object: say so instead of failing with a TypeError on the first field read. */
export function checkArgsObject(component: string, name: string, args: unknown): void {
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
        throw new ValidationError(`${component} "${name}"`, [
            `args ${describeValue(args)} is not an object: pass the component's args, e.g. new ${component}("${name}", { ... }).`,
        ]);
    }
}

/** EKS cluster names (EKS API reference, CreateCluster `name`). */
export const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

export function checkClusterName(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "cluster name")) {
        return;
    }
    if (typeof value !== "string" || !EKS_CLUSTER_NAME.test(value)) {
        problems.add(path, value, "is not an EKS cluster name: use 1 to 100 letters, digits, '-' and '_', starting with a letter or digit.");
    }
}

/**
 * A policy document given as text: JSON with `Version` "2012-10-17" and a
 * `Statement`, within `limit` characters as IAM and ECR count them (white
 * space not counted). An Output is the caller's to vouch for.
 */
export function checkPolicyText(problems: Problems, path: string, value: unknown, limit: number): void {
    if (pulumi.Output.isInstance(value)) {
        return;
    }
    if (typeof value !== "string") {
        problems.add(path, value, "is not a policy document: pass its JSON text (e.g. serializePolicy(document)).");
        return;
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch (error) {
        problems.add(path, value, `is not JSON (${(error as Error).message}): pass the policy document's JSON text.`);
        return;
    }
    const document = parsed as { Version?: unknown; Statement?: unknown };
    if (typeof parsed !== "object" || parsed === null || document.Version !== "2012-10-17" || document.Statement === undefined) {
        problems.add(path, value, 'is not a policy document: expected { "Version": "2012-10-17", "Statement": [...] }.');
        return;
    }
    const size = value.replace(/\s+/g, "").length;
    if (size > limit) {
        problems.raw(path, `is ${size} characters (white space not counted); AWS allows ${limit}.`);
    }
}

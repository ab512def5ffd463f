/**
 * What the ECR program reads from AWS before it registers anything: the
 * resources it is told to adopt. Each must exist, and be something the
 * program can take over without replacing it, since a replacement would
 * fail on the existing name (and, for a repository, lose its images):
 *
 * - a repository keeps its encryption (ECR cannot change it; the provider
 *   would replace the repository), so the config must state the one it has;
 * - a repository must not hold more images than `keepLastImages`: the
 *   lifecycle policy the stack writes would expire the oldest within a day;
 * - a pull role must sit at path `/`, where the EKS stacks look for it (IAM
 *   cannot move a role, and the provider would replace it).
 *
 * It also gives notices for the preview: for each adopted role, whom the
 * package's trust stops admitting (the seed recipes' trusts admit every
 * service account of a cluster, or every session of a cluster-account
 * role); for each adopted repository, a tag mutability that changes and
 * untagged images the lifecycle policy will expire.
 */
import * as aws from "@pulumi/aws";
import { trustChange } from "../iam/trust-change";
import { readIfExists, UnreadableError } from "../reads";
import { Adopted, repositoryAdoptionKey } from "./adopt";
import { RegistryPlan } from "./plan";

export interface AdoptionCheck {
    /** Problems, each a whole sentence starting with what it is about. */
    readonly problems: string[];
    /** What changes for users of adopted resources: whose access a trust narrows, pushes a tag setting refuses, images that expire. */
    readonly notices: string[];
}

/** `EncryptionConfiguration` as ECR reports it, in words. */
const encryptionOf = (config: { encryptionType?: string; kmsKey?: string } | undefined) =>
    config?.encryptionType === "KMS" ? `KMS with ${config.kmsKey || "the AWS managed key aws/ecr"}` : "AES-256";

export async function checkAdoptedResources(adopted: Adopted, plan: RegistryPlan, key: (path: string) => string): Promise<AdoptionCheck> {
    const problems: string[] = [];
    const notices: string[] = [];
    const providers = plan.providers.filter((p) => adopted.issuerUrls.has(p.issuerUrl));
    // Each adopted repository where it is: the source, or a replica (`<name>@<region>`).
    const repositories = plan.repositories.flatMap((r) =>
        [
            { settings: r.settings, region: undefined as string | undefined, kmsKeyArn: r.settings.kmsKeyArn },
            ...r.replicas.map((replica) => ({ settings: r.settings, region: replica.region as string | undefined, kmsKeyArn: replica.kmsKeyArn })),
        ].filter((where) => adopted.repositories.has(repositoryAdoptionKey(r.settings.name, where.region))),
    );
    const roles = plan.roles.filter((r) => adopted.roleNames.has(r.roleName));
    // All reads at once: each is a round trip to the provider.
    const [foundProviders, foundRepositories, foundImages, foundRoles] = await Promise.all([
        Promise.all(
            providers.map((p) => readIfExists(aws.iam.getOpenIdConnectProvider({ arn: p.arn }), `the OIDC provider ${p.arn}`, "iam:GetOpenIDConnectProvider")),
        ),
        Promise.all(
            repositories.map((r) =>
                readIfExists(
                    aws.ecr.getRepository({ name: r.settings.name, region: r.region }),
                    `the repository ${repositoryAdoptionKey(r.settings.name, r.region)}`,
                    "ecr:DescribeRepositories",
                ),
            ),
        ),
        Promise.all(
            repositories.map((r) =>
                readIfExists(
                    aws.ecr.getImages({ repositoryName: r.settings.name, region: r.region }),
                    `the images of ${repositoryAdoptionKey(r.settings.name, r.region)}`,
                    "ecr:ListImages",
                ),
            ),
        ),
        Promise.all(roles.map((r) => readIfExists(aws.iam.getRole({ name: r.roleName }), `the role ${r.roleName}`, "iam:GetRole"))),
    ]);
    // What could not be read is reported as such, never taken for absent.
    for (const read of [...foundProviders, ...foundRepositories, ...foundImages, ...foundRoles]) {
        if (read instanceof UnreadableError) {
            problems.push(`${key("adopt")} ${read.message}`);
        }
    }
    providers.forEach((p, i) => {
        if (foundProviders[i] instanceof UnreadableError) {
            return;
        }
        if (!foundProviders[i]) {
            problems.push(`${key("adopt.oidcProviders")} ${p.arn} does not exist in this account: leave it out of adopt, and the stack creates it.`);
        }
    });
    repositories.forEach((r, i) => {
        const found = foundRepositories[i];
        const listed = foundImages[i];
        const label = repositoryAdoptionKey(r.settings.name, r.region);
        if (found instanceof UnreadableError || listed instanceof UnreadableError) {
            return;
        }
        if (!found) {
            problems.push(
                `${key("adopt.repositories")} "${label}" does not exist in this account and region: leave it out of adopt, and the stack creates it.`,
            );
            return;
        }
        const actual = found.encryptionConfigurations?.[0];
        const wanted = r.kmsKeyArn ? { encryptionType: "KMS", kmsKey: r.kmsKeyArn } : { encryptionType: "AES256" };
        if (actual?.encryptionType !== wanted.encryptionType || (wanted.kmsKey !== undefined && actual?.kmsKey !== wanted.kmsKey)) {
            const keySetting = r.region === undefined ? "kmsKeyArn" : `replicaKmsKeyArns.${r.region}`;
            const remedy =
                actual?.encryptionType === "KMS"
                    ? `set its ${keySetting} to "${actual.kmsKey}"`
                    : "leave kmsKeyArn out (AES-256); move the images to a new KMS-encrypted repository to change it";
            problems.push(
                `${key("repositories")} "${label}" is adopted and encrypted with ${encryptionOf(actual)}, not ${encryptionOf(wanted)}: ECR cannot change a repository's encryption, and the provider would replace the repository, which fails on its name and would lose its images. ${remedy[0].toUpperCase()}${remedy.slice(1)}.`,
            );
        }
        // ListImages gives one entry per tag: count images by digest.
        const imageIds = listed?.imageIds ?? [];
        const images = new Set(imageIds.map((id) => id.imageDigest)).size;
        const untagged = new Set(imageIds.filter((id) => !id.imageTag).map((id) => id.imageDigest)).size;
        if (images > r.settings.keepLastImages) {
            problems.push(
                `${key("repositories")} "${label}" is adopted and holds ${images} images, and its lifecycle policy would keep the last ${r.settings.keepLastImages}: ECR would expire the oldest ${images - r.settings.keepLastImages} within a day. Set its keepLastImages to at least ${images} (at most 10000), or remove the images you do not need first.`,
            );
        }
        if (untagged > 0) {
            notices.push(
                `adopted repository ${label}: ${untagged} of its images are untagged, and its lifecycle policy expires untagged images ${r.settings.untaggedExpiryDays} days after their push; raise untaggedExpiryDays to keep them longer.`,
            );
        }
        if (found.imageTagMutability !== r.settings.imageTagMutability) {
            notices.push(
                `adopted repository ${label}: its tag mutability changes from ${found.imageTagMutability} to ${r.settings.imageTagMutability}${r.settings.imageTagMutability.startsWith("IMMUTABLE") ? ": a push that moves an existing tag will be refused" : ""}; set imageTagMutability: ${found.imageTagMutability} to keep it.`,
            );
        }
    });
    roles.forEach((r, i) => {
        const found = foundRoles[i];
        if (found instanceof UnreadableError) {
            return;
        }
        if (!found) {
            problems.push(`${key("adopt.pullRoles")} role ${r.roleName} does not exist in this account: leave it out of adopt, and the stack creates it.`);
            return;
        }
        if (found.path !== "/") {
            problems.push(
                `${key("adopt.pullRoles")} role ${r.roleName} has path ${found.path}, so its ARN is ${found.arn}, not ${r.roleArn}, where the EKS stacks look for it: IAM cannot move a role. Leave it out of adopt and rename it, or delete it once the stack's own role serves its pods.`,
            );
            return;
        }
        if (!found.assumeRolePolicy) {
            return; // not read (`ecrpull plan` knows no current trust)
        }
        const change = trustChange(found.assumeRolePolicy, r.trustPolicy);
        if (change.lost.length > 0 || change.gained.length > 0) {
            const lost = change.lost.length > 0 ? ` narrows; losing access: ${change.lost.join("; ")}.` : " changes.";
            const gained = change.gained.length > 0 ? ` Newly admitted: ${change.gained.join("; ")}.` : "";
            notices.push(`adopted pull role ${r.roleName}: its trust${lost}${gained}`);
        }
    });
    return { problems, notices };
}

/**
 * Replication's creation templates: the stack keeps a `ROOT` template in
 * each replica region, and ECR allows one template per prefix, so a `ROOT`
 * template someone else made (its description does not name this stack)
 * is refused rather than replaced.
 */
export async function checkReplicationTemplates(plan: RegistryPlan, owner: string, key: (path: string) => string): Promise<string[]> {
    const found = await Promise.all(
        plan.replication.regions.map((region) =>
            readIfExists(
                aws.ecr.getRepositoryCreationTemplate({ prefix: "ROOT", region }),
                `the ROOT repository creation template of ${region}`,
                "ecr:DescribeRepositoryCreationTemplates",
            ),
        ),
    );
    return plan.replication.regions.flatMap((region, i) => {
        const template = found[i];
        if (template instanceof UnreadableError) {
            return [`${key("replicaRegions")} ${template.message}`];
        }
        return template && !(template.description ?? "").startsWith(owner)
            ? [
                  `${key("replicaRegions")} ${region}: the registry already has a ROOT repository creation template there (${JSON.stringify(template.description ?? "")}), and ECR keeps one per prefix: the stack keeps its own ROOT template for what replication creates. Delete that template, or give its settings a prefix of their own.`,
              ]
            : [];
    });
}

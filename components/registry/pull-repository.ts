import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lifecyclePolicy } from "../iam/policies";
import { RepositorySpec, validateRegistrySpec, withRepositoryDefaults } from "./spec";
import { MAXIMUM_LIMITS } from "../iam/quotas";
import { argKey, checkArgsObject, checkKmsKeyArn, checkPolicyText, checkRegion, checkTags, hideStack, Problems } from "../validation";
import { withFormerType } from "../former-types";

export interface PullRepositoryArgs {
    /** The repository and its settings; unset settings take the defaults in `REPOSITORY_DEFAULTS`. */
    readonly repository: RepositorySpec;
    /** Canonical JSON repository policy. Default: none, so only the registry account may pull. */
    readonly repositoryPolicy?: pulumi.Input<string>;
    /** Tags for the repository. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** The region to create it in, for a replica. Default: the provider's region. */
    readonly region?: string;
}

/**
 * An ECR repository with scanning, tag immutability, encryption, a lifecycle
 * policy and (when given) a repository policy.
 *
 * No image is lost by accident: the repository is retained in AWS when it
 * leaves the program or the stack is destroyed, and a delete refuses a
 * repository that still holds images, unless its settings say otherwise.
 */
export class PullRepository extends pulumi.ComponentResource {
    /** The ECR repository. */
    public readonly repository: aws.ecr.Repository;
    /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`: what image references start with. */
    public readonly url: pulumi.Output<string>;
    /** The repository's ARN, as pull policies name it. */
    public readonly arn: pulumi.Output<string>;

    constructor(name: string, args: PullRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:index:PullRepository", name, {}, withFormerType(opts, "ecrpull:registry:PullRepository"));
        checkArgsObject("PullRepository", name, args);
        // The spec's checks speak of `repositories[0]`; here the arg is `repository`.
        const problems = new Problems((path) => argKey(path.replace(/^repositories\[0\]/, "repository")));
        validateRegistrySpec({ clusters: [], repositories: [args.repository], grants: [] }, problems);
        if (args.repositoryPolicy !== undefined) {
            checkPolicyText(problems, "repositoryPolicy", args.repositoryPolicy, MAXIMUM_LIMITS.repositoryPolicy);
        }
        checkTags(problems, "tags", pulumi.Output.isInstance(args.tags) ? undefined : args.tags);
        if (args.region !== undefined) {
            checkRegion(problems, "region", args.region);
        }
        problems.throwIfAny(`PullRepository "${name}"`);

        const settings = withRepositoryDefaults(args.repository);
        // The key must be in the repository's region: a replica's is given; otherwise the provider's, known only at deploy.
        const repositoryRegion = args.region !== undefined ? pulumi.output(args.region) : undefined;
        const kmsKey = settings.kmsKeyArn
            ? (repositoryRegion ?? aws.getRegionOutput({}, { parent: this }).region).apply((region) => {
                  const keyProblems = new Problems((path) => `[repository.${path}]`);
                  checkKmsKeyArn(keyProblems, "kmsKeyArn", settings.kmsKeyArn, region);
                  if (keyProblems.list.length > 0) {
                      throw hideStack(new pulumi.ResourceError(`PullRepository "${name}": ${keyProblems.list.join(" ")}`, this, true));
                  }
                  return settings.kmsKeyArn!;
              })
            : undefined;
        this.repository = new aws.ecr.Repository(
            `${name}-repository`,
            {
                name: settings.name,
                imageTagMutability: settings.imageTagMutability,
                imageTagMutabilityExclusionFilters: settings.imageTagMutabilityExclusionFilters?.map((filter) => ({ filter, filterType: "WILDCARD" })),
                imageScanningConfiguration: { scanOnPush: settings.scanOnPush },
                encryptionConfigurations: [kmsKey ? { encryptionType: "KMS", kmsKey } : { encryptionType: "AES256" }],
                forceDelete: settings.forceDelete,
                tags: args.tags,
                region: args.region,
            },
            { parent: this, retainOnDelete: settings.retainOnDelete },
        );
        new aws.ecr.LifecyclePolicy(
            `${name}-lifecycle`,
            { repository: this.repository.name, policy: lifecyclePolicy(settings), region: args.region },
            { parent: this },
        );
        if (args.repositoryPolicy !== undefined) {
            new aws.ecr.RepositoryPolicy(
                `${name}-policy`,
                { repository: this.repository.name, policy: args.repositoryPolicy, region: args.region },
                { parent: this },
            );
        }
        this.url = this.repository.repositoryUrl;
        this.arn = this.repository.arn;
        this.registerOutputs({ url: this.url, arn: this.arn });
    }
}

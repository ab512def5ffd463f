import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lifecyclePolicy } from "./policies";
import { RepositorySpec, validateRegistrySpec, withRepositoryDefaults } from "./registry-spec";
import { argKey, Problems } from "./validation";
import { withFormerType } from "./former-types";

export interface PullRepositoryArgs {
    /** The repository and its settings; unset settings take the defaults in `REPOSITORY_DEFAULTS`. */
    readonly repository: RepositorySpec;
    /** Canonical JSON repository policy. Default: none, so only the registry account may pull. */
    readonly repositoryPolicy?: pulumi.Input<string>;
    /** Tags for the repository. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
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
        const problems = new Problems(argKey);
        validateRegistrySpec({ clusters: [], repositories: [args.repository], grants: [] }, problems);
        problems.throwIfAny(`PullRepository "${name}"`);

        const settings = withRepositoryDefaults(args.repository);
        this.repository = new aws.ecr.Repository(
            `${name}-repository`,
            {
                name: settings.name,
                imageTagMutability: settings.imageTagMutability,
                imageScanningConfiguration: { scanOnPush: settings.scanOnPush },
                encryptionConfigurations: [settings.kmsKeyArn ? { encryptionType: "KMS", kmsKey: settings.kmsKeyArn } : { encryptionType: "AES256" }],
                forceDelete: settings.forceDelete,
                tags: args.tags,
            },
            { parent: this, retainOnDelete: settings.retainOnDelete },
        );
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: this.repository.name, policy: lifecyclePolicy(settings) }, { parent: this });
        if (args.repositoryPolicy !== undefined) {
            new aws.ecr.RepositoryPolicy(`${name}-policy`, { repository: this.repository.name, policy: args.repositoryPolicy }, { parent: this });
        }
        this.url = this.repository.repositoryUrl;
        this.arn = this.repository.arn;
        this.registerOutputs({ url: this.url, arn: this.arn });
    }
}

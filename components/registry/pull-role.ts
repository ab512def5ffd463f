import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { withFormerType } from "../former-types";
import { MAXIMUM_LIMITS } from "../iam/quotas";
import { argKey, checkArgsObject, checkPolicyText, checkTags, Problems } from "../validation";
import { checkRoleName } from "../iam/names";

export interface PullRoleArgs {
    /** IAM role name; use `pullRoleName(grant)` so the EKS stack can derive the ARN. */
    readonly roleName: string;
    /** Canonical JSON trust policy (see `policies.ts`). */
    readonly trustPolicy: pulumi.Input<string>;
    /** Canonical JSON permissions, attached inline so they live and die with the role. */
    readonly rolePolicy: pulumi.Input<string>;
    /** Role description. Default: none. */
    readonly description?: pulumi.Input<string>;
    /** Tags for the role. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Keep the role in AWS when it leaves the program: for a role the stack adopted rather than created. Default false. */
    readonly retainOnDelete?: boolean;
}

/**
 * A role in the registry account that workloads of other accounts assume to
 * pull images. Sessions last an hour at most: pull credentials have no reason
 * to outlive that.
 */
export class PullRole extends pulumi.ComponentResource {
    /** The IAM role. */
    public readonly role: aws.iam.Role;
    /** The role's ARN: what workloads assume. */
    public readonly arn: pulumi.Output<string>;
    /** The role's name. */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: PullRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:index:PullRole", name, {}, withFormerType(opts, "ecrpull:registry:PullRole"));
        checkArgsObject("PullRole", name, args);
        const problems = new Problems(argKey);
        checkRoleName(problems, "roleName", args.roleName);
        // Against the most AWS allows: the quota the account has is RegistryAccess's to plan against.
        checkPolicyText(problems, "trustPolicy", args.trustPolicy, MAXIMUM_LIMITS.trustPolicy);
        checkPolicyText(problems, "rolePolicy", args.rolePolicy, MAXIMUM_LIMITS.rolePolicy);
        checkTags(problems, "tags", pulumi.Output.isInstance(args.tags) ? undefined : args.tags);
        problems.throwIfAny(`PullRole "${name}"`);
        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                name: args.roleName,
                assumeRolePolicy: args.trustPolicy,
                description: args.description,
                maxSessionDuration: 3600,
                tags: args.tags,
            },
            { parent: this, retainOnDelete: args.retainOnDelete === true },
        );
        new aws.iam.RolePolicy(`${name}-pull`, { role: this.role.name, name: "ecr-pull", policy: args.rolePolicy }, { parent: this });
        this.arn = this.role.arn;
        this.name = this.role.name;
        this.registerOutputs({ arn: this.arn, name: this.name });
    }
}

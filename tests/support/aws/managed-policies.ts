/**
 * The AWS managed policies the package's programs attach, as documents the
 * local endpoint can evaluate. An attachment of any other managed policy
 * makes `worldFromRuns` throw: its content is not known here, and guessing it
 * would make the endpoint's answers up.
 *
 * Sources (AWS Managed Policy Reference, docs.aws.amazon.com/aws-managed-policy/latest/reference/):
 * - AmazonEC2ContainerRegistryPullOnly (v1, 2024-10-04): ecr:GetAuthorizationToken,
 *   ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, plus one more action the stored copy
 *   cut off ("ec…"); modelled as ecr:BatchImportUpstreamImage (the pull-through-cache
 *   import). Only node roles carry it and no pod client here acts as a node role.
 * - AmazonEC2ContainerRegistryReadOnly (v3): the list below.
 * - AmazonEKSWorkerNodePolicy / AmazonEKS_CNI_Policy: EC2/EKS actions only; a
 *   subset is kept so that they are real documents (they grant nothing on ECR or STS).
 */
const document = (actions: readonly string[]) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }] });

export const MANAGED_POLICIES: Readonly<Record<string, string>> = {
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly": document([
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchImportUpstreamImage",
    ]),
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly": document([
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings",
    ]),
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy": document([
        "ec2:DescribeInstances",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVolumes",
        "ec2:DescribeVpcs",
        "eks:DescribeCluster",
        "eks-auth:AssumeRoleForPodIdentity",
    ]),
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy": document([
        "ec2:AssignPrivateIpAddresses",
        "ec2:AttachNetworkInterface",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DetachNetworkInterface",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:UnassignPrivateIpAddresses",
    ]),
};

/** The document of a managed policy ARN in any partition; throws for one not modelled here. */
export function managedPolicy(policyArn: string): string {
    const json = MANAGED_POLICIES[policyArn.replace(/^arn:[a-z-]+:/, "arn:aws:")];
    if (json === undefined) {
        throw new Error(`world: the managed policy ${policyArn} is attached but its document is not embedded in tests/support/aws/managed-policies.ts`);
    }
    return json;
}

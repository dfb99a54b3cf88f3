/** One operation of a service model, as extracted from the AWS SDK clients (gateway/extract-aws-models.mjs). */
export interface AwsOperationModel {
  /** REST protocols: the HTTP method of the operation's `http` trait. */
  readonly method?: string;
  /** REST protocols: the URI template of the `http` trait, as the SDK ships it (S3's without the `{Bucket}` label). */
  readonly uri?: string;
  /** REST protocols: the query parameter names the input declares (`httpQuery`). */
  readonly query?: readonly string[];
  /** REST protocols: the query parameters the input requires. */
  readonly requiredQuery?: readonly string[];
  /** REST protocols: the (lower-case) headers the input requires (`x-amz-copy-source` tells CopyObject from PutObject). */
  readonly requiredHeaders?: readonly string[];
  /** The input has an `httpQueryParams` map: any query parameter is the operation's. */
  readonly anyQuery?: boolean;
  /** The input names a bucket (S3). */
  readonly bucket?: boolean;
  /** S3: the SDK routes the operation to the S3 Express control endpoint (static endpoint parameter). */
  readonly s3ExpressControl?: boolean;
  /**
   * JSON and query protocols: where the input names the resources the call acts on, from the SDK's
   * endpoint context parameters (`ResourceArn`, `ResourceArnList`). Each path is a list of steps: a
   * member name, `[]` (each element of a list) or `{}` (the keys of a map): DynamoDB's
   * `["RequestItems", "{}"]` are the tables of a BatchWriteItem.
   */
  readonly resourcePaths?: readonly (readonly string[])[];
  /**
   * The operation's input or output (or both: `input+output`) is an event stream (S3's
   * SelectObjectContent answer, Bedrock's streaming calls): binary frames with their own CRCs.
   */
  readonly eventStream?: string;
}

/** One service: its signing name is the key of the table. */
export interface AwsServiceModel {
  /** Smithy namespace (`com.amazonaws.s3`). */
  readonly namespace: string;
  /** Wire protocol: `restXml`, `restJson1`, `awsJson1_0`, `awsJson1_1`, `awsQuery`, `ec2Query`. */
  readonly protocol: string;
  /** The service shape's name: the `X-Amz-Target` prefix of the JSON protocols. */
  readonly target: string;
  /** The host name prefix of the regional endpoint when it is not the signing name (`bedrock-runtime`). @default the signing name */
  readonly endpointPrefix?: string;
  /** Which SDK package and version the model came from. */
  readonly source: string;
  readonly operations: Readonly<Record<string, AwsOperationModel>>;
}

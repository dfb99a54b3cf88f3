import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface RecordSigningKeyProps {
  /**
   * An existing asymmetric KMS key (key spec ECC_NIST_P256, usage SIGN_VERIFY) to use instead.
   * @default a new key
   */
  readonly key?: kms.IKey;
  /**
   * Alias for a created key (without the `alias/` prefix).
   * @default no alias
   */
  readonly alias?: string;
}

/**
 * The key that signs the record's digests. It is an asymmetric KMS key, so the private half
 * never leaves KMS: the gateway asks KMS to sign each digest with its task role.
 *
 * KMS offers no Ed25519 keys (its elliptic-curve specs are NIST P-256/384/521 and secp256k1), so
 * digests signed here are ECDSA P-256 with SHA-256 (JWS `ES256`), not the Ed25519 used with a
 * local PEM key. Verifiers take the public key from `kms:GetPublicKey`.
 */
export class RecordSigningKey extends Construct {
  public readonly key: kms.IKey;
  /** The gateway's configuration reference to this key. */
  public readonly reference: string;

  constructor(scope: Construct, id: string, props: RecordSigningKeyProps = {}) {
    super(scope, id);
    if (props.key && props.alias) {
      throw new Error('RecordSigningKey: give either an existing key or an alias for a new key, not both');
    }
    this.key =
      props.key ??
      new kms.Key(this, 'Key', {
        description: 'Gatehouse record digest signing (ECDSA P-256; the private key never leaves KMS)',
        keySpec: kms.KeySpec.ECC_NIST_P256,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        alias: props.alias,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.reference = `aws-kms:${this.key.keyArn}`;
  }

  /** Lets `grantee` sign digests (and read the public key it signs for). */
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    return this.key.grant(grantee, 'kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey');
  }

  /** Lets `grantee` verify digests. */
  public grantVerify(grantee: iam.IGrantable): iam.Grant {
    return this.key.grant(grantee, 'kms:Verify', 'kms:GetPublicKey', 'kms:DescribeKey');
  }
}

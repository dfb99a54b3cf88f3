import type { IncomingHttpHeaders } from 'node:http';
import type { AwsResponsePayload } from '../../recording/event-catalog';
import type { EventStreamSummary } from './event-stream';
import { BodyCapture } from '../http/capture';
import type { HttpTranscript } from '../kit/http-dialect';
import { answerIsSecret, type AwsOperation } from './operations';

/**
 * One AWS call's `aws.response`: its operation and resource hints, the status, AWS's request id and
 * error code, and the answer up to the cap as delivered to the client (masked when the connection
 * masks). The answer of a call that mints or reveals credentials is never kept.
 */
export class AwsCallTranscript implements HttpTranscript {
  readonly eventType = 'aws.response' as const;
  private status = 0;
  private contentType: string | undefined;
  private awsRequestId: string | undefined;
  private errorType: string | undefined;
  private readonly body: BodyCapture | undefined;

  constructor(
    private readonly operation: AwsOperation,
    cap: number,
    /** The summary of an event-stream answer passed through, once there is one. */
    private readonly eventStream: () => EventStreamSummary | undefined = () => undefined,
    /** The gateway presigned URL's ticket id, when the call was made with one. */
    private readonly presign?: string,
  ) {
    this.body = answerIsSecret(operation) ? undefined : new BodyCapture(cap);
  }

  responseHeaders(headers: IncomingHttpHeaders): void {
    const id = headers['x-amz-request-id'] ?? headers['x-amzn-requestid'];
    if (typeof id === 'string') this.awsRequestId = id.slice(0, 200);
    const type = headers['x-amzn-errortype'];
    if (typeof type === 'string') this.errorType = type.split(':')[0]!.slice(0, 200);
  }

  responseStart(status: number, contentType: string | undefined): void {
    this.status = status;
    this.contentType = contentType;
  }

  responseData(chunk: Buffer): void {
    this.body?.push(chunk);
  }

  responseEnd(): void {}

  result(): Record<string, unknown> {
    const op = this.operation;
    const payload: { -readonly [K in keyof AwsResponsePayload]: AwsResponsePayload[K] } = {
      service: op.service,
      region: op.region,
      action: op.action,
      operation: op.operation,
      group: op.group,
      resources: op.resources,
      status: this.status,
    };
    if (op.tables !== undefined) payload.tables = op.tables;
    if (this.awsRequestId !== undefined) payload.awsRequestId = this.awsRequestId;
    if (this.presign !== undefined) payload.presign = this.presign;
    const events = this.eventStream();
    const errorCode = this.status >= 300 ? (this.errorType ?? errorCodeOf(this.body?.bytes())) : undefined;
    if (errorCode !== undefined) payload.errorCode = errorCode;
    if (this.body === undefined) payload.bodyOmitted = true;
    // An event stream is recorded as its summary (messages, bytes, hash, event types), not as binary frames.
    else if (events !== undefined) payload.eventStream = events;
    else payload.body = this.body.describe(this.contentType);
    return payload as unknown as Record<string, unknown>;
  }
}

/** AWS's error code from an error body: XML `<Code>` or JSON `__type` (`ns#Code` → `Code`). */
export function errorCodeOf(body: Buffer | undefined): string | undefined {
  if (body === undefined || body.length === 0) return undefined;
  const text = body.toString('utf8');
  const xml = /<Code>([^<]{1,200})<\/Code>/.exec(text);
  if (xml) return xml[1];
  const json = /"__type"\s*:\s*"([^"]{1,200})"/.exec(text);
  if (json) return json[1]!.split('#').pop();
  return undefined;
}

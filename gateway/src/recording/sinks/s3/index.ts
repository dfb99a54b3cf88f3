export { S3LogSink, type S3LogSinkOptions } from './s3-sink';

export { FsLogSink } from './fs-sink';

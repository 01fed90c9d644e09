// @criu-ts/stream: a checkpoint as one tar stream (see README.md).
export { BLOCK, MAX_OCTAL_SIZE, decodeHeader, encodeHeader, paxRecord, parsePaxRecords, type DecodedHeader, type HeaderFields } from './tar-header.js';
export { MAX_MEMBER_NAME, memberNameProblem } from './member-names.js';
export { writeFully, copyFromFd, spliceFromPipe } from './fd-output.js';
export { TarWriter, type TarWriterOptions } from './tar-writer.js';
export { readTar, type TarMember, type MemberBody, type MemberHandler, type TarReadOptions } from './tar-reader.js';
export { extractTar, type ExtractOptions } from './tar-extract.js';
export { INVENTORY, streamOrder, imageFilesIn, writeImageStream, finishImageStream, readableFromFd, extractImageStream, type StreamWriteResult } from './image-stream.js';
export { ByteQueue } from './byte-queue.js';

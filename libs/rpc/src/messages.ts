// The RPC messages (proto/rpc.proto) at run time: decode a criu_req from one
// packet, encode a criu_resp into one. Decoding is strict: a packet that is
// not a criu_req, lacks a required field, or carries a field number this
// criu does not know (at the top level or in criu_opts) is refused with a
// RpcError naming what is wrong — a newer client's option is never dropped
// silently.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { CriuError } from '@criu-ts/base';

// three levels up: from libs/rpc/{src,dist} and from a tool's bundle (tools/NAME/dist) alike
const PROTO = new URL('../../../libs/rpc/proto/rpc.proto', import.meta.url);
const root = protobuf.parse(readFileSync(PROTO, 'utf8'), { keepCase: true }).root.resolveAll();
const reqType = root.lookupType('criu_req');
const respType = root.lookupType('criu_resp');
const optsType = root.lookupType('criu_opts');

/** Largest request we read (a criu_req is a few hundred bytes; runc's are well under 4 KiB). */
export const MAX_REQUEST_BYTES = 1 << 20;
/** cr_errmsg is cut to this many characters: clients read a response into small buffers (go-criu: 8 KiB). */
export const MAX_ERRMSG = 1024;

export const REQ_TYPES = [
  'EMPTY', 'DUMP', 'RESTORE', 'CHECK', 'PRE_DUMP', 'PAGE_SERVER', 'NOTIFY', 'CPUINFO_DUMP', 'CPUINFO_CHECK',
  'FEATURE_CHECK', 'VERSION', 'WAIT_PID', 'PAGE_SERVER_CHLD', 'SINGLE_PRE_DUMP',
] as const;
export type ReqType = (typeof REQ_TYPES)[number];

/** criu_opts as decoded: field name (rpc.proto's) → value; absent fields are absent. */
export type CriuOpts = Readonly<Record<string, unknown>>;

export interface CriuFeatures {
  mem_track?: boolean;
  lazy_pages?: boolean;
  pidfd_store?: boolean;
}

export interface CriuReq {
  type: ReqType;
  opts?: CriuOpts;
  notify_success?: boolean;
  keep_open?: boolean;
  features?: CriuFeatures;
  pid?: number;
}

export interface CriuResp {
  type: ReqType;
  success: boolean;
  dump?: { restored?: boolean };
  restore?: { pid: number };
  notify?: { script?: string; pid?: number };
  ps?: { address?: string; port?: number; pid?: number; fd?: number };
  cr_errno?: number;
  features?: CriuFeatures;
  cr_errmsg?: string;
  version?: { major_number: number; minor_number: number; gitid?: string; sublevel?: number; extra?: number; name?: string };
  status?: number;
}

/** A request this service cannot take: the response carries the message, cr_errno EBADRQC unless said otherwise. */
export class RpcError extends CriuError {
  /** the response's cr_errno */
  readonly errno: number;

  constructor(message: string, options: { errno?: number; cause?: unknown } = {}) {
    super(message, { code: 'ERPC', cause: options.cause });
    this.name = 'RpcError';
    this.errno = options.errno ?? EBADRQC;
  }
}

/** errno EBADRQC ("Invalid request code"): what upstream criu answers for bad options */
export const EBADRQC = 56;

/** Every field number of `type` and, for message fields, the type to look into. */
function fieldsOf(type: protobuf.Type): Map<number, protobuf.Field> {
  return new Map(type.fieldsArray.map((field) => [field.id, field]));
}

/** Refuses a field number `type` does not define; looks into criu_opts. */
function checkKnownFields(bytes: Uint8Array, type: protobuf.Type, where: string): void {
  const known = fieldsOf(type);
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = known.get(id);
    if (field === undefined) throw new RpcError(`${where}: field ${id} is not known to this criu (rpc.proto of CRIU 4.x); refusing the request rather than ignoring it`);
    if (field.resolve().resolvedType === optsType && wire === 2) {
      checkKnownFields(reader.bytes(), optsType, 'criu_opts');
      continue;
    }
    reader.skipType(wire);
  }
}

/** Decodes one request packet; a RpcError if it is not a valid criu_req. */
export function decodeRequest(bytes: Uint8Array): CriuReq {
  if (bytes.length > MAX_REQUEST_BYTES) throw new RpcError(`request of ${bytes.length} bytes is larger than ${MAX_REQUEST_BYTES}`);
  let message: protobuf.Message;
  try {
    checkKnownFields(bytes, reqType, 'criu_req');
    message = reqType.decode(bytes);
  } catch (error) {
    if (error instanceof RpcError) throw error;
    if (!(error instanceof Error)) throw error;
    throw new RpcError(`malformed request (not a criu_req): ${error.message}`, { cause: error });
  }
  const object = reqType.toObject(message, { enums: String, longs: Number, defaults: false });
  const type = object.type as unknown;
  if (typeof type !== 'string' || !(REQ_TYPES as readonly string[]).includes(type)) {
    throw new RpcError(`request type ${String(type)} is not one criu knows`);
  }
  return object as CriuReq;
}

/** Encodes a response packet (cr_errmsg cut to MAX_ERRMSG characters). */
export function encodeResponse(resp: CriuResp): Buffer {
  const fixed = resp.cr_errmsg !== undefined && resp.cr_errmsg.length > MAX_ERRMSG ? { ...resp, cr_errmsg: `${resp.cr_errmsg.slice(0, MAX_ERRMSG - 3)}...` } : resp;
  return Buffer.from(respType.encode(respType.fromObject(fixed)).finish());
}

/** For tests and clients of ours: encode a request, decode a response. */
export function encodeRequest(req: CriuReq): Buffer {
  return Buffer.from(reqType.encode(reqType.fromObject(req)).finish());
}

export function decodeResponse(bytes: Uint8Array): CriuResp {
  return respType.toObject(respType.decode(bytes), { enums: String, longs: Number, defaults: false }) as CriuResp;
}

/** Whether `opts` carries `field` (proto2 presence); a repeated field counts when not empty. */
export function hasField(opts: CriuOpts | undefined, field: string): boolean {
  if (opts === undefined || !Object.prototype.hasOwnProperty.call(opts, field)) return false;
  const value = opts[field];
  return !(Array.isArray(value) && value.length === 0);
}

/** The default a field has in rpc.proto (e.g. images_dir_fd -1, log_level 2). */
export function fieldDefault(field: string): unknown {
  return optsType.fields[field]?.defaultValue;
}

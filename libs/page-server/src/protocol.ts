// CRIU's page-server wire protocol (criu/page-xfer.c, as CRIU 4.2 speaks
// it): the client sends 32-byte headers, struct page_server_iov
//   { u32 cmd; (4 bytes of padding) u64 nr_pages; u64 vaddr; u64 dst_id; }
// (little-endian; CRIU 4.1 and older had a u32 nr_pages and 24 bytes),
// each followed, for a present run, by nr_pages pages of data. cmd holds
// the command in its low 16 bits and, for PS_IOV_ADD_F, the pagemap_entry
// flags (PE_*) above them. dst_id names the image: id << 8 | type.
// Answers: PS_IOV_OPEN2 → 1 byte has_parent; PS_IOV_PARENT → s32 has_parent;
// PS_IOV_FLUSH / PS_IOV_FLUSH_N_CLOSE → s32 status (0: all data received).

export const PS_IOV = {
  ADD: 1,
  HOLE: 2,
  OPEN: 3,
  OPEN2: 4,
  PARENT: 5,
  ADD_F: 6,
  GET: 7,
  FLUSH: 0x1023,
  FLUSH_N_CLOSE: 0x1024,
} as const;

export const PS_CMD_BITS = 16;
export const PS_CMD_MASK = (1 << PS_CMD_BITS) - 1;
export const PS_TYPE_BITS = 8n;
export const PS_TYPE_MASK = (1n << PS_TYPE_BITS) - 1n;
/** dst_id types */
export const PS_TYPE = { PID: 1, SHMEM: 2 } as const;
/** sizeof(struct page_server_iov) (CRIU 4.2: nr_pages is a u64, 8-aligned) */
export const IOV_SIZE = 32;

/** type numbers older CRIUs sent (their CR_FD_* values), as upstream still accepts them */
const LEGACY_PID_TYPES = new Set([10, 11, 16, 17]);
const LEGACY_SHMEM_TYPES = new Set([27, 28, 29, 32, 33, 34]);

export type PagemapKind = 'pagemap' | 'pagemap-shmem';

export interface PageServerIov {
  /** the command (low 16 bits of cmd) */
  command: number;
  /** PE_* flags (high 16 bits of cmd; PS_IOV_ADD_F only) */
  flags: number;
  nrPages: number;
  vaddr: bigint;
  dstId: bigint;
}

export function encodeIov(iov: PageServerIov): Buffer {
  const buf = Buffer.alloc(IOV_SIZE);
  buf.writeUInt32LE(((iov.flags << PS_CMD_BITS) | iov.command) >>> 0, 0);
  buf.writeBigUInt64LE(BigInt(iov.nrPages), 8);
  buf.writeBigUInt64LE(iov.vaddr, 16);
  buf.writeBigUInt64LE(iov.dstId, 24);
  return buf;
}

export function decodeIov(buf: Buffer): PageServerIov {
  const cmd = buf.readUInt32LE(0);
  return {
    command: cmd & PS_CMD_MASK,
    flags: cmd >>> PS_CMD_BITS,
    // a count no address space holds stays out of range for the session's checks (it is not cut down to fit)
    nrPages: Number(buf.readBigUInt64LE(8)),
    vaddr: buf.readBigUInt64LE(16),
    dstId: buf.readBigUInt64LE(24),
  };
}

/** dst_id of pagemap-ID.img (type PID) or pagemap-shmem-ID.img (type SHMEM). */
export function encodeDstId(kind: PagemapKind, id: number | bigint): bigint {
  const type = kind === 'pagemap' ? PS_TYPE.PID : PS_TYPE.SHMEM;
  return (BigInt(id) << PS_TYPE_BITS) | BigInt(type);
}

/** The image a dst_id names, or undefined for a type no CRIU ever sent. */
export function decodeDstId(dstId: bigint): { kind: PagemapKind; id: bigint } | undefined {
  const type = Number(dstId & PS_TYPE_MASK);
  const id = dstId >> PS_TYPE_BITS;
  if (type === PS_TYPE.PID || LEGACY_PID_TYPES.has(type)) return { kind: 'pagemap', id };
  if (type === PS_TYPE.SHMEM || LEGACY_SHMEM_TYPES.has(type)) return { kind: 'pagemap-shmem', id };
  return undefined;
}

/** A command's name for logs: 'PS_IOV_ADD_F', or '0x...' for an unknown one. */
export function commandName(command: number): string {
  const entry = Object.entries(PS_IOV).find(([, value]) => value === command);
  return entry === undefined ? `0x${command.toString(16)}` : `PS_IOV_${entry[0]}`;
}

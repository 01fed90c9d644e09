// The PFN of the kernel's shared zero page, found once per dump in our own
// address space: map an anonymous page, read it (which maps the zero page
// for reading), and look it up in /proc/self/pagemap (PFNs show to root).
import { MAP, PAGE_SIZE, PROT, SYS, readTaskMemory, syscall } from '@criu-ts/kernel';
import { readZeroPagePfn } from '@criu-ts/proc';

export function findZeroPagePfn(): bigint {
  const addr = syscall(SYS.mmap, 0, PAGE_SIZE, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  try {
    readTaskMemory(process.pid, addr, Buffer.alloc(1));
    return readZeroPagePfn(process.pid, addr);
  } finally {
    syscall(SYS.munmap, addr, PAGE_SIZE);
  }
}

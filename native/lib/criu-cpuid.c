/*
 * libcriu-cpuid.so: the CPUID instruction for @criu-ts/cpuinfo, which
 * JavaScript cannot execute. Loaded with ffi-rs (libs/kernel ffi.ts), so a
 * dump or restore asks the CPU directly instead of running a helper process.
 *
 * criu_cpuid(leaf, subleaf, regs): stores the instruction's eax, ebx, ecx,
 * edx in regs[0..3] and returns 0. The caller decides which leaves it needs
 * and how to read them (a leaf above the CPU's highest is its business).
 */
#include <cpuid.h>

long criu_cpuid(unsigned int leaf, unsigned int subleaf, unsigned int *regs)
{
	unsigned int a, b, c, d;

	__cpuid_count(leaf, subleaf, a, b, c, d);
	regs[0] = a;
	regs[1] = b;
	regs[2] = c;
	regs[3] = d;
	return 0;
}

/*
 * cpuid: print raw CPUID leaves for @criu-ts/cpuinfo.
 *
 * usage: cpuid LEAF[:SUBLEAF] ...   (numbers in C syntax: 0xd:1, 7, ...)
 * For each argument prints one line:
 *   LEAF SUBLEAF EAX EBX ECX EDX    (8-digit hex, 0x-prefixed)
 * The caller decides which leaves it needs and how to read them; this
 * program only executes the instruction, which JavaScript cannot.
 * Exit status 2 on a malformed argument, 0 otherwise.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, unsigned int *out, char **end)
{
	unsigned long value;

	errno = 0;
	value = strtoul(text, end, 0);
	if (errno != 0 || *end == text || value > 0xffffffffUL)
		return -1;
	*out = (unsigned int)value;
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		unsigned int leaf, subleaf = 0, a, b, c, d;
		char *end;

		if (parse(argv[i], &leaf, &end) < 0 ||
		    (*end == ':' && parse(end + 1, &subleaf, &end) < 0) || *end != '\0') {
			fprintf(stderr, "cpuid: bad leaf '%s' (expected LEAF[:SUBLEAF])\n", argv[i]);
			return 2;
		}
		__cpuid_count(leaf, subleaf, a, b, c, d);
		printf("0x%08x 0x%08x 0x%08x 0x%08x 0x%08x 0x%08x\n", leaf, subleaf, a, b, c, d);
	}
	return 0;
}

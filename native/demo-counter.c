/*
 * demo-counter: the demo process of `npm run demo`. Counts in memory and
 * writes the count to the file named by argv[1] ten times a second, so a
 * restored copy visibly counts on from where the dumped one stopped.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: demo-counter FILE\n");
		return 2;
	}
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	for (unsigned long count = 1;; count++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "%lu\n", count);
		int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, line, len) != len) {
			perror(argv[1]);
			return 1;
		}
		close(fd);
		nanosleep(&tick, NULL);
	}
}

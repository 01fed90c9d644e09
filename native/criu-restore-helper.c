/*
 * criu-restore-helper: the first task of a restore (see libs/restore).
 *
 * Started by the restore tool with a pipe on fd 3. It forks once: the
 * parent writes the child's pid on fd 3 and exits, so the child is
 * orphaned and re-parented to the tool (which made itself a child
 * subreaper) without being a child libuv knows about. The child closes
 * every fd above 2 (fds 0-2 stay the tool's stdio, which the restored
 * tasks inherit until the files kind installs theirs) and stops itself.
 * The tool seizes it and builds the restored tree from it with injected
 * clone3 calls; it never runs again on its own.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REPORT_FD 3

int main(void)
{
	pid_t child = fork();
	if (child < 0) {
		perror("criu-restore-helper: fork");
		return 1;
	}
	if (child > 0) {
		if (dprintf(REPORT_FD, "%d\n", child) < 0) {
			perror("criu-restore-helper: report");
			kill(child, SIGKILL);
			return 1;
		}
		return 0;
	}
	syscall(SYS_close_range, REPORT_FD, ~0U, 0);
	for (;;)
		raise(SIGSTOP);
}

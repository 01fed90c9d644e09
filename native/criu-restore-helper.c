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
 * clone3 calls; it never runs again on its own. It dies with the tool
 * (PR_SET_PDEATHSIG once adopted; restored tasks do not inherit that).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REPORT_FD 3

int main(void)
{
	pid_t tool = getppid();
	pid_t first_parent = getpid();
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
	/*
	 * Never outlive the tool: once re-parented to it (the first parent
	 * has exited), die with it. Until the tool seizes the helper (with
	 * PTRACE_O_EXITKILL) this is what kills it if the tool is killed.
	 */
	while (getppid() == first_parent)
		usleep(100);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		perror("criu-restore-helper: PR_SET_PDEATHSIG");
		return 1;
	}
	if (getppid() != tool)
		return 1; /* the tool died before it could adopt us */
	for (;;)
		raise(SIGSTOP);
}

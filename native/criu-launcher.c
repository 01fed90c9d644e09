/*
 * criu-launcher: the process a client starts as `criu swrk FD` (and as
 * `criu restore -S`), so that a restored tree's root can be made a child of
 * the client, as upstream criu makes it with clone(CLONE_PARENT) from
 * itself. Node cannot clone(CLONE_PARENT); this small program can.
 *
 * Usage: criu-launcher TOOL [ARGS...]
 *
 * It runs TOOL (a criu-ts tool: criu-service, criu-restore) as its only
 * child, with every fd the client gave it, plus one end of a
 * SOCK_SEQPACKET socketpair named in CRIU_TS_SIBLING_FD. The child dies
 * with the launcher (PR_SET_PDEATHSIG); SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGUSR1 and SIGUSR2 sent to the launcher are passed on to it (not those
 * the kernel sends to the whole terminal's group, which the child gets
 * itself); the launcher ends when the child does, with its exit status
 * (or killed by the same signal), so the pid the client waits for answers
 * as criu does.
 *
 * On the socket (the tool that restores inherits it) one request:
 *   struct { uint32 op = 1; int32 pid; int32 tool; }
 * makes a task with pid `pid` (clone3 with set_tid and CLONE_PARENT: the
 * launcher's parent, the client, is its parent) and answers
 *   struct { int32 result; }  (the pid, or -errno).
 * For a tree with namespaces of its own:
 *   struct { uint32 op = 2; int32 pid; int32 tool; int32 nspid; uint64 flags; }
 * the same, cloned with `flags` (CLONE_NEW* only) too and, with
 * CLONE_NEWPID, set_tid [nspid (1), pid].
 * The new task is a copy of the launcher that drops its fds (but 0-2),
 * signal handlers and mask, and waits on a pidfd of `tool` for at most
 * SEIZE_TIMEOUT_MS: the tool seizes it there (ptrace) and builds the
 * restored root out of it, so it never returns from that wait on its own.
 * If the tool dies before seizing it, or never does, it exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIBLING_FD_ENV "CRIU_TS_SIBLING_FD"
#define OP_CLONE_SIBLING 1
#define SEIZE_TIMEOUT_MS 60000
#define CLONE_PARENT_FLAG 0x00008000ULL

#define OP_CLONE_SIBLING_NS 2
/* CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWPID, NEWNET: what a sibling root may be cloned with */
#define NS_FLAGS (0x00020000ULL | 0x02000000ULL | 0x04000000ULL | 0x08000000ULL | 0x20000000ULL | 0x40000000ULL)
#define NEWPID_FLAG 0x20000000ULL

struct sibling_request {
	uint32_t op;
	int32_t pid;
	int32_t tool;
	/* OP_CLONE_SIBLING_NS only */
	int32_t nspid;
	uint64_t flags;
};

/* struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1) */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size;
};

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* A client may start us with 0-2 closed (pycriu does): fill them, or our own fds would land there. */
static void fill_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int null = open("/dev/null", O_RDWR);
		if (null >= 0 && null != fd) {
			dup2(null, fd);
			close(null);
		}
	}
}

/* The new task, until the tool seizes it: a clean copy that goes away if the tool does. */
static void await_seize(int pidfd)
{
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails for KILL, STOP and glibc's own: fine */
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (pidfd != 3 && dup2(pidfd, 3) < 0)
		_exit(1);
	syscall(SYS_close_range, 4, ~0U, 0);
	prctl(PR_SET_NAME, "criu-sibling");
	struct pollfd tool = { .fd = 3, .events = POLLIN };
	poll(&tool, 1, SEIZE_TIMEOUT_MS);
	_exit(1);
}

static int32_t clone_sibling(int32_t pid, int32_t tool, int32_t nspid, uint64_t flags)
{
	if ((flags & ~NS_FLAGS) != 0 || ((flags & NEWPID_FLAG) != 0 && nspid != 1))
		return -EINVAL;
	int pidfd = syscall(SYS_pidfd_open, tool, 0);
	if (pidfd < 0)
		return -errno;
	/* set_tid: innermost pid namespace first */
	pid_t want[2] = { pid, pid };
	if (flags & NEWPID_FLAG)
		want[0] = nspid;
	struct clone3_args args = {
		.flags = CLONE_PARENT_FLAG | flags,
		.exit_signal = 0, /* with CLONE_PARENT it is ours (SIGCHLD), and clone3 wants 0 */
		.set_tid = (uintptr_t)want,
		.set_tid_size = (flags & NEWPID_FLAG) ? 2 : 1,
	};
	long got = syscall(SYS_clone3, &args, sizeof(args));
	if (got == 0)
		await_seize(pidfd);
	int err = errno;
	close(pidfd);
	return got < 0 ? -err : (int32_t)got;
}

/* Answers one request; false once no tool is left to ask (end of file). */
static int serve_request(int sk)
{
	struct sibling_request req;
	ssize_t got = recv(sk, &req, sizeof(req), MSG_DONTWAIT);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (got <= 0)
		return 0;
	int32_t result = -EINVAL;
	if (got == 12 && req.op == OP_CLONE_SIBLING && req.pid > 0 && req.tool > 0)
		result = clone_sibling(req.pid, req.tool, 0, 0);
	else if (got == (ssize_t)sizeof(req) && req.op == OP_CLONE_SIBLING_NS && req.pid > 0 && req.tool > 0)
		result = clone_sibling(req.pid, req.tool, req.nspid, req.flags);
	if (send(sk, &result, sizeof(result), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		perror("criu-launcher: answering a sibling request");
	return 1;
}

/* Ends as the child ended: its exit status, or the same signal (no core file of ours). */
static void pass_status(int status)
{
	if (WIFEXITED(status))
		exit(WEXITSTATUS(status));
	int sig = WTERMSIG(status);
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	signal(sig, SIG_DFL);
	sigset_t only;
	sigemptyset(&only);
	sigaddset(&only, sig);
	sigprocmask(SIG_UNBLOCK, &only, NULL);
	raise(sig);
	exit(128 + sig);
}

static void run_child(char **argv, int theirs, const sigset_t *mask, pid_t launcher)
{
	char fd[16];
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != launcher)
		_exit(1);
	snprintf(fd, sizeof(fd), "%d", theirs);
	if (setenv(SIBLING_FD_ENV, fd, 1) < 0)
		_exit(1);
	execv(argv[0], argv);
	fprintf(stderr, "criu-launcher: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void handle_signal(int sfd, pid_t child)
{
	struct signalfd_siginfo info;
	if (read(sfd, &info, sizeof(info)) != (ssize_t)sizeof(info))
		return;
	if (info.ssi_signo == SIGCHLD) {
		int status;
		if (waitpid(child, &status, WNOHANG) == child)
			pass_status(status);
		return;
	}
	/* a terminal's signal reaches the child by itself (same process group) */
	if (info.ssi_code != SI_KERNEL)
		kill(child, (int)info.ssi_signo);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: criu-launcher TOOL [ARGS...]\n");
		return 1;
	}
	fill_stdio();
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || fcntl(sv[1], F_SETFD, 0) < 0) {
		perror("criu-launcher: socketpair");
		return 1;
	}
	sigset_t mask, old;
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("criu-launcher: signalfd");
		return 1;
	}
	pid_t launcher = getpid();
	pid_t child = fork();
	if (child < 0) {
		perror("criu-launcher: fork");
		return 1;
	}
	if (child == 0)
		run_child(argv + 1, sv[1], &old, launcher);
	close(sv[1]);
	struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = sv[0], .events = POLLIN } };
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("criu-launcher: poll");
			kill(child, SIGKILL);
			return 1;
		}
		if (fds[0].revents & POLLIN)
			handle_signal(sfd, child);
		/* once every tool holding the other end is gone, nobody will ask again */
		if ((fds[1].revents & POLLIN) && !serve_request(sv[0]))
			fds[1].fd = -1;
		else if (!(fds[1].revents & POLLIN) && (fds[1].revents & (POLLHUP | POLLERR)))
			fds[1].fd = -1;
	}
}

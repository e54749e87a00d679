// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pty-run CMD [ARG...]: the host side of the terminal attacks
 * (bubblewrap CVE-2017-5226).  Runs CMD with a fresh pseudo-terminal, in
 * raw mode, as its stdin - the terminal of an admin who typed
 * `vserver NAME exec CMD` - and its stdout/stderr ours.  When CMD has
 * ended, whatever sits unread in the terminal's input queue was pushed
 * there by CMD: "pty-run: injected N bytes" or "pty-run: injected 0 bytes"
 * on stderr.  Exits with CMD's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pty-run CMD [ARG...]\n");
		return 2;
	}
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
		perror("pty-run: posix_openpt");
		return 2;
	}
	int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios t;
	if (s < 0 || tcgetattr(s, &t) < 0) {
		perror("pty-run: slave");
		return 2;
	}
	cfmakeraw(&t);
	tcsetattr(s, TCSANOW, &t);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(s, 0);
		execvp(argv[1], argv + 1);
		perror("pty-run: exec");
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	fcntl(s, F_SETFL, O_NONBLOCK);
	char buf[256];
	ssize_t n = read(s, buf, sizeof(buf));
	fprintf(stderr, "pty-run: injected %zd bytes\n", n > 0 ? n : 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

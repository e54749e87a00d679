// SPDX-License-Identifier: GPL-2.0-or-later
/* chcontext --pty: our terminal relayed to a pty of the context. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include "chcontext.h"

static struct termios saved_tio;
static int tio_saved;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(0, TCSAFLUSH, &saved_tio);
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* relay between our terminal and the context's pty until the shell exits */
int relay_pty(int master, int conn)
{
	sigset_t set;
	int sfd;
	char buf[8192];

	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (isatty(0) && tcgetattr(0, &saved_tio) == 0) {
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		tio_saved = 1;
		atexit(restore_tty);
		tcsetattr(0, TCSAFLUSH, &raw);
	}
	copy_winsize(master);
	int in_open = 1;
	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
			{ .fd = master, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = conn, .events = POLLIN },
		};
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[2].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) > 0)
				copy_winsize(master);
		}
		if (pfd[0].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0)
				in_open = 0;
			else if (write(master, buf, (size_t)n) < 0)
				break;
		}
		if (pfd[1].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0)
				break;	/* EIO: every slave descriptor is closed */
			if (write(1, buf, (size_t)n) < 0)
				break;
		}
		if (pfd[3].revents && !pfd[1].revents) {
			/* the process exited: drain what is left on the pty, then stop */
			for (;;) {
				struct pollfd m = { .fd = master, .events = POLLIN };
				if (poll(&m, 1, 50) <= 0)
					break;
				ssize_t n = read(master, buf, sizeof(buf));
				if (n <= 0 || write(1, buf, (size_t)n) < 0)
					break;
			}
			break;
		}
	}
	restore_tty();
	tio_saved = 0;
	return 0;
}


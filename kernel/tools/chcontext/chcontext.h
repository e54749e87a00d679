/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chcontext, split by concern (as crun is):
 *   main.c       options, --help, which of the paths below to take
 *   create.c     a new context and its monitor (signals, reaping)
 *   enter.c      running a command in an existing context
 *   pty-relay.c  the terminal relay of --pty
 *   rebootmgr.c  /dev/reboot of a server: vreboot and vhalt answered
 */
#ifndef CHCONTEXT_H
#define CHCONTEXT_H
#include <stdint.h>
#include <time.h>
#include "vctx.h"

extern const char *prog;

/* main.c: "chcontext: MSG" + the --help hint, exit 2 */
void __attribute__((noreturn)) usage_error(const char *fmt, const char *arg);

/* enter.c */
int status_code(int st);
int do_enter(uint32_t xid, char **argv, int pty, const char *workdir);

/* pty-relay.c: relay our terminal and @master until the process on it ends
   (@conn becomes readable) */
int relay_pty(int master, int conn);

/* rebootmgr.c */
int reboot_listen(const char *path);
void reboot_serve(int lfd, const char *on_reboot, const char *on_halt, time_t *last);
/* a host command (sh -c) run detached: the monitor does not wait for it */
void run_detached(const char *cmd);

/* create.c: what main hands over for a new context */
#define CONSOLE_MAX_DEFAULT (1024LL * 1024)
struct create_opts {
	int daemon, silent;
	int status_fd;	/* --status-fd: the start's one JSON line, or -1 */
	const char *reboot_sock, *on_reboot, *on_halt;
	long long console_max;	/* --console-max: bytes of FILE before it becomes FILE.1 */
};

/* libvctx's test switch (kernel/lib/testswitch.c; test/security/) */
int vctx_weakened(const char *mechanism);
int create_and_monitor(struct vctx_spec *spec, char **cmd, const struct create_opts *o);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/* rlimits from ULIMIT, the nice floor from S_NICE, and a server's share of
   the per-uid pools it shares with the host's root. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "internal.h"

/**
 * vctx_apply_rlimits - set the spec's rlimits on the calling process, and
 * with has_nice, its nice value and an RLIMIT_NICE that keeps every
 * process of the context at that level or nicer (root inside included:
 * CAP_SYS_NICE is never granted).
 */
int vctx_apply_rlimits(const struct vctx_spec *spec, vctx_error *err)
{
	for (int i = 0; i < spec->n_rlimits; i++) {
		const struct vctx_rlimit *r = &spec->rlimits[i];
		struct rlimit cur;
		if (getrlimit(r->resource, &cur) < 0)
			return vctx_set_error(err, errno, "getrlimit(%d): %s", r->resource, strerror(errno));
		if (r->set_hard)
			cur.rlim_max = r->hard;
		if (r->set_soft)
			cur.rlim_cur = r->soft;
		if (cur.rlim_cur > cur.rlim_max)
			cur.rlim_cur = cur.rlim_max;
		if (setrlimit(r->resource, &cur) < 0)
			return vctx_set_error(err, errno, "cannot set rlimit %d to %llu/%llu: %s", r->resource,
					      (unsigned long long)cur.rlim_cur, (unsigned long long)cur.rlim_max,
					      strerror(errno));
	}
	/*
	 * POSIX message queue bytes and queued signals are counted per uid,
	 * in one pool for the host's root and every server's root, each
	 * caller (resp. receiver) checked against its own rlimit: a server
	 * whose limit equals the host's could fill the pool alone, and
	 * mq_open or a queued signal (systemctl's SIGRTMIN+n to PID 1) of
	 * the host's root would fail.  Unless ULIMIT sets them, a server
	 * gets a quarter of its creator's (it cannot raise them back: no
	 * CAP_SYS_RESOURCE).  docs/security.md
	 */
	if (spec->secure && !vctx_weakened("counters")) {
		static const int pooled[] = { RLIMIT_MSGQUEUE, RLIMIT_SIGPENDING };
		for (size_t p = 0; p < sizeof(pooled) / sizeof(pooled[0]); p++) {
			int set = 0;
			struct rlimit cur;
			for (int i = 0; i < spec->n_rlimits; i++)
				set |= spec->rlimits[i].resource == pooled[p];
			if (set || getrlimit(pooled[p], &cur) < 0 || cur.rlim_cur == RLIM_INFINITY)
				continue;
			rlim_t share = cur.rlim_cur / 4;
			if (cur.rlim_max == RLIM_INFINITY || cur.rlim_max > share)
				cur.rlim_max = share;
			if (cur.rlim_cur > cur.rlim_max)
				cur.rlim_cur = cur.rlim_max;
			if (setrlimit(pooled[p], &cur) < 0)
				return vctx_set_error(err, errno, "cannot lower rlimit %d to %llu: %s", pooled[p],
						      (unsigned long long)cur.rlim_max, strerror(errno));
		}
	}
	if (spec->has_nice) {
		/* RLIMIT_NICE allows nice values down to 20 - limit: lower the limit
		   to 20 - nice, never raise it (raising needs CAP_SYS_RESOURCE, and a
		   lower limit only makes the floor stricter) */
		struct rlimit rn;
		rlim_t want = (rlim_t)(20 - spec->nice);
		if (setpriority(PRIO_PROCESS, 0, spec->nice) < 0)
			return vctx_set_error(err, errno, "cannot set nice %d: %s", spec->nice, strerror(errno));
		if (getrlimit(RLIMIT_NICE, &rn) < 0)
			return vctx_set_error(err, errno, "getrlimit(RLIMIT_NICE): %s", strerror(errno));
		if (rn.rlim_max == RLIM_INFINITY || rn.rlim_max > want)
			rn.rlim_max = want;
		if (rn.rlim_cur == RLIM_INFINITY || rn.rlim_cur > rn.rlim_max)
			rn.rlim_cur = rn.rlim_max;
		if (setrlimit(RLIMIT_NICE, &rn) < 0)
			return vctx_set_error(err, errno, "cannot set the nice floor %d: %s", spec->nice, strerror(errno));
	}
	return 0;
}

/**
 * The files the busybox template writes, as pure functions of the server's
 * name, host name and address.  Kept apart from the code that writes them
 * so that they read like the files they are.
 *
 * Boot: busybox init (PID 1, S_FLAGS fakeinit) runs /etc/init.d/rcS, which
 * starts every executable /etc/init.d/S??* with `start` in order; at
 * shutdown (SIGUSR1 halt, SIGUSR2 poweroff, SIGTERM reboot) init runs
 * /etc/init.d/rcK, which stops them with `stop` in reverse order.  This is
 * the rcS/rcK layout of buildroot.
 */

export interface BusyboxFileParams {
  readonly name: string;
  readonly hostname: string;
  readonly ip?: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/sbin/nologin',
  'bin:x:2:2:bin:/bin:/sbin/nologin',
  'sys:x:3:3:sys:/dev:/sbin/nologin',
  'www-data:x:33:33:www-data:/var/www:/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
  '',
].join('\n');

export const group = [
  'root:x:0:',
  'daemon:x:1:',
  'bin:x:2:',
  'sys:x:3:',
  'adm:x:4:',
  'tty:x:5:',
  'www-data:x:33:',
  'nogroup:x:65534:',
  '',
].join('\n');

/*
 * Every account locked ('*': no password matches).  Nothing in the server
 * asks for one: there is no getty or telnetd, and `vserver NAME enter` gives
 * root a shell from the host.  The server's admin may set one with passwd.
 */
export const shadow = [
  'root:*:19000:0:99999:7:::',
  'daemon:*:19000:0:99999:7:::',
  'bin:*:19000:0:99999:7:::',
  'sys:*:19000:0:99999:7:::',
  'www-data:*:19000:0:99999:7:::',
  'nobody:*:19000:0:99999:7:::',
  '',
].join('\n');

export const shells = '/bin/sh\n/bin/ash\n';

export function inittab(p: BusyboxFileParams): string {
  return `# /etc/inittab of the virtual server ${p.name}: busybox init, PID 1 (S_FLAGS fakeinit).
# The console is the server's log file (vserver ${p.name} log); there is no
# getty on a terminal: \`vserver ${p.name} enter\` gives a shell.
#
# <id>::<action>:<process>
::sysinit:/etc/init.d/rcS
# run by init on halt (SIGUSR1), poweroff (SIGUSR2) and reboot (SIGTERM),
# before it kills what is left
::shutdown:/etc/init.d/rcK
# no ctrlaltdel action: SIGINT to the server's init is ignored
`;
}

export const rcS = `#!/bin/sh
# Starts the services of this virtual server: every executable
# /etc/init.d/S??* with "start", in name order.  Run by init at sysinit.
PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PATH
umask 022
echo "rcS: starting services of $(cat /etc/hostname 2>/dev/null)"
for s in /etc/init.d/S??*; do
	[ -x "$s" ] || continue
	"$s" start
done
`;

export const rcK = `#!/bin/sh
# Stops the services of this virtual server: every executable
# /etc/init.d/S??* with "stop", in reverse name order.  Run by init at shutdown.
PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PATH
for s in $(ls -r /etc/init.d/S??* 2>/dev/null); do
	[ -x "$s" ] || continue
	"$s" stop
done
echo "rcK: services stopped"
`;

/*
 * syslogd keeps the log in a 128 KiB ring buffer (`logread` shows it): a
 * busy server cannot fill its disk with it.  It listens on /dev/log, in the
 * private /dev the server gets at start.
 */
export const syslogdScript = `#!/bin/sh
# S01syslogd: the system log, a 128 KiB ring buffer read with logread
PIDFILE=/run/syslogd.pid
case "$1" in
start)
	echo "Starting syslogd"
	start-stop-daemon -S -q -b -m -p $PIDFILE -x /sbin/syslogd -- -n -C128 \\
		|| echo "syslogd did not start"
	;;
stop)
	echo "Stopping syslogd"
	start-stop-daemon -K -q -p $PIDFILE
	rm -f $PIDFILE
	;;
restart)
	"$0" stop; sleep 1; "$0" start
	;;
*)
	echo "Usage: $0 {start|stop|restart}"
	exit 1
	;;
esac
`;

/*
 * busybox httpd on port 80 of every address: the server's IPv4 lock turns
 * 0.0.0.0 into the server's own address.
 */
export const httpdScript = `#!/bin/sh
# S50httpd: the demo web server, /var/www on port 80 of this server's address
PIDFILE=/run/httpd.pid
case "$1" in
start)
	echo "Starting httpd"
	start-stop-daemon -S -q -b -m -p $PIDFILE -x /usr/sbin/httpd -- -f -p 0.0.0.0:80 -h /var/www \\
		|| echo "httpd did not start"
	;;
stop)
	echo "Stopping httpd"
	start-stop-daemon -K -q -p $PIDFILE
	rm -f $PIDFILE
	;;
restart)
	"$0" stop; sleep 1; "$0" start
	;;
*)
	echo "Usage: $0 {start|stop|restart}"
	exit 1
	;;
esac
`;

export function indexHtml(p: BusyboxFileParams): string {
  const n = escapeHtml(p.name);
  const h = escapeHtml(p.hostname);
  return `<!DOCTYPE html>
<html>
<head><title>${n}</title></head>
<body>
<h1>virtual server ${n}</h1>
<p>host name ${h}${p.ip ? `, address ${escapeHtml(p.ip)}` : ''}; served by busybox httpd.</p>
</body>
</html>
`;
}

export function profile(p: BusyboxFileParams): string {
  // single quotes in the name cannot occur (names are checked), but be safe
  const n = p.name.replace(/'/g, '');
  return `# /etc/profile of the virtual server ${n}
PATH=/sbin:/usr/sbin:/bin:/usr/bin
export PATH
if [ "$(id -u)" = 0 ]; then
	PS1='[\\u@${n} \\w]# '
else
	PS1='[\\u@${n} \\w]\\$ '
fi
export PS1
[ -n "$HOME" ] || HOME=/root
export HOME
umask 022
`;
}

export const motd = (p: BusyboxFileParams): string =>
  `Virtual server ${p.name}: busybox.  vreboot restarts it, vhalt stops it.\n`;

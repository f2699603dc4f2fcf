#!/bin/sh
# Sets a default WEB_CONCURRENCY (the worker count gunicorn and uvicorn read) from the CPUs and
# memory of the container the app is starting in. The CNB launcher runs this exec.d program before
# every process and reads `KEY = "value"` TOML lines from file descriptor 3. A WEB_CONCURRENCY the
# user set is never overridden.
#
# Workers: (2 x CPUs) + 1, as gunicorn's documentation recommends, but no more than one per
# 256 MiB of memory, and at least 1. CPUs: the online CPUs, capped by a cgroup CPU quota. Memory:
# the cgroup memory limit (v2 memory.max, v1 memory.limit_in_bytes), or the machine's memory.
#
# The only argument, for tests, is a directory standing in for `/`.

if [ -n "${WEB_CONCURRENCY:-}" ]; then
	exit 0
fi

root="${1:-}"
mib=1048576

cpus="$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
case "$cpus" in '' | *[!0-9]*) cpus=1 ;; esac

# cgroup v2 `cpu.max`: "<quota> <period>" or "max <period>"; v1: cfs quota (-1 without) and period.
quota=""
period=""
if [ -r "$root/sys/fs/cgroup/cpu.max" ]; then
	read -r quota period <"$root/sys/fs/cgroup/cpu.max"
elif [ -r "$root/sys/fs/cgroup/cpu/cpu.cfs_quota_us" ] && [ -r "$root/sys/fs/cgroup/cpu/cpu.cfs_period_us" ]; then
	read -r quota <"$root/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
	read -r period <"$root/sys/fs/cgroup/cpu/cpu.cfs_period_us"
fi
case "$quota$period" in
'' | *[!0-9]*) ;;
*)
	if [ "$period" -gt 0 ] && [ "$quota" -gt 0 ]; then
		quota_cpus=$(((quota + period - 1) / period))
		if [ "$quota_cpus" -lt "$cpus" ]; then
			cpus="$quota_cpus"
		fi
	fi
	;;
esac

memory_mib=""
if [ -r "$root/proc/meminfo" ]; then
	# "MemTotal:       16318772 kB"
	while read -r key value _; do
		if [ "$key" = "MemTotal:" ]; then
			case "$value" in '' | *[!0-9]*) ;; *) memory_mib=$((value / 1024)) ;; esac
			break
		fi
	done <"$root/proc/meminfo"
fi
limit=""
if [ -r "$root/sys/fs/cgroup/memory.max" ]; then
	read -r limit <"$root/sys/fs/cgroup/memory.max"
elif [ -r "$root/sys/fs/cgroup/memory/memory.limit_in_bytes" ]; then
	read -r limit <"$root/sys/fs/cgroup/memory/memory.limit_in_bytes"
fi
# "max" (v2) or a huge number (v1) means no limit. Lengths over 18 digits would overflow.
case "$limit" in
'' | *[!0-9]*) ;;
*)
	if [ "${#limit}" -le 18 ]; then
		limit_mib=$((limit / mib))
		case "$memory_mib" in
		'' | *[!0-9]*) memory_mib="$limit_mib" ;;
		*) if [ "$limit_mib" -lt "$memory_mib" ]; then memory_mib="$limit_mib"; fi ;;
		esac
	fi
	;;
esac

workers=$((2 * cpus + 1))
case "$memory_mib" in
'' | *[!0-9]*) ;;
*)
	memory_workers=$((memory_mib / 256))
	if [ "$memory_workers" -lt "$workers" ]; then
		workers="$memory_workers"
	fi
	;;
esac
if [ "$workers" -lt 1 ]; then
	workers=1
fi

printf 'WEB_CONCURRENCY = "%s"\n' "$workers" >&3

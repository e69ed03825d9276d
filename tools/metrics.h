/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the rings of a struct rs_set in the Prometheus text
 * exposition format (version 0.0.4): "# HELP" and "# TYPE" for each
 * family, names prefixed "qshm_", a label ring="NAME" on every ring's
 * samples, and slot, pid and kind on every consumer's. Counters end in
 * _total; rates (over the stat interval) are gauges ending in
 * _per_second.
 */
#ifndef QSHM_TOOLS_METRICS_H
#define QSHM_TOOLS_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "ringstat.h"

/* The Content-Type of what metrics_write() writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes every family for every ring of s, from each ring's ->now
 * snapshot (call rs_snap_now() first) and the rates between its last two
 * samples. scrapes: the exporter's request count, or 0 to leave that
 * family out. */
void metrics_write(FILE *f, const struct rs_set *s, uint64_t scrapes);

#endif

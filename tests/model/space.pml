/*
 * space.pml - the producer sleeping on a full ring (S1) and the reliable
 * consumers' releases waking it (R1/R2), with kw_space_sleepers as
 * the first format 2 design had it: a 0/1 flag the producer raises and a releasing
 * consumer takes (exchange) before it bumps kw_space_futex and wakes.
 *
 * Abstractions: a consumer's read position is a count of records released;
 * the producer needs every consumer to have released NEED of them. The
 * futex is its word (FUTEX_WAIT(v) blocks while it equals v); no timeouts:
 * a lost wake-up is a producer blocked forever (an invalid end state).
 * Sequential consistency stands for the seq_cst S1 and the R2 fence.
 *
 * Switches:
 *   FORMAT1   kw_space_sleepers is raised and lowered by the producer
 *             alone; a consumer that sees it non-zero bumps and wakes.
 *   V_FIRST   the producer loads the futex value before raising the flag
 *             (the first format 2 design: after).
 *   TSO       each consumer's kc_read_pos store (R1) goes through its
 *             store buffer (x86-TSO), which drains at any time, at a
 *             fence, or before a locked RMW (the flag's exchange). The
 *             producer waits for the levels 1..NEED in turn, so it can
 *             sleep more than once.
 *   DEMAND    (with TSO) format 3: a consumer fences between R1 and R2
 *             only while kw_release_fence is set (R1d). The producer's
 *             first sleep sets it (S1d), then issues membarrier (S2b),
 *             which drains every consumer's buffer; later sleeps skip the
 *             barrier. After a level is reached the producer may stop
 *             asking (clears the flag), and asks again at its next sleep.
 *   NO_BARRIER (with DEMAND) the producer sets the flag but issues no
 *             barrier.
 */
#ifndef NC
#define NC 2
#endif
#ifndef NEED
#define NEED 2
#endif

byte rp[NC];		/* kc_read_pos, in records, as others see it */
#ifdef TSO
byte rp_buf[NC];	/* each consumer's store buffer: its latest R1 */
#define RP_BUF(i)	rp_buf[i]
#define DRAIN_OWN	rp[me] = rp_buf[me]
#else
#define RP_BUF(i)	rp[i]
#define DRAIN_OWN	skip
#endif
#ifdef DEMAND
bit rfence;		/* kw_release_fence */
#endif
byte sleepers;		/* kw_space_sleepers */
byte futex;		/* kw_space_futex */

#if NC == 1
#define MINRP	rp[0]
#else
#define MINRP	(rp[0] < rp[1] -> rp[0] : rp[1])
#endif

proctype Consumer(byte me)
{
	bit took;
	do
	:: RP_BUF(me) < NEED ->
		/* R1: release */
		atomic { RP_BUF(me)++; printf("MSG: consumer %d releases record %d\n", me, RP_BUF(me)) };
#ifdef TSO
		/* the fence between R1 and R2: always (2.0), or only if asked */
#ifdef DEMAND
		if
		:: rfence -> atomic { DRAIN_OWN; printf("MSG: consumer %d: asked, fences\n", me) }
		:: else
		fi;
#else
		DRAIN_OWN;
#endif
		/* R2: load the flag; the exchange only if it is set */
		if
		:: sleepers != 0 ->
			atomic { DRAIN_OWN; took = sleepers; sleepers = 0;
				 if :: took -> printf("MSG: consumer %d takes the flag\n", me) :: else fi };
			if
			:: took ->
				atomic { futex++; printf("MSG: consumer %d: futex -> %d, FUTEX_WAKE\n", me, futex) }
			:: else
			fi
		:: else
		fi
#elif defined(FORMAT1)
		if :: sleepers != 0 -> futex++ :: else fi
#else
		atomic { took = sleepers; sleepers = 0;
			 if :: took -> printf("MSG: consumer %d takes the flag\n", me) :: else fi };
		if
		:: took ->	/* bump + FUTEX_WAKE */
			atomic { futex++; printf("MSG: consumer %d: futex -> %d, FUTEX_WAKE\n", me, futex) }
		:: else
		fi
#endif
	:: else -> break
	od
}

proctype Producer()
{
	byte v, i;
#ifdef TSO
	byte lvl = 1;
	bit space_ok;
#define LEVEL	lvl
#else
#define LEVEL	NEED
#endif
	do
#ifdef TSO
	:: MINRP >= lvl && lvl == NEED -> break
	:: MINRP >= lvl && lvl < NEED ->
		lvl++;			/* room: claim goes on, until the next wait */
#ifdef DEMAND
		if			/* a stream that keeps up stops asking */
		:: rfence -> atomic { rfence = 0; space_ok = 0; printf("MSG: producer stops asking for fences\n") }
		:: true
		fi
#else
		skip
#endif
#else
	:: MINRP >= NEED -> break	/* room: claim goes on */
#endif
	:: else ->
#ifdef V_FIRST
		atomic { v = futex; printf("MSG: producer loads futex %d\n", v) };
#endif
		/* S1 (seq_cst) */
		atomic { sleepers = 1; printf("MSG: producer: ring full: raises kw_space_sleepers\n") };
#ifndef V_FIRST
		atomic { v = futex; printf("MSG: producer loads futex %d\n", v) };
#endif
#ifdef DEMAND
		/* S1d, S2b: the first sleep asks consumers to fence, then makes sure */
		if
		:: !space_ok ->
			atomic { rfence = 1; printf("MSG: producer raises kw_release_fence\n") };
#ifndef NO_BARRIER
			atomic { i = 0; do :: i < NC -> rp[i] = rp_buf[i]; i++ :: else -> break od;
				 printf("MSG: membarrier: every consumer's store buffer drains\n") };
#endif
			space_ok = 1
		:: else
		fi;
#endif
		if			/* rescan */
		:: MINRP >= LEVEL
		:: else ->
			printf("MSG: producer: rescan, still full: FUTEX_WAIT(futex, %d)\n", v);
			(futex != v)	/* FUTEX_WAIT(v) returned */
		fi;
		sleepers = 0		/* lower it (FORMAT1), or it is taken */
	od
}

#ifdef TSO
/* Store buffers drain at any time. */
active proctype Drain()
{
	byte i;
end:	do
	:: atomic { rp[0] != rp_buf[0] -> rp[0] = rp_buf[0]; printf("MSG: consumer 0's release reaches memory\n") }
#if NC > 1
	:: atomic { rp[1] != rp_buf[1] -> rp[1] = rp_buf[1]; printf("MSG: consumer 1's release reaches memory\n") }
#endif
	od
}
#endif

init
{
	atomic {
		run Consumer(0);
#if NC > 1
		run Consumer(1);
#endif
		run Producer()
	}
}
